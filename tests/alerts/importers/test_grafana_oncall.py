"""manage.py oncall_import grafana-oncall: a realistic organisation on a fake
Grafana OnCall API arrives through the configuration-as-code path, agrees with
the source's final shifts at every hour of the next 8 weeks (across the spring
DST changes of Europe and of the United States), a second run writes nothing,
and a source that cannot be read writes nothing."""

from __future__ import annotations

import datetime as dt
import io
import socket

import pytest
from django.core.management import CommandError, call_command

from alerts.importers.client import SourceError
from alerts.importers.grafana_oncall import (
    grafana_oncall_apply,
    grafana_oncall_check,
    grafana_oncall_client,
    grafana_oncall_read,
)
from alerts.models import EscalationPolicy, Integration, Route
from scheduling.models import Member, Override, Rotation, Team
from scheduling.selectors import oncall_at
from tests.alerts.importers.fake_grafana_oncall import TOKEN
from tests.alerts.importers.grafana_oncall_org import organisation, uid

pytestmark = pytest.mark.django_db


def next_march(today: dt.datetime) -> dt.datetime:
    """1 March 00:00 UTC after today: the 8 weeks from then hold the spring
    changes of the United States (2nd Sunday) and of Europe (last Sunday)."""
    year = today.year if today.month < 3 else today.year + 1
    return dt.datetime(year, 3, 1, tzinfo=dt.UTC)


NOW = next_march(dt.datetime.now(dt.UTC))
PHONES = {"alice@example.com": "+4915100000001", "bob@example.com": "+4915100000002"}


@pytest.fixture
def fake():
    fake = organisation(NOW)
    server, _ = fake.serve()
    yield fake
    server.shutdown()
    server.server_close()


def run_import(fake, *, token=TOKEN, team=None, dry_run=False, now=NOW, phones=None):
    client = grafana_oncall_client(url=fake.url, token=token)
    try:
        report = grafana_oncall_read(
            client=client,
            team=team,
            now=now,
            phones=PHONES if phones is None else phones,
        )
        return grafana_oncall_apply(
            report=report, client=client, now=now, dry_run=dry_run
        )
    finally:
        client.close()


