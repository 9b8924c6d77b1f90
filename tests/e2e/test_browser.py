"""Scenario 8: a real browser in the operator's console.

Headless Chromium logs into the admin as the demo operator, looks at the team's
schedule picture (screenshots saved under test-artifacts/), creates an override
through the admin form and sees it in the picture, and acknowledges an incident.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tests.e2e.browser import browser_page, screenshot
from tests.e2e.stack import wait_for

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "alertmanager" / "raw"
ADMIN = ("admin", "admin")  # the demo organisation's operator


@pytest.fixture
def page(stack, seeded):
    with browser_page() as page:
        page.goto(stack.url + "/admin/")
        assert "/admin/login/" in page.url
        page.fill("#id_username", ADMIN[0])
        page.fill("#id_password", ADMIN[1])
        page.click("input[type=submit]")
        page.wait_for_url(stack.url + "/admin/")
        yield page


def open_schedule(page, stack):
    page.goto(stack.url + "/admin/scheduling/team/")
    page.get_by_role("link", name="Payments").first.click()
    page.get_by_role("link", name="schedule picture").click()
    page.wait_for_selector(".bar")


def test_the_admin_loads_with_its_styles(stack, page):
    assert page.locator("#content").get_by_text("Teams").first.is_visible()
    # Static files come from WhiteNoise under the web server with DEBUG off.
    css = page.evaluate(
        "getComputedStyle(document.querySelector('#header')).backgroundColor"
    )
    assert css not in ("", "rgba(0, 0, 0, 0)"), "admin CSS did not load"


def test_an_override_made_in_the_form_shows_in_the_schedule_picture(stack, page):
    open_schedule(page, stack)
    screenshot(page, "schedule-before-override")
    assert page.locator(".bar.override").count() == 0
    now = stack.api("GET", "/api/v1/teams/payments/oncall/").json()
    primary = now["primary"]["username"]
    secondary = now["secondary"]["username"]
    cover = next(
        name
        for name in ("alice", "bob", "charlie", "david", "eve", "frank")
        if name not in (primary, secondary)
    )

    page.goto(stack.url + "/admin/scheduling/override/add/")
    page.select_option("#id_rotation", index=1)
    page.select_option("#id_role", value="primary")
    # The member field is an autocomplete widget: type and pick, like a person.
    page.locator(".field-member .select2-selection").click()
    page.locator(".select2-search__field").fill(cover)
    page.locator(".select2-results__option", has_text=cover.title()).first.click()
    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    end = start + dt.timedelta(days=2)
    page.fill("#id_starts_at_0", start.strftime("%Y-%m-%d"))
    page.fill("#id_starts_at_1", start.strftime("%H:%M:%S"))
    page.fill("#id_ends_at_0", end.strftime("%Y-%m-%d"))
    page.fill("#id_ends_at_1", end.strftime("%H:%M:%S"))
    page.fill("#id_reason", "e2e: covering for a dentist appointment")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")

    open_schedule(page, stack)
    screenshot(page, "schedule-with-override")
    bars = page.locator(".bar.override")
    assert bars.count() >= 1
    assert cover.title() in bars.first.inner_text()
    assert "dentist" in bars.first.get_attribute("title")
    after = stack.api("GET", "/api/v1/teams/payments/oncall/").json()
    assert after["primary"]["username"] == cover
    assert after["override"] is True


def test_a_conflict_is_marked_and_its_suggested_cover_made_in_one_click(stack, page):
    # Whoever is primary in four hours is out of office for two of them.
    start = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=4)).replace(
        second=0, microsecond=0
    )
    end = start + dt.timedelta(hours=2)
    at = start + dt.timedelta(minutes=30)
    before = stack.api(
        "GET", "/api/v1/teams/payments/oncall/?at=" + at.isoformat().replace("+", "%2B")
    ).json()
    away = before["primary"]["username"]
    code = (
        "from tests.e2e.seed import seed_time_off; "
        f"seed_time_off({away!r}, {start.isoformat()!r}, {end.isoformat()!r}, "
        "'e2e dentist')"
    )
    stack.manage("shell", "-c", code)
    window = f"from={start.isoformat()}&to={end.isoformat()}".replace("+", "%2B")
    [conflict] = stack.api("GET", f"/api/v1/teams/payments/conflicts/?{window}").json()[
        "conflicts"
    ]
    suggested = conflict["suggestions"][0]["member"]["username"]

    open_schedule(page, stack)
    marks = page.locator(".conflict-mark")
    assert marks.count() == 1
    assert marks.first.is_visible()
    assert "e2e dentist" in marks.first.get_attribute("title")
    screenshot(page, "schedule-with-conflict")

    row = page.locator("#conflicts .conflict-row").first
    row.locator("button").first.click()
    page.wait_for_selector(".messagelist li")
    screenshot(page, "schedule-conflict-covered")
    message = page.locator(".messagelist li").first
    assert message.get_attribute("class") == "success", message.inner_text()

    assert page.locator(".conflict-mark").count() == 0
    after = stack.api(
        "GET", "/api/v1/teams/payments/oncall/?at=" + at.isoformat().replace("+", "%2B")
    ).json()
    assert after["primary"]["username"] == suggested != away
    assert after["override"] is True


def test_an_operator_acknowledges_an_incident_from_the_admin(stack, page):
    from tests.e2e.stack import http

    # A payload recorded from a real Alertmanager (severity=critical: it pages).
    body = (FIXTURES / "a_single_firing.body").read_bytes()
    answer = http(
        "POST",
        stack.url + "/api/v1/alertmanager/",
        body=body,
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {stack.demo_token}",
        },
    )
    assert answer.status == 202, answer.body

    def incident():
        found = [
            i for i in stack.incidents(status="open") if "HighErrorRate" in i["title"]
        ]
        return found[0] if found else None

    wait_for(incident, 30, "the incident to open")
    number = incident()["id"]
    page.goto(stack.url + "/admin/alerts/incident/")
    page.locator(f"input[name=_selected_action][value='{number}']").check()
    page.select_option("select[name=action]", value="acknowledge")
    page.click("button[name=index]")
    page.wait_for_selector(".messagelist")
    screenshot(page, "incident-acknowledged")
    assert stack.api("GET", f"/api/v1/incidents/{number}/").json()["status"] == (
        "acknowledged"
    )


def test_an_operator_acknowledges_from_the_incident_page(stack, page):
    from tests.e2e.stack import http

    # Recorded from a real Alertmanager (f_two_groups_checkout: its own group).
    body = (FIXTURES / "f_two_groups_checkout.body").read_bytes()
    answer = http(
        "POST",
        stack.url + "/api/v1/alertmanager/",
        body=body,
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {stack.demo_token}",
        },
    )
    assert answer.status == 202, answer.body

    def incident():
        found = [
            i
            for i in stack.incidents(status="open")
            if i["group_key"] == json.loads(body)["groupKey"]
        ]
        return found[0] if found else None

    wait_for(incident, 30, "the incident to open")
    number = incident()["id"]
    page.goto(stack.url + "/admin/alerts/incident/")
    page.get_by_role("link", name=str(number), exact=True).first.click()
    page.wait_for_selector("#incident-console")
    assert page.locator("#incident-status").inner_text().lower() == "triggered"
    timeline = page.locator("#incident-timeline")
    assert "acknowledged by" not in timeline.inner_text()
    screenshot(page, "incident-page-triggered")

    page.click("#action-acknowledge")
    page.wait_for_selector(".messagelist")
    assert page.locator("#incident-status").inner_text().lower() == "acknowledged"
    assert "acknowledged by admin via admin" in timeline.inner_text()
    assert page.locator("#action-acknowledge").count() == 0
    screenshot(page, "incident-page-acknowledged")
    assert stack.api("GET", f"/api/v1/incidents/{number}/").json()["status"] == (
        "acknowledged"
    )


def test_the_integration_page_fits_and_shows_the_config_without_the_token(stack, page):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(stack.url + "/admin/alerts/integration/")
    page.get_by_role("link", name="alertmanager").first.click()
    page.wait_for_selector("#routes-group")
    screenshot(page, "integration-page")
    config = page.locator("#alertmanager-config").inner_text()
    assert "route:" in config and "credentials: '<token>'" in config
    assert stack.demo_token not in page.content()
    # The routes table ends inside the content area: nothing sticks out.
    routes = page.locator("#routes-group").bounding_box()
    content = page.locator("#content").bounding_box()
    assert routes["x"] + routes["width"] <= content["x"] + content["width"] + 1
    matchers = page.locator("#routes-group td.field-matchers_summary").first
    box = matchers.bounding_box()
    assert box["x"] + box["width"] <= routes["x"] + routes["width"] + 1
    assert "critical" in matchers.inner_text()
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], widths
    # The admin has no public site to link to.
    assert page.get_by_role("link", name="View site").count() == 0


def test_the_pay_report_shows_a_chart_and_downloads_the_csv(stack, page):
    import csv
    import io
    from decimal import Decimal

    page.goto(stack.url + "/admin/scheduling/team/")
    page.get_by_role("link", name="Payments").first.click()
    page.locator("#team-pay-link").click()
    page.wait_for_selector("#pay-chart img")
    screenshot(page, "pay-report")
    # The chart is an image the browser decoded (pygal's SVG), not a broken one.
    width = page.evaluate("document.querySelector('#pay-chart img').naturalWidth")
    assert width > 0
    month = page.locator("#pay-state").inner_text().split(":")[0]
    shown = {
        tuple(cell.strip() for cell in row.inner_text().split("\t"))
        for row in page.locator("#pay-totals tbody tr").all()
    }

    with page.expect_download() as download:
        page.locator("#pay-csv").click()
    assert download.value.suggested_filename == f"pay-payments-{month}.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))

    # What the page shows, what the CSV says and what the API answers agree.
    api = stack.api(
        "GET", f"/api/v1/reports/stipends/statements/?team=payments&month={month}"
    ).json()
    totals = {(t["member"], t["currency"], t["amount"]) for t in api["totals"]}
    assert shown == totals
    assert totals, "the demo's rates pay someone this month"
    by_member: dict[tuple[str, str], Decimal] = {}
    for row in rows:
        key = (row["member"], row["currency"])
        by_member[key] = by_member.get(key, Decimal(0)) + Decimal(row["amount"])
    assert {(m, c, str(a)) for (m, c), a in by_member.items()} == totals


def test_the_insights_page_shows_the_heatmap_and_a_flagged_week(stack, page):
    """The demo's generated month (a stormy night ten days ago) on the team's
    insights page, reached from the team page's link."""
    page.goto(stack.url + "/admin/scheduling/team/")
    page.get_by_role("link", name="Payments").first.click()
    page.get_by_role("link", name="Insights").click()
    page.wait_for_selector("#heatmap svg.pygal-chart")
    heatmap = page.locator("#heatmap svg.pygal-chart")
    assert heatmap.is_visible()
    title = heatmap.locator("text.title").text_content() or ""
    assert "Pages by hour and weekday (Africa/Nairobi)" in title
    # pygal draws a dot per hour and weekday with pages.
    assert page.locator("#heatmap svg .dots").count() > 0
    flagged = page.locator("#health tr.flagged-week")
    assert flagged.count() >= 1
    assert "more than 10 pages a week" in flagged.first.inner_text() or (
        "sleep-hour interruptions" in flagged.first.inner_text()
    )
    assert page.locator("#load svg.pygal-chart").is_visible()
    assert page.locator("#alert-quality").get_by_text("OrdersQueueStuck").is_visible()
    screenshot(page, "insights")


