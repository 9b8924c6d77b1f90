"""The faithfulness check of an Opsgenie import: who is on call in the source
(each imported schedule's ``/v2/schedules/{id}/timeline``) against ours, at
every hour of the next 8 weeks."""

from __future__ import annotations

import datetime as dt

from alerts.importers import opsgenie_mapping as og
from alerts.importers.client import SourceClient, SourceError
from alerts.importers.report import CHECK_HOURS, Check, ImportReport
from scheduling.models import Member, Team
from scheduling.selectors import team_schedule

SOURCE = og.SOURCE


Periods = list[tuple[dt.datetime, dt.datetime, str]]


def _timeline(
    client: SourceClient, schedule_id: str, start: dt.datetime, usernames: dict
) -> Periods:
    """Who the source's final timeline has on call, as (start, end, our
    username -- or ``<type>:<name>`` for what is not a person we imported)."""
    path = f"/v2/schedules/{schedule_id}/timeline"
    data = client.get(
        path,
        {
            "identifierType": "id",
            "interval": CHECK_HOURS // (7 * 24) + 1,
            "intervalUnit": "weeks",
            "date": start.isoformat(),
        },
    ).get("data")
    if not isinstance(data, dict):
        raise SourceError(f"{SOURCE}: {path} has no object 'data'")
    periods: Periods = []
    try:
        for rotation in (data.get("finalTimeline") or {}).get("rotations") or []:
            for period in rotation.get("periods") or []:
                recipient = period.get("recipient") or {}
                kind, rid = recipient.get("type"), recipient.get("id")
                who = (
                    usernames[rid]
                    if kind == "user" and rid in usernames
                    else f"{kind}:{recipient.get('name') or rid}"
                )
                periods.append(
                    (
                        og.instant(period.get("startDate"), "period startDate"),
                        og.instant(period.get("endDate"), "period endDate"),
                        who,
                    )
                )
    except (AttributeError, TypeError) as exc:
        raise SourceError(
            f"{SOURCE}: the timeline of {schedule_id} is not in the documented "
            f"shape ({exc})"
        ) from None
    return periods


def _holders(periods: Periods, at: dt.datetime) -> set[str]:
    return {who for start, end, who in periods if start <= at < end}


def opsgenie_check(
    *, report: ImportReport, client: SourceClient, now: dt.datetime
) -> list[Check]:
    """Who is on call in the source (each schedule's final timeline: everyone on
    call in any of its rotations) against ours (the one effective-schedule
    resolver, through ``team_schedule``), at every hour of the next 8 weeks."""
    start = now.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    start += dt.timedelta(hours=1)
    until = start + dt.timedelta(hours=CHECK_HOURS)
    checks = []
    for tp in report.teams:
        compare_secondary = bool(tp.secondary_schedule and tp.secondary_in_rotation)
        primary = _timeline(client, tp.primary_schedule, start, report.usernames)
        secondary = (
            _timeline(client, tp.secondary_schedule, start, report.usernames)
            if compare_secondary and tp.secondary_schedule
            else []
        )
        schedule = team_schedule(
            team=Team.objects.get(slug=tp.slug), start=start, end=until
        )
        segments = schedule.effective  # in order, tiling what is covered
        members: dict[int, Member] = schedule.members
        agree, bad, n = 0, [], 0
        for h in range(CHECK_HOURS):
            at = start + dt.timedelta(hours=h)
            while n < len(segments) and segments[n].ends_at <= at:
                n += 1
            here = (
                segments[n]
                if n < len(segments) and segments[n].starts_at <= at
                else None
            )
            ours = [
                {members[holder.member_id].username}
                if here is not None and holder is not None
                else set()
                for holder in (
                    (here.resolution.primary, here.resolution.secondary)
                    if here is not None
                    else (None, None)
                )
            ]
            if not compare_secondary:
                ours[1] = set()
            theirs = [_holders(primary, at), _holders(secondary, at)]
            if theirs == ours:
                agree += 1
            else:
                bad.append(
                    f"{at:%Y-%m-%d %H:%M}Z: {SOURCE} {sorted(theirs[0])}/"
                    f"{sorted(theirs[1])}, ours {sorted(ours[0])}/{sorted(ours[1])}"
                )
        note = "" if compare_secondary else "primary only compared"
        checks.append(Check(tp.slug, agree, CHECK_HOURS, bad, note))
    return checks
