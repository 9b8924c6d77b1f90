"""manage.py oncall_import pagerduty: a realistic organisation on a fake
PagerDuty API arrives through the configuration-as-code path, agrees with the
source's /oncalls at every hour of the next 8 weeks (across a DST change), a
second run writes nothing, and a source that cannot be read writes nothing."""

from __future__ import annotations

import datetime as dt
import io
import socket

import pytest
from django.core.management import CommandError, call_command

from alerts.importers.client import SourceError
from alerts.importers.pagerduty import (
    pagerduty_apply,
    pagerduty_check,
    pagerduty_client,
    pagerduty_read,
)
from alerts.models import EscalationPolicy, Integration
from scheduling.models import Member, Override, Rotation, Team
from scheduling.selectors import oncall_at
from tests.alerts.importers.fake_pagerduty import TOKEN
from tests.alerts.importers.pagerduty_org import organisation, uid

pytestmark = pytest.mark.django_db


def next_march(today: dt.datetime) -> dt.datetime:
    """1 March 00:00 UTC after today: the 8 weeks from then hold Europe's
    spring-forward (last Sunday of March)."""
    year = today.year if today.month < 3 else today.year + 1
    return dt.datetime(year, 3, 1, tzinfo=dt.UTC)


NOW = next_march(dt.datetime.now(dt.UTC))


@pytest.fixture
def fake():
    fake = organisation(NOW)
    server, url = fake.serve()
    fake.url = url
    yield fake
    server.shutdown()
    server.server_close()


def run_import(fake, *, token=TOKEN, team=None, dry_run=False, now=NOW):
    client = pagerduty_client(url=fake.url, token=token)
    try:
        report = pagerduty_read(client=client, team=team, now=now)
        return pagerduty_apply(report=report, client=client, now=now, dry_run=dry_run)
    finally:
        client.close()


def command(*args: str) -> str:
    out = io.StringIO()
    call_command("oncall_import", *args, stdout=out)
    return out.getvalue()


def test_it_imports_the_organisation_and_agrees_at_every_hour(fake, waits):
    report = run_import(fake)

    assert waits == [2.0]  # the one 429's Retry-After, honoured
    assert {(c.team, c.agree, c.total) for c in report.checks} == {
        ("payments", 1344, 1344),
        ("platform", 1344, 1344),
    }, [c.disagreements[:3] for c in report.checks]

    # Two schedules that are one paired rotation in our model (DESIGN §7).
    payments = Rotation.objects.get(team__slug="payments")
    assert payments.scheme == "paired"
    assert [
        p.member.username for p in payments.rotationparticipant_set.order_by("position")
    ] == ["alice", "bob", "charlie", "david", "eve", "frank"]
    assert (payments.time_zone, payments.handoff_weekday, payments.handoff_time) == (
        "Europe/London",
        0,
        dt.time(9, 0),
    )
    platform = Rotation.objects.filter(team__slug="platform").order_by("-layer")
    assert [
        (r.layer, r.scheme, r.restrict_weekdays, r.restrict_start, r.restrict_end)
        for r in platform
    ] == [
        (2, "primary_only", "01234", dt.time(8, 0), dt.time(20, 0)),
        (1, "primary_only", "", None, None),
    ]

    # Escalation: delays are "after the previous step"; targets by role.
    policy = EscalationPolicy.objects.get(slug="pd-pep1")
    assert policy.team_default and policy.repeat == 2
    assert [
        (s.target, s.delay, s.member and s.member.username)
        for s in policy.steps.order_by("position")
    ] == [
        ("primary", dt.timedelta(0), None),
        ("secondary", dt.timedelta(minutes=10), None),
        ("member", dt.timedelta(minutes=15), "frank"),
    ]
    assert policy.repeat_after == dt.timedelta(minutes=30)
    platform_steps = EscalationPolicy.objects.get(slug="pd-pep2").steps.order_by(
        "position"
    )
    assert [
        (s.target, s.delay, s.member and s.member.username) for s in platform_steps
    ] == [
        ("primary", dt.timedelta(0), None),
        ("member", dt.timedelta(minutes=15), "heidi"),
        ("member", dt.timedelta(minutes=10), "grace"),
        ("member", dt.timedelta(0), "judy"),
    ]
    assert set(Integration.objects.values_list("slug", "team__slug")) == {
        ("pd-psv1", "payments"),
        ("pd-psv2", "platform"),
    }

    # People: phone and SMS methods on one number become one contact method.
    alice = Member.objects.get(user__username="alice")
    assert alice.phone == "+447700900000"
    assert list(alice.contact_methods.values_list("phone", "sms", "voice")) == [
        ("+447700900000", True, True)
    ]

    # Future overrides only (one on Payments, one on each Platform layer).
    assert sorted(Override.objects.values_list("reason", flat=True)) == [
        "pagerduty:PO1",
        "pagerduty:PO2",
        "pagerduty:PO2",
    ]

    # What our model cannot hold is listed, with the reason.
    text = "\n".join(report.problems)
    assert "mallory@example.com: no phone" in text
    assert "'Platform DB weekend': not the primary or secondary" in text
    assert (
        "'Platform DB' rule 1: target schedule_reference PSDB has no equivalent" in text
    )


