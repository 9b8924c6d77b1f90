"""The admin's pay report: found from the team page, a table and a pygal chart,
the CSV download, close and reopen through the closing service."""

from __future__ import annotations

import base64
import csv
import io

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from scheduling.models import PayLogEntry, PayMonth


def report_url(team) -> str:
    return reverse("admin:scheduling_pay_report", args=[team.pk])


def test_the_team_page_links_to_its_pay_report(admin_client, team):
    page = admin_client.get(reverse("admin:scheduling_team_change", args=[team.pk]))

    assert report_url(team) in page.content.decode()


def test_the_report_shows_the_table_and_a_chart_per_member(
    admin_client, team, reference
):
    page = admin_client.get(report_url(team), {"month": "2026-01"})

    html = page.content.decode()
    assert page.status_code == 200
    assert "2026-01: open" in html
    chart = html.split('id="pay-chart">')[1].split("</div>")[0]
    svg = base64.b64decode(chart.split("base64,")[1].split('"')[0]).decode()
    assert chart.startswith('<img src="data:image/svg+xml;base64,')
    assert svg.startswith("<?xml") and "<svg" in svg
    for name in ("alice", "bob", "charlie", "david", "eve", "frank"):
        assert f">{name}<" in svg, "a bar per member, labelled"
    # alice: 500 + 200.89 (see test_closing).
    assert '<td>alice</td><td>USD</td><td class="num">700.89</td>' in html


def test_the_csv_download(admin_client, team, reference):
    response = admin_client.get(report_url(team), {"month": "2026-01", "format": "csv"})

    assert response["Content-Disposition"] == (
        'attachment; filename="pay-payments-2026-01.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert {(r["period_start"], r["period_end"]) for r in rows} == {
        ("2026-01-01", "2026-01-31")
    }
    assert [r["amount"] for r in rows if r["member"] == "alice"] == ["700.89"]


def test_close_then_reopen_with_a_note(admin_client, team, reference):
    admin_client.post(report_url(team) + "?month=2026-01", {"action": "close"})
    assert PayMonth.objects.get(team=team).closed_at is not None

    refused = admin_client.post(
        report_url(team) + "?month=2026-01", {"action": "reopen"}, follow=True
    )
    assert "Say why the month is reopened." in refused.content.decode()
    assert PayMonth.objects.get(team=team).closed_at is not None

    admin_client.post(
        report_url(team) + "?month=2026-01", {"action": "reopen", "note": "rate fix"}
    )
    assert PayMonth.objects.get(team=team).closed_at is None
    assert list(PayLogEntry.objects.values_list("action", "note")) == [
        ("reopen", "rate fix"),
        ("close", ""),
    ]


def test_staff_who_may_only_view_cannot_close(client, team, reference):
    viewer = get_user_model().objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_paymonth"))
    client.force_login(viewer)

    page = client.get(report_url(team), {"month": "2026-01"})
    close = client.post(report_url(team) + "?month=2026-01", {"action": "close"})

    assert page.status_code == 200
    assert "Close month" not in page.content.decode()
    assert close.status_code == 403
    assert not PayMonth.objects.filter(team=team, closed_at__isnull=False).exists()


def test_an_unknown_team_is_a_404(admin_client, db):
    response = admin_client.get("/admin/scheduling/paymonth/report/999999/")
    assert response.status_code == 404


def test_the_report_lists_overrides_given_away(admin_client, team, reference, cast):
    from scheduling.overrides import override_create
    from tests.cast import utc

    override = override_create(
        rotation=reference,
        role="primary",
        member=cast["charlie"],
        starts_at=utc(2026, 1, 7, 6),
        ends_at=utc(2026, 1, 9, 6),
    )

    html = admin_client.get(report_url(team), {"month": "2026-01"}).content.decode()

    given = html.split('id="pay-given-away"')[1].split("</table>")[0]
    assert "<td>alice</td><td>charlie</td>" in given
    assert f"#{override.pk}</a>" in given
