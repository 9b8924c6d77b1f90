"""scheduling/teams.py: the writes on a team, called directly (the admin and the API
both go through them)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from scheduling.models import Shift, Team
from scheduling.teams import team_update
from tests.cast import utc

pytestmark = pytest.mark.django_db

NOW = utc(2026, 1, 14)  # Wednesday of week 2: charlie's shift is under way


def _future_primaries(rotation):
    return list(
        Shift.objects.filter(rotation=rotation, role="primary", starts_at__gt=NOW)
        .order_by("starts_at")
        .values_list("starts_at", "ends_at")
    )


def test_it_rematerializes_when_the_team_time_zone_changes(payments, make_rotation):
    team, people = payments
    rotation = make_rotation(team, people, now=NOW)
    under_way = Shift.objects.get(
        rotation=rotation, role="primary", starts_at__lte=NOW, ends_at__gt=NOW
    )

    updated = team_update(team=team, time_zone="Europe/London", now=NOW)

    assert updated.time_zone_changed
    assert updated.materialized is not None
    assert updated.materialized.regenerated == 1
    assert Team.objects.get(pk=team.pk).time_zone == "Europe/London"
    # The shift under way keeps its Nairobi 09:00 end; a bridge runs to London's
    # 09:00, and from then on handoffs are at 09:00 London time.
    assert Shift.objects.get(pk=under_way.pk).ends_at == under_way.ends_at
    (bridge_start, bridge_end), (start, _) = _future_primaries(rotation)[:2]
    assert bridge_start == under_way.ends_at
    assert bridge_end == start
    assert start.astimezone(ZoneInfo("Europe/London")).time() == dt.time(9, 0)


def test_it_leaves_the_shifts_alone_when_the_time_zone_stays(payments, make_rotation):
    team, people = payments
    rotation = make_rotation(team, people, now=NOW)
    before = _future_primaries(rotation)

    updated = team_update(team=team, name="Payments and billing", now=NOW)

    assert not updated.time_zone_changed
    assert updated.materialized is None
    assert Team.objects.get(pk=team.pk).name == "Payments and billing"
    assert _future_primaries(rotation) == before


def test_it_notices_a_time_zone_already_set_on_the_team_by_a_form(
    payments, make_rotation
):
    team, people = payments
    make_rotation(team, people, now=NOW)
    team.time_zone = "Europe/London"  # what the admin's ModelForm does

    updated = team_update(team=team, now=NOW)

    assert updated.time_zone_changed
    assert updated.materialized.regenerated == 1


def test_it_regenerates_every_rotation_of_the_team(payments, make_rotation):
    team, people = payments
    make_rotation(team, people, now=NOW)
    make_rotation(team, people[:2], name="daytime", scheme="primary_only", now=NOW)

    updated = team_update(team=team, time_zone="Asia/Tokyo", now=NOW)

    assert updated.materialized.regenerated == 2
