"""Grafana OnCall's final shifts (``/api/v1/schedules/<id>/final_shifts``): the
faithfulness check, and the overrides that make ours agree where our rotations
cannot express what the source holds (a monthly shift, an iCal layer on top...).

Such an override is made only where it is faithful: the source has exactly one
person on call in the role then, and ours has the role covered (an override here
changes who, never adds coverage).  Where ours has nobody, or the source has
nobody or several people, the check lists the hours instead.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from alerts.importers.apply import apply_overrides
from alerts.importers.client import SourceClient, SourceError
from alerts.importers.grafana_oncall import REASON, SOURCE, _pages
from alerts.importers.report import CHECK_HOURS, Check, ImportReport, OverridePlan
from scheduling import plan
from scheduling.models import Member, Team
from scheduling.selectors import team_schedule

Shifts = list[tuple[dt.datetime, dt.datetime, str]]


def _window(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The next 8 weeks from the next whole hour."""
    start = now.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    start += dt.timedelta(hours=1)
    return start, start + dt.timedelta(hours=CHECK_HOURS)


def _final_shifts(
    client: SourceClient, sid: str, start: dt.datetime, until: dt.datetime
) -> Shifts:
    found = []
    for item in _pages(
        client,
        f"/schedules/{sid}/final_shifts",
        {
            "start_date": start.date().isoformat(),
            "end_date": (until.date() + dt.timedelta(days=1)).isoformat(),
        },
    ):
        try:
            begin = dt.datetime.fromisoformat(str(item["shift_start"]))
            end = dt.datetime.fromisoformat(str(item["shift_end"]))
            user = str(item["user_pk"])
        except (KeyError, ValueError):
            raise SourceError(
                f"{SOURCE}: a final shift of schedule {sid} is not in the "
                "documented shape"
            ) from None
        if begin.tzinfo is None or end.tzinfo is None:
            raise SourceError(f"{SOURCE}: a final shift of {sid} has no UTC offset")
        found.append((begin, end, user))
    return found


def carrier_shifts(
    *, client: SourceClient, sid: str, now: dt.datetime
) -> tuple[Shifts, dt.datetime, dt.datetime]:
    """A schedule's final shifts over the horizon the overrides and the check
    cover, and that horizon's (start, end): what a carrier rotation is built
    from (:func:`alerts.importers.grafana_oncall._carrier_rotation`)."""
    start, until = _window(now)
    return _final_shifts(client, sid, start, until), start, until


def final_check(
    *, report: ImportReport, client: SourceClient, now: dt.datetime
) -> list[Check]:
    """Who is on call in the source (each schedule's ``final_shifts``) against
    ours (the one effective-schedule resolver, through ``team_schedule``), at
    every hour of the next 8 weeks."""
    start, until = _window(now)
    checks = []
    for tp in report.teams:
        compare_secondary = bool(tp.secondary_schedule and tp.secondary_in_rotation)
        primary = _final_shifts(client, tp.primary_schedule, start, until)
        secondary = (
            _final_shifts(client, tp.secondary_schedule or "", start, until)
            if compare_secondary
            else []
        )
        schedule = team_schedule(
            team=Team.objects.get(slug=tp.slug), start=start, end=until
        )
        segments = schedule.effective  # in order, tiling what is covered

        def theirs(shifts: Shifts, at: dt.datetime) -> set[str]:
            return {report.usernames.get(u, u) for b, e, u in shifts if b <= at < e}

        def username(
            holder: Any, members: dict[int, Member] = schedule.members
        ) -> set[str]:
            return set() if holder is None else {members[holder.member_id].username}

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
            ours_p = username(here.resolution.primary) if here else set()
            ours_s = username(here.resolution.secondary) if here else set()
            if not compare_secondary:
                ours_s = set()
            theirs_p, theirs_s = theirs(primary, at), theirs(secondary, at)
            if (theirs_p, theirs_s) == (ours_p, ours_s):
                agree += 1
            else:
                bad.append(
                    f"{at:%Y-%m-%d %H:%M}Z: {SOURCE} {sorted(theirs_p)}/"
                    f"{sorted(theirs_s)}, ours {sorted(ours_p)}/{sorted(ours_s)}"
                )
        note = "" if compare_secondary else "primary only compared"
        checks.append(Check(tp.slug, agree, CHECK_HOURS, bad, note))
    return checks


