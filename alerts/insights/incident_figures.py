"""MTTA, MTTR, MTBF: how fast incidents are answered and fixed, how often they come.

Over the incidents *opened* in [start, end) (a reopened incident is one incident):

* **MTTA** (``mtta``): the (re)opening the acknowledgement answered →
  acknowledgement (``acknowledged_at``), over the acknowledged incidents;
* **MTTR** (``mttr``): the (re)opening the resolution closed → resolution, over
  the resolved incidents;
* each as ``mean``, ``median`` and ``p90`` (continuous percentiles, as
  PostgreSQL's ``percentile_cont``), and the ``count`` they are taken over;
* **MTBF** (``mtbf``, per service): the time between two consecutive openings of
  the service's incidents (first openings; a reopen is no new failure), as
  ``mean`` ((last − first) / (openings − 1)), ``median`` and ``p90`` over the
  gaps; none for a service with fewer than two incidents;
* counts by urgency (``high``, ``low``).

**Reopened incidents.**  Reopening (``incident_reopen``: the group fired again
within the integration's reopen window) clears ``acknowledged_at`` and
``resolved_at`` and writes a ``reopened`` timeline entry; ``opened_at`` keeps the
first opening.  So an acknowledgement or a resolution on record always answers
the *latest* (re)opening, which is the latest ``reopened`` entry (else
``opened_at``): :func:`answered_opening`.  Measuring from the first opening would
count the quiet time between the resolve and the re-fire as time to acknowledge.

A service is the incident's ``service`` label (common labels, else group labels;
empty when it has none).  Every figure is one ``GROUP BY`` in the database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import (
    Avg,
    Count,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    Window,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, Lag, TruncWeek

from alerts.insights.sql import duration_percentile, without_jit
from alerts.models import Incident, TimelineEntry
from scheduling.models import Team


@dataclass(frozen=True)
class Spread:
    """A duration's distribution over ``count`` incidents."""

    count: int
    mean: dt.timedelta | None
    median: dt.timedelta | None
    p90: dt.timedelta | None

    def seconds(self) -> dict[str, float | int | None]:
        def s(value: dt.timedelta | None) -> float | None:
            return None if value is None else round(value.total_seconds(), 3)

        return {
            "count": self.count,
            "mean": s(self.mean),
            "median": s(self.median),
            "p90": s(self.p90),
        }


@dataclass(frozen=True)
class Figures:
    incidents: int
    high: int
    low: int
    mtta: Spread
    mttr: Spread


@dataclass(frozen=True)
class ServiceFigures(Figures):
    service: str
    mtbf: Spread  # over the gaps between consecutive openings: count = gaps


@dataclass(frozen=True)
class GroupFigures(Figures):
    """The figures of one route or one integration."""

    name: str
    integration: str


@dataclass(frozen=True)
class IncidentReport:
    start: dt.datetime
    end: dt.datetime
    overall: Figures
    services: list[ServiceFigures]
    routes: list[GroupFigures]
    integrations: list[GroupFigures]


def label(name: str) -> Any:
    """An incident's label ``name``: common labels, else group labels, else ''."""
    return Coalesce(
        KeyTextTransform(name, "common_labels"),
        KeyTextTransform(name, "group_labels"),
        Value(""),
        output_field=TextField(),
    )


def answered_opening() -> Any:
    """The incident's latest (re)opening: its latest ``reopened`` timeline entry,
    else ``opened_at``.  The acknowledgement and the resolution on record answer
    this one (a reopen clears both).  A lookup in the small partial index
    ``alerts_timeline_reopened`` per incident."""
    reopened = (
        TimelineEntry.objects.filter(
            incident=OuterRef("pk"), kind=TimelineEntry.Kind.REOPENED
        )
        .order_by("-at")
        .values("at")[:1]
    )
    return Coalesce(Subquery(reopened), F("opened_at"), output_field=DateTimeField())


# Both read ``answered_from`` (:func:`incidents_in` annotates it).
TTA = ExpressionWrapper(F("acknowledged_at") - F("answered_from"), DurationField())
TTR = ExpressionWrapper(F("resolved_at") - F("answered_from"), DurationField())


def _aggregates() -> dict[str, Any]:
    acked = Q(acknowledged_at__isnull=False)
    resolved = Q(resolved_at__isnull=False)
    return {
        "incidents": Count("id"),
        "high": Count("id", filter=Q(urgency=Incident.Urgency.HIGH)),
        "low": Count("id", filter=Q(urgency=Incident.Urgency.LOW)),
        "tta_n": Count("id", filter=acked),
        "tta_mean": Avg(TTA, filter=acked, output_field=DurationField()),
        "tta_median": duration_percentile(TTA, 0.5, filter=acked),
        "tta_p90": duration_percentile(TTA, 0.9, filter=acked),
        "ttr_n": Count("id", filter=resolved),
        "ttr_mean": Avg(TTR, filter=resolved, output_field=DurationField()),
        "ttr_median": duration_percentile(TTR, 0.5, filter=resolved),
        "ttr_p90": duration_percentile(TTR, 0.9, filter=resolved),
    }


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "incidents": row["incidents"],
        "high": row["high"],
        "low": row["low"],
        "mtta": Spread(
            row["tta_n"], row["tta_mean"], row["tta_median"], row["tta_p90"]
        ),
        "mttr": Spread(
            row["ttr_n"], row["ttr_mean"], row["ttr_median"], row["ttr_p90"]
        ),
    }


