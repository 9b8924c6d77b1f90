"""scheduling/rotations.py: the rules on rotations, called directly (the admin and
the API both go through them)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from scheduling.models import Override, Rotation, Shift
from scheduling.rotations import (
    rotation_changed,
    rotation_delete,
    rotation_has_history,
    rotation_participants_validate,
)
from tests.cast import utc

pytestmark = pytest.mark.django_db

NOW = utc(2026, 1, 14)


def test_a_roster_that_fits_the_scheme_is_accepted(payments, make_rotation):
    team, people = payments
    rotation = make_rotation(team, people, materialize=False)
    rotation_participants_validate(rotation=rotation, members=people)


def test_an_odd_roster_of_a_paired_rotation_is_refused(payments, make_rotation):
    team, people = payments
    rotation = make_rotation(team, people, materialize=False)
    with pytest.raises(ValidationError, match="even number of participants"):
        rotation_participants_validate(rotation=rotation, members=people[:5])


def test_a_participant_outside_the_team_is_refused(
    payments, make_rotation, make_member
):
    team, people = payments
    rotation = make_rotation(team, people, materialize=False)
    stranger = make_member("zed")
    with pytest.raises(ValidationError, match="Not members of the team: Zed"):
        rotation_participants_validate(
            rotation=rotation, members=[*people[:5], stranger]
        )


def test_an_inactive_participant_is_refused(payments, make_rotation):
    team, people = payments
    rotation = make_rotation(team, people, materialize=False)
    people[3].active = False
    with pytest.raises(ValidationError, match="Inactive members cannot be on call"):
        rotation_participants_validate(rotation=rotation, members=people)


def test_a_roster_is_checked_before_the_rotation_has_a_team(payments):
    _, people = payments
    rotation = Rotation(scheme="primary_only", start_date=dt.date(2026, 1, 5))
    rotation_participants_validate(rotation=rotation, members=people[:1])


def test_it_generates_the_shifts_of_a_new_rotation(payments, make_rotation):
    team, people = payments
    rotation = make_rotation(team, people, materialize=False)

    report = rotation_changed(rotation=rotation, now=NOW)

    assert report.regenerated == 1 and report.shifts_created > 0
    rotation.refresh_from_db()
    assert rotation.generated_until is not None


def test_it_regenerates_the_future_when_the_definition_changes(payments, make_rotation):
    team, people = payments
    rotation = make_rotation(team, people, now=NOW)
    history = list(
        Shift.objects.filter(rotation=rotation, starts_at__lte=NOW).values_list(
            "pk", "member_id", "starts_at", "ends_at"
        )
    )
    rotation.handoff_time = dt.time(10, 0)
    rotation.save()

    report = rotation_changed(rotation=rotation, now=NOW)

    assert report.regenerated == 1 and report.shifts_deleted > 0
    assert history == list(
        Shift.objects.filter(rotation=rotation, starts_at__lte=NOW).values_list(
            "pk", "member_id", "starts_at", "ends_at"
        )
    )
    bridge, *later = Shift.objects.filter(
        rotation=rotation, role="primary", starts_at__gt=NOW
    ).order_by("starts_at")
    # The shift under way keeps its 09:00 end; a bridge runs to the new 10:00.
    assert bridge.starts_at.astimezone(team.tz).time() == dt.time(9, 0)
    assert later and all(
        s.starts_at.astimezone(team.tz).time() == dt.time(10, 0) for s in later
    )


def test_a_definition_that_cannot_generate_is_reported_and_keeps_the_shifts(
    payments, make_rotation
):
    team, people = payments
    rotation = make_rotation(team, people, now=NOW)
    before = Shift.objects.filter(rotation=rotation).count()
    rotation.rotationparticipant_set.filter(member=people[-1]).delete()

    report = rotation_changed(rotation=rotation, now=NOW)

    assert "even number" in report.skipped[rotation.pk]
    assert Shift.objects.filter(rotation=rotation).count() == before


def test_a_rotation_whose_shifts_started_has_history(payments, make_rotation):
    team, people = payments
    rotation = make_rotation(team, people, now=NOW)
    assert rotation_has_history(rotation=rotation, now=NOW)


def test_a_rotation_that_starts_later_has_no_history(payments, make_rotation):
    team, people = payments
    rotation = make_rotation(team, people, start_date=dt.date(2026, 3, 2), now=NOW)
    assert Shift.objects.filter(rotation=rotation).exists()
    assert not rotation_has_history(rotation=rotation, now=NOW)


def test_a_rotation_without_history_is_deleted_with_its_shifts(payments, make_rotation):
    team, people = payments
    rotation = make_rotation(team, people, start_date=dt.date(2026, 3, 2), now=NOW)

    rotation_delete(rotation=rotation, now=NOW)

    assert not Rotation.objects.exists()
    assert not Shift.objects.exists()


def test_a_rotation_with_history_is_not_deleted(payments, make_rotation):
    team, people = payments
    rotation = make_rotation(team, people, now=NOW)
    Override.objects.create(
        rotation=rotation,
        role="primary",
        member=people[4],
        starts_at=utc(2026, 1, 6, 6),
        ends_at=utc(2026, 1, 7, 6),
    )

    with pytest.raises(ValidationError, match="Deactivate it instead"):
        rotation_delete(rotation=rotation, now=NOW)

    assert Rotation.objects.filter(pk=rotation.pk).exists()
    assert Override.objects.filter(rotation=rotation).exists()


def test_inactive_members_still_in_the_roster_are_listed(payments, make_rotation):
    # scheduling.selectors.rotation_inactive_members: the admin's warning.
    from scheduling.selectors import rotation_inactive_members

    team, people = payments
    rotation = make_rotation(team, people, materialize=False)
    for member in (people[4], people[2]):
        member.active = False
        member.save()
    assert rotation_inactive_members(rotation_id=rotation.pk) == [people[2], people[4]]
