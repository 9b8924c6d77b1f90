"""Health flags per member and on-call week, each with the threshold that raised it.

A week runs Monday 00:00 to Monday 00:00 in the team's time zone (as in the page
load report).  A member's week is looked at when they were on call in it or were
paged in it.  The flags:

* ``load``: more interruptions than the team's ``max_pages_per_week`` (10: DESIGN.md
  §7 expects 5 to 10 a week);
* ``sleep``: more sleep-hour interruptions than ``max_sleep_interruptions_per_week``
  (2), read in the member's own zone;
* ``incidents_12h``: more than 2 distinct incidents within 12 hours (the Google SRE
  book's limit), the stretch counted from a first page and attributed to its week;
* ``back_to_back``: on call (either role) for at least 24 hours in this week and in
  the week before;
* ``no_rest``: pages left no unbroken 11-hour rest within some 24 hours (the EU
  Working Time Directive's daily rest): interruptions are instants, and a 24-hour
  window starting or ending at one of them has no gap of 11 hours or more.

Counts per week come from the page-load report (SQL ``GROUP BY``); the two
sequence rules (12 hours, 11-hour rest) read the period's interruption times, one
query, and walk them once per member.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from alerts.insights.interruptions import interruptions
from alerts.insights.page_load import PageLoad, page_load
from alerts.insights.sql import without_jit
from alerts.models import InsightSettings, Page
from scheduling.models import Member, Team
from scheduling.selectors import team_schedule

INCIDENTS_PER_12H = 2
STRETCH = dt.timedelta(hours=12)
REST = dt.timedelta(hours=11)
REST_PERIOD = dt.timedelta(hours=24)
BACK_TO_BACK_MIN = dt.timedelta(hours=24)


@dataclass(frozen=True)
class Thresholds:
    max_pages_per_week: int = 10
    max_sleep_per_week: int = 2

    @classmethod
    def of(cls, team: Team) -> Thresholds:
        found = InsightSettings.objects.filter(team=team).first()
        if found is None:
            return cls()
        return cls(found.max_pages_per_week, found.max_sleep_interruptions_per_week)


@dataclass(frozen=True)
class Flag:
    kind: str
    value: int | float
    threshold: str


@dataclass
class MemberWeek:
    member: Member
    week: dt.date
    pages: int = 0
    sleep: int = 0
    oncall: dt.timedelta = field(default_factory=dt.timedelta)
    flags: list[Flag] = field(default_factory=list)


@dataclass
class HealthReport:
    team: Team
    start: dt.datetime
    end: dt.datetime
    thresholds: Thresholds
    weeks: list[MemberWeek]
    load: PageLoad

    @property
    def flagged(self) -> list[MemberWeek]:
        return [w for w in self.weeks if w.flags]


def week_start(instant: dt.datetime, tz: dt.tzinfo) -> dt.date:
    local = instant.astimezone(tz).date()
    return local - dt.timedelta(days=local.weekday())


def _week_bounds(monday: dt.date, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(monday, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(monday + dt.timedelta(days=7), dt.time(0), tzinfo=tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def _oncall_by_week(
    team: Team, start: dt.datetime, end: dt.datetime
) -> dict[tuple[int, dt.date], dt.timedelta]:
    """Time on call per (member, week), from the effective schedule; reaching one
    week back so the first week can be judged back-to-back."""
    tz = team.tz
    first = week_start(start, tz) - dt.timedelta(days=7)
    schedule = team_schedule(team=team, start=_week_bounds(first, tz)[0], end=end)
    found: dict[tuple[int, dt.date], dt.timedelta] = defaultdict(dt.timedelta)
    for segment in schedule.effective:
        holders = {h.member_id for h in segment.resolution.roles() if h is not None}
        at = segment.starts_at
        while at < segment.ends_at:
            monday = week_start(at, tz)
            cut = min(segment.ends_at, _week_bounds(monday, tz)[1])
            for member_id in holders:
                found[(member_id, monday)] += cut - at
            at = cut
    return found


def most_incidents_within(
    first_pages: list[tuple[dt.datetime, int]], stretch: dt.timedelta
) -> list[tuple[dt.datetime, int]]:
    """For each first page (instant, incident) in time order: how many distinct
    incidents were first paged from it until ``stretch`` later (exclusive)."""
    times = [t for t, _ in first_pages]
    return [
        (t, bisect.bisect_left(times, t + stretch) - i)
        for i, (t, _) in enumerate(first_pages)
    ]


def rest_broken(times: list[dt.datetime]) -> list[dt.datetime]:
    """Instants starting (or ending) a 24-hour window in which the interruptions
    leave no unbroken 11-hour rest; ``times`` sorted."""
    found: list[dt.datetime] = []
    for i, t in enumerate(times):
        for lo, hi in ((t, t + REST_PERIOD), (t - REST_PERIOD, t)):
            inside = times[
                bisect.bisect_left(times, lo) : bisect.bisect_right(times, hi)
            ]
            points = [lo, *inside, hi]
            if all(b - a < REST for a, b in zip(points, points[1:], strict=False)):
                found.append(times[i])
                break
    return found


@without_jit
def health(*, team: Team, start: dt.datetime, end: dt.datetime) -> HealthReport:
    """The health flags of ``team``'s members for the weeks of [start, end)."""
    thresholds = Thresholds.of(team)
    tz = team.tz
    load = page_load(team=team, start=start, end=end)
    oncall = _oncall_by_week(team, start, end)
    members = {m.member.pk: m.member for m in load.members}
    weeks: dict[tuple[int, dt.date], MemberWeek] = {}

    def week(member_id: int, monday: dt.date) -> MemberWeek:
        key = (member_id, monday)
        if key not in weeks:
            weeks[key] = MemberWeek(members[member_id], monday)
        return weeks[key]

    first_week, last_week = (
        week_start(start, tz),
        week_start(end - dt.timedelta(microseconds=1), tz),
    )
    for (member_id, monday), held in oncall.items():
        if (
            first_week <= monday <= last_week
            and member_id in members
            and held > dt.timedelta(0)
        ):
            week(member_id, monday).oncall = held
    for item in load.members:
        for monday, w in item.weeks.items():
            entry = week(item.member.pk, monday)
            entry.pages, entry.sleep = w.pages, w.sleep

    _count_flags(weeks, oncall, thresholds)
    _sequence_flags(weeks, team, start, end)
    ordered = sorted(weeks.values(), key=lambda w: (w.week, w.member.username))
    return HealthReport(team, start, end, thresholds, ordered, load)


