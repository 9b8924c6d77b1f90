"""What the deploy gate reads, in one SQL statement compiled once per process.

The gate is the hot path of issue 18 (<= 5 ms p99).  Asked through the ORM it
ran five statements (the service scoped to the caller's teams, its SLOs with
their latest evaluations, its open incidents, today's deploys, the schedule
version), and compiling those querysets cost several times the CPU the
database spent running them (``bench/slo_gate.py --profile``).  Here they are
one statement: a row per SLO of the service (one row with no SLO when it has
none), each carrying the service's facts as correlated subqueries.  The ORM
compiles it the first time a *shape* is asked for, with marker values where the
per-call parameters go (as ``scheduling.feeds`` does for feed polls); later
calls swap the markers for the call's values and run the SQL.

A shape is what changes the SQL, not only its parameters:

* the service's ``match_labels`` (their keys and values make the open-incident
  subquery, through :func:`alerts.slos.evaluate.service_open_incidents`, the one
  definition of a service's incidents);
* by slug (the API, scoped to the caller's teams unless staff) or by id (the
  services that already hold the service);
* which database alias.

Today's deploys are counted between the local midnights of the team's time zone.
The labels and the zone are not known before the statement runs, so each call
starts from the last ones seen for that service (or reads them once), and the
statement returns the service's current labels and zone: when they differ from
what the statement was built with (the service or its team changed since), it
runs once more with the new ones.  An answer is therefore always computed from
one snapshot whose labels and zone are the ones it used.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.db import connections, router
from django.db.models import F, Func, OuterRef, QuerySet, Subquery, TextField

from alerts.models import Deploy, Incident, Service
from alerts.slos.evaluate import service_open_incidents
from scheduling.hot_sql import column_instant, hot_fetch
from scheduling.models import ScheduleVersion, TeamMembership
from scheduling.version import ROW

# Markers where a call's values go in the compiled statement: values no real
# call uses, found again among the compiled parameters by equality.
_SLUG = "\x00slug\x00"
# Negative (ids are positive) and within 32 bits (an out-of-range lookup value
# would compile to an empty result instead of a parameter).
_ID = -2_100_000_001
_USER = -2_100_000_002
_DAY_START = dt.datetime(1901, 1, 1, 0, 0, 1, tzinfo=dt.UTC)
_DAY_END = dt.datetime(1901, 1, 1, 0, 0, 2, tzinfo=dt.UTC)

_SERVICE_COLUMNS = (
    "pk",
    "slug",
    "name",
    "team_id",
    "match_labels",
    "team__time_zone",
    "gate_version",
    "gate_deploys",
    "gate_open",
    "gate_high",
)
_SLO_COLUMNS = (
    "slos__pk",
    "slos__name",
    "slos__allow_above",
    "slos__freeze_below",
    "slos__limited_deploys_per_day",
)
_EVALUATION_COLUMNS = (
    "slos__latest_evaluation__pk",
    "slos__latest_evaluation__evaluated_at",
    "slos__latest_evaluation__budget_remaining",
    "slos__latest_evaluation__burn_1h",
    "slos__latest_evaluation__burn_6h",
    "slos__latest_evaluation__decision",
    "slos__latest_evaluation__stale",
    "slos__latest_evaluation__error",
    "slos__latest_evaluation__oncall_primary",
    "slos__latest_evaluation__oncall_in_sleep_hours",
    "slos__latest_evaluation__oncall_since",
    "slos__latest_evaluation__oncall_until",
    "slos__latest_evaluation__oncall_version",
)


@dataclass(frozen=True)
class EvaluationFacts:
    pk: int
    evaluated_at: dt.datetime
    budget_remaining: float
    burn_1h: float | None
    burn_6h: float | None
    decision: str
    stale: bool
    error: str
    oncall_primary: str | None
    oncall_in_sleep_hours: bool | None
    oncall_since: dt.datetime | None
    oncall_until: dt.datetime | None
    oncall_version: int | None


@dataclass(frozen=True)
class SLOFacts:
    pk: int
    name: str
    allow_above: float
    freeze_below: float
    limited_deploys_per_day: int
    latest: EvaluationFacts | None


@dataclass(frozen=True)
class GateFacts:
    """One snapshot of everything the gate decides from."""

    service: Service  # id, slug, name, team_id, match_labels (no team loaded)
    time_zone: str
    schedule_version: int
    deploys_today: int
    open_incidents: int
    open_high: list[int]  # the high-urgency ones' numbers, in order
    slos: list[SLOFacts]  # by id
    day_start: dt.datetime
    day_end: dt.datetime


def day_bounds(time_zone: str, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The local day of ``now`` in ``time_zone``, as UTC instants [start, end)."""
    tz = zoneinfo.ZoneInfo(time_zone)
    local = now.astimezone(tz).date()
    start = dt.datetime.combine(local, dt.time(), tzinfo=tz)
    end = dt.datetime.combine(local + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def _count(queryset: QuerySet[Any]) -> Subquery:
    # COUNT as a plain function, not an aggregate: no GROUP BY in the subquery.
    return Subquery(
        queryset.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")
    )


class _Ids(Func):
    """The ids of a subquery's rows as one text, comma-separated (in no order):
    an aggregate over the whole subquery, as COUNT is in :func:`_count`."""

    function = "GROUP_CONCAT"  # SQLite: ',' is its default separator
    output_field = TextField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            function="STRING_AGG",
            template="%(function)s((%(expressions)s)::text, ',')",
            **extra,
        )