def test_the_weekly_handoff_follows_london_across_the_dst_change(fake, waits):
    run_import(fake)
    team = Team.objects.get(slug="payments")
    # Monday 29 March 2027 (or the year's Monday after the change): 09:00 BST = 08:00Z.
    change = NOW.replace(day=31)
    while change.weekday() != 6:
        change -= dt.timedelta(days=1)
    monday = change + dt.timedelta(days=1)
    before, after = monday.replace(hour=7, minute=30), monday.replace(hour=8, minute=30)
    for at in (before, after):
        assert oncall_at(team=team, at=at).primary.username == _name(
            fake, fake.who("PSPRI", at)
        )
    assert (
        oncall_at(team=team, at=before).primary
        != oncall_at(team=team, at=after).primary
    )


def _name(fake, user_id: str) -> str:
    return next(u["email"].split("@")[0] for u in fake.users if u["id"] == user_id)


def test_the_check_lists_where_the_source_disagrees(fake, waits):
    report = run_import(fake)
    # A change in the source after the import: the check sees it, hour by hour.
    start = NOW + dt.timedelta(days=20, hours=1)
    fake.overrides["PSPRI"].append(
        {
            "id": "PO9",
            "start": start.isoformat(),
            "end": (start + dt.timedelta(hours=3)).isoformat(),
            "user": {"id": uid("judy"), "type": "user_reference"},
        }
    )
    client = pagerduty_client(url=fake.url, token=TOKEN)
    try:
        checks = {
            c.team: c for c in pagerduty_check(report=report, client=client, now=NOW)
        }
    finally:
        client.close()
    assert (checks["payments"].agree, checks["platform"].agree) == (1341, 1344)
    first = checks["payments"].disagreements[0]
    assert first.startswith(f"{start:%Y-%m-%d %H:%M}Z: PagerDuty ['judy']")


def test_a_second_run_writes_nothing(fake, waits, writes, monkeypatch):
    monkeypatch.setattr("alerts.importers.run.timezone.now", lambda: NOW)
    first = command("pagerduty", "--url", fake.url, "--token", "good-token")
    assert "created team payments" in first
    assert "faithfulness payments: 1344/1344 hours agree" in first
    assert (
        "faithfulness platform: 1344/1344 hours agree (primary only compared)" in first
    )
    assert "- user mallory@example.com: no phone" in first
    with writes() as w:
        second = command("pagerduty", "--url", fake.url, "--token", "good-token")
    assert w.statements == []
    assert "nothing changed" in second
    assert "faithfulness payments: 1344/1344 hours agree" in second


def test_a_changed_override_is_updated_not_duplicated(fake, waits):
    run_import(fake)
    moved = fake.overrides["PSFTS"][0]
    moved["end"] = (
        dt.datetime.fromisoformat(moved["end"]) + dt.timedelta(hours=1)
    ).isoformat()
    report = run_import(fake)
    assert report.overrides_written == 2  # the one override, on both layers
    assert Override.objects.filter(reason="pagerduty:PO2").count() == 2
    assert {c.agree for c in report.checks} == {1344}


def test_dry_run_prints_the_plan_and_writes_nothing(fake, waits, monkeypatch):
    monkeypatch.setattr("alerts.importers.run.timezone.now", lambda: NOW)
    out = command("pagerduty", "--url", fake.url, "--token", "good-token", "--dry-run")
    assert "dry run: nothing was written" in out
    assert "rotations: pd-pspri (Payments primary + Payments secondary)" in out
    assert "would create team payments" in out
    assert "faithfulness payments: 1344/1344 hours agree" in out
    assert not Team.objects.exists() and not Member.objects.exists()


def test_one_team_only(fake, waits):
    run_import(fake, team="Platform")
    assert list(Team.objects.values_list("slug", flat=True)) == ["platform"]
    assert not Member.objects.filter(user__username="alice").exists()


def test_bad_credentials_write_nothing(fake, waits):
    with pytest.raises(
        CommandError,
        match="refused the token .401 on /users: Unauthorized.*nothing was written",
    ):
        command("pagerduty", "--url", fake.url, "--token", "wrong")
    assert not Team.objects.exists()


