"""Rotation services: the rules that apply when a rotation is defined, changed or
deleted.  The admin and any API call these, so they hold everywhere:

* a roster fits its scheme (a paired rotation needs an even number of people), and
  holds only active members of the rotation's team;
* once a rotation's definition or roster is saved, its stored shifts follow it
  (history stays; the future is regenerated -- see :mod:`scheduling.materialize`);
* a definition is checked before it is saved (the model's rules, a name free in
  the team) and a write that changes nothing saves nothing;
* a rotation whose shifts have started is history that stipends and reports rely
  on: it may not be deleted (deactivate it instead).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from scheduling import plan
from scheduling.materialize import MaterializeReport, rotation_materialize
from scheduling.models import (
    Member,
    Rotation,
    RotationParticipant,
    Shift,
    Team,
    TeamMembership,
)
from scheduling.notices import shift_changes_noticed
from scheduling.version import schedule_changed


def rotation_participants_validate(
    *, rotation: Rotation, members: Sequence[Member]
) -> None:
    """Raise ``ValidationError`` unless ``members`` (in rotation order) may be the
    roster of ``rotation``: as many as its scheme needs, all in its team (when it
    has one yet), all active."""
    problem = plan.scheme_problem(rotation.scheme, len(members))
    if problem:
        raise ValidationError(problem[0].upper() + problem[1:] + ".")
    team_id = getattr(rotation, "team_id", None)
    if team_id:
        in_team = set(
            TeamMembership.objects.filter(team_id=team_id).values_list(
                "member_id", flat=True
            )
        )
        outsiders = [m for m in members if m.pk not in in_team]
        if outsiders:
            names = ", ".join(str(m) for m in outsiders)
            raise ValidationError(
                f"Not members of the team: {names}. Add them to the team first."
            )
    inactive = [m for m in members if not m.active]
    if inactive:
        names = ", ".join(str(m) for m in inactive)
        raise ValidationError(f"Inactive members cannot be on call: {names}.")


def rotation_changed(
    *, rotation: Rotation, now: dt.datetime | None = None
) -> MaterializeReport:
    """Bring the stored shifts in line with a rotation just saved (definition and
    roster).  A definition that cannot generate is reported in ``skipped`` and
    leaves the stored shifts alone."""
    schedule_changed()  # the name is in rotation feeds, even if no shift moves
    # Callers that saved the definition enter shift_changes_noticed before their
    # save (this one is then part of theirs); alone -- a periodic or manual
    # regeneration -- the stored shifts still say who held what before.
    with transaction.atomic(), shift_changes_noticed(team=rotation.team, now=now):
        return rotation_materialize(rotation=rotation, now=now)


def rotation_has_history(*, rotation: Rotation, now: dt.datetime | None = None) -> bool:
    """Whether any of the rotation's shifts has started: what decides that it may
    not be deleted."""
    return Shift.objects.filter(
        rotation=rotation, starts_at__lte=now or timezone.now()
    ).exists()


@transaction.atomic
def rotation_delete(*, rotation: Rotation, now: dt.datetime | None = None) -> None:
    """Delete a rotation that has no history, with its (future) shifts and
    overrides; raise ``ValidationError`` for one that has."""
    if rotation_has_history(rotation=rotation, now=now):
        raise ValidationError(
            f"Rotation {rotation.name!r} has shifts that already started; stipends "
            "and reports rely on them. Deactivate it instead."
        )
    with shift_changes_noticed(team=rotation.team, now=now):
        rotation.delete()
    schedule_changed()


# The fields of a rotation's definition a caller may set (the API, configuration
# as code); everything else on the model is bookkeeping.
DEFINITION_FIELDS = (
    "slug",
    "name",
    "scheme",
    "shift_length",
    "shift_unit",
    "start_date",
    "handoff_time",
    "handoff_weekday",
    "time_zone",
    "layer",
    "restrict_weekdays",
    "restrict_start",
    "restrict_end",
    "active",
)


@dataclass(frozen=True)
class RotationSaved:
    rotation: Rotation
    changed: bool
    # What regenerating the shifts did; None when nothing changed.
    materialized: MaterializeReport | None = None


def _check_definition(rotation: Rotation, members: Sequence[Member]) -> None:
    """The model's own checks and the roster's, as one ``ValidationError`` keyed
    by field (the roster's under ``participants``)."""
    errors: dict[str, list[str]] = {}
    try:
        rotation.full_clean(exclude=["team"], validate_unique=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    duplicate = (
        Rotation.objects.filter(team_id=rotation.team_id, name=rotation.name)
        .exclude(pk=rotation.pk)
        .exists()
    )
    if duplicate:
        errors.setdefault("name", []).append(
            f"the team already has a rotation named {rotation.name!r}"
        )
    if rotation.slug and (
        Rotation.objects.filter(slug=rotation.slug).exclude(pk=rotation.pk).exists()
    ):
        errors.setdefault("slug", []).append(f"the slug {rotation.slug!r} is taken")
    if rotation.slug == "preview":  # /api/v1/rotations/preview/ is the preview
        errors.setdefault("slug", []).append("'preview' names the preview action")
    if len({m.pk for m in members}) != len(members):
        errors.setdefault("participants", []).append("a member appears twice")
    else:
        try:
            rotation_participants_validate(rotation=rotation, members=members)
        except ValidationError as exc:
            errors.setdefault("participants", []).extend(exc.messages)
    if errors:
        raise ValidationError(errors)


def _roster(rotation: Rotation) -> list[int]:
    return list(
        RotationParticipant.objects.filter(rotation=rotation)
        .order_by("position", "id")
        .values_list("member_id", flat=True)
    )


def _set_roster(rotation: Rotation, members: Sequence[Member]) -> None:
    RotationParticipant.objects.filter(rotation=rotation).delete()
    RotationParticipant.objects.bulk_create(
        [
            RotationParticipant(rotation=rotation, member=member, position=position)
            for position, member in enumerate(members)
        ]
    )


@transaction.atomic
def rotation_create(
    *,
    team: Team,
    participants: Sequence[Member],
    now: dt.datetime | None = None,
    **definition: Any,
) -> RotationSaved:
    """A new rotation of ``team`` with ``participants`` in order, its shifts
    generated up to the horizon.  ``definition``: any of ``DEFINITION_FIELDS``
    (``name`` and ``start_date`` are required)."""
    _only_definition(definition)
    rotation = Rotation(team=team, **definition)
    _check_definition(rotation, participants)
    # A new rotation on a higher layer can take over within the next 24 hours.
    with shift_changes_noticed(team=team, now=now):
        rotation.save()
        _set_roster(rotation, participants)
        report = rotation_changed(rotation=rotation, now=now)
    rotation.refresh_from_db()
    return RotationSaved(rotation=rotation, changed=True, materialized=report)


@transaction.atomic
def rotation_update(
    *,
    rotation: Rotation,
    participants: Sequence[Member] | None = None,
    now: dt.datetime | None = None,
    **definition: Any,
) -> RotationSaved:
    """Change the given fields of the definition (and, with ``participants``, the
    roster), then regenerate the future shifts.  Nothing is saved when nothing
    differs, so the same ``PUT`` twice leaves the rotation, its ``updated_at`` and
    its shifts exactly as they were."""
    _only_definition(definition)
    roster = participants if participants is not None else None
    same_fields = all(getattr(rotation, f) == v for f, v in definition.items())
    same_roster = roster is None or [m.pk for m in roster] == _roster(rotation)
    if same_fields and same_roster:
        return RotationSaved(rotation=rotation, changed=False)
    for field, value in definition.items():
        setattr(rotation, field, value)
    members = (
        list(roster)
        if roster is not None
        else list(
            Member.objects.filter(rotationparticipant__rotation=rotation).order_by(
                "rotationparticipant__position", "rotationparticipant__id"
            )
        )
    )
    _check_definition(rotation, members)
    # Before the save: the resolver reads a rotation's layer and active flag
    # live, so after it they would read as if they had always been so.
    with shift_changes_noticed(team=rotation.team, now=now):
        rotation.save()
        if roster is not None and not same_roster:
            _set_roster(rotation, members)
        report = rotation_changed(rotation=rotation, now=now)
    rotation.refresh_from_db()
    return RotationSaved(rotation=rotation, changed=True, materialized=report)


def rotation_preview(
    *,
    team: Team,
    participants: Sequence[Member],
    start: dt.datetime,
    end: dt.datetime,
    rotation: Rotation | None = None,
    **definition: Any,
) -> list[plan.PlannedShift]:
    """The shifts a definition would have in [start, end), validated like
    ``rotation_create`` (or like ``rotation_update`` of ``rotation``) but not
    saved: nothing in the database changes."""
    _only_definition(definition)
    candidate = Rotation(team=team, pk=rotation.pk if rotation else None)
    if rotation is not None:
        for field in DEFINITION_FIELDS:
            setattr(candidate, field, getattr(rotation, field))
    for field, value in definition.items():
        setattr(candidate, field, value)
    _check_definition(candidate, participants)
    shifts, _ = candidate.build_plan([m.pk for m in participants]).shifts(start, end)
    return [s for s in shifts if s.starts_at < end]


def _only_definition(definition: dict[str, Any]) -> None:
    unknown = set(definition) - set(DEFINITION_FIELDS)
    if unknown:
        raise TypeError(f"not fields of a rotation's definition: {sorted(unknown)}")
