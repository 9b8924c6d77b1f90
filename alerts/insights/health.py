"""Health flags per member and on-call week, each with the threshold that raised it.

An on-call week is the member's stretch on call, handoff to handoff, as the
effective schedule gives it (``oncall_weeks.py``: a rotation handing off on
Wednesdays at 09:00 has weeks from Wednesday 09:00 local time, DST or not);
pages outside the member's on-call weeks fall in off-rota calendar weeks
(Monday 00:00 in the team's zone).  A member's week is looked at when they were
on call in it or were paged in it.  The flags:

* ``load``: more interruptions than the team's ``max_pages_per_week`` (10: DESIGN.md
  §7 expects 5 to 10 a week);
* ``sleep``: more sleep-hour interruptions than ``max_sleep_interruptions_per_week``
  (2), read in the member's own zone;
* ``incidents_12h``: more than 2 distinct incidents within 12 hours (the Google SRE
  book's limit), the stretch counted from a first page and attributed to its week;
* ``back_to_back``: the week began where the member's previous on-call week ended
  (no time off between: a primary week then a secondary one, or a stretch longer
  than 7 days), both with at least 24 hours on call;
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
from alerts.insights.oncall_weeks import OnCallWeeks
from alerts.insights.page_load import PageLoad, page_load
from alerts.insights.sql import without_jit
from alerts.models import InsightSettings, Page
from scheduling.models import Member, Team

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
    start: dt.datetime  # UTC: the handoff that began it
    end: dt.datetime
    on_rota: bool = True
    pages: int = 0
    sleep: int = 0
    # Time on call in the whole on-call week (either role), also the part of a
    # week that began before the period or ends after it.
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
def health(
    *,
    team: Team,
    start: dt.datetime,
    end: dt.datetime,
    load: PageLoad | None = None,
) -> HealthReport:
    """The health flags of ``team``'s members for their on-call weeks overlapping
    [start, end).  ``load``: the page-load report of the same period, when the
    caller has it already (the insights page)."""
    thresholds = Thresholds.of(team)
    load = load or page_load(team=team, start=start, end=end)
    members = {m.member.pk: m.member for m in load.members}
    weeks: Weeks = {}
    for item in load.members:
        for week_start, w in item.weeks.items():
            weeks[(item.member.pk, week_start)] = MemberWeek(
                item.member,
                w.start,
                w.end,
                on_rota=w.on_rota,
                pages=w.pages,
                sleep=w.sleep,
            )
    for oncall in load.weeks.flat():
        key = oncall.key
        if oncall.member_id in members and key in weeks:
            weeks[key].oncall = oncall.held

    _count_flags(weeks, load.weeks, thresholds)
    _sequence_flags(weeks, load.weeks, team, start, end)
    ordered = sorted(weeks.values(), key=lambda w: (w.start, w.member.username))
    return HealthReport(team, start, end, thresholds, ordered, load)


Weeks = dict[tuple[int, dt.datetime], MemberWeek]


def _count_flags(weeks: Weeks, oncall: OnCallWeeks, thresholds: Thresholds) -> None:
    for (member_id, _), entry in weeks.items():
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
        if not entry.on_rota:
            continue
        this = oncall.of(member_id, entry.start)
        before = oncall.previous(this)
        if (
            this.follows
            and before is not None
            and this.held >= BACK_TO_BACK_MIN
            and before.held >= BACK_TO_BACK_MIN
        ):
            entry.flags.append(
                Flag(
                    "back_to_back",
                    round(this.held.total_seconds() / 3600, 1),
                    "began where the last on-call week ended, 24 hours or more "
                    "on call in each",
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
    weeks: Weeks,
    oncall: OnCallWeeks,
    team: Team,
    start: dt.datetime,
    end: dt.datetime,
) -> None:
    times, first_pages = _interruption_times(team, start, end)
    for member_id, pages in first_pages.items():
        worst: dict[dt.datetime, int] = {}
        for at, n in most_incidents_within(pages, STRETCH):
            week = oncall.of(member_id, at).start
            worst[week] = max(n, worst.get(week, 0))
        for week, n in worst.items():
            if n > INCIDENTS_PER_12H and (member_id, week) in weeks:
                weeks[(member_id, week)].flags.append(
                    Flag(
                        "incidents_12h",
                        n,
                        f"more than {INCIDENTS_PER_12H} incidents within 12 hours",
                    )
                )
    for member_id, instants in times.items():
        broken = rest_broken(sorted(instants))
        starts = [oncall.of(member_id, at).start for at in broken]
        for week in sorted(set(starts)):
            if (member_id, week) in weeks:
                weeks[(member_id, week)].flags.append(
                    Flag(
                        "no_rest",
                        starts.count(week),
                        "no unbroken 11-hour rest within 24 hours",
                    )
                )