def test_a_handoff_note_on_a_phone_from_link_to_acknowledgement(stack, seeded):
    """The outgoing engineer opens the demo's note from their link on a phone,
    edits and submits it; the incoming one gets an SMS (the stack's fake Twilio)
    with their own link, opens it on a phone and acknowledges."""
    import re

    from tests.e2e.browser import PHONE

    made = stack.handoff_link()
    with browser_page(PHONE) as phone:
        phone.goto(made["link"])
        phone.wait_for_selector("#note")
        assert "/handoffs/" in phone.url and "/link/" not in phone.url
        assert "On-call handoff" in phone.locator("#note h1").inner_text()
        phone.fill("#ongoing", "[watch] payments-api p99 creeping up")
        phone.fill("#tips", "Restart the **ledger worker** if the queue backs up.")
        screenshot(phone, "handoff-phone-draft")
        # Nothing is wider than the phone's screen.
        root = "document.documentElement"
        widths = phone.evaluate(f"[{root}.scrollWidth, {root}.clientWidth]")
        assert widths[0] <= widths[1], widths
        phone.get_by_role("button", name=re.compile("^Submit")).click()
        phone.wait_for_selector("text=Status: submitted")
        assert "ledger worker" in phone.locator("#note strong").all_inner_texts()
        # The link was single-use: opening it again is refused with a page.
        phone.goto(made["link"])
        assert "already used" in phone.locator("h1").inner_text()

    def handoff_texts() -> list:
        # Only the handoff's: the incoming engineer may also be told of a
        # short-notice schedule change (scheduling/notices.py).
        return [
            m
            for m in stack.twilio.messages(made["incoming_phone"])
            if "/handoffs/link/" in m.body
        ]

    wait_for(handoff_texts, 30, "the incoming engineer's SMS")
    [sms] = handoff_texts()
    link = re.search(r"https?://\S+/handoffs/link/\S+/", sms.body).group(0)
    with browser_page(PHONE) as phone:
        phone.goto(link)
        phone.wait_for_selector("#note")
        assert "p99 creeping up" in phone.locator("#note").inner_text()
        phone.get_by_role("button", name=re.compile("^Acknowledge")).click()
        phone.wait_for_selector("text=Status: acknowledged")
        screenshot(phone, "handoff-phone-acknowledged")
    note = stack.api("GET", f"/api/v1/handoffs/{made['note']}/").json()
    assert note["status"] == "acknowledged"
    assert "**watch** payments-api p99 creeping up" in note["markdown"]