def incidents_in(
    *, teams: QuerySet[Team], start: dt.datetime, end: dt.datetime
) -> QuerySet[Incident]:
    """The incidents of ``teams`` first opened in [start, end), with
    ``answered_from`` (:func:`answered_opening`) for :data:`TTA` and :data:`TTR`."""
    return (
        Incident.objects.filter(team__in=teams, opened_at__gte=start, opened_at__lt=end)
        .annotate(answered_from=answered_opening())
        .order_by()
    )


@without_jit
def incident_figures(
    *,
    teams: QuerySet[Team],
    start: dt.datetime,
    end: dt.datetime,
    service: str | None = None,
) -> IncidentReport:
    """MTTA, MTTR and counts for the incidents of ``teams`` opened in [start, end)
    (only ``service``'s when given): overall, per service (with MTBF), per route
    and per integration.  Four ``GROUP BY``s."""
    incidents = incidents_in(teams=teams, start=start, end=end).annotate(
        service=label("service")
    )
    if service is not None:
        incidents = incidents.filter(service=service)
    overall = incidents.aggregate(**_aggregates())
    per_service = (
        incidents.values("service")
        .annotate(**_aggregates(), first=Min("opened_at"), last=Max("opened_at"))
        .order_by("service")
    )
    gaps = mtbf_gaps(incidents)
    services = [
        ServiceFigures(
            **_figures(row),
            service=row["service"],
            mtbf=_mtbf(row, gaps.get(row["service"])),
        )
        for row in per_service
    ]
    per_route = (
        incidents.values(
            "route_id", "route__name", "route__position", "integration__name"
        )
        .annotate(**_aggregates())
        .order_by("integration__name", "route__position", "route_id")
    )
    routes = [
        GroupFigures(
            **_figures(row),
            name=_route_name(row),
            integration=row["integration__name"],
        )
        for row in per_route
    ]
    per_integration = (
        incidents.values("integration_id", "integration__name")
        .annotate(**_aggregates())
        .order_by("integration__name", "integration_id")
    )
    integrations = [
        GroupFigures(
            **_figures(row),
            name=row["integration__name"],
            integration=row["integration__name"],
        )
        for row in per_integration
    ]
    return IncidentReport(
        start, end, Figures(**_figures(overall)), services, routes, integrations
    )


def _mtbf(row: dict[str, Any], gaps: tuple[float, float] | None) -> Spread:
    if row["incidents"] < 2 or gaps is None:
        return Spread(0, None, None, None)
    median, p90 = gaps
    return Spread(
        row["incidents"] - 1,
        (row["last"] - row["first"]) / (row["incidents"] - 1),
        dt.timedelta(seconds=median),
        dt.timedelta(seconds=p90),
    )


def _gap_seconds(vendor: str) -> str:
    if vendor == "postgresql":
        return "CAST(EXTRACT(EPOCH FROM (opened_at - previous)) AS double precision)"
    # SQLite keeps instants as ISO text; julianday() reads them (to ~0.1 ms).
    return "(julianday(opened_at) - julianday(previous)) * 86400.0"


def _percentile_sql(vendor: str, column: str, fraction: float) -> str:
    if vendor == "postgresql":
        return f"percentile_cont({fraction}) WITHIN GROUP (ORDER BY {column})"
    return f"oncall_percentile({column}, {fraction})"


def mtbf_gaps(incidents: QuerySet[Incident]) -> dict[str, tuple[float, float]]:
    """Per service: the median and p90, in seconds, of the gaps between its
    consecutive openings.  One query: ``LAG`` over the openings per service,
    then the percentiles over the gaps (SQL has no aggregate over a window in
    one level, so the window query is the ``FROM`` of the aggregate)."""
    inner = incidents.annotate(
        previous=Window(
            Lag("opened_at"), partition_by=[F("service")], order_by=F("opened_at").asc()
        )
    ).values("service", "opened_at", "previous")
    sql, params = inner.query.sql_with_params()
    vendor = connection.vendor
    gap = _gap_seconds(vendor)
    query = (
        f"SELECT service, {_percentile_sql(vendor, 'gap', 0.5)}, "  # noqa: S608
        f"{_percentile_sql(vendor, 'gap', 0.9)} FROM (SELECT service, {gap} AS gap "
        f"FROM ({sql}) openings WHERE previous IS NOT NULL) gaps GROUP BY service"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return {
            service: (float(median), float(p90))
            for service, median, p90 in cursor.fetchall()
        }


def _route_name(row: dict[str, Any]) -> str:
    if row["route_id"] is None:
        return "(no route)"
    return row["route__name"] or f"route {row['route__position']}"


@dataclass(frozen=True)
class WeekFigures:
    week: dt.date  # the Monday, in the zone asked for
    incidents: int
    mtta: Spread
    mttr: Spread


@without_jit
def incident_trend(
    *, teams: QuerySet[Team], start: dt.datetime, end: dt.datetime, tz: dt.tzinfo
) -> list[WeekFigures]:
    """MTTA and MTTR per week (Monday 00:00 in ``tz``) of the incidents opened in
    [start, end).  One ``GROUP BY``."""
    rows = (
        incidents_in(teams=teams, start=start, end=end)
        .annotate(week=TruncWeek("opened_at", tzinfo=tz))
        .values("week")
        .annotate(**_aggregates())
        .order_by("week")
    )
    return [
        WeekFigures(
            row["week"].date(),
            row["incidents"],
            _figures(row)["mtta"],
            _figures(row)["mttr"],
        )
        for row in rows
    ]
