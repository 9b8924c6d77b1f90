"""Every change that moves someone's on-call time in the next 24 hours is told
by SMS, whatever made it: a team's new time zone, a rotation's layer or active
flag changed in the admin or through the services the API calls.  The "before"
is read before the change is saved (scheduling/notices.py), so a field the
resolver reads live is seen changing.

Who must be told is found here by sampling who is on call every half hour of the
next 24 hours before and after the change."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from alerts.tasks import send_shift_notices
from scheduling.models import ShiftChangeNotice
from scheduling.rotations import rotation_update
from scheduling.teams import team_update
from tests import cast

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def _samples(now: dt.datetime) -> list[dt.datetime]:
    return [now + dt.timedelta(minutes=30 * i) for i in range(48)]


def _oncall(team, now: dt.datetime) -> dict[dt.datetime, tuple]:
    return {at: cast.who(team, at) for at in _samples(now)}


def _moved(before: dict, after: dict) -> set[str]:
    """Who held a role at some sampled instant before but not after, or the
    reverse."""
    names: set[str] = set()
    for at, old in before.items():
        new = after[at]
        for role in (0, 1):
            if old[role] != new[role]:
                names |= {n for n in (old[role], new[role]) if n}
    return names


def _texted(phones, names: set[str]) -> None:
    send_shift_notices()
    for name in sorted(names):
        phones.expect_sms(to=name, containing="on-call change")
    phones.assert_quiet()


def test_a_new_team_time_zone_texts_whom_the_moved_handoff_moves(
    team, people, make_rotation, phones
):
    # Daily pairs handed over at midnight team time (the rotation has no zone
    # of its own): Nairobi's midnight is 21:00 UTC, Los Angeles' 08:00 UTC, both
    # within the 24 hours after ``now``.
    today = timezone.now().astimezone(UTC).date()
    now = dt.datetime.combine(today, dt.time(12), tzinfo=UTC)
    make_rotation(
        team,
        people,
        now=now,
        scheme="paired",
        shift_length=1,
        shift_unit="days",
        start_date=today - dt.timedelta(days=3),
        handoff_time=dt.time(0, 0),
        time_zone="",
    )
    before = _oncall(team, now)

    team_update(team=team, time_zone="America/Los_Angeles", now=now)

    moved = _moved(before, _oncall(team, now))
    assert moved  # the new zone does move someone in the next 24 hours
    _texted(phones, moved)


def test_renaming_a_team_texts_nobody(team, rotation, phones):
    team_update(team=team, name="Payments & Billing")
    assert not ShiftChangeNotice.objects.exists()
    send_shift_notices()
    phones.assert_quiet()


@pytest.fixture
def cover(team, rotation, charlie, david):
    """A second rotation of the team, charlie and david weekly from today, on
    the same layer as alice and bob's: the older one (theirs) wins."""
    today = timezone.now().astimezone(UTC).date()
    cover = cast.rotation_create(
        team,
        [charlie, david],
        name="cover",
        scheme="paired",
        shift_length=1,
        shift_unit="weeks",
        start_date=today,
        handoff_time=dt.time(0, 0),
        handoff_weekday=today.weekday(),
        time_zone="UTC",
        layer=rotation.layer,
    )
    assert cast.who(team, timezone.now()) == ("alice", "bob")
    return cover


