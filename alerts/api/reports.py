"""The insights reports: ``/api/v1/reports/page-load/``, ``.../incidents/``,
``.../alert-quality/`` (JSON, or CSV with ``format=csv``).

Access (``scheduling.access``): a report covers the teams the caller may read;
``team=`` naming a team they may not read is answered like a team that does not
exist (400, as the incident list's filter).  The views parse, check and render;
every figure is computed by ``alerts/insights/``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.api import report_output as out
from alerts.api.report_params import (
    AlertQualityQuery,
    IncidentsQuery,
    PageLoadQuery,
    parse_report_query,
)
from alerts.insights.alert_quality import alert_quality
from alerts.insights.incident_figures import incident_figures
from alerts.insights.page_load import page_load

_CSV = OpenApiResponse(OpenApiTypes.STR, description="with format=csv: text/csv")


class ReportView(APIView):
    """``format=csv`` is ours to read: DRF would take ``?format=`` to choose a
    renderer and answer 404 for one it does not have."""

    def perform_content_negotiation(
        self, request: Request, force: bool = False
    ) -> tuple[BaseRenderer, str]:
        renderer = JSONRenderer()
        return renderer, renderer.media_type


class PageLoadReport(ReportView):
    @extend_schema(
        parameters=[PageLoadQuery],
        responses={200: OpenApiTypes.OBJECT},
        description="Per member (and week): pages, incidents, acknowledged, "
        "escalated past, interruptions by business/off/sleep hours in the member's "
        "zone, time to acknowledge, hours on call.",
    )
    def get(self, request: Request) -> Any:
        period = parse_report_query(PageLoadQuery, request.query_params, request.user)
        if period.team is None:  # never: PageLoadQuery requires a team
            raise ValidationError({"team": ["name the team"]})
        body = out.page_load_json(
            page_load(team=period.team, start=period.start, end=period.end)
        )
        if period.csv:
            return out.csv_response(
                out.PAGE_LOAD_COLUMNS,
                out.page_load_rows(body),
                f"page-load-{period.team.slug}.csv",
            )
        return Response(body)


class IncidentsReport(ReportView):
    @extend_schema(
        parameters=[IncidentsQuery],
        responses={200: OpenApiTypes.OBJECT},
        description="MTTA, MTTR (mean, median, p90), MTBF per service, counts by "
        "urgency, for incidents opened in the period.",
    )
    def get(self, request: Request) -> Any:
        period = parse_report_query(IncidentsQuery, request.query_params, request.user)
        service = period.data.get("service")
        report = incident_figures(
            teams=period.teams, start=period.start, end=period.end, service=service
        )
        body = out.incidents_json(
            report, team=period.team.slug if period.team else None, service=service
        )
        if period.csv:
            return out.csv_response(
                out.INCIDENT_COLUMNS, out.incident_rows(body), "incidents.csv"
            )
        return Response(body)


class AlertQualityReport(ReportView):
    @extend_schema(
        parameters=[AlertQualityQuery],
        responses={200: OpenApiTypes.OBJECT},
        description="Per alert name (or the label set in group_by, e.g. "
        "alertname,service: at most 3 label names; an incident without a label "
        "groups under ''): incidents, pages, ack rate, auto-resolved, flapping, "
        "median duration, sleep share, noisy flag.",
    )
    def get(self, request: Request) -> Any:
        period = parse_report_query(
            AlertQualityQuery, request.query_params, request.user
        )
        window = period.data.get("flap_window")
        report = alert_quality(
            teams=period.teams,
            start=period.start,
            end=period.end,
            labels=period.data["group_by"],
            flap_window=None if window is None else _seconds(window),
        )
        body = out.alert_quality_json(report)
        if period.csv:
            columns, rows = out.alert_quality_rows(body)
            return out.csv_response(columns, rows, "alert-quality.csv")
        return Response(body)


def _seconds(value: int) -> dt.timedelta:
    return dt.timedelta(seconds=value)
