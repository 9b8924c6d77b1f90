"""manage.py oncall_import opsgenie: a realistic organisation on a fake Opsgenie
API arrives through the configuration-as-code path, agrees with the source's
schedule timelines at every hour of the next 8 weeks (across the US and the EU
DST changes), a second run writes nothing, and a source that cannot be read
writes nothing."""

from __future__ import annotations

import datetime as dt
import io
import socket

import pytest
from django.core.management import CommandError, call_command

from alerts.importers.client import SourceError
from alerts.importers.opsgenie import (
    opsgenie_apply,
    opsgenie_check,
    opsgenie_client,
    opsgenie_read,
)
from alerts.models import EscalationPolicy
from scheduling.models import Member, Override, Rotation, Team
from scheduling.selectors import oncall_at
from tests.alerts.importers.fake_opsgenie import KEY
from tests.alerts.importers.opsgenie_org import oid, organisation, user_ref

pytestmark = pytest.mark.django_db


def next_march(today: dt.datetime) -> dt.datetime:
    """1 March 00:00 UTC after today: the 8 weeks from then hold the US
    spring-forward (second Sunday of March) and Europe's (last Sunday)."""
    year = today.year if today.month < 3 else today.year + 1
    return dt.datetime(year, 3, 1, tzinfo=dt.UTC)


NOW = next_march(dt.datetime.now(dt.UTC))


@pytest.fixture
def fake():
    fake = organisation(NOW)
    server = fake.serve()
    yield fake
    server.shutdown()
    server.server_close()


def run_import(fake, *, key=KEY, team=None, dry_run=False, now=NOW):
    client = opsgenie_client(url=fake.url, token=key)
    try:
        report = opsgenie_read(client=client, team=team, now=now)
        return opsgenie_apply(report=report, client=client, now=now, dry_run=dry_run)
    finally:
        client.close()


def command(*args: str) -> str:
    out = io.StringIO()
    call_command("oncall_import", *args, stdout=out)
    return out.getvalue()


def steps(slug: str) -> list[tuple]:
    policy = EscalationPolicy.objects.get(slug=slug)
    return [
        (s.target, s.delay, s.member and s.member.username)
        for s in policy.steps.order_by("position")
    ]


def test_it_imports_the_organisation_and_agrees_at_every_hour(fake, waits):
    report = run_import(fake)

    assert waits == [2.0]  # the one 429's Retry-After, honoured
    assert fake.requests.count("/v2/users") == 1 + 6  # the 429, then 11 users by 2
    assert {(c.team, c.agree, c.total, c.note) for c in report.checks} == {
        ("payments", 1344, 1344, ""),
        ("platform", 1344, 1344, "primary only compared"),
    }, [c.disagreements[:3] for c in report.checks]

    # Two schedules notified one after the other: one paired rotation here.
    payments = Rotation.objects.get(team__slug="payments")
    assert (payments.slug, payments.scheme) == (
        f"og-{oid('Payments_schedule')}",
        "paired",
    )
    assert [
        p.member.username for p in payments.rotationparticipant_set.order_by("position")
    ] == ["alice", "bob", "charlie", "david", "eve", "frank"]
    assert (payments.time_zone, payments.handoff_weekday, payments.handoff_time) == (
        "America/New_York",
        0,
        dt.time(9, 0),
    )
    platform = Rotation.objects.filter(team__slug="platform").order_by("-layer", "name")
    assert [
        (r.name, r.shift_unit, r.restrict_weekdays, r.restrict_start, r.restrict_end)
        for r in platform
    ] == [
        ("Platform_schedule / Europe day", "days", "01234", dt.time(8), dt.time(20)),
        # The weekend window (Friday 20:00 to Monday 08:00) cut in twelve
        # hours: one rotation per time of day, the same turns, the same person.
        ("Platform_schedule / Night", "weeks", "56", dt.time(8), dt.time(20)),
        ("Platform_schedule / Night (2)", "weeks", "0123456", dt.time(20), dt.time(8)),
    ]

    # Escalation: Opsgenie's delays count from the alert, ours from the
    # previous step; a team's admins become member steps, "all" the team.
    payments_policy = EscalationPolicy.objects.get(
        slug=f"og-{oid('Payments_escalation')}"
    )
    assert payments_policy.team_default and payments_policy.repeat == 2
    assert payments_policy.repeat_after == dt.timedelta(minutes=30)
    assert steps(payments_policy.slug) == [
        ("primary", dt.timedelta(0), None),
        ("secondary", dt.timedelta(minutes=10), None),
        ("member", dt.timedelta(minutes=15), "frank"),
    ]
    assert steps(f"og-{oid('Platform_escalation')}") == [
        ("primary", dt.timedelta(0), None),
        ("member", dt.timedelta(minutes=15), "heidi"),
        ("team", dt.timedelta(minutes=5), None),
    ]

    # People: "1-2125550100" is +12125550100; SMS and voice on one number are
    # one contact method; email and the app are not ours.
    alice = Member.objects.get(user__username="alice")
    assert (alice.phone, alice.time_zone, alice.display_name) == (
        "+12125550100",
        "America/New_York",
        "Alice Example",
    )
    assert list(alice.contact_methods.values_list("phone", "sms", "voice")) == [
        ("+12125550100", True, True)
    ]
    assert Member.objects.get(user__username="grace").phone == "+491512345600"

    # Future overrides only: the whole-schedule one on the paired rotation, the
    # rotation's own on that rotation alone.
    assert sorted(Override.objects.values_list("reason", "rotation__name", "role")) == [
        ("opsgenie:pay-cover-1", "Payments_schedule + Payments_secondary", "primary"),
        ("opsgenie:plat-judy", "Platform_schedule / Europe day", "primary"),
    ]

    # What our model cannot hold is listed, with the reason.
    text = "\n".join(report.problems)
    assert "user mallory@example.com: no SMS or voice contact" in text
    assert "schedule 'Platform_db_weekend': not the primary or secondary" in text
    assert "'Platform_escalation' rule 3: condition 'if-not-closed' imported" in text
    assert "'Platform_escalation' rule 4: notifyType 'next' of a schedule" in text
    assert "'Platform_db' rule 1: a schedule that is not the team's" in text
    assert "escalation 'Everyone': belongs to no team" in text