Weeks = dict[tuple[int, dt.date], MemberWeek]


def _count_flags(
    weeks: Weeks,
    oncall: dict[tuple[int, dt.date], dt.timedelta],
    thresholds: Thresholds,
) -> None:
    for (member_id, monday), entry in weeks.items():
        if entry.pages > thresholds.max_pages_per_week:
            entry.flags.append(
                Flag(
                    "load",
                    entry.pages,
                    f"more than {thresholds.max_pages_per_week} pages a week",
                )
            )
        if entry.sleep > thresholds.max_sleep_per_week:
            entry.flags.append(
                Flag(
                    "sleep",
                    entry.sleep,
                    f"more than {thresholds.max_sleep_per_week} sleep-hour "
                    "interruptions a week",
                )
            )
        before = oncall.get((member_id, monday - dt.timedelta(days=7)), dt.timedelta())
        if entry.oncall >= BACK_TO_BACK_MIN and before >= BACK_TO_BACK_MIN:
            entry.flags.append(
                Flag(
                    "back_to_back",
                    round(entry.oncall.total_seconds() / 3600, 1),
                    "on call 24 hours or more in this week and in the week before",
                )
            )


def _interruption_times(
    team: Team, start: dt.datetime, end: dt.datetime
) -> tuple[dict[int, set[dt.datetime]], dict[int, list[tuple[dt.datetime, int]]]]:
    """Per member: the instants of their interruptions, and each incident's first
    page (instant, incident) in time order.  Two queries."""
    sent = interruptions(
        Page.objects.filter(incident__team=team, sent_at__gte=start, sent_at__lt=end)
    ).values_list("member_id", "incident_id", "sent_at")
    bundled = (
        Page.objects.filter(
            incident__team=team,
            bundle__sent_at__gte=start,
            bundle__sent_at__lt=end,
        )
        .order_by()
        .values_list("member_id", "incident_id", "bundle__sent_at")
    )
    times: dict[int, set[dt.datetime]] = defaultdict(set)
    first_page: dict[tuple[int, int], dt.datetime] = {}
    for member_id, incident_id, at in [*sent, *bundled]:
        if at is None:
            continue
        times[member_id].add(at)  # a bundle: one instant, one interruption
        key = (member_id, incident_id)
        first_page[key] = min(at, first_page.get(key, at))
    per_member: dict[int, list[tuple[dt.datetime, int]]] = defaultdict(list)
    for (member_id, incident_id), at in sorted(
        first_page.items(), key=lambda kv: kv[1]
    ):
        per_member[member_id].append((at, incident_id))
    return times, per_member


def _sequence_flags(
    weeks: Weeks, team: Team, start: dt.datetime, end: dt.datetime
) -> None:
    tz = team.tz
    times, first_pages = _interruption_times(team, start, end)
    for member_id, pages in first_pages.items():
        worst: dict[dt.date, int] = {}
        for at, n in most_incidents_within(pages, STRETCH):
            monday = week_start(at, tz)
            worst[monday] = max(n, worst.get(monday, 0))
        for monday, n in worst.items():
            if n > INCIDENTS_PER_12H and (member_id, monday) in weeks:
                weeks[(member_id, monday)].flags.append(
                    Flag(
                        "incidents_12h",
                        n,
                        f"more than {INCIDENTS_PER_12H} incidents within 12 hours",
                    )
                )
    for member_id, instants in times.items():
        broken = rest_broken(sorted(instants))
        for monday in sorted({week_start(at, tz) for at in broken}):
            if (member_id, monday) in weeks:
                weeks[(member_id, monday)].flags.append(
                    Flag(
                        "no_rest",
                        sum(1 for b in broken if week_start(b, tz) == monday),
                        "no unbroken 11-hour rest within 24 hours",
                    )
                )
