"""A short-notice SMS whose send failed for a transient reason (Twilio's 5xx,
429, a timeout) is tried again with backoff, a bounded number of times, then
marked failed with the reason, which the admin shows; a permanent failure is not
retried; a notice is never sent twice."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts.paging.shift_notices import BACKOFF, MAX_ATTEMPTS, shift_notices_send
from scheduling.models import ShiftChangeNotice
from scheduling.overrides import override_create

pytestmark = pytest.mark.django_db


def _hour(n: float) -> dt.datetime:
    base = timezone.now().replace(minute=0, second=0, microsecond=0)
    return base + dt.timedelta(hours=n)


@pytest.fixture
def notices(rotation, charlie):
    """Charlie covers alice's primary in three hours: two notices."""
    override_create(
        rotation=rotation,
        role="primary",
        member=charlie,
        starts_at=_hour(3),
        ends_at=_hour(5),
    )
    assert ShiftChangeNotice.objects.count() == 2
    return timezone.now()


def test_a_twilio_outage_is_retried_after_the_backoff_then_sent(
    notices, fake_twilio, phones
):
    now = notices
    fake_twilio.fail_next(2, 503)

    assert shift_notices_send(now=now) == {"sent": 0, "failed": 0, "retrying": 2}
    for notice in ShiftChangeNotice.objects.all():
        assert notice.status == "retrying" and notice.attempts == 1
        assert notice.next_attempt_at == now + BACKOFF[0]
        assert "Twilio answered 503" in notice.error
        assert notice.claimed_at is None  # free for the next attempt
    phones.assert_quiet()

    early = now + BACKOFF[0] - dt.timedelta(seconds=1)
    assert shift_notices_send(now=early) == {"sent": 0, "failed": 0, "retrying": 0}
    due = now + BACKOFF[0]
    assert shift_notices_send(now=due) == {"sent": 2, "failed": 0, "retrying": 0}
    phones.expect_sms(to="charlie", containing="you are now primary")
    phones.expect_sms(to="alice", containing="you are no longer primary")
    for notice in ShiftChangeNotice.objects.all():
        assert (notice.status, notice.attempts, notice.error) == ("sent", 2, "")

    later = due + dt.timedelta(hours=1)
    assert shift_notices_send(now=later) == {"sent": 0, "failed": 0, "retrying": 0}
    phones.assert_quiet()  # sent once each
    assert len(fake_twilio.messages()) == 2


def test_retries_are_bounded_then_the_notice_is_failed_with_the_reason(
    notices, fake_twilio, phones, admin_client
):
    now = notices
    fake_twilio.fail_next(2 * MAX_ATTEMPTS, 500)
    at = now
    outcomes = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        outcomes.append(shift_notices_send(now=at))
        if attempt < MAX_ATTEMPTS:
            at += BACKOFF[attempt - 1]

    retrying = {"sent": 0, "failed": 0, "retrying": 2}
    assert outcomes == [retrying] * (MAX_ATTEMPTS - 1) + [
        {"sent": 0, "failed": 2, "retrying": 0}
    ]
    for notice in ShiftChangeNotice.objects.all():
        assert notice.status == "failed"
        assert notice.attempts == MAX_ATTEMPTS
        assert notice.failed_at == at and notice.sent_at is None
        assert "Twilio answered 500" in notice.error
    fake_twilio.clear_failures()
    after = at + dt.timedelta(days=1)
    assert shift_notices_send(now=after) == {"sent": 0, "failed": 0, "retrying": 0}
    assert fake_twilio.messages() == []
    phones.assert_quiet()

    page = admin_client.get(
        reverse("admin:scheduling_shiftchangenotice_changelist")
        + "?failed_at__isnull=False"
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count("Twilio answered 500") == 2
    assert ">failed<" in html


def test_a_permanent_failure_is_not_retried(notices, fake_twilio, phones):
    now = notices
    fake_twilio.fail_next(2, 400, code=21211)  # not a valid phone number

    assert shift_notices_send(now=now) == {"sent": 0, "failed": 2, "retrying": 0}
    for notice in ShiftChangeNotice.objects.all():
        assert (notice.status, notice.attempts) == ("failed", 1)
        assert "21211" in notice.error
    later = now + dt.timedelta(hours=1)
    assert shift_notices_send(now=later) == {"sent": 0, "failed": 0, "retrying": 0}
    assert fake_twilio.messages() == []
    phones.assert_quiet()


def test_an_attempt_claimed_elsewhere_is_not_sent_again(notices, fake_twilio, phones):
    """Two workers read the same due notices; the one that claims an attempt
    second (its snapshot's attempt count is stale) skips it."""
    now = notices
    fake_twilio.fail_next(2, 503)
    shift_notices_send(now=now)  # attempt 1 failed, both due again at +1 min
    due = now + BACKOFF[0]
    # Another worker claimed both attempts a moment ago and is sending them.
    ShiftChangeNotice.objects.update(claimed_at=due, attempts=2)

    assert shift_notices_send(now=due) == {"sent": 0, "failed": 0, "retrying": 0}
    assert fake_twilio.messages() == []
    phones.assert_quiet()
