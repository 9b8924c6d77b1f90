"""Who the deploy gate says would be paged, computed once and stored.

Resolving who is on call costs a few milliseconds (rotations, shifts, overrides,
layers), too much for a gate that must answer in under 5 ms.  So each SLO
evaluation stores the facts with the instant they stop holding:

* ``primary``: the team's on-call primary (username), None when nobody is;
* ``in_sleep_hours``: whether it is night for them (the team's insight hours,
  in the primary's time zone);
* ``until``: the first instant either may change by the clock alone, the end of
  the primary's stint or the next sleep-window edge (or UTC-offset change) in
  their zone, whichever comes first;
* ``version``: the schedule version (``scheduling.version``) they were read
  under; an override, a rotation or a member change bumps it.

The gate uses the stored facts while ``since <= now < until`` and the schedule
version is unchanged; otherwise it recomputes them once and stores them on the
evaluation again (:func:`oncall_facts_valid`).  A change of the team's insight
hours bumps no version: the next evaluation (every minute) picks it up.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from alerts.insights.windows import SLEEP, Windows, windows_for
from scheduling.models import Team
from scheduling.selectors import oncall_at
from scheduling.version import schedule_version

# When nobody is on call there is no stint whose end bounds the answer (a
# rotation may start, a gap may close): look again after this long.
NOBODY_RECHECK = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class OnCallFacts:
    primary: str | None
    in_sleep_hours: bool | None
    since: dt.datetime
    until: dt.datetime
    version: int

    def holds_at(self, at: dt.datetime, version: int) -> bool:
        return self.version == version and self.since <= at < self.until


def _offset_change(
    tz: zoneinfo.ZoneInfo, start: dt.datetime, end: dt.datetime
) -> dt.datetime | None:
    """The first instant in (start, end] at which ``tz``'s UTC offset differs from
    its offset at ``start`` (to the second), or None.  Real zones change offset
    at most once in the two days this is asked about."""
    before = start.astimezone(tz).utcoffset()
    if end.astimezone(tz).utcoffset() == before:
        return None
    low, high = start, end
    while high - low > dt.timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).utcoffset() == before:
            low = middle
        else:
            high = middle
    return high


def next_sleep_edge(windows: Windows, at: dt.datetime, time_zone: str) -> dt.datetime:
    """The first instant after ``at`` where being in sleep hours may change for a
    member in ``time_zone``: a wall-clock edge of the sleep window, or earlier a
    change of UTC offset (a DST jump can skip or repeat an edge)."""
    horizon = at + dt.timedelta(days=2)
    if windows.sleep_start == windows.sleep_end:  # no sleep window at all
        return horizon
    tz = zoneinfo.ZoneInfo(time_zone)
    today = at.astimezone(tz).date()
    edges = [
        dt.datetime.combine(today + dt.timedelta(days=d), edge, tzinfo=tz).astimezone(
            dt.UTC
        )
        for d in (0, 1, 2)
        for edge in (windows.sleep_start, windows.sleep_end)
    ]
    edge = min([e for e in edges if e > at], default=horizon)
    change = _offset_change(tz, at, edge)
    return min(edge, change) if change is not None else edge


def oncall_facts(*, team: Team, at: dt.datetime) -> OnCallFacts:
    """Who is primary for ``team`` at ``at`` and whether they sleep, with the
    instant the answer may change (from the effective-schedule resolver)."""
    version = schedule_version().number
    now = oncall_at(team=team, at=at)
    if now.primary is None or now.shift_end is None:
        return OnCallFacts(None, None, at, at + NOBODY_RECHECK, version)
    windows = windows_for(team)
    zone = now.primary.time_zone
    asleep = windows.kind_of(at, zone) == SLEEP
    until = min(now.shift_end, next_sleep_edge(windows, at, zone))
    return OnCallFacts(now.primary.user.username, asleep, at, until, version)