def _change_form(rotation, **overrides) -> dict[str, str]:
    """The admin's change form of ``rotation`` as it stands, with ``overrides``."""
    participants = list(rotation.rotationparticipant_set.order_by("position"))
    data = {
        "team": str(rotation.team_id),
        "name": rotation.name,
        "scheme": rotation.scheme,
        "layer": str(rotation.layer),
        "shift_length": str(rotation.shift_length),
        "shift_unit": rotation.shift_unit,
        "start_date": rotation.start_date.isoformat(),
        "handoff_weekday": (
            "" if rotation.handoff_weekday is None else str(rotation.handoff_weekday)
        ),
        "handoff_time": rotation.handoff_time.strftime("%H:%M"),
        "time_zone": rotation.time_zone,
        "restrict_start": "",
        "restrict_end": "",
        "rotationparticipant_set-TOTAL_FORMS": str(len(participants)),
        "rotationparticipant_set-INITIAL_FORMS": str(len(participants)),
        "rotationparticipant_set-MIN_NUM_FORMS": "0",
        "rotationparticipant_set-MAX_NUM_FORMS": "1000",
    }
    if rotation.active:
        data["active"] = "on"
    for i, p in enumerate(participants):
        data[f"rotationparticipant_set-{i}-id"] = str(p.pk)
        data[f"rotationparticipant_set-{i}-rotation"] = str(rotation.pk)
        data[f"rotationparticipant_set-{i}-position"] = str(p.position)
        data[f"rotationparticipant_set-{i}-member"] = str(p.member_id)
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _admin_save(admin_client, rotation, **overrides) -> None:
    response = admin_client.post(
        f"/admin/scheduling/rotation/{rotation.pk}/change/",
        _change_form(rotation, **overrides),
    )
    html = response.content.decode()
    errors = re.findall(r"<ul class=\"errorlist[^>]*>.*?</ul>", html)
    assert response.status_code == 302, errors


def test_raising_a_rotation_layer_in_the_admin_texts_both_pairs(
    admin_client, team, cover, phones
):
    now = timezone.now()
    before = _oncall(team, now)

    _admin_save(admin_client, cover, layer=str(cover.layer + 1))

    assert cast.who(team, timezone.now()) == ("charlie", "david")
    assert _moved(before, _oncall(team, now)) == {
        "alice",
        "bob",
        "charlie",
        "david",
    }
    send_shift_notices()
    phones.expect_sms(to="charlie", containing="you are now primary")
    phones.expect_sms(to="david", containing="you are now secondary")
    phones.expect_sms(to="alice", containing="you are no longer primary")
    phones.expect_sms(to="bob", containing="you are no longer secondary")
    phones.assert_quiet()


def test_deactivating_a_rotation_in_the_admin_texts_whom_it_moves(
    admin_client, team, rotation, charlie, david, eve, frank, phones
):
    # A daily cover above alice and bob's week: charlie and david today, eve and
    # frank from midnight UTC.  Deactivated, its shift under way stays and the
    # next one goes: from midnight it is alice and bob again.
    today = timezone.now().astimezone(UTC).date()
    daily = cast.rotation_create(
        team,
        [charlie, david, eve, frank],
        name="daily",
        scheme="paired",
        shift_length=1,
        shift_unit="days",
        start_date=today,
        handoff_time=dt.time(0, 0),
        time_zone="UTC",
        layer=rotation.layer + 1,
    )
    now = timezone.now()
    midnight = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), UTC)
    assert cast.who(team, midnight) == ("eve", "frank")
    before = _oncall(team, now)

    _admin_save(admin_client, daily, active=None)  # the box unticked

    assert cast.who(team, midnight) == ("alice", "bob")
    assert cast.who(team, now) == ("charlie", "david")
    moved = _moved(before, _oncall(team, now))
    assert moved == {"alice", "bob", "eve", "frank"}
    send_shift_notices()
    phones.expect_sms(to="alice", containing="you are now primary")
    phones.expect_sms(to="bob", containing="you are now secondary")
    phones.expect_sms(to="eve", containing="you are no longer primary")
    phones.expect_sms(to="frank", containing="you are no longer secondary")
    phones.assert_quiet()


def test_an_admin_save_that_changes_nothing_texts_nobody(admin_client, cover, phones):
    _admin_save(admin_client, cover)
    assert not ShiftChangeNotice.objects.exists()


def test_the_api_service_changing_the_layer_texts_both_pairs(team, cover, phones):
    # What PUT/PATCH /api/v1/rotations/<id>/ and oncall_apply call.
    now = timezone.now()
    before = _oncall(team, now)
    rotation_update(rotation=cover, layer=cover.layer + 1)
    moved = _moved(before, _oncall(team, now))
    assert moved == {"alice", "bob", "charlie", "david"}
    _texted(phones, moved)
