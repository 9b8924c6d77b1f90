"""Rotation services: the rules that apply when a rotation is defined, changed or
deleted.  The admin and any API call these, so they hold everywhere:

* a roster fits its scheme (a paired rotation needs an even number of people), and
  holds only active members of the rotation's team;
* once a rotation's definition or roster is saved, its stored shifts follow it
  (history stays; the future is regenerated -- see :mod:`scheduling.materialize`);
* a rotation whose shifts have started is history that stipends and reports rely
  on: it may not be deleted (deactivate it instead).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from scheduling import plan
from scheduling.materialize import MaterializeReport, rotation_materialize
from scheduling.models import Member, Rotation, Shift, TeamMembership


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
    rotation.delete()