def command(*args: str) -> str:
    out = io.StringIO()
    call_command("oncall_import", "grafana-oncall", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def at_now(monkeypatch):
    monkeypatch.setattr("alerts.importers.run.timezone.now", lambda: NOW)


def test_it_imports_the_organisation_and_agrees_at_every_hour(fake, waits):
    report = run_import(fake)

    assert waits == [3.0]  # the one 429's Retry-After, honoured
    assert {(c.team, c.agree, c.total, c.note) for c in report.checks} == {
        ("payments", 1344, 1344, ""),
        ("platform", 1344, 1344, "primary only compared"),
        ("support", 1344, 1344, "primary only compared"),
    }, [c.disagreements[:3] for c in report.checks]
    # Pagination followed to the end (page size 2), final shifts included.
    assert "/api/v1/schedules/SFTS/final_shifts" in fake.requests
    assert fake.requests.count("/api/v1/users/") == 1 + 7  # the 429, 7 pages

    # Two schedules that are one paired rotation in our model (DESIGN §7).
    payments = Rotation.objects.get(team__slug="payments")
    assert (payments.slug, payments.scheme) == ("go-opri", "paired")
    assert [
        p.member.username for p in payments.rotationparticipant_set.order_by("position")
    ] == ["alice", "bob", "charlie", "david", "eve", "frank"]
    assert (payments.time_zone, payments.handoff_weekday, payments.handoff_time) == (
        "Europe/Berlin",
        0,
        dt.time(9, 0),
    )
    # Follow the sun: Europe's weekday daytime (level 1) over the Americas'
    # around-the-clock week handed off at 09:00 New York time (level 0).
    platform = Rotation.objects.filter(team__slug="platform").order_by("-layer")
    assert [
        (
            r.slug,
            r.layer,
            r.time_zone,
            r.handoff_time,
            r.restrict_weekdays,
            r.restrict_start,
            r.restrict_end,
        )
        for r in platform
    ] == [
        (
            "go-oday",
            2,
            "Europe/Berlin",
            dt.time(8, 0),
            "01234",
            dt.time(8, 0),
            dt.time(20, 0),
        ),
        ("go-obase", 1, "America/New_York", dt.time(9, 0), "", None, None),
    ]

    # Escalation: Grafana's waits become the next step's delay; the repeat.
    policy = EscalationPolicy.objects.get(slug="go-cpay")
    assert policy.team_default and policy.repeat == 5
    assert policy.repeat_after == dt.timedelta(minutes=30)
    assert [
        (s.target, s.delay, s.member and s.member.username)
        for s in policy.steps.order_by("position")
    ] == [
        ("primary", dt.timedelta(0), None),
        ("secondary", dt.timedelta(minutes=10), None),
        ("member", dt.timedelta(minutes=15), "frank"),
    ]
    platform_steps = EscalationPolicy.objects.get(slug="go-cplat").steps
    assert [
        (s.target, s.delay, s.member and s.member.username)
        for s in platform_steps.order_by("position")
    ] == [
        ("primary", dt.timedelta(0), None),
        ("member", dt.timedelta(minutes=15), "heidi"),
        ("member", dt.timedelta(minutes=10), "grace"),
        ("member", dt.timedelta(0), "judy"),
    ]

    # Integrations and routes: label matchers where the route is a label test.
    assert set(Integration.objects.values_list("slug", "team__slug")) == {
        ("go-ipay", "payments"),
        ("go-iplat", "platform"),
    }
    routes = Route.objects.filter(integration__slug="go-ipay").order_by("position")
    assert [
        (r.slug, [str(m) for m in r.matchers.all()], r.escalation_policy.slug)
        for r in routes
    ] == [
        ("go-rpay1", ['severity="critical"'], "go-cpay"),
        ("go-rpay2", ['service="db"'], "go-cplat"),
        ("go-ipay-default", [], "go-cpay"),
    ]

    # People: a phone from --phones, its channels from the notification rules.
    alice = Member.objects.get(user__username="alice")
    assert alice.phone == "+4915100000001"
    assert list(alice.contact_methods.values_list("phone", "sms", "voice")) == [
        ("+4915100000001", True, True)
    ]
    bob = Member.objects.get(user__username="bob")
    assert list(bob.contact_methods.values_list("sms", "voice")) == [(True, False)]
    charlie = Member.objects.get(user__username="charlie")
    assert (charlie.phone, charlie.paging_warning) == ("", "no phone number")
    assert not Member.objects.filter(user__username="mallory").exists()

    # Future overrides only: the past one is left out.
    reasons = set(
        Override.objects.exclude(rotation__team__slug="support").values_list(
            "reason", flat=True
        )
    )
    assert reasons == {"grafana-oncall:OVP1", "grafana-oncall:OVF1"}

    # What our model cannot hold is listed, with the reason.
    text = "\n".join(report.problems)
    for expected in (
        "'Platform default' step 5: notify_user_group has no equivalent",
        '"Nobody\'s": belongs to no team',
        "schedule 'Platform holidays': not the primary or secondary",
        "route '{{ \"eu\" in payload.commonLabels.region }}' (jinja2): not "
        "expressible as label matchers",
        "person charlie: no phone number",
        "person judy: no phone number",
    ):
        assert expected in text, expected
    assert "person alice: no phone" not in text


def _last_sunday_of_march(year: int) -> dt.date:
    day = dt.date(year, 3, 31)
    return day - dt.timedelta(days=(day.weekday() + 1) % 7)


def test_the_weekly_handoff_follows_berlin_across_the_dst_change(fake, waits):
    run_import(fake)
    team = Team.objects.get(slug="payments")
    monday = _last_sunday_of_march(NOW.year) + dt.timedelta(days=1)
    # 09:00 CEST is 07:00Z on the Monday after the change (08:00Z before it).
    before = dt.datetime.combine(monday, dt.time(6, 30), tzinfo=dt.UTC)
    after = dt.datetime.combine(monday, dt.time(7, 30), tzinfo=dt.UTC)
    for at in (before, after):
        now = oncall_at(team=team, at=at)
        assert [now.primary.user.username, now.secondary.user.username] == [
            _name(fake, fake.who("SPRI", at)[0]),
            _name(fake, fake.who("SSEC", at)[0]),
        ]
    assert (
        oncall_at(team=team, at=before).primary
        != oncall_at(team=team, at=after).primary
    )


def _name(fake, user_id: str) -> str:
    return next(u["username"] for u in fake.users if u["id"] == user_id)


def test_the_check_lists_where_the_source_disagrees(fake, waits):
    report = run_import(fake)
    # A change in the source after the import: the check sees it, hour by hour.
    start = NOW + dt.timedelta(days=20, hours=1)
    fake.shifts.append(
        {
            "id": "OVP9",
            "name": "late change",
            "type": "override",
            "time_zone": "UTC",
            "level": 0,
            "start": start.replace(tzinfo=None).isoformat(),
            "duration": 3 * 3600,
            "users": [uid("judy")],
        }
    )
    fake.schedule("SPRI")["shifts"].append("OVP9")
    client = grafana_oncall_client(url=fake.url, token=TOKEN)
    try:
        checks = {
            c.team: c
            for c in grafana_oncall_check(report=report, client=client, now=NOW)
        }
    finally:
        client.close()
    assert (checks["payments"].agree, checks["platform"].agree) == (1341, 1344)
    first = checks["payments"].disagreements[0]
    assert first.startswith(f"{start:%Y-%m-%d %H:%M}Z: Grafana OnCall ['judy']")


def test_a_second_run_writes_nothing(fake, waits, writes, at_now, tmp_path):
    phones = tmp_path / "phones.csv"
    phones.write_text("email,phone\nalice@example.com,+4915100000001\n")
    args = ("--url", fake.url, "--token", TOKEN, "--phones", str(phones))
    first = command(*args)
    assert "created team payments" in first
    assert "faithfulness payments: 1344/1344 hours agree" in first
    assert (
        "faithfulness platform: 1344/1344 hours agree (primary only compared)" in first
    )
    assert "- person bob: no phone number" in first
    assert "contact rules written: 3" in first
    assert (
        "faithfulness support: 1344/1344 hours agree (primary only compared)" in first
    )
    with writes() as w:
        second = command(*args)
    assert w.statements == []
    assert "nothing changed" in second
    assert "faithfulness payments: 1344/1344 hours agree" in second


def test_a_changed_override_is_updated_not_duplicated(fake, waits):
    run_import(fake)
    fake.shift("OVF1")["duration"] += 3600
    report = run_import(fake)
    assert report.overrides_written >= 1
    assert not report.created
    assert {c.agree for c in report.checks} == {1344}
    again = run_import(fake)
    assert again.overrides_written == 0


def test_dry_run_prints_the_plan_and_writes_nothing(fake, waits, at_now):
    out = command("--url", fake.url, "--token", TOKEN, "--dry-run")
    assert "dry run: nothing was written" in out
    assert "rotations: go-opri (Payments primary + Payments secondary)" in out
    assert "would create team payments" in out
    assert "faithfulness payments: 1344/1344 hours agree" in out
    assert not Team.objects.exists() and not Member.objects.exists()


def test_one_team_only(fake, waits):
    report = run_import(fake, team="Platform")
    assert list(Team.objects.values_list("slug", flat=True)) == ["platform"]
    assert not Member.objects.filter(user__username="alice").exists()
    # Payments' route to Platform's chain is not read: its integration is not.
    assert not Integration.objects.filter(slug="go-ipay").exists()
    assert {c.team for c in report.checks} == {"platform"}


def test_an_unknown_team_is_a_clear_error(fake, waits):
    with pytest.raises(CommandError, match="has no team 'Search'"):
        command("--url", fake.url, "--token", TOKEN, "--team", "Search")


def test_bad_credentials_write_nothing(fake, waits):
    with pytest.raises(
        CommandError, match="refused the token .401.*nothing was written"
    ):
        command("--url", fake.url, "--token", "wrong")
    assert not Team.objects.exists()


def test_an_unreachable_source_writes_nothing(waits):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nobody listens
    with pytest.raises(CommandError, match="unreachable.*nothing was written"):
        command("--url", f"http://127.0.0.1:{port}", "--token", "t")
    assert not Team.objects.exists()


@pytest.mark.parametrize(
    ("path", "body", "problem"),
    [
        ("/api/v1/escalation_chains/", "<html>oops</html>", "not JSON"),
        ("/api/v1/routes/", '{"items": []}', "has no list 'results'"),
        (
            "/api/v1/on_call_shifts/",
            '{"results": [{"id": "OX", "type": "rolling_users", "frequency": '
            '"weekly", "rolling_users": [["UALICE"]], "start": '
            '"2026-01-05T09:00:00"}], "next": null}',
            r"not in the documented shape \(KeyError: 'duration'\)",
        ),
        # Read while applying: the transaction is rolled back.
        (
            "/api/v1/schedules/SFTS/final_shifts",
            '{"results": [{"user_pk": "UGRACE"}], "next": null}',
            "final shift of schedule SFTS is not in the documented shape",
        ),
    ],
)
def test_a_malformed_answer_writes_nothing(fake, waits, path, body, problem):
    fake.broken[path] = body
    with pytest.raises(SourceError, match=problem):
        run_import(fake)
    assert not Team.objects.exists()
    assert not Member.objects.exists()


def test_next_links_to_another_host_never_get_the_token(fake, waits):
    """Only the page number of ``next`` is used: the token stays with the URL
    the operator gave."""
    real = fake.url
    fake.url = "http://attacker.invalid"  # the host the fake's links name
    client = grafana_oncall_client(url=real, token=TOKEN)
    try:
        report = grafana_oncall_read(client=client, now=NOW)
    finally:
        client.close()
    assert [t["slug"] for t in report.document["teams"]] == [
        "payments",
        "platform",
        "support",
    ]
    assert fake.requests.count("/api/v1/users/") == 1 + 7  # the 429, 7 pages


def test_a_shift_our_model_cannot_hold_arrives_as_overrides_from_final_shifts(
    fake, waits
):
    """A monthly shift on top of the follow-the-sun layers: our rotations cannot
    say it, so it is reported, and its hours come as overrides taken from the
    source's final shifts (ours covers them) -- then every hour agrees."""
    monthly = fake.shift("OMONTH")
    monthly["level"] = 2
    fake.schedule("SFTS")["shifts"].append("OMONTH")
    report = run_import(fake)
    assert any(
        "'Platform follow-the-sun' shift 'Monthly DB patching': frequency "
        "'monthly'" in p
        for p in report.problems
    )
    assert any(
        p.startswith("schedule SFTS (platform's primary): ")
        and "imported as 2 override(s) from its final shifts" in p
        for p in report.problems
    ), report.problems
    platform = next(c for c in report.checks if c.team == "platform")
    assert (platform.agree, platform.disagreements) == (1344, [])
    # Ivan from 06:00 Berlin on the 3rd of each month (where he was not on call).
    filled = Override.objects.filter(reason__startswith="grafana-oncall:final-SFTS-")
    assert {o.member.username for o in filled} == {"ivan"}
    assert min(o.starts_at for o in filled) == NOW.replace(day=3, hour=5)
    again = run_import(fake)
    assert again.overrides_written == 0
    assert {c.agree for c in again.checks} == {1344}


def test_a_bad_phones_file_is_a_clear_error(fake, waits, tmp_path):
    phones = tmp_path / "phones.csv"
    phones.write_text("alice@example.com,0151 000\n")
    with pytest.raises(CommandError, match="line 1: '0151 000' is not an E.164"):
        command("--url", fake.url, "--token", TOKEN, "--phones", str(phones))
    with pytest.raises(CommandError, match="--phones .*missing.csv"):
        command(
            "--url",
            fake.url,
            "--token",
            TOKEN,
            "--phones",
            str(tmp_path / "missing.csv"),
        )
    assert not Team.objects.exists()


def test_someone_already_here_keeps_their_phone_teams_and_numbers(fake, waits):
    from alerts.paging.contacts import contact_method_create
    from scheduling.members import member_create

    search = Team.objects.create(slug="search", name="Search", time_zone="UTC")
    charlie = member_create(
        username="charlie", name="Charlie Here", phone="+15550100", teams=[search]
    )
    contact_method_create(member=charlie, phone="+15550199", label="desk", position=0)
    report = run_import(fake)
    charlie.refresh_from_db()
    assert charlie.phone == "+15550100"
    assert sorted(t.slug for t in charlie.teams.all()) == ["payments", "search"]
    assert list(charlie.contact_methods.values_list("phone", flat=True)) == [
        "+15550199"
    ]
    assert not any("person charlie: no phone" in p for p in report.problems)
