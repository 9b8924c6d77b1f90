"""Page load per member: how often each person was interrupted, and when.

Definitions (the README's "Insights" section says the same):

* an **interruption** (``pages``) is one SMS or one call that reached the provider
  (``sent_at`` set).  The same page over several channels (SMS, then a call for the
  same step) counts once: the call is left out when the step's SMS went out.
  A storm **bundle** counts once per delivery (``bundles``), however many pages it
  stood for; ``bundled_incidents`` says how many incidents the bundles carried;
* a page's instant is when it was actually sent (``sent_at``: the provider took
  it), not when it was due (a page held for business hours, retried or sent late
  by a busy worker counts at the hour it rang); a bundle's is when the bundle was
  sent; the period, the hour kind and the week all read it;
* ``incidents``: distinct incidents the member was paged about (bundles included);
* ``acknowledged``: of those, the ones the member acknowledged;
* ``escalated_past``: pages after which the incident's policy went on to page
  somebody else (a later step or repeat, before any acknowledgement): the
  member did not answer in time;
* ``tta_median`` / ``tta_worst``: from the member's first page about an incident to
  their acknowledgement of it, for the incidents they acknowledged in the period;
* ``business`` / ``off`` / ``sleep``: interruptions by hour kind in the member's
  own time zone (``windows.py``);
* ``primary_hours`` / ``secondary_hours``: time on call from the effective schedule
  (``rota.py``); ``pages_per_24h_on_call``: interruptions per 24 hours on call.

Weeks (``weeks``) are each member's *on-call weeks*, handoff to handoff as the
effective schedule gives them (``oncall_weeks.py``); pages outside them fall in
off-rota calendar weeks (Monday 00:00 in the team's zone).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    Count,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import TruncWeek

from alerts.insights.incident_figures import answered_opening
from alerts.insights.interruptions import escalated_past, interruptions
from alerts.insights.oncall_weeks import (
    OFF_ROTA,
    OnCallWeek,
    OnCallWeeks,
    calendar_week,
    oncall_weeks,
    schedule_for,
)
from alerts.insights.rota import oncall_time
from alerts.insights.sql import duration_percentile, without_jit
from alerts.insights.windows import (
    BUSINESS,
    SLEEP,
    annotate_kind,
    member_zones,
    windows_for,
)
from alerts.models import Incident, Page, PageBundle
from scheduling.models import Member, Team, TeamMembership
from scheduling.selectors import TeamSchedule


@dataclass
class WeekLoad:
    """One on-call week of a member (``oncall_weeks.OnCallWeek``)."""

    start: dt.datetime  # UTC: the handoff that began it (Monday 00:00 off rota)
    end: dt.datetime
    on_rota: bool = True
    pages: int = 0
    sleep: int = 0
    bundles: int = 0


@dataclass
class MemberLoad:
    member: Member
    pages: int = 0
    incidents: int = 0
    acknowledged: int = 0
    escalated_past: int = 0
    business: int = 0
    off: int = 0
    sleep: int = 0
    bundles: int = 0
    bundled_incidents: int = 0
    tta_median: dt.timedelta | None = None
    tta_worst: dt.timedelta | None = None
    primary_hours: float = 0.0
    secondary_hours: float = 0.0
    weeks: dict[dt.datetime, WeekLoad] = field(default_factory=dict)

    @property
    def oncall_hours(self) -> float:
        return self.primary_hours + self.secondary_hours

    @property
    def pages_per_24h_on_call(self) -> float | None:
        if self.oncall_hours <= 0:
            return None
        return self.pages / (self.oncall_hours / 24)

    def week(self, of: OnCallWeek) -> WeekLoad:
        return self.weeks.setdefault(
            of.start, WeekLoad(of.start, of.end, on_rota=of.on_rota)
        )


@dataclass
class PageLoad:
    team: Team
    start: dt.datetime
    end: dt.datetime
    windows: dict[str, str]
    members: list[MemberLoad]
    weeks: OnCallWeeks


def _interruptions(team: Team, start: dt.datetime, end: dt.datetime) -> QuerySet[Page]:
    return interruptions(
        Page.objects.filter(incident__team=team, sent_at__gte=start, sent_at__lt=end)
    )


def _bundles(team: Team, start: dt.datetime, end: dt.datetime) -> QuerySet[PageBundle]:
    return PageBundle.objects.filter(
        sent_at__gte=start,
        sent_at__lt=end,
        pk__in=Page.objects.filter(incident__team=team, bundle__isnull=False).values(
            "bundle_id"
        ),
    ).order_by()


@without_jit
def page_load(
    *,
    team: Team,
    start: dt.datetime,
    end: dt.datetime,
    schedule: TeamSchedule | None = None,
) -> PageLoad:
    """Each member's page load for ``team`` over [start, end) (aware instants).

    A fixed number of queries, whatever the number of pages: every count is a
    ``GROUP BY`` in the database.  ``schedule``: the effective schedule from
    ``oncall_weeks.schedule_for`` when the caller has it already (the insights
    page shares one among its reports)."""
    windows = windows_for(team)
    week_tz = team.tz
    schedule = schedule or schedule_for(team=team, start=start, end=end)
    weeks = oncall_weeks(team=team, start=start, end=end, schedule=schedule)
    flat_weeks = weeks.flat()
    pages = _interruptions(team, start, end)
    bundles = _bundles(team, start, end)
    zones = member_zones()
    kinds: dict[str, Any] = {"windows_by_team": {team.pk: windows}, "zones": zones}

    page_rows = (
        annotate_kind(
            pages.annotate(escalated=escalated_past()),
            instant="sent_at",
            zone_field="member__time_zone",
            team_field="incident__team_id",
            **kinds,
        )
        .annotate(
            oncall_week=weeks.sql_index(member_field="member_id", instant="sent_at"),
            week=TruncWeek("sent_at", tzinfo=week_tz),
        )
        .values("member_id", "oncall_week", "week", "hour_kind")
        .annotate(n=Count("id"), escalated_n=Count("id", filter=Q(escalated=True)))
        .order_by()
    )
    bundle_rows = (
        annotate_kind(
            bundles,
            instant="sent_at",
            zone_field="member__time_zone",
            team_field=None,
            **kinds,
        )
        .annotate(
            oncall_week=weeks.sql_index(member_field="member_id", instant="sent_at"),
            week=TruncWeek("sent_at", tzinfo=week_tz),
        )
        .values("member_id", "oncall_week", "week", "hour_kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    # Distinct incidents cannot be summed over weeks: counted once per member.
    reached = Page.objects.filter(incident__team=team, sent_at__isnull=False).filter(
        Q(bundle__isnull=True, sent_at__gte=start, sent_at__lt=end)
        | Q(bundle__isnull=False, bundle__sent_at__gte=start, bundle__sent_at__lt=end)
    )
    incident_rows = (
        reached.values("member_id")
        .annotate(
            incidents=Count("incident_id", distinct=True),
            acknowledged=Count(
                "incident_id",
                distinct=True,
                filter=Q(incident__acknowledged_by=F("member")),
            ),
            bundled=Count("incident_id", distinct=True, filter=Q(bundle__isnull=False)),
        )
        .order_by()
    )
    # The member's first page since the (re)opening their acknowledgement answered.
    first_page = (
        Page.objects.filter(
            incident=OuterRef("pk"),
            member=OuterRef("acknowledged_by"),
            sent_at__gte=OuterRef("answered_from"),
        )
        .order_by()
        .values("incident")
        .annotate(first=Min("sent_at"))
        .values("first")
    )
    tta = F("acknowledged_at") - F("first_page")
    tta_rows = (
        Incident.objects.filter(
            team=team,
            acknowledged_by__isnull=False,
            acknowledged_at__gte=start,
            acknowledged_at__lt=end,
        )
        .annotate(answered_from=answered_opening())
        .annotate(first_page=Subquery(first_page))
        .filter(first_page__isnull=False)
        .values("acknowledged_by")
        .annotate(median=duration_percentile(tta, 0.5), worst=Max(tta))
        .order_by()
    )
    oncall = oncall_time(team=team, start=start, end=end, schedule=schedule)

    loads: dict[int, MemberLoad] = {}
    member_ids: set[int] = set(
        TeamMembership.objects.filter(team=team).values_list("member_id", flat=True)
    )
    rows: dict[str, list[dict[str, Any]]] = {
        "pages": list(page_rows),
        "bundles": list(bundle_rows),
        "incidents": list(incident_rows),
        "tta": list(tta_rows),
    }
    member_ids |= {
        r["member_id"] for key in ("pages", "bundles", "incidents") for r in rows[key]
    }
    member_ids |= set(oncall.by_member)
    members = Member.objects.filter(pk__in=member_ids).select_related("user")
    for member in members:
        time = oncall.of(member.pk)
        loads[member.pk] = MemberLoad(
            member,
            primary_hours=time.hours("primary"),
            secondary_hours=time.hours("secondary"),
        )
    for row in rows["pages"]:
        load = loads[row["member_id"]]
        _add_kind(load, row["hour_kind"], row["n"])
        load.pages += row["n"]
        load.escalated_past += row["escalated_n"]
        week = load.week(_week_of(row, flat_weeks, weeks))
        week.pages += row["n"]
        week.sleep += row["n"] if row["hour_kind"] == SLEEP else 0
    for row in rows["bundles"]:
        load = loads[row["member_id"]]
        _add_kind(load, row["hour_kind"], row["n"])
        load.pages += row["n"]
        load.bundles += row["n"]
        week = load.week(_week_of(row, flat_weeks, weeks))
        week.pages += row["n"]
        week.bundles += row["n"]
        week.sleep += row["n"] if row["hour_kind"] == SLEEP else 0
    for row in rows["incidents"]:
        load = loads[row["member_id"]]
        load.incidents = row["incidents"]
        load.acknowledged = row["acknowledged"]
        load.bundled_incidents = row["bundled"]
    for row in rows["tta"]:
        load = loads[row["acknowledged_by"]]
        load.tta_median, load.tta_worst = row["median"], row["worst"]
    for week_of in flat_weeks:  # weeks on call without a page show too
        if week_of.member_id in loads:
            loads[week_of.member_id].week(week_of)
    ordered = sorted(loads.values(), key=lambda m: m.member.username)
    for load in ordered:
        load.weeks = dict(sorted(load.weeks.items()))
    return PageLoad(team, start, end, windows.describe(), ordered, weeks)


def _week_of(
    row: dict[str, Any], flat: list[OnCallWeek], weeks: OnCallWeeks
) -> OnCallWeek:
    """The week a ``GROUP BY`` row belongs to: the on-call week at its index, or
    the off-rota calendar week of its ``week`` (Monday 00:00, team's zone)."""
    if row["oncall_week"] != OFF_ROTA:
        return flat[row["oncall_week"]]
    start, end = calendar_week(row["week"], weeks.tz)
    return OnCallWeek(row["member_id"], start, end, dt.timedelta(), False, False)


def _add_kind(load: MemberLoad, kind: str, n: int) -> None:
    if kind == SLEEP:
        load.sleep += n
    elif kind == BUSINESS:
        load.business += n
    else:  # OFF
        load.off += n