def _ids(queryset: QuerySet[Any]) -> Subquery:
    return Subquery(queryset.order_by().annotate(ids=_Ids(F("pk"))).values("ids"))


def _queryset(alias: str, labels: dict[str, str], by_slug: bool, staff: bool) -> Any:
    services = Service.objects.using(alias)
    services = services.filter(slug=_SLUG) if by_slug else services.filter(pk=_ID)
    if by_slug and not staff:
        # As scheduling.access.scoped_to_teams: the teams the caller belongs to.
        teams = TeamMembership.objects.filter(member__user_id=_USER).values("team_id")
        services = services.filter(team__in=teams)
    # No labels: no incident (an empty subquery compiles to a count of 0).
    open_incidents = service_open_incidents(service=Service(match_labels=labels))
    version = ScheduleVersion.objects.filter(pk=ROW).values("version")[:1]
    deploys = Deploy.objects.filter(
        service=OuterRef("pk"), at__gte=_DAY_START, at__lt=_DAY_END
    )
    return (
        services.annotate(
            gate_version=Subquery(version),
            gate_deploys=_count(deploys),
            gate_open=_count(open_incidents),
            gate_high=_ids(open_incidents.filter(urgency=Incident.Urgency.HIGH)),
        )
        .values_list(*_SERVICE_COLUMNS, *_SLO_COLUMNS, *_EVALUATION_COLUMNS)
        .order_by("slos__pk")
    )


_compiled: dict[tuple[Any, ...], tuple[str, tuple[Any, ...]]] = {}
# The last labels and zone seen per service (by slug and by id): the first guess
# for the next call's shape.
_seen: dict[object, tuple[dict[str, str], str]] = {}


def _statement(
    alias: str, labels: dict[str, str], by_slug: bool, staff: bool
) -> tuple[str, tuple[Any, ...]]:
    key = (alias, tuple(sorted(labels.items())), by_slug, staff)
    found = _compiled.get(key)
    if found is None:
        sql, params = _queryset(alias, labels, by_slug, staff).query.sql_with_params()
        found = (sql, tuple(params))
        _compiled[key] = found
    return found


def _labels(value: object) -> dict[str, str]:
    if isinstance(value, str):  # Django's cursors hand JSON back as text
        value = json.loads(value)
    return dict(value) if isinstance(value, dict) else {}