def test_an_import_from_the_admin_shows_its_progress_and_report(stack, page):
    """The operator starts a dry-run PagerDuty import of one team (the fake
    PagerDuty in this process; the stack's worker reads it), the page follows
    the worker and shows the report with the faithfulness check."""
    import secrets

    from django.utils import timezone

    from tests.alerts.importers.pagerduty_org import organisation

    fake = organisation(timezone.now())
    fake.token = f"pd-{secrets.token_hex(16)}"
    server, url = fake.serve()
    try:
        page.goto(stack.url + "/admin/")
        page.get_by_role("link", name="Import runs").click()
        page.get_by_role("link", name="Add import run").click()
        page.select_option("#id_source", "pagerduty")
        page.fill("#id_url", url)
        page.fill("#id_token", fake.token)
        page.fill("#id_team", "Platform")
        assert page.is_checked("#id_dry_run")
        page.click("input[type=submit]")
        page.wait_for_selector("#import-progress")
        screenshot(page, "import-progress")
        # The script reloads the page once the worker is done.
        page.wait_for_selector("#import-report", timeout=180_000)
        report = page.locator("#import-report").inner_text()
        screenshot(page, "import-report")
    finally:
        server.shutdown()
        server.server_close()
    assert "dry run: nothing was written" in report
    assert "faithfulness platform: 1344/1344 hours agree" in report
    assert fake.token not in page.content()
