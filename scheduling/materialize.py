"""Materialization: store the shifts a rotation's definition says, ahead of time.

Shifts are generated up to a horizon (``ONCALL_SCHEDULE_HORIZON_WEEKS``, default
26) by a periodic task and whenever a rotation changes.  Two paths:

* **extend**: the definition is what generated the stored shifts (same
  fingerprint); only whole slots past ``generated_until`` are added.
* **regenerate**: the definition changed.  Shifts that have started are history and
  stay exactly as they were; every shift that has not started is deleted and the
  new definition takes over from the end of the last started shift (the first new
  shift is clipped to start there, so time stays tiled).

Everything is batched: one query for what has started, one delete, bulk inserts,
one bulk update -- never a query per shift -- so a year for a thousand rotations is
a handful of statements.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Prefetch, Q
from django.utils import timezone

from scheduling.models import Rotation, RotationParticipant, Shift
from scheduling.version import schedule_changed

logger = logging.getLogger(__name__)

BATCH = 2000


def horizon() -> dt.timedelta:
    return dt.timedelta(weeks=settings.ONCALL_SCHEDULE_HORIZON_WEEKS)


@dataclass
class MaterializeReport:
    extended: int = 0
    regenerated: int = 0
    shifts_created: int = 0
    shifts_deleted: int = 0
    skipped: dict[int, str] = field(default_factory=dict)  # rotation id -> why


def _with_participants(ids: list[int]) -> list[Rotation]:
    return list(
        Rotation.objects.filter(pk__in=ids)
        .select_related("team")
        .prefetch_related(
            Prefetch(
                "rotationparticipant_set",
                queryset=RotationParticipant.objects.order_by("position", "id"),
            )
        )
        .order_by("pk")
    )


def rotations_materialize(
    *,
    rotations: Iterable[Rotation] | None = None,
    now: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> MaterializeReport:
    """Bring the stored shifts of ``rotations`` (all when None) in line with their
    definitions, from history up to ``until`` (default: now + horizon)."""
    now = now or timezone.now()
    until = until or now + horizon()
    if rotations is None:
        ids = list(Rotation.objects.values_list("pk", flat=True))
    else:
        ids = [r.pk for r in rotations]
    report = MaterializeReport()
    # Chunks keep each statement's parameter list within SQLite's limits and each
    # transaction short.
    for i in range(0, len(ids), 500):
        _materialize_chunk(ids[i : i + 500], now, until, report)
    return report


@transaction.atomic
def _materialize_chunk(
    ids: list[int], now: dt.datetime, until: dt.datetime, report: MaterializeReport
) -> None:
    # Lock the rotations (PostgreSQL) so two materializations of the same rotation
    # serialize instead of inserting the same shifts twice.
    list(Rotation.objects.select_for_update().filter(pk__in=ids).values_list("pk"))
    rotations = _with_participants(ids)
    fingerprints = {r.pk: r.fingerprint() for r in rotations}
    changed, extend = _sort(rotations, fingerprints, until)
    changed = _buildable(changed, report)
    keep_until = _clear_future(changed, now, report)

    new_rows: list[Shift] = []
    for rotation in changed:
        start = _regeneration_start(rotation, keep_until, now)
        new_rows += _advance(rotation, fingerprints[rotation.pk], start, until)
        report.regenerated += 1
    for rotation in extend:
        start = rotation.generated_until
        new_rows += _advance(rotation, fingerprints[rotation.pk], start, until)
        report.extended += 1

    for i in range(0, len(new_rows), BATCH):
        Shift.objects.bulk_create(new_rows[i : i + BATCH])
    report.shifts_created += len(new_rows)
    if new_rows or report.shifts_deleted:
        schedule_changed()
    touched = changed + extend
    if touched:
        Rotation.objects.bulk_update(
            touched, ["generated_until", "generated_fingerprint"], batch_size=500
        )


def _sort(
    rotations: list[Rotation], fingerprints: dict[int, str], until: dt.datetime
) -> tuple[list[Rotation], list[Rotation]]:
    """(changed, to extend): definitions that differ from what generated the stored
    shifts (or never generated), and active unchanged ones short of ``until``."""
    changed: list[Rotation] = []
    extend: list[Rotation] = []
    for rotation in rotations:
        if (
            rotation.generated_fingerprint != fingerprints[rotation.pk]
            or rotation.generated_until is None
        ):
            changed.append(rotation)
        elif rotation.active and rotation.generated_until < until:
            extend.append(rotation)
    return changed, extend


def _buildable(changed: list[Rotation], report: MaterializeReport) -> list[Rotation]:
    """The changed rotations whose definition can generate.

    One that cannot (an odd paired roster set through the ORM, say) must not wipe
    the future it would replace: the stored shifts keep somebody on call until the
    definition is fixed.  Nothing is recorded, so the periodic task reports it again
    every run."""
    kept: list[Rotation] = []
    for rotation in changed:
        problem = rotation.build_plan().problem() if rotation.active else None
        if problem:
            report.skipped[rotation.pk] = problem
            logger.warning("rotation %s not generated: %s", rotation.pk, problem)
        else:
            kept.append(rotation)
    return kept


def _clear_future(
    changed: list[Rotation], now: dt.datetime, report: MaterializeReport
) -> dict[int, dt.datetime | None]:
    """Delete the shifts of ``changed`` that have not started; return, per rotation
    that has any shifts, the end of the last one that started (None if none has)."""
    if not changed:
        return {}
    changed_ids = [r.pk for r in changed]
    keep_until = dict(
        Shift.objects.filter(rotation_id__in=changed_ids)
        .values("rotation_id")
        .annotate(end=Max("ends_at", filter=Q(starts_at__lte=now)))
        .values_list("rotation_id", "end")
    )
    deleted, _ = Shift.objects.filter(
        rotation_id__in=changed_ids, starts_at__gt=now
    ).delete()
    report.shifts_deleted += deleted
    return keep_until


def _regeneration_start(
    rotation: Rotation, keep_until: dict[int, dt.datetime | None], now: dt.datetime
) -> dt.datetime | None:
    """From the end of history -- and never before now: time that passed uncovered
    (a restriction's off-hours, a rotation not yet started) stays uncovered.  Only a
    rotation without any shifts yet starts at its anchor (None here), so a rotation
    can be set up with a start date in the past."""
    if rotation.pk not in keep_until:
        return None
    return max(keep_until[rotation.pk] or now, now)


def _advance(
    rotation: Rotation,
    fingerprint: str,
    start: dt.datetime | None,
    until: dt.datetime,
) -> list[Shift]:
    """The shifts of ``rotation`` from ``start`` (None: its anchor) to ``until``
    (whole slots); records on ``rotation`` how far and from which definition."""
    rotation.generated_fingerprint = fingerprint
    if not rotation.active:
        rotation.generated_until = start
        return []
    p = rotation.build_plan()
    shifts, last_end = p.shifts(start or p.starts_at, until)
    rotation.generated_until = max(filter(None, [last_end, start, until]))
    return [Shift.from_plan(rotation.pk, s) for s in shifts]


def rotation_materialize(
    *, rotation: Rotation, now: dt.datetime | None = None
) -> MaterializeReport:
    """Materialize one rotation now (after the admin or an API changed it)."""
    return rotations_materialize(rotations=[rotation], now=now)
