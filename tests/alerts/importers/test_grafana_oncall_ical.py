"""An iCal schedule as a team's primary (Support in the fake organisation: a
weekly rotation kept in a calendar, with a swap in its overrides calendar)
arrives as a carrier rotation plus overrides from the source's final shifts, so
who is on call is the source's at every hour of the horizon; a later run carries
it on; hours with nobody on call in the calendar are listed, not papered over."""

from __future__ import annotations

import datetime as dt

import pytest

from alerts.importers.grafana_oncall import grafana_oncall_read
from alerts.models import EscalationPolicy
from scheduling.models import Override, Rotation, Team
from scheduling.selectors import oncall_at
from tests.alerts.importers.grafana_oncall_org import ical_feed, organisation, uid
from tests.alerts.importers.test_grafana_oncall import NOW, run_import

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake():
    fake = organisation(NOW)
    server, _ = fake.serve()
    yield fake
    server.shutdown()
    server.server_close()


def support(report):
    return next(c for c in report.checks if c.team == "support")


def who(at: dt.datetime) -> str | None:
    found = oncall_at(team=Team.objects.get(slug="support"), at=at)
    return found.primary.user.username if found.primary else None


def test_an_ical_primary_is_carried_by_a_rotation_and_overrides(fake, waits):
    report = run_import(fake)

    check = support(report)
    assert (check.agree, check.total, check.disagreements) == (1344, 1344, [])
    rotation = Rotation.objects.get(team__slug="support")
    assert (rotation.slug, rotation.scheme) == ("go-ssup", "primary_only")
    # The people in the order they first come on in the feed's final shifts.
    assert [
        p.member.username for p in rotation.rotationparticipant_set.order_by("position")
    ] == ["mia", "kim", "leo"]
    # Who is on call is the calendar's: kim's week from Monday 10:00 London
    # (GMT), mia's 30-hour swap 12 days on, leo after the change to BST at
    # 09:00 UTC (10:00 London).
    assert who(NOW + dt.timedelta(hours=10, minutes=30)) == "kim"
    assert who(NOW + dt.timedelta(days=12, hours=14)) == "mia"
    assert who(NOW + dt.timedelta(days=13, hours=19)) == "mia"
    assert who(NOW + dt.timedelta(days=13, hours=20)) == "leo"
    assert who(dt.datetime(2027, 3, 29, 8, 59, tzinfo=dt.UTC)) == "kim"
    assert who(dt.datetime(2027, 3, 29, 9, 0, tzinfo=dt.UTC)) == "leo"
    assert Override.objects.filter(
        rotation=rotation, reason__startswith="grafana-oncall:final-SSUP-"
    ).exists()
    # The report says how, and until when it is exact.
    until = NOW + dt.timedelta(hours=1 + 1344)
    assert any(
        p.startswith("schedule 'Support rota' (team support's primary): an iCal ")
        and "imported as rotation go-ssup of mia, kim, leo" in p
        and f"until {until:%Y-%m-%d %H:%M}Z" in p
        and "re-run the import before then" in p
        for p in report.problems
    ), report.problems
    assert not any("nobody on call for" in p for p in report.problems)


def test_a_later_run_carries_the_schedule_on(fake, waits):
    run_import(fake)
    rotation = Rotation.objects.get(team__slug="support")
    later = NOW + dt.timedelta(weeks=6)

    report = run_import(fake, now=later)

    check = support(report)
    assert (check.agree, check.disagreements) == (1344, [])
    # The same rotation (same people: unchanged), overrides for the new horizon.
    again = Rotation.objects.get(team__slug="support")
    assert (again.pk, again.updated_at) == (rotation.pk, rotation.updated_at)
    last = Override.objects.filter(rotation=again).order_by("-ends_at").first()
    assert last is not None and last.ends_at > NOW + dt.timedelta(weeks=8)
    assert who(later + dt.timedelta(weeks=7)) == who_in_source(fake, later, 7)


def who_in_source(fake, now: dt.datetime, weeks: int) -> str:
    at = now + dt.timedelta(weeks=weeks)
    (uid,) = fake.who("SSUP", at)
    return next(u["username"] for u in fake.users if u["id"] == uid)


def test_hours_with_nobody_on_call_in_the_calendar_are_listed(fake, waits):
    """Kim's weekday office hours only (08:00-18:00 London): the carrier is on
    call around the clock, and overrides change who, never coverage -- so the
    nights and weekends are reported and listed by the check."""
    first = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)
    fake.ical_feeds["SSUP"] = (
        ical_feed([("kim", first, dt.timedelta(hours=10), "FREQ=WEEKLY;BYDAY=MO,TU")]),
        ical_feed([]),
    )

    report = run_import(fake)

    check = support(report)
    assert check.agree == 16 * 10  # 8 weeks of two 10-hour days
    assert check.disagreements[0].endswith("Grafana OnCall []/[], ours ['kim']/[]")
    assert any(
        "schedule 'Support rota': nobody on call for 1184 of the 1344 hours" in p
        for p in report.problems
    ), report.problems
    assert [
        p.member.username
        for p in Rotation.objects.get(
            team__slug="support"
        ).rotationparticipant_set.all()
    ] == ["kim"]


def test_a_calendar_with_nobody_on_call_imports_no_rotation(fake, waits):
    fake.ical_feeds["SSUP"] = (ical_feed([]), ical_feed([]))
    client_report = run_import(fake)
    assert not Rotation.objects.filter(team__slug="support").exists()
    assert any(
        "nobody is on call in its final shifts over the next 8 weeks" in p
        for p in client_report.problems
    )
    assert support(client_report).agree == 1344  # nobody in both


