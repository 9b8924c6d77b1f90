"""Business, off- and sleep hours: when a page interrupted somebody.

Read in the *paged member's* time zone, with the team's hours
(:class:`alerts.models.InsightSettings`, defaults as PagerDuty's operational
reviews use them):

* **sleep**: from ``sleep_start`` to ``sleep_end`` (22:00-08:00), every day;
* **business**: from ``business_start`` to ``business_end`` (08:00-18:00) on the
  business weekdays (Monday to Friday), outside sleep hours;
* **off**: the rest (weekday evenings, weekends).

Sleep is decided first, so hours that overlap both count as sleep.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, CharField, F, Q, Value, When
from django.db.models.functions import Mod

from alerts.insights.sql import local_minute_of_day, local_weekday
from alerts.models import InsightSettings
from scheduling.models import Member, Team

BUSINESS = "business"
OFF = "off"
SLEEP = "sleep"
KINDS = (BUSINESS, OFF, SLEEP)


def _minutes(value: dt.time) -> int:
    return value.hour * 60 + value.minute


@dataclass(frozen=True)
class Windows:
    business_start: dt.time = dt.time(8, 0)
    business_end: dt.time = dt.time(18, 0)
    business_weekdays: str = "12345"
    sleep_start: dt.time = dt.time(22, 0)
    sleep_end: dt.time = dt.time(8, 0)

    @classmethod
    def of(cls, settings: InsightSettings | None) -> Windows:
        if settings is None:
            return cls()
        return cls(
            settings.business_start,
            settings.business_end,
            settings.business_weekdays,
            settings.sleep_start,
            settings.sleep_end,
        )

    def describe(self) -> dict[str, str]:
        days = ",".join(sorted(self.business_weekdays))
        return {
            BUSINESS: f"{self.business_start:%H:%M}-{self.business_end:%H:%M} on "
            f"ISO weekdays {days}, outside sleep hours",
            SLEEP: f"{self.sleep_start:%H:%M}-{self.sleep_end:%H:%M} every day",
            OFF: "every other hour (evenings, weekends)",
        }

    def _is_sleep(self, minute: int) -> bool:
        start, end = _minutes(self.sleep_start), _minutes(self.sleep_end)
        if start == end:
            return False
        if start < end:
            return start <= minute < end
        return minute >= start or minute < end

    def kind_at(self, local: dt.datetime) -> str:
        """The kind of hour ``local`` (a wall-clock time of the member) falls in."""
        minute = local.hour * 60 + local.minute
        if self._is_sleep(minute):
            return SLEEP
        in_business = str(local.isoweekday()) in self.business_weekdays and _minutes(
            self.business_start
        ) <= minute < _minutes(self.business_end)
        return BUSINESS if in_business else OFF

    def kind_of(self, instant: dt.datetime, time_zone: str) -> str:
        return self.kind_at(instant.astimezone(zoneinfo.ZoneInfo(time_zone)))

    # --- the same rule in SQL ------------------------------------------------------

    def sleep_q(self, minute: str) -> Q:
        start, end = _minutes(self.sleep_start), _minutes(self.sleep_end)
        if start == end:
            return Q(pk__in=[])
        if start < end:
            return Q(**{f"{minute}__gte": start, f"{minute}__lt": end})
        return Q(**{f"{minute}__gte": start}) | Q(**{f"{minute}__lt": end})

    def business_q(self, minute: str, weekday: str) -> Q:
        return Q(
            **{
                f"{weekday}__in": [int(d) for d in self.business_weekdays],
                f"{minute}__gte": _minutes(self.business_start),
                f"{minute}__lt": _minutes(self.business_end),
            }
        )


def member_zones() -> set[str]:
    """Every time zone a member is in: the ``CASE`` branches of the local-time
    expressions.  Bounded by the people configured, never by pages (one small
    query; the order_by() keeps DISTINCT to the zone alone)."""
    return set(Member.objects.order_by().values_list("time_zone", flat=True).distinct())


def windows_for(team: Team) -> Windows:
    return Windows.of(InsightSettings.objects.filter(team=team).first())


def annotate_kind(
    queryset: Any,
    *,
    instant: str,
    zone_field: str,
    zones: Iterable[str],
    windows_by_team: dict[int, Windows],
    team_field: str | None,
) -> Any:
    """``queryset`` with ``local_minute``, ``local_weekday`` and ``hour_kind``
    (business/off/sleep) of ``instant`` in the zone in ``zone_field``, each row
    judged by its team's windows (``team_field``: the path to the team id; None
    when ``windows_by_team`` holds one team and every row is that team's)."""
    zones = sorted(set(zones))
    queryset = queryset.annotate(
        local_minute=local_minute_of_day(instant, zone_field, zones),
        local_weekday=local_weekday(instant, zone_field, zones),
    )
    whens: list[When] = []
    # Teams sharing the same windows share a branch: the CASE stays as short as
    # the number of distinct settings, not of teams.
    groups: dict[Windows, list[int]] = {}
    for team_id, windows in windows_by_team.items():
        groups.setdefault(windows, []).append(team_id)
    for windows, team_ids in groups.items():
        on_team = Q(**{f"{team_field}__in": team_ids}) if team_field else Q()
        whens.append(When(on_team & windows.sleep_q("local_minute"), then=Value(SLEEP)))
        whens.append(
            When(
                on_team & windows.business_q("local_minute", "local_weekday"),
                then=Value(BUSINESS),
            )
        )
    return queryset.annotate(
        hour_kind=Case(*whens, default=Value(OFF), output_field=CharField())
    )


def annotate_sleep(
    queryset: Any,
    *,
    instant: str,
    zone_field: str,
    zones: Iterable[str],
    windows_by_team: dict[int, Windows],
    team_field: str,
) -> tuple[Any, Q]:
    """``queryset`` with what it takes to tell sleep-hour rows, and the ``Q`` that
    does: the same rule as :func:`annotate_kind`'s ``sleep``, cheaper when only
    sleep is wanted (alert quality over a year: 150,000 pages).  The instant is
    read in the member's zone once per row (``local_minute``), and each distinct
    setting tests it once: ``(minute - start) mod 1440 < (end - start) mod 1440``,
    which is ``start <= minute < end`` across midnight too, and never when
    ``start == end``.  (The hour-kind ``CASE`` repeats the zone conversion in every
    branch: PostgreSQL spent 1.6 of 3.8 s on it, ``bench/insights.py --slowest``.)"""
    queryset = queryset.annotate(
        local_minute=local_minute_of_day(instant, zone_field, sorted(set(zones)))
    )
    groups: dict[Windows, list[int]] = {}
    for team_id, windows in windows_by_team.items():
        groups.setdefault(windows, []).append(team_id)
    sleep = Q(pk__in=[])
    for n, (windows, team_ids) in enumerate(groups.items()):
        start, end = _minutes(windows.sleep_start), _minutes(windows.sleep_end)
        length = (end - start) % 1440
        if not length:
            continue
        offset = f"sleep_offset_{n}"
        queryset = queryset.annotate(
            **{offset: Mod(F("local_minute") + Value(1440 - start), Value(1440))}
        )
        sleep |= Q(**{f"{team_field}__in": team_ids, f"{offset}__lt": length})
    return queryset, sleep
