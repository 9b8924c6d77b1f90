"""Which local days pay a multiplier: the team's weekend days and its holidays.

Public holidays come from the ``holidays`` package for the team's country and
subdivision; operators add their own (:class:`scheduling.models.PayHoliday`).
Days are the team's local calendar days: a multiplier covers local midnight to
local midnight, whatever that day's length across a DST change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import holidays

WEEKEND = "weekend"
HOLIDAY = "holiday"


@dataclass(frozen=True)
class PayCalendar:
    weekend_days: frozenset[int] = frozenset({5, 6})
    country: str = ""
    subdivision: str = ""
    extra: Mapping[dt.date, str] = field(default_factory=dict)

    def public(self, years: Iterable[int]) -> dict[dt.date, str]:
        if not self.country:
            return {}
        found = holidays.country_holidays(
            self.country, subdiv=self.subdivision or None, years=sorted(set(years))
        )
        return {day: str(name) for day, name in found.items()}

    def days(self, first: dt.date, last: dt.date) -> dict[dt.date, list[str]]:
        """For each local date in [first, last] that has one, what it is:
        ``["weekend"]``, ``["holiday: Jamhuri Day"]`` or both."""
        public = self.public(range(first.year, last.year + 1))
        out: dict[dt.date, list[str]] = {}
        day = first
        while day <= last:
            kinds = []
            if day.weekday() in self.weekend_days:
                kinds.append(WEEKEND)
            name = self.extra.get(day) or public.get(day)
            if name:
                kinds.append(f"{HOLIDAY}: {name}")
            if kinds:
                out[day] = kinds
            day += dt.timedelta(days=1)
        return out


def calendar_for(team_id: int) -> PayCalendar:
    """The team's calendar from its pay policy and added holidays."""
    from scheduling.models import PayHoliday, PayPolicy

    policy = PayPolicy.objects.filter(team_id=team_id).first()
    extra = dict(
        PayHoliday.objects.filter(team_id=team_id).values_list("date", "name")
    )
    if policy is None:
        return PayCalendar(extra=extra)
    return PayCalendar(
        weekend_days=frozenset(int(d) for d in policy.weekend_days),
        country=policy.holiday_country,
        subdivision=policy.holiday_subdivision,
        extra=extra,
    )