def test_the_weekly_handoff_follows_new_york_across_the_dst_change(fake, waits):
    run_import(fake)
    team = Team.objects.get(slug="payments")
    # The Monday after the second Sunday of March: 09:00 EDT = 13:00Z.
    sunday = NOW.replace(day=8)
    while sunday.weekday() != 6:
        sunday += dt.timedelta(days=1)
    monday = sunday + dt.timedelta(days=1)
    before, after = (
        monday.replace(hour=12, minute=30),
        monday.replace(hour=13, minute=30),
    )
    for at in (before, after):
        assert {oid(oncall_at(team=team, at=at).primary.username)} == fake.who(
            oid("Payments_schedule"), at
        )
    assert (
        oncall_at(team=team, at=before).primary
        != oncall_at(team=team, at=after).primary
    )


def test_the_check_lists_where_the_source_disagrees(fake, waits):
    report = run_import(fake)
    # A change in the source after the import: an override by a team (not a
    # person) on a weekday morning; the check sees it, hour by hour.
    start = (NOW + dt.timedelta(days=21)).replace(hour=9)
    while start.weekday() >= 5:
        start += dt.timedelta(days=1)
    fake.overrides[oid("Platform_schedule")].append(
        {
            "alias": "plat-team",
            "user": {"type": "team", "id": oid("Payments"), "name": "Payments"},
            "startDate": start.isoformat(),
            "endDate": (start + dt.timedelta(hours=2)).isoformat(),
            "rotations": [],
        }
    )
    client = opsgenie_client(url=fake.url, token=KEY)
    try:
        checks = {
            c.team: c for c in opsgenie_check(report=report, client=client, now=NOW)
        }
    finally:
        client.close()
    assert (checks["payments"].agree, checks["platform"].agree) == (1344, 1342)
    first = checks["platform"].disagreements[0]
    assert first.startswith(f"{start:%Y-%m-%d %H:%M}Z: Opsgenie ['team:Payments']")

    # Imported again, the override by a team is reported, not dropped silently.
    again = run_import(fake)
    assert any("override plat-team" in p and "team" in p for p in again.problems)


def test_a_second_run_writes_nothing(fake, waits, writes, monkeypatch):
    monkeypatch.setattr("alerts.importers.run.timezone.now", lambda: NOW)
    first = command("opsgenie", "--url", fake.url, "--token", KEY)
    assert "created team payments" in first
    assert "faithfulness payments: 1344/1344 hours agree" in first
    assert (
        "faithfulness platform: 1344/1344 hours agree (primary only compared)" in first
    )
    assert "- user mallory@example.com: no SMS or voice contact" in first
    with writes() as w:
        second = command("opsgenie", "--url", fake.url, "--token", KEY)
    assert w.statements == []
    assert "nothing changed" in second
    assert "faithfulness payments: 1344/1344 hours agree" in second