def _run(alias: str, sql: str, params: tuple[Any, ...], values: dict) -> list[tuple]:
    connection = connections[alias]
    adapt = connection.ops.adapt_datetimefield_value
    marks: dict[Any, Any] = {
        adapt(_DAY_START): adapt(values["day_start"]),
        adapt(_DAY_END): adapt(values["day_end"]),
    }
    args = []
    for param in params:
        if param == _SLUG:
            args.append(values["slug"])
        elif param == _ID:
            args.append(values["id"])
        elif param == _USER:
            args.append(values["user"])
        elif isinstance(param, (str, dt.datetime)) and param in marks:
            args.append(marks[param])
        else:
            args.append(param)
    # Prepared on PostgreSQL, and its own health check (scheduling/hot_sql.py).
    return hot_fetch(connection, sql, args, rows="all")


def _facts(rows: list[tuple], day: tuple[dt.datetime, dt.datetime]) -> GateFacts:
    first = rows[0]
    n = len(_SERVICE_COLUMNS)
    pk, slug, name, team_id, labels, time_zone, version, deploys, open_, high = first[
        :n
    ]
    slos = []
    for row in rows:
        slo = row[n : n + len(_SLO_COLUMNS)]
        if slo[0] is None:
            continue
        e = row[n + len(_SLO_COLUMNS) :]
        latest = None
        if e[0] is not None:
            latest = EvaluationFacts(
                pk=e[0],
                evaluated_at=column_instant(e[1]),  # type: ignore[arg-type]
                budget_remaining=float(e[2]),
                burn_1h=None if e[3] is None else float(e[3]),
                burn_6h=None if e[4] is None else float(e[4]),
                decision=e[5],
                stale=bool(e[6]),
                error=e[7] or "",
                oncall_primary=e[8],
                oncall_in_sleep_hours=None if e[9] is None else bool(e[9]),
                oncall_since=column_instant(e[10]),
                oncall_until=column_instant(e[11]),
                oncall_version=e[12],
            )
        slos.append(
            SLOFacts(
                pk=slo[0],
                name=slo[1],
                allow_above=float(slo[2]),
                freeze_below=float(slo[3]),
                limited_deploys_per_day=int(slo[4]),
                latest=latest,
            )
        )
    return GateFacts(
        service=Service(
            id=pk, slug=slug, name=name, team_id=team_id, match_labels=_labels(labels)
        ),
        time_zone=time_zone,
        schedule_version=version or 0,
        deploys_today=deploys or 0,
        open_incidents=open_ or 0,
        open_high=sorted(int(pk) for pk in str(high or "").split(",") if pk),
        slos=slos,
        day_start=day[0],
        day_end=day[1],
    )


def gate_facts(
    *,
    now: dt.datetime,
    slug: str | None = None,
    service_id: int | None = None,
    user_id: int | None = None,
    staff: bool = True,
) -> GateFacts | None:
    """The gate's facts for the service ``slug`` (among the teams of ``user_id``
    unless ``staff``) or ``service_id`` (no scoping: the caller holds it), at
    ``now``; ``None`` when there is no such service for the caller."""
    by_slug = slug is not None
    alias = router.db_for_read(Service)
    key: object = ("slug", slug) if by_slug else ("id", service_id)
    guess = _seen.get(key)
    if guess is None:
        lookup: dict[str, Any] = {"slug": slug} if by_slug else {"pk": service_id}
        found = (
            Service.objects.using(alias)
            .filter(**lookup)
            .values_list("match_labels", "team__time_zone")
            .first()
        )
        if found is None:
            return None
        guess = (_labels(found[0]), found[1])
    for _ in range(3):  # a change between two runs is rare; three is plenty
        labels, time_zone = guess
        day = day_bounds(time_zone, now)
        sql, params = _statement(alias, labels, by_slug, staff)
        rows = _run(
            alias,
            sql,
            params,
            {
                "slug": slug,
                "id": service_id,
                "user": user_id,
                "day_start": day[0],
                "day_end": day[1],
            },
        )
        if not rows:
            return None
        facts = _facts(rows, day)
        current = (facts.service.match_labels, facts.time_zone)
        _seen[key] = current
        if current == guess:
            return facts
        guess = current
    raise RuntimeError(f"service {key}: its labels or zone keep changing")