def final_overrides(
    *, report: ImportReport, client: SourceClient, now: dt.datetime
) -> int:
    """Overrides (reason ``grafana-oncall:final-<schedule>-<start>``) from the
    source's final shifts wherever they still differ from ours and that is
    faithful (see the module's docstring); how many were written.  Run after the
    rotations and the source's own overrides are in: a second import finds
    ours agreeing and writes nothing."""
    start, until = _window(now)
    plans: list[OverridePlan] = []
    for tp in report.teams:
        roles = [(plan.PRIMARY, tp.primary_schedule)]
        if tp.secondary_schedule and tp.secondary_in_rotation:
            roles.append((plan.SECONDARY, tp.secondary_schedule))
        below = getattr(report, "secondary_slugs", {}).get(tp.slug, [])
        slugs = [
            r["slug"]
            for r in report.document.get("rotations", [])
            if r["team"] == tp.slug and r["slug"] not in below
        ]
        if not slugs:
            continue
        schedule = team_schedule(
            team=Team.objects.get(slug=tp.slug), start=start, end=until
        )
        for role, sid in roles:
            shifts = _final_shifts(client, sid, start, until)
            found = _differences(shifts, schedule, role, report, start, until)
            # A separate secondary schedule's rotations are primary-only, below
            # the primary's: the team's secondary is their primary role.
            on, as_role = (
                (below, plan.PRIMARY)
                if role == plan.SECONDARY and below
                else (slugs, role)
            )
            plans += [
                OverridePlan(f"final-{sid}-{a:%Y%m%dT%H%MZ}", on, as_role, who, a, b)
                for a, b, who in found
            ]
            if found:
                hours = sum(
                    (b - a for a, b, _ in found), dt.timedelta()
                ) / dt.timedelta(hours=1)
                report.problems.append(
                    f"schedule {sid} ({tp.slug}'s {role}): {hours:g} hour(s) our "
                    f"rotations do not express imported as {len(found)} override(s) "
                    "from its final shifts"
                )
    if not plans:
        return 0
    fill = ImportReport({}, plans, [], report.problems, override_reason=REASON)
    return apply_overrides(fill)


def _differences(
    shifts: Shifts,
    schedule: Any,
    role: str,
    report: ImportReport,
    start: dt.datetime,
    until: dt.datetime,
) -> list[tuple[dt.datetime, dt.datetime, str]]:
    """(start, end, username) where the source has one known person in the role
    and ours someone else."""
    members: dict[int, Member] = schedule.members
    segments = schedule.effective
    cuts = {start, until}
    for b, e, _ in shifts:
        cuts |= {b, e}
    for segment in segments:
        cuts |= {segment.starts_at, segment.ends_at}
    points = sorted(c for c in cuts if start <= c <= until)
    found: list[tuple[dt.datetime, dt.datetime, str]] = []
    for a, b in zip(points, points[1:], strict=False):
        theirs = {u for s, e, u in shifts if s <= a < e}
        here = next((s for s in segments if s.starts_at <= a < s.ends_at), None)
        holder = getattr(here.resolution, role) if here else None
        if holder is None or len(theirs) != 1:
            continue  # ours adds no coverage; several people are not one override
        person = report.usernames.get(theirs.pop())
        ours = members[holder.member_id].username
        if person is None or person == ours:
            continue
        if found and found[-1][1] == a and found[-1][2] == person:
            found[-1] = (found[-1][0], b, person)
        else:
            found.append((a, b, person))
    return found
