"""Overrides: someone else holds a role of a rotation for a while.

Writes go through these functions (the admin and any API call them) so the rules
hold everywhere:

* times are aware and the interval is not empty;
* the rotation has that role, and has shifts for it somewhere in the interval (an
  override changes who, never coverage, so one over nothing would do nothing);
* the covering member never becomes both primary and secondary: at no instant of the
  interval may they hold the other role (after the overrides already there).  To trade
  roles, create a swap -- both overrides validated together.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from scheduling.effective import sweep
from scheduling.models import Member, Override, Rotation
from scheduling.notices import shift_changes_noticed
from scheduling.plan import PRIMARY, SECONDARY
from scheduling.selectors import team_rows
from scheduling.version import schedule_changed


@dataclass(frozen=True)
class OverrideSpec:
    role: str
    member: Member
    starts_at: dt.datetime
    ends_at: dt.datetime


def _local(at: dt.datetime, rotation: Rotation) -> str:
    return f"{at.astimezone(rotation.tz):%a %d %b %Y %H:%M} ({rotation.tz.key})"


def override_validate(
    *,
    rotation: Rotation,
    role: str,
    member: Member,
    starts_at: dt.datetime | None,
    ends_at: dt.datetime | None,
    exclude: Sequence[int] = (),
    pending: Sequence[OverrideSpec] = (),
) -> None:
    """Raise ``ValidationError`` (keyed by field) if this override may not exist.

    ``exclude``: ids of stored overrides to ignore (the one being edited).
    ``pending``: overrides created together with this one (the other half of a swap).
    """
    starts_at, ends_at = _check_interval(starts_at, ends_at)
    if role not in rotation.roles:
        raise ValidationError(
            {"role": [f"Rotation {rotation.name!r} ({rotation.scheme}) has no {role}."]}
        )
    if not member.active:
        raise ValidationError({"member": [f"{member} is not an active member."]})

    _, shifts, stored = team_rows(team=rotation.team, start=starts_at, end=ends_at)
    shifts = [s for s in shifts if s.rotation_id == rotation.pk]
    others: list[Any] = [
        o for o in stored if o.rotation_id == rotation.pk and o.pk not in exclude
    ]
    others += [
        Override(
            rotation_id=rotation.pk,
            role=p.role,
            member_id=p.member.pk,
            starts_at=p.starts_at,
            ends_at=p.ends_at,
        )
        for p in pending
    ]
    covered = _check_roles_distinct(
        rotation, role, member, sweep(starts_at, ends_at, shifts, others)
    )
    if not covered:
        raise ValidationError(
            f"Rotation {rotation.name!r} has no {role} shift between "
            f"{_local(starts_at, rotation)} and {_local(ends_at, rotation)}; an "
            "override changes who is on call, it cannot add coverage."
        )


def _check_interval(
    starts_at: dt.datetime | None, ends_at: dt.datetime | None
) -> tuple[dt.datetime, dt.datetime]:
    """Both ends given, aware, and in order; returned for the type checker."""
    errors: dict[str, list[str]] = {}
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if value is None:
            errors.setdefault(name, []).append("This field is required.")
        elif value.tzinfo is None or value.utcoffset() is None:
            errors.setdefault(name, []).append(
                "A naive date and time is ambiguous: give it a time zone or UTC offset."
            )
    if errors or starts_at is None or ends_at is None:
        raise ValidationError(errors)
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": ["The override must end after it starts."]})
    return starts_at, ends_at


def _check_roles_distinct(
    rotation: Rotation,
    role: str,
    member: Member,
    pieces: Iterable[tuple[dt.datetime, dt.datetime, list[Any], list[Any]]],
) -> bool:
    """Raise if ``member`` holds the other role anywhere among ``pieces`` (the
    interval swept into pieces of constant shifts and overrides); return whether
    any piece has a shift of ``role`` to override at all."""
    other_role = SECONDARY if role == PRIMARY else PRIMARY
    covered = False
    for a, _b, covering, ovs in pieces:
        base = {s.role: s.member_id for s in covering}
        if role not in base:
            continue
        covered = True
        if other_role not in base:
            continue
        holder = base[other_role]
        latest = _latest([o for o in ovs if o.role == other_role])
        if latest is not None:
            holder = latest.member_id
        if holder == member.pk:
            raise ValidationError(
                f"{member} is {other_role} of {rotation.name!r} at "
                f"{_local(a, rotation)} and cannot be {role} at the same time. "
                "To trade places, create a "
                f"swap: {member} takes {role} and the {role} takes {other_role}."
            )
    return covered


def _lock(rotation: Rotation) -> None:
    """Serialize override writes per rotation (PostgreSQL row lock; SQLite's
    IMMEDIATE transactions serialize anyway), so two overrides validated at the
    same moment cannot both pass against a state neither will see."""
    locked = Rotation.objects.select_for_update().filter(pk=rotation.pk)
    list(locked.values_list("pk"))


def _latest(overrides: list[Any]) -> Any | None:
    if not overrides:
        return None
    return max(overrides, key=lambda o: (o.pk is None, o.pk or 0))


@transaction.atomic
def override_create(
    *,
    rotation: Rotation,
    role: str,
    member: Member,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    reason: str = "",
    created_by: Any = None,
) -> Override:
    _lock(rotation)
    override_validate(
        rotation=rotation,
        role=role,
        member=member,
        starts_at=starts_at,
        ends_at=ends_at,
    )
    schedule_changed()
    with shift_changes_noticed(team=rotation.team):
        return Override.objects.create(
            rotation=rotation,
            role=role,
            member=member,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=reason,
            created_by=created_by,
        )


@transaction.atomic
def override_update(*, override: Override, **fields: Any) -> Override:
    """Change an override (not one half of a swap: delete and recreate those)."""
    for name, value in fields.items():
        setattr(override, name, value)
    _lock(override.rotation)
    override_validate(
        rotation=override.rotation,
        role=override.role,
        member=override.member,
        starts_at=override.starts_at,
        ends_at=override.ends_at,
        exclude=[override.pk],
    )
    with shift_changes_noticed(team=override.rotation.team):
        override.save()
    schedule_changed()
    return override


@transaction.atomic
def override_swap(
    *,
    rotation: Rotation,
    first: OverrideSpec,
    second: OverrideSpec,
    reason: str = "",
    created_by: Any = None,
) -> tuple[Override, Override]:
    """Two overrides that only make sense together, e.g. primary and secondary
    trading places for a day, or Alice taking Bob's Tuesday while Bob takes her
    Thursday.  Validated jointly; deleting one deletes both."""
    if first.member.pk == second.member.pk:
        raise ValidationError("A swap is between two different people.")
    _lock(rotation)
    override_validate(
        rotation=rotation,
        role=first.role,
        member=first.member,
        starts_at=first.starts_at,
        ends_at=first.ends_at,
        pending=[second],
    )
    override_validate(
        rotation=rotation,
        role=second.role,
        member=second.member,
        starts_at=second.starts_at,
        ends_at=second.ends_at,
        pending=[first],
    )
    swap_id = uuid.uuid4()
    schedule_changed()
    with shift_changes_noticed(team=rotation.team):
        made_first, made_second = (
            Override.objects.create(
                rotation=rotation,
                role=spec.role,
                member=spec.member,
                starts_at=spec.starts_at,
                ends_at=spec.ends_at,
                reason=reason,
                created_by=created_by,
                swap_id=swap_id,
            )
            for spec in (first, second)
        )
    return made_first, made_second


@transaction.atomic
def override_delete(*, override: Override) -> int:
    """Delete an override, and its other half if it is part of a swap.  What it
    replaced applies again at once: overrides never touched the shifts."""
    with shift_changes_noticed(team=override.rotation.team):
        if override.swap_id is not None:
            deleted, _ = Override.objects.filter(swap_id=override.swap_id).delete()
        else:
            deleted, _ = Override.objects.filter(pk=override.pk).delete()
    schedule_changed()
    return deleted


@transaction.atomic
def overrides_delete(*, overrides: Iterable[Override]) -> int:
    """Delete several overrides (a bulk action).  Both halves of a swap may be among
    them: deleting the first takes the second along, so one already gone is
    skipped rather than deleted twice."""
    deleted = 0
    for override in overrides:
        if Override.objects.filter(pk=override.pk).exists():
            deleted += override_delete(override=override)
    return deleted