def test_an_unreachable_source_writes_nothing(waits):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nobody listens
    with pytest.raises(CommandError, match="unreachable"):
        command("pagerduty", "--url", f"http://127.0.0.1:{port}", "--token", "t")
    assert not Team.objects.exists()


@pytest.mark.parametrize(
    ("path", "body", "problem"),
    [
        ("/escalation_policies", "<html>oops</html>", "not JSON"),
        ("/services", '{"items": []}', "has no list 'services'"),
        ("/schedules/PSFTS", '{"schedule": {"id": "PSFTS"}}', "has no schedule_layers"),
    ],
)
def test_a_malformed_answer_writes_nothing(fake, waits, path, body, problem):
    fake.broken[path] = body
    with pytest.raises(SourceError, match=problem):
        run_import(fake)
    assert not Team.objects.exists()


def test_someone_already_here_keeps_their_other_teams_and_numbers(fake, waits):
    from alerts.paging.contacts import contact_method_create
    from scheduling.members import member_create

    search = Team.objects.create(slug="search", name="Search", time_zone="UTC")
    alice = member_create(
        username="alice", name="Alice Here", phone="+15550100", teams=[search]
    )
    contact_method_create(member=alice, phone="+15550199", label="desk", position=0)
    run_import(fake)
    alice.refresh_from_db()
    assert sorted(t.slug for t in alice.teams.all()) == ["payments", "search"]
    assert list(alice.contact_methods.values_list("phone", flat=True)) == [
        "+447700900000",
        "+15550199",
    ]


def test_a_layer_that_starts_later_is_reported(fake, waits):
    later = NOW + dt.timedelta(days=7)
    fake.schedule("PSFTS")["schedule_layers"][0]["start"] = later.isoformat()
    report = run_import(fake)
    assert any(
        "'Platform follow-the-sun' layer 'Europe daytime': it starts later" in p
        for p in report.problems
    )
    assert Rotation.objects.filter(team__slug="platform").count() == 1


def test_an_override_under_way_is_not_rewritten_an_hour_later(fake, waits):
    fake.overrides["PSFTS"].append(
        {
            "id": "PO7",
            "start": (NOW - dt.timedelta(hours=2)).isoformat(),
            "end": (NOW + dt.timedelta(hours=5)).isoformat(),
            "user": {"id": uid("judy"), "type": "user_reference"},
        }
    )
    first = run_import(fake)
    # Monday 01:00-06:00 Berlin: only the around-the-clock layer has shifts.
    assert Override.objects.filter(reason="pagerduty:PO7").count() == 1
    assert not [p for p in first.problems if "PO7" in p]
    later = run_import(fake, now=NOW + dt.timedelta(hours=1))
    assert later.overrides_written == 0
    assert {c.agree for c in later.checks} == {1344}


def test_a_schedule_without_a_time_zone_is_a_clear_error(fake, waits):
    del fake.schedule("PSPRI")["time_zone"]
    with pytest.raises(SourceError, match="not in the documented shape .KeyError"):
        run_import(fake)
    assert not Team.objects.exists()


def test_a_value_our_model_refuses_says_where_and_writes_nothing(fake, waits):
    fake.users[1]["time_zone"] = "Mars/Olympus"
    with pytest.raises(CommandError) as failed:
        command("pagerduty", "--url", fake.url, "--token", TOKEN)
    message = str(failed.value)
    assert message.startswith("members[1].time_zone: ")
    assert "Mars/Olympus" in message and message.endswith("(nothing was written)")
    assert not Team.objects.exists() and not Member.objects.exists()


def test_a_secondary_that_is_not_a_partner_is_reported_as_dropped(fake, waits):
    # Turns of a day under weekly primaries: no paired or follow scheme.
    fake.schedule("PSSEC")["schedule_layers"][0]["rotation_turn_length_seconds"] = (
        24 * 3600
    )
    report = run_import(fake)
    text = "\n".join(report.problems)
    assert (
        "'Payments secondary' (team payments's secondary): not a paired or follow "
        "partner of the primary schedule (ours: the secondary comes from the "
        "primary's rotation); not imported, nor is the policy's step to it" in text
    )
    assert "pages our secondary" not in text
    # What the report says is what happened: the step to it is gone, and the
    # rule's drop is reported in its own words too.
    assert "rule 2: target schedule_reference PSSEC has no equivalent" in text
    assert [
        s.target for s in EscalationPolicy.objects.get(slug="pd-pep1").steps.all()
    ] == [
        "primary",
        "member",
    ]
    assert Rotation.objects.get(team__slug="payments").scheme == "primary_only"
