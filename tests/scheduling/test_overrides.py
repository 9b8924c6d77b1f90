from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from scheduling.materialize import rotation_materialize
from scheduling.models import Override, RotationParticipant
from scheduling.overrides import (
    OverrideSpec,
    override_create,
    override_delete,
    override_swap,
    override_update,
    overrides_delete,
)
from scheduling.selectors import oncall_at
from tests.cast import utc, who

pytestmark = pytest.mark.django_db

# Week 1 (5-12 Jan 2026, handoffs 06:00 UTC): alice primary, bob secondary.
TUESDAY = utc(2026, 1, 6, 6)
WEDNESDAY = utc(2026, 1, 7, 6)


@pytest.fixture
def weekly(payments, make_rotation):
    team, people = payments
    return make_rotation(team, people, now=utc(2026, 1, 1))


def test_an_override_changes_who_for_its_interval_only(payments, weekly, cast):
    team, _ = payments
    override_create(
        rotation=weekly,
        role="primary",
        member=cast["charlie"],
        starts_at=TUESDAY,
        ends_at=WEDNESDAY,
        reason="alice at the dentist",
    )
    assert who(team, TUESDAY - dt.timedelta(seconds=1)) == ("alice", "bob")
    assert who(team, TUESDAY) == ("charlie", "bob")
    assert oncall_at(team=team, at=TUESDAY).override is True
    assert who(team, WEDNESDAY) == ("alice", "bob")


def test_removing_an_override_restores_the_original(payments, weekly, cast):
    team, _ = payments
    override = override_create(
        rotation=weekly,
        role="secondary",
        member=cast["eve"],
        starts_at=TUESDAY,
        ends_at=WEDNESDAY,
    )
    assert who(team, TUESDAY) == ("alice", "eve")
    override_delete(override=override)
    assert who(team, TUESDAY) == ("alice", "bob")
    assert oncall_at(team=team, at=TUESDAY).override is False


def test_the_latest_override_wins(payments, weekly, cast):
    team, _ = payments
    for name in ("charlie", "david"):
        override_create(
            rotation=weekly,
            role="primary",
            member=cast[name],
            starts_at=TUESDAY,
            ends_at=WEDNESDAY,
        )
    assert who(team, TUESDAY) == ("david", "bob")


def test_covering_as_primary_while_secondary_is_refused(weekly, cast):
    with pytest.raises(ValidationError, match="Bob is secondary .* cannot be primary"):
        override_create(
            rotation=weekly,
            role="primary",
            member=cast["bob"],
            starts_at=TUESDAY,
            ends_at=WEDNESDAY,
        )


def test_the_conflict_is_found_anywhere_in_the_interval(weekly, cast):
    # David is free in week 1 but secondary in week 2.
    with pytest.raises(ValidationError, match="David is secondary"):
        override_create(
            rotation=weekly,
            role="primary",
            member=cast["david"],
            starts_at=TUESDAY,
            ends_at=utc(2026, 1, 13, 6),  # runs into week 2
        )


def test_a_conflict_with_another_override_is_refused(weekly, cast):
    override_create(
        rotation=weekly,
        role="secondary",
        member=cast["eve"],
        starts_at=TUESDAY,
        ends_at=WEDNESDAY,
    )
    with pytest.raises(ValidationError, match="Eve is secondary"):
        override_create(
            rotation=weekly,
            role="primary",
            member=cast["eve"],
            starts_at=TUESDAY + dt.timedelta(hours=3),
            ends_at=WEDNESDAY + dt.timedelta(hours=3),
        )


def test_an_interval_that_ends_before_it_starts_is_refused(weekly, cast):
    with pytest.raises(ValidationError) as info:
        override_create(
            rotation=weekly,
            role="primary",
            member=cast["charlie"],
            starts_at=WEDNESDAY,
            ends_at=TUESDAY,
        )
    assert "end after it starts" in str(info.value.message_dict["ends_at"])


def test_naive_datetimes_are_refused(weekly, cast):
    with pytest.raises(ValidationError) as info:
        override_create(
            rotation=weekly,
            role="primary",
            member=cast["charlie"],
            starts_at=TUESDAY.replace(tzinfo=None),
            ends_at=WEDNESDAY,
        )
    assert "naive" in str(info.value.message_dict["starts_at"])


def test_a_role_the_scheme_lacks_is_refused(payments, make_rotation, cast):
    team, people = payments
    solo = make_rotation(
        team, people[:2], name="solo", scheme="primary_only", now=utc(2026, 1, 1)
    )
    with pytest.raises(ValidationError, match="has no secondary"):
        override_create(
            rotation=solo,
            role="secondary",
            member=cast["eve"],
            starts_at=TUESDAY,
            ends_at=WEDNESDAY,
        )


