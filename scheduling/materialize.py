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

    changed: list[Rotation] = []
    extend: list[Rotation] = []
    fingerprints: dict[int, str] = {}
    for rotation in rotations:
        fingerprints[rotation.pk] = rotation.fingerprint()
        if (
            rotation.generated_fingerprint != fingerprints[rotation.pk]
            or rotation.generated_until is None
        ):
            changed.append(rotation)
        elif rotation.active and rotation.generated_until < until:
            extend.append(rotation)

    # A definition that cannot generate (an odd paired roster set through the ORM,
    # say) must not wipe the future it would replace: the stored shifts keep
    # somebody on call until the definition is fixed.  Nothing is recorded, so the
    # periodic task reports it again every run.
    for rotation in list(changed):
        problem = rotation.build_plan().problem() if rotation.active else None
        if problem:
            changed.remove(rotation)
            report.skipped[rotation.pk] = problem
            logger.warning("rotation %s not generated: %s", rotation.pk, problem)

    keep_until: dict[int, dt.datetime | None] = {}
    if changed:
        changed_ids = [r.pk for r in changed]
        # Per rotation that has any shifts: the end of the last one that started.
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

    new_rows: list[Shift] = []
    touched: list[Rotation] = []
    for rotation in changed + extend:
        regenerate = rotation in changed
        if regenerate:
            # From the end of history -- and never before now: time that passed
            # uncovered (a restriction's off-hours, a rotation not yet started) stays
            # uncovered.  Only a rotation without any shifts yet starts at its
            # anchor, so a rotation can be set up with a start date in the past.
            start = keep_until.get(rotation.pk)
            if rotation.pk in keep_until:
                start = max(start or now, now)
            report.regenerated += 1
        else:
            start = rotation.generated_until
            report.extended += 1
        rotation.generated_fingerprint = fingerprints[rotation.pk]
        touched.append(rotation)
        if not rotation.active:
            rotation.generated_until = start
            continue
        p = rotation.build_plan()
        shifts, last_end = p.shifts(start or p.starts_at, until)
        rotation.generated_until = max(filter(None, [last_end, start, until]))
        new_rows.extend(Shift.from_plan(rotation.pk, s) for s in shifts)

    for i in range(0, len(new_rows), BATCH):
        Shift.objects.bulk_create(new_rows[i : i + BATCH])
    report.shifts_created += len(new_rows)
    if touched:
        Rotation.objects.bulk_update(
            touched, ["generated_until", "generated_fingerprint"], batch_size=500
        )


def rotation_materialize(
    *, rotation: Rotation, now: dt.datetime | None = None
) -> MaterializeReport:
    """Materialize one rotation now (after the admin or an API changed it)."""
    return rotations_materialize(rotations=[rotation], now=now)