def test_the_plan_names_the_carrier_without_writing(fake, waits):
    from alerts.importers.grafana_oncall import grafana_oncall_client

    client = grafana_oncall_client(url=fake.url, token="good-grafana-token")
    try:
        report = grafana_oncall_read(client=client, now=NOW)
    finally:
        client.close()
    (carrier,) = [r for r in report.document["rotations"] if r["team"] == "support"]
    assert carrier["participants"] == ["mia", "kim", "leo"]
    assert not Rotation.objects.exists()


def test_a_secondary_that_is_no_partner_is_its_own_layer_below(fake, waits):
    """Payments' secondary made a daily turn of bob, david and frank under a
    weekly primary of alice, charlie and eve: not a paired or follow partner,
    so it becomes its own rotation on the layer below the primary's, whose
    on-call our resolver makes the secondary -- compared hour by hour."""
    fake.shift("OPRI")["rolling_users"] = [
        [uid(n)] for n in ("alice", "charlie", "eve")
    ]
    fake.shift("OSEC").update(
        frequency="daily",
        duration=86400,
        rolling_users=[[uid(n)] for n in ("bob", "david", "frank")],
    )

    report = run_import(fake)

    payments = next(c for c in report.checks if c.team == "payments")
    assert (payments.agree, payments.note, payments.disagreements) == (1344, "", [])
    assert list(
        Rotation.objects.filter(team__slug="payments").values_list(
            "slug", "scheme", "layer", "shift_unit"
        )
    ) == [
        ("go-opri", "primary_only", 2, "weeks"),
        ("go-osec", "primary_only", 1, "days"),
    ]
    steps = EscalationPolicy.objects.get(slug="go-cpay").steps.order_by("position")
    assert [s.target for s in steps][:2] == ["primary", "secondary"]
    assert any(
        "'Payments secondary' (team payments's secondary): not a paired or follow "
        "partner of the primary schedule; imported as its own rotation(s) go-osec" in p
        for p in report.problems
    ), report.problems
    assert run_import(fake).overrides_written == 0


def test_a_secondary_under_a_layered_primary_is_reported(fake, waits):
    """Platform's primary is two layers: a lower primary layer would come before
    a secondary layer in our resolver, so the secondary is not imported."""
    fake.schedules.append(
        {
            "id": "SPSEC",
            "name": "Platform secondary",
            "type": "web",
            "team_id": "TPLAT",
            "time_zone": "Europe/Berlin",
            "on_call_now": [],
            "shifts": ["OBASE"],
            "slack": None,
        }
    )
    fake.steps.append(
        {
            "id": "EF7",
            "escalation_chain_id": "CPLAT",
            "position": 6,
            "type": "notify_on_call_from_schedule",
            "notify_on_call_from_schedule": "SPSEC",
        }
    )
    report = run_import(fake)
    assert any(
        "'Platform secondary' (team platform's secondary): not a paired or follow "
        "partner of the primary schedule, and the primary is not one rotation "
        "around the clock" in p
        for p in report.problems
    ), report.problems
    platform = next(c for c in report.checks if c.team == "platform")
    assert (platform.agree, platform.note) == (1344, "primary only compared")


def test_an_ical_secondary_is_carried_on_the_layer_below(fake, waits):
    """Payments' secondary an iCal schedule (bob, david and frank weekly from
    the feed) under a weekly primary of alice, charlie and eve: a carrier
    rotation below the primary's, its overrides on the carrier's one role."""
    fake.shift("OPRI")["rolling_users"] = [
        [uid(n)] for n in ("alice", "charlie", "eve")
    ]
    secondary = fake.schedule("SSEC")
    secondary.update(type="ical", shifts=[])
    week = dt.timedelta(weeks=1)
    first = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)
    fake.ical_feeds["SSEC"] = (
        ical_feed(
            [
                (who, first + n * week, week, "FREQ=WEEKLY;INTERVAL=3")
                for n, who in enumerate(("bob", "david", "frank"))
            ]
        ),
        ical_feed([]),
    )

    report = run_import(fake)

    payments = next(c for c in report.checks if c.team == "payments")
    assert (payments.agree, payments.note, payments.disagreements) == (1344, "", [])
    assert list(
        Rotation.objects.filter(team__slug="payments").values_list("slug", "layer")
    ) == [("go-opri", 2), ("go-ssec", 1)]
    found = oncall_at(team=Team.objects.get(slug="payments"), at=NOW)
    assert found.secondary is not None
    assert found.secondary.user.username in {"bob", "david", "frank"}
    assert any(
        "'Payments secondary' (team payments's secondary): an iCal schedule" in p
        for p in report.problems
    ), report.problems
    assert run_import(fake).overrides_written == 0


def test_a_calendar_of_monthly_events_only_is_carried_too(fake, waits):
    """Platform's chain pointed at its DB schedule (one monthly 4-hour event):
    no shift is a rotation here, so a carrier of ivan; the 8 hours he is on call
    agree, the rest (nobody in the source) is reported and listed."""
    step = next(s for s in fake.steps if s["id"] == "EF1")
    step["notify_on_call_from_schedule"] = "SDB"

    report = run_import(fake)

    platform = next(c for c in report.checks if c.team == "platform")
    assert platform.agree == 8  # 3 March and 3 April, 06:00-10:00 Berlin
    assert [r.slug for r in Rotation.objects.filter(team__slug="platform")] == [
        "go-sdb"
    ]
    text = "\n".join(report.problems)
    assert (
        "schedule 'Platform DB' (team platform's primary): none of its shifts is a "
        "rotation here; imported as rotation go-sdb of ivan" in text
    )
    assert "schedule 'Platform DB': nobody on call for 1336 of the 1344 hours" in text
