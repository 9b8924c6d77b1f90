from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from scheduling.materialize import rotations_materialize
from scheduling.out_of_office import ooo_calendars_fetch


@shared_task(name="scheduling.tasks.materialize_shifts")
def materialize_shifts() -> dict[str, int]:
    """Keep every rotation's shifts materialized up to the horizon.

    Idempotent: rotations already generated far enough with an unchanged definition
    cost one comparison each, so a duplicated or late beat tick changes nothing.
    """
    report = rotations_materialize()
    return {
        "extended": report.extended,
        "regenerated": report.regenerated,
        "shifts_created": report.shifts_created,
        "skipped": len(report.skipped),
    }


@shared_task(name="scheduling.tasks.fetch_out_of_office_calendars", ignore_result=True)
def fetch_out_of_office_calendars() -> dict[str, int]:
    """Fetch every member's out-of-office calendar into their unavailability.

    Idempotent: a second run fetches the same calendars again (conditionally, on
    their ETag) and stores the same busy time.  Never raises for one calendar.
    """
    report = ooo_calendars_fetch(now=timezone.now())
    return {
        "fetched": report.fetched,
        "not_modified": report.not_modified,
        "failed": report.failed,
    }
