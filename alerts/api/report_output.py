"""The reports as JSON and as CSV rows: shapes only, every figure comes from
``alerts/insights/``."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from typing import Any

from django.http import HttpResponse

from alerts.insights.alert_quality import AlertQualityReport
from alerts.insights.definitions import (
    ALERT_QUALITY_DEFINITIONS,
    INCIDENT_DEFINITIONS,
    PAGE_LOAD_DEFINITIONS,
)
from alerts.insights.incident_figures import Figures, IncidentReport, Spread
from alerts.insights.page_load import PageLoad


def seconds(value: dt.timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds(), 3)


def _hours(value: float) -> float:
    return round(value, 2)


def page_load_json(report: PageLoad) -> dict[str, Any]:
    tz = report.team.tz
    members = []
    for load in report.members:
        per_day = load.pages_per_24h_on_call
        members.append(
            {
                "member": load.member.username,
                "name": load.member.display_name,
                "pages": load.pages,
                "incidents": load.incidents,
                "acknowledged": load.acknowledged,
                "escalated_past": load.escalated_past,
                "sleep_interruptions": load.sleep,
                "off_hours_interruptions": load.off,
                "business_hours_interruptions": load.business,
                "bundles": load.bundles,
                "bundled_incidents": load.bundled_incidents,
                "tta_median_seconds": seconds(load.tta_median),
                "tta_worst_seconds": seconds(load.tta_worst),
                "oncall_hours": _hours(load.oncall_hours),
                "primary_hours": _hours(load.primary_hours),
                "secondary_hours": _hours(load.secondary_hours),
                "pages_per_24h_on_call": None if per_day is None else round(per_day, 3),
                "weeks": [
                    {
                        "week": week.start.astimezone(tz).isoformat(),
                        "week_end": week.end.astimezone(tz).isoformat(),
                        "on_rota": week.on_rota,
                        "pages": week.pages,
                        "sleep_interruptions": week.sleep,
                        "bundles": week.bundles,
                    }
                    for week in load.weeks.values()
                ],
            }
        )
    return {
        "team": report.team.slug,
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
        "hours": report.windows,
        "members": members,
        "definitions": PAGE_LOAD_DEFINITIONS,
    }


PAGE_LOAD_COLUMNS = [
    "member",
    "week",
    "week_end",
    "on_rota",
    "pages",
    "sleep_interruptions",
    "bundles",
    "incidents",
    "acknowledged",
    "escalated_past",
    "off_hours_interruptions",
    "business_hours_interruptions",
    "tta_median_seconds",
    "tta_worst_seconds",
    "oncall_hours",
    "primary_hours",
    "secondary_hours",
]


def page_load_rows(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A row per member for the period (``week`` = ``total``), then one per member
    and week (the period's other figures left empty)."""
    rows: list[dict[str, Any]] = []
    for member in body["members"]:
        rows.append({**member, "week": "total"})
    for member in body["members"]:
        for week in member["weeks"]:
            rows.append({"member": member["member"], **week})
    return rows


def _spread(value: Spread) -> dict[str, Any]:
    return value.seconds()


def _figures(value: Figures) -> dict[str, Any]:
    return {
        "incidents": value.incidents,
        "urgency": {"high": value.high, "low": value.low},
        "mtta_seconds": _spread(value.mtta),
        "mttr_seconds": _spread(value.mttr),
    }


def incidents_json(
    report: IncidentReport, *, team: str | None, service: str | None
) -> dict[str, Any]:
    return {
        "team": team,
        "service": service,
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
        **_figures(report.overall),
        "services": [
            {
                "service": item.service,
                **_figures(item),
                "mtbf_seconds": _spread(item.mtbf),
            }
            for item in report.services
        ],
        "routes": [
            {"route": item.name, "integration": item.integration, **_figures(item)}
            for item in report.routes
        ],
        "integrations": [
            {"integration": item.name, **_figures(item)} for item in report.integrations
        ],
        "definitions": INCIDENT_DEFINITIONS,
    }


INCIDENT_COLUMNS = [
    "by",
    "key",
    "incidents",
    "high",
    "low",
    *(
        f"{f}_{s}"
        for f in ("mtta", "mttr", "mtbf")
        for s in ("count", "mean", "median", "p90")
    ),
]


def incident_rows(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The whole scope first (``by`` = ``all``), then a row per service, per route
    (``key`` = integration/route) and per integration."""

    def flat(item: dict[str, Any], by: str, key: str) -> dict[str, Any]:
        row = {
            "by": by,
            "key": key,
            "incidents": item["incidents"],
            "high": item["urgency"]["high"],
            "low": item["urgency"]["low"],
        }
        for figure in ("mtta", "mttr", "mtbf"):
            for name, value in item.get(f"{figure}_seconds", {}).items():
                row[f"{figure}_{name}"] = value
        return row

    return [
        flat(body, "all", "*"),
        *(flat(s, "service", s["service"]) for s in body["services"]),
        *(flat(r, "route", f"{r['integration']}/{r['route']}") for r in body["routes"]),
        *(flat(i, "integration", i["integration"]) for i in body["integrations"]),
    ]


def alert_quality_json(report: AlertQualityReport) -> dict[str, Any]:
    alerts = []
    for item in report.alerts:
        share = item.sleep_share
        alerts.append(
            {
                **(
                    {"alertname": item.key["alertname"]}
                    if "alertname" in item.key
                    else {}
                ),
                "labels": item.key,
                "incidents": item.incidents,
                "pages": item.pages,
                "acknowledged": item.acknowledged,
                "ack_rate": None if item.ack_rate is None else round(item.ack_rate, 4),
                "auto_resolved": item.auto_resolved,
                "flapping": item.flapping,
                "median_duration_seconds": seconds(item.median_duration),
                "sleep_pages": item.sleep_pages,
                "sleep_share": None if share is None else round(share, 4),
                "noisy": item.noisy,
                "noisy_reasons": item.noisy_reasons,
            }
        )
    return {
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
        "labels": report.labels,
        "flap_window_seconds": seconds(report.flap_window),
        "noisy_rule": report.rule,
        "alerts": alerts,
        "definitions": ALERT_QUALITY_DEFINITIONS,
    }


ALERT_QUALITY_FIGURES = [
    "incidents",
    "pages",
    "acknowledged",
    "ack_rate",
    "auto_resolved",
    "flapping",
    "median_duration_seconds",
    "sleep_pages",
    "sleep_share",
    "noisy",
    "noisy_reasons",
]


def alert_quality_rows(body: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    columns = [*body["labels"], *ALERT_QUALITY_FIGURES]
    rows = [
        {
            **item["labels"],
            **{k: item[k] for k in ALERT_QUALITY_FIGURES},
            "noisy_reasons": "; ".join(item["noisy_reasons"]),
        }
        for item in body["alerts"]
    ]
    return columns, rows


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        # A label value that a spreadsheet would run as a formula.
        return "'" + value
    return "" if value is None else value


def csv_response(
    columns: Sequence[str], rows: Iterable[dict[str, Any]], filename: str
) -> HttpResponse:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k)) for k in columns})
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