def test_a_changed_override_is_updated_not_duplicated(fake, waits):
    run_import(fake)
    moved = fake.overrides[oid("Platform_schedule")][0]
    moved["endDate"] = (
        dt.datetime.fromisoformat(moved["endDate"]) + dt.timedelta(hours=1)
    ).isoformat()
    report = run_import(fake)
    assert report.overrides_written == 1
    assert Override.objects.filter(reason="opsgenie:plat-judy").count() == 1
    assert {c.agree for c in report.checks} == {1344}


def test_dry_run_prints_the_plan_and_writes_nothing(fake, waits, monkeypatch):
    monkeypatch.setattr("alerts.importers.run.timezone.now", lambda: NOW)
    out = command("opsgenie", "--url", fake.url, "--token", KEY, "--dry-run")
    assert "dry run: nothing was written" in out
    assert (
        f"rotations: og-{oid('Payments_schedule')} "
        "(Payments_schedule + Payments_secondary)" in out
    )
    assert "would create team payments" in out
    assert "faithfulness payments: 1344/1344 hours agree" in out
    assert not Team.objects.exists() and not Member.objects.exists()


def test_one_team_only(fake, waits):
    report = run_import(fake, team="Platform")
    assert list(Team.objects.values_list("slug", flat=True)) == ["platform"]
    assert not Member.objects.filter(user__username="alice").exists()
    assert not any("Everyone" in p for p in report.problems)


def test_a_bad_key_writes_nothing(fake, waits):
    with pytest.raises(
        CommandError,
        match="refused the token .401 on /v2/users: Could not authenticate.*"
        "nothing was written",
    ):
        command("opsgenie", "--url", fake.url, "--token", "wrong")
    assert not Team.objects.exists()


def test_a_key_without_configuration_access_writes_nothing(fake, waits):
    fake.forbidden = "/v2/escalations"
    with pytest.raises(
        CommandError,
        match="refused the token .403 on /v2/escalations: You are not authorized "
        "for this action: configuration access",
    ):
        command("opsgenie", "--url", fake.url, "--token", KEY)
    assert not Team.objects.exists()


def test_an_unreachable_source_writes_nothing(waits):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nobody listens
    with pytest.raises(CommandError, match="unreachable"):
        command("opsgenie", "--url", f"http://127.0.0.1:{port}", "--token", "k")
    assert not Team.objects.exists()


@pytest.mark.parametrize(
    ("path", "body", "problem"),
    [
        ("/v2/escalations", "<html>oops</html>", "not JSON"),
        ("/v2/teams", '{"teams": []}', "/v2/teams has no list 'data'"),
        ("/v2/schedules", '{"data": {"id": "x"}}', "/v2/schedules has no list"),
    ],
)
def test_a_malformed_answer_writes_nothing(fake, waits, path, body, problem):
    fake.broken[path] = body
    with pytest.raises(SourceError, match=problem):
        run_import(fake)
    assert not Team.objects.exists()


def test_a_schedule_without_a_time_zone_is_a_clear_error(fake, waits):
    del fake.schedule(oid("Payments_schedule"))["timezone"]
    with pytest.raises(SourceError, match="not in the documented shape .KeyError"):
        run_import(fake)
    assert not Team.objects.exists()


def test_a_malformed_timeline_writes_nothing(fake, waits):
    fake.broken[f"/v2/schedules/{oid('Platform_schedule')}/timeline"] = (
        '{"data": {"finalTimeline": {"rotations": [{"periods": [{"startDate": 3}]}]}}}'
    )
    with pytest.raises(SourceError, match="period startDate is not a date-time"):
        run_import(fake)
    assert not Team.objects.exists() and not Override.objects.exists()


def test_what_cannot_be_a_rotation_is_reported(fake, waits):
    day, night = fake.schedule(oid("Platform_schedule"))["rotations"]
    night["participants"].append({"type": "team", "id": oid("Payments")})
    report = run_import(fake)
    assert any(
        "'Platform_schedule' rotation 'Night': a participant of type 'team'" in p
        for p in report.problems
    )
    assert list(
        Rotation.objects.filter(team__slug="platform").values_list("name", flat=True)
    ) == ["Platform_schedule / Europe day"]  # the night pieces are not ours
    check = next(c for c in report.checks if c.team == "platform")
    assert check.agree < check.total  # the nights are not ours: the check says so


def test_a_number_that_is_not_e164_is_reported(fake, waits):
    fake.contacts[oid("bob")][1]["to"] = "ask reception"
    report = run_import(fake)
    assert any(
        "user bob@example.com: sms contact 'ask reception' is not a phone" in p
        for p in report.problems
    )
    bob = Member.objects.get(user__username="bob")
    assert list(bob.contact_methods.values_list("phone", "sms", "voice")) == [
        ("+12125550101", False, True)
    ]


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
        "+12125550100",
        "+15550199",
    ]