def test_an_override_over_no_coverage_is_refused(weekly, cast):
    with pytest.raises(ValidationError, match="cannot add coverage"):
        override_create(
            rotation=weekly,
            role="primary",
            member=cast["eve"],
            starts_at=utc(2025, 12, 1),
            ends_at=utc(2025, 12, 2),
        )


def test_an_override_never_adds_coverage(payments, weekly, cast):
    team, _ = payments
    override_create(
        rotation=weekly,
        role="primary",
        member=cast["eve"],
        starts_at=utc(2026, 1, 4),  # starts before the rotation does
        ends_at=TUESDAY,
    )
    assert who(team, utc(2026, 1, 4, 12)) == (None, None)
    assert who(team, utc(2026, 1, 5, 12)) == ("eve", "bob")


def test_a_swap_trades_roles_and_is_deleted_as_a_pair(payments, weekly, cast):
    team, _ = payments
    first, second = override_swap(
        rotation=weekly,
        first=OverrideSpec("primary", cast["bob"], TUESDAY, WEDNESDAY),
        second=OverrideSpec("secondary", cast["alice"], TUESDAY, WEDNESDAY),
        reason="alice is on a train",
    )
    assert first.swap_id == second.swap_id is not None
    assert who(team, TUESDAY) == ("bob", "alice")
    override_delete(override=second)
    assert not Override.objects.exists()
    assert who(team, TUESDAY) == ("alice", "bob")


def test_a_bulk_delete_takes_both_halves_of_a_swap_once(payments, weekly, cast):
    team, _ = payments
    override_swap(
        rotation=weekly,
        first=OverrideSpec("primary", cast["bob"], TUESDAY, WEDNESDAY),
        second=OverrideSpec("secondary", cast["alice"], TUESDAY, WEDNESDAY),
    )
    single = override_create(
        rotation=weekly,
        role="primary",
        member=cast["eve"],
        starts_at=WEDNESDAY,
        ends_at=WEDNESDAY + dt.timedelta(hours=4),
    )
    deleted = overrides_delete(overrides=Override.objects.order_by("pk"))
    assert deleted == 3
    assert not Override.objects.exists()
    assert who(team, TUESDAY) == ("alice", "bob")
    assert who(team, single.starts_at) == ("alice", "bob")


def test_a_swap_half_alone_would_be_refused(weekly, cast):
    # Without its other half, bob taking primary clashes with bob as secondary.
    with pytest.raises(ValidationError):
        override_swap(
            rotation=weekly,
            first=OverrideSpec("primary", cast["bob"], TUESDAY, WEDNESDAY),
            second=OverrideSpec("secondary", cast["eve"], TUESDAY, TUESDAY),
        )
    assert not Override.objects.exists()


def test_a_swap_of_days_between_two_primaries(payments, weekly, cast):
    team, _ = payments
    week2_tuesday = utc(2026, 1, 13, 6)
    override_swap(
        rotation=weekly,
        first=OverrideSpec("primary", cast["charlie"], TUESDAY, WEDNESDAY),
        second=OverrideSpec(
            "primary", cast["alice"], week2_tuesday, week2_tuesday + dt.timedelta(1)
        ),
    )
    assert who(team, TUESDAY) == ("charlie", "bob")
    assert who(team, week2_tuesday) == ("alice", "david")


def test_editing_an_override_is_validated_without_itself(weekly, cast):
    override = override_create(
        rotation=weekly,
        role="primary",
        member=cast["charlie"],
        starts_at=TUESDAY,
        ends_at=WEDNESDAY,
    )
    override_update(override=override, ends_at=WEDNESDAY + dt.timedelta(hours=6))
    with pytest.raises(ValidationError, match="Bob is secondary"):
        override_update(override=override, member=cast["bob"])


def test_a_roster_change_under_an_override_keeps_roles_distinct(payments, weekly, cast):
    """The override was valid when made; the roster then changed under it."""
    team, _ = payments
    override_create(
        rotation=weekly,
        role="primary",
        member=cast["eve"],
        starts_at=utc(2026, 2, 3, 6),  # week 5: david / charlie
        ends_at=utc(2026, 2, 4, 6),
    )
    assert who(team, utc(2026, 2, 3, 12)) == ("eve", "charlie")
    RotationParticipant.objects.filter(rotation=weekly).delete()
    for position, name in enumerate(["david", "eve"]):
        RotationParticipant.objects.create(
            rotation=weekly, member=cast[name], position=position
        )
    rotation_materialize(rotation=weekly, now=utc(2026, 1, 20))
    # Week 5 is now david / eve: eve keeps the primary she took over and david,
    # whom she relieved, steps down to secondary.
    assert who(team, utc(2026, 2, 3, 12)) == ("eve", "david")
