"""A change to a shift starting within 24 hours is told by SMS to the members
whose on-call time it moves (scheduling records, alerts sends)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from alerts.tasks import send_shift_notices
from scheduling.models import ShiftChangeNotice
from scheduling.notices import SEND_TASK
from scheduling.overrides import (
    OverrideSpec,
    override_create,
    override_delete,
    override_swap,
)
from scheduling.rotations import rotation_update

UTC = dt.UTC


def hour(n: float) -> dt.datetime:
    base = timezone.now().replace(minute=0, second=0, microsecond=0)
    return base + dt.timedelta(hours=n)


def test_an_override_in_the_next_day_texts_who_it_moves(
    rotation, alice, charlie, phones, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        override_create(
            rotation=rotation,
            role="primary",
            member=charlie,
            starts_at=hour(3),
            ends_at=hour(5),
        )
    assert [p.name for p in published] == [SEND_TASK]
    phones.assert_quiet()  # recorded, not sent until the task runs

    assert send_shift_notices() == {"sent": 2, "failed": 0, "retrying": 0}

    charlie_sms = phones.expect_sms(to="charlie", containing="you are now primary")
    alice_sms = phones.expect_sms(to="alice", containing="you are no longer primary")
    assert charlie_sms.body.startswith("Payments on-call change: ")
    # In the member's own zone (UTC for the cast), the moved stretch only.
    when = f"{hour(3):%a %d %b %H:%M}-{hour(5):%H:%M} UTC"
    if hour(3).date() != hour(5).date():
        when = f"{hour(3):%a %d %b %H:%M}-{hour(5):%a %d %b %H:%M} UTC"
    assert when in charlie_sms.body and when in alice_sms.body
    phones.assert_quiet()  # bob, the secondary, is not moved: no SMS

    # Each sent once.
    assert send_shift_notices() == {"sent": 0, "failed": 0, "retrying": 0}
    phones.assert_quiet()


def test_a_change_further_out_texts_nobody(
    rotation, charlie, phones, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        override_create(
            rotation=rotation,
            role="primary",
            member=charlie,
            starts_at=hour(30),
            ends_at=hour(32),
        )
    assert not ShiftChangeNotice.objects.exists()
    assert send_shift_notices() == {"sent": 0, "failed": 0, "retrying": 0}
    phones.assert_quiet()


def test_deleting_the_override_texts_both_again(
    rotation, alice, charlie, phones, django_capture_on_commit_callbacks
):
    override = override_create(
        rotation=rotation,
        role="primary",
        member=charlie,
        starts_at=hour(3),
        ends_at=hour(5),
    )
    send_shift_notices()
    phones.sent()  # the creation's SMS: the test is about the deletion

    override_delete(override=override)
    send_shift_notices()

    phones.expect_sms(to="alice", containing="you are now primary")
    phones.expect_sms(to="charlie", containing="you are no longer primary")
    phones.assert_quiet()


def test_a_swap_texts_both_sides(rotation, alice, bob, phones):
    override_swap(
        rotation=rotation,
        first=OverrideSpec("primary", bob, hour(2), hour(4)),
        second=OverrideSpec("secondary", alice, hour(2), hour(4)),
    )
    send_shift_notices()
    alice_sms = phones.expect_sms(to="alice", containing="you are now secondary")
    assert "you are no longer primary" in alice_sms.body
    bob_sms = phones.expect_sms(to="bob", containing="you are now primary")
    assert "you are no longer secondary" in bob_sms.body
    phones.assert_quiet()


def test_a_roster_change_texts_who_it_moves(team, people, make_rotation, phones):
    alice, bob, charlie, david, eve, frank = people
    today = timezone.now().astimezone(UTC).date()
    # Daily pairs from today 00:00 UTC: tomorrow (within 24 h) is charlie/david.
    rotation = make_rotation(
        team,
        people,
        scheme="paired",
        shift_length=1,
        shift_unit="days",
        start_date=today,
        handoff_time=dt.time(0, 0),
        time_zone="UTC",
    )

    rotation_update(
        rotation=rotation, participants=[alice, bob, eve, frank, charlie, david]
    )
    send_shift_notices()

    phones.expect_sms(to="eve", containing="you are now primary")
    phones.expect_sms(to="frank", containing="you are now secondary")
    phones.expect_sms(to="charlie", containing="you are no longer primary")
    phones.expect_sms(to="david", containing="you are no longer secondary")
    phones.assert_quiet()  # alice and bob keep today: not moved


def test_a_failed_send_is_recorded_and_the_others_go_on(
    rotation, alice, charlie, phones, paging_transport, monkeypatch
):
    from alerts.transports import TransportError
    from alerts.transports.console import ConsoleTransport

    class Flaky(ConsoleTransport):
        def send_sms(self, *, to, body, status_callback):
            if to == alice.phone:
                raise TransportError("unreachable", permanent=True)
            return super().send_sms(to=to, body=body, status_callback=status_callback)

    monkeypatch.setattr("alerts.paging.shift_notices.get_transport", Flaky)
    override_create(
        rotation=rotation,
        role="primary",
        member=charlie,
        starts_at=hour(3),
        ends_at=hour(5),
    )

    assert send_shift_notices() == {"sent": 1, "failed": 1, "retrying": 0}

    phones.expect_sms(to="charlie", containing="you are now primary")
    failed = ShiftChangeNotice.objects.get(member=alice)
    assert failed.error == "unreachable" and failed.sent_at is None
    # A permanent failure: not retried.
    assert send_shift_notices() == {"sent": 0, "failed": 0, "retrying": 0}
    phones.assert_quiet()


@pytest.mark.parametrize("claimed_minutes_ago", [1, 10])
def test_a_notice_claimed_by_a_dead_worker_is_sent_after_the_lease(
    rotation, charlie, phones, claimed_minutes_ago
):
    override_create(
        rotation=rotation,
        role="primary",
        member=charlie,
        starts_at=hour(3),
        ends_at=hour(5),
    )
    ShiftChangeNotice.objects.update(
        claimed_at=timezone.now() - dt.timedelta(minutes=claimed_minutes_ago)
    )
    result = send_shift_notices()
    if claimed_minutes_ago < 5:
        assert result == {"sent": 0, "failed": 0, "retrying": 0}
    else:
        assert result == {"sent": 2, "failed": 0, "retrying": 0}
        phones.sent()
    phones.assert_quiet()


def test_the_task_scheduling_publishes_is_registered_and_on_the_beat():
    from oncall.celery import BEAT_SCHEDULE, app

    app.loader.import_default_modules()  # what a worker does at start
    assert SEND_TASK in app.tasks
    assert SEND_TASK in {entry["task"] for entry in BEAT_SCHEDULE.values()}
    assert "scheduling.tasks.fetch_out_of_office_calendars" in app.tasks
    assert "scheduling.tasks.fetch_out_of_office_calendars" in {
        entry["task"] for entry in BEAT_SCHEDULE.values()
    }