def test_an_override_under_way_is_not_rewritten_an_hour_later(fake, waits):
    fake.overrides[oid("Payments_schedule")].append(
        {
            "alias": "pay-now",
            "user": user_ref("frank"),
            "startDate": (NOW - dt.timedelta(hours=2)).isoformat(),
            "endDate": (NOW + dt.timedelta(hours=5)).isoformat(),
            "rotations": [],
        }
    )
    first = run_import(fake)
    assert Override.objects.filter(reason="opsgenie:pay-now").count() == 1
    assert not [p for p in first.problems if "pay-now" in p]
    later = run_import(fake, now=NOW + dt.timedelta(hours=1))
    assert later.overrides_written == 0
    assert {c.agree for c in later.checks} == {1344}


def test_a_value_our_model_refuses_says_where_and_writes_nothing(fake, waits):
    fake.users[1]["timeZone"] = "Mars/Olympus"
    with pytest.raises(CommandError) as failed:
        command("opsgenie", "--url", fake.url, "--token", KEY)
    message = str(failed.value)
    assert message.startswith("members[1].time_zone: ")
    assert "Mars/Olympus" in message and message.endswith("(nothing was written)")
    assert not Team.objects.exists() and not Member.objects.exists()


def test_a_secondary_that_is_not_a_partner_is_reported_with_its_rule(fake, waits):
    secondary = fake.schedule(oid("Payments_secondary"))["rotations"][0]
    secondary["type"] = "daily"  # turns of a day under weekly primaries
    report = run_import(fake)
    text = "\n".join(report.problems)
    assert "schedule 'Payments_secondary' (team payments's secondary)" in text
    assert "'Payments_escalation' rule 2: a schedule that is not the team's" in text
    assert [s[0] for s in steps(f"og-{oid('Payments_escalation')}")] == [
        "primary",
        "member",
    ]
    payments = Rotation.objects.get(team__slug="payments")
    assert payments.scheme == "primary_only"
    check = next(c for c in report.checks if c.team == "payments")
    assert (check.agree, check.note) == (1344, "primary only compared")


def test_someone_twice_in_an_order_is_made_exact_by_overrides(fake, waits):
    day = fake.schedule(oid("Platform_schedule"))["rotations"][0]
    day["participants"] = [user_ref(n) for n in ("heidi", "ivan", "heidi", "grace")]
    report = run_import(fake)
    rotation = Rotation.objects.get(name="Platform_schedule / Europe day")
    assert [
        p.member.username for p in rotation.rotationparticipant_set.order_by("position")
    ] == ["heidi", "ivan", "grace"]
    fixes = Override.objects.filter(reason__startswith=f"opsgenie:{oid('Europe day')}")
    assert fixes.exists()
    assert any("'Europe day': someone twice in the order" in p for p in report.problems)
    assert {(c.team, c.agree) for c in report.checks} == {
        ("payments", 1344),
        ("platform", 1344),
    }, [c.disagreements[:3] for c in report.checks]
    again = run_import(fake)
    assert again.overrides_written == 0


def test_a_rule_to_the_previous_on_call_is_the_follow_secondary(fake, waits):
    fake.schedules = [s for s in fake.schedules if s["id"] != oid("Payments_secondary")]
    rules = fake.escalations[0]["rules"]
    rules[1] = {
        **rules[1],
        "recipient": rules[0]["recipient"],
        "notifyType": "previous",
    }
    report = run_import(fake)
    payments = Rotation.objects.get(team__slug="payments")
    assert payments.scheme == "follow"
    assert [s[:2] for s in steps(f"og-{oid('Payments_escalation')}")] == [
        ("primary", dt.timedelta(0)),
        ("secondary", dt.timedelta(minutes=10)),
        ("member", dt.timedelta(minutes=15)),
    ]
    check = next(c for c in report.checks if c.team == "payments")
    assert (check.agree, check.note) == (1344, "primary only compared")
    # The previous on-call, by the fake's own reading of the rotation: whoever
    # had the turn a week before (a weekly rotation with no restriction),
    # outside the day of the override.
    team = Team.objects.get(slug="payments")
    for days in (1, 9, 20, 40):
        at = NOW + dt.timedelta(days=days, hours=15)
        previous = fake.who(oid("Payments_schedule"), at - dt.timedelta(weeks=1))
        assert {oid(oncall_at(team=team, at=at).secondary.username)} == previous
