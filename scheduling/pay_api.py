"""The pay API: ``/api/v1/reports/stipends/`` (an ad-hoc range), its monthly
statements (closed months read back as stored), and closing and reopening a
month (staff).  Members see only their own lines; staff see everyone's.

``from``/``to`` are dates (midnight in the team's zone) or ISO 8601 instants
with an offset; a time without one is refused (400).  ``format=csv`` answers
the payroll CSV (:mod:`scheduling.pay.export`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from scheduling.access.permissions import StaffOnly, visible_team_or_404
from scheduling.access.rules import user_is_staff
from scheduling.models import Team
from scheduling.pay.closing import (
    ClosingError,
    MonthStatement,
    first_of,
    month_close,
    month_reopen,
    month_statement,
)
from scheduling.pay.export import payroll_csv
from scheduling.pay.money import amount_text
from scheduling.pay.statements import Row, row_totals, rows_of, team_pay
from scheduling.timeparse import InstantError, check_range, parse_instant

MAX_SPAN = dt.timedelta(days=366)
ERROR: dict[str, Any] = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "detail": {"type": "object"}},
    "required": ["error"],
}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MONTH = re.compile(r"(\d{4})-(\d{2})")


class CsvRenderer(BaseRenderer):
    """``?format=csv``: the view hands over the CSV text as it is."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Any = None,
    ) -> bytes:
        if isinstance(data, str):
            return data.encode()
        return json.dumps(data).encode()  # not reached: errors answer JSON


class _PayView(APIView):
    renderer_classes = [JSONRenderer, CsvRenderer]

    def finalize_response(
        self, request: Request, response: Any, *args: Any, **kwargs: Any
    ) -> Any:
        # Errors are JSON whatever ?format asked for.
        if getattr(response, "status_code", 200) >= 400:
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


def _bad(field: str, message: str) -> serializers.ValidationError:
    return serializers.ValidationError({field: [message]})


def _team_param(request: Request) -> Team:
    slug = request.query_params.get("team", "")
    if not slug:
        raise _bad("team", "give the team's slug: ?team=<slug>")
    return visible_team_or_404(request, slug)


def parse_bound(raw: str, team: Team, field: str) -> dt.datetime:
    """A date (midnight in the team's zone) or an instant with an offset."""
    raw = raw.strip()
    if _DATE.fullmatch(raw):
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError:
            raise _bad(field, f"{raw!r} is not a date (YYYY-MM-DD)") from None
        local = dt.datetime.combine(day, dt.time(0), tzinfo=team.tz)
        try:
            return check_range(local.astimezone(dt.UTC))
        except (InstantError, OverflowError) as exc:
            raise _bad(field, str(exc)) from None
    try:
        return parse_instant(raw)
    except InstantError as exc:
        raise _bad(field, f"{exc} (or give a date, YYYY-MM-DD)") from None


def parse_month(raw: str) -> tuple[int, int]:
    found = _MONTH.fullmatch(raw.strip())
    if not found or not 1 <= int(found[2]) <= 12 or not 1900 <= int(found[1]) < 3000:
        raise _bad(
            "month",
            f"{raw!r} is not a month from 1900 to 2999: give YYYY-MM, e.g. 2026-01",
        )
    return int(found[1]), int(found[2])


def _visible_rows(request: Request, rows: Iterable[Row]) -> list[Row]:
    """Staff see every line; a member only their own.  ``?member=<username>``
    narrows to one member's statement (for a member: their own or nothing)."""
    if user_is_staff(request.user):
        visible = list(rows)
    else:
        visible = [r for r in rows if r.member_id == _member_id(request)]
    wanted = request.query_params.get("member")
    if wanted:
        visible = [r for r in visible if r.username == wanted]
    return visible


def _member_id(request: Request) -> int | None:
    member = getattr(request.user, "member", None)
    return None if member is None else member.pk


def _row(row: Row) -> dict[str, Any]:
    return {
        "member": row.username,
        "currency": row.currency,
        "kind": row.kind,
        "rotation": row.rotation_name,
        "role": row.role,
        "rate": row.rate,
        "multiplier": amount_text(row.multiplier),
        "reason": row.reason,
        "hours": amount_text(row.hours),
        "amount": amount_text(row.amount),
        "rounding": amount_text(row.rounding),
        "refers_to": None if row.refers_to is None else f"{row.refers_to:%Y-%m}",
        "note": row.note,
        "shifts": list(row.shift_ids),
        "overrides": list(row.override_ids),
    }


def _totals(rows: Iterable[Row]) -> list[dict[str, str]]:
    return [
        {"member": m, "currency": c, "amount": amount_text(a)}
        for m, c, a in row_totals(rows)
    ]


def _csv(rows: list[Row], team: Team, start: dt.datetime, end: dt.datetime) -> str:
    first = start.astimezone(team.tz).date()
    last = (end - dt.timedelta(microseconds=1)).astimezone(team.tz).date()
    return payroll_csv(rows, team=team.slug, first=first, last=last)


def _wants_csv(request: Request) -> bool:
    return request.query_params.get("format") == "csv"


_MEMBER = OpenApiParameter(
    "member", str, required=False, description="one member's lines (username)"
)
_FORMAT = OpenApiParameter(
    "format", str, enum=["json", "csv"], required=False, description="csv: payroll"
)


class StipendReportView(_PayView):
    @extend_schema(
        operation_id="report_stipends",
        summary="Stipends accrued over a range, per member",
        description=(
            "Computed now from the effective schedule (closed months are not "
            "consulted: see the statements for what was paid). `totals`: "
            "`member`, `currency`, `amount` (a decimal string with the currency's "
            "decimals); `lines`: one per rotation, role, rate and multiplier, "
            "with the shifts and overrides behind it. Members see only their "
            "own lines. At most 366 days."
        ),
        parameters=[
            OpenApiParameter("team", str, required=True),
            OpenApiParameter("from", str, required=True, description="date or ISO"),
            OpenApiParameter("to", str, required=True, description="date or ISO"),
            _MEMBER,
            _FORMAT,
        ],
        responses={200: dict, 400: ERROR, 404: ERROR},
    )
    def get(self, request: Request) -> Response:
        team = _team_param(request)
        bounds = []
        for field in ("from", "to"):
            raw = request.query_params.get(field, "")
            if not raw:
                raise _bad(field, "required: a date (YYYY-MM-DD) or an ISO instant")
            bounds.append(parse_bound(raw, team, field))
        start, end = bounds
        if end <= start:
            raise _bad("to", "must be after from")
        if end - start > MAX_SPAN:
            raise _bad("to", "at most 366 days after from")
        report = team_pay(team=team, start=start, end=end)
        rows = _visible_rows(request, rows_of(report))
        if _wants_csv(request):
            return Response(_csv(rows, team, start, end), content_type="text/csv")
        shown = {r.member_id for r in rows}
        given = [
            {
                "member": report.username(g.member_id),
                "rotation": report.rotation_names.get(g.rotation_id, ""),
                "role": g.role,
                "covered_by": report.username(g.covered_by),
                "override": g.override_id,
                "starts_at": g.starts_at.isoformat(),
                "ends_at": g.ends_at.isoformat(),
            }
            for g in report.given_away
            if user_is_staff(request.user) or g.member_id in shown
            or g.member_id == _member_id(request)
        ]
        return Response(
            {
                "team": team.slug,
                "from": start.isoformat(),
                "to": end.isoformat(),
                "totals": _totals(rows),
                "lines": [_row(r) for r in rows],
                "given_away": given,
            }
        )


def _statement_body(request: Request, st: MonthStatement) -> dict[str, Any]:
    rows = _visible_rows(request, st.rows)
    staff, mine = user_is_staff(request.user), _member_id(request)
    wanted = request.query_params.get("member")
    return {
        "team": st.team.slug,
        "month": f"{st.month:%Y-%m}",
        "closed": st.closed,
        "closed_at": None if st.closed_at is None else st.closed_at.isoformat(),
        "totals": _totals(rows),
        "lines": [_row(r) for r in rows],
        "given_away": [
            {
                "member": g.username,
                "covered_by": g.covered_by,
                "rotation": g.rotation_name,
                "role": g.role,
                "override": g.override_id,
                "starts_at": g.starts_at.isoformat(),
                "ends_at": g.ends_at.isoformat(),
            }
            for g in st.given_away
            if (staff or g.member_id == mine) and wanted in (None, "", g.username)
        ],
    }


class StipendStatementsView(_PayView):
    @extend_schema(
        operation_id="report_stipend_statements",
        summary="The month's statements of a team (closed months as stored)",
        parameters=[
            OpenApiParameter("team", str, required=True),
            OpenApiParameter("month", str, required=True, description="YYYY-MM"),
            _MEMBER,
            _FORMAT,
        ],
        responses={200: dict, 400: ERROR, 404: ERROR},
    )
    def get(self, request: Request) -> Response:
        team = _team_param(request)
        year, month = parse_month(request.query_params.get("month", ""))
        st = month_statement(team=team, year=year, month=month)
        if _wants_csv(request):
            start = dt.datetime.combine(st.month, dt.time(0), tzinfo=team.tz)
            nxt = dt.date(year + month // 12, month % 12 + 1, 1)
            end = dt.datetime.combine(nxt, dt.time(0), tzinfo=team.tz)
            rows = _visible_rows(request, st.rows)
            return Response(_csv(rows, team, start, end), content_type="text/csv")
        return Response(_statement_body(request, st))


class _MonthBody(serializers.Serializer):
    team = serializers.SlugField()
    month = serializers.CharField(max_length=7)
    note = serializers.CharField(max_length=300, required=False, default="")


def _month_request(request: Request) -> tuple[Team, int, int, str]:
    body = _MonthBody(data=request.data)
    body.is_valid(raise_exception=True)
    team = Team.objects.filter(slug=body.validated_data["team"]).first()
    if team is None:
        raise _bad("team", "no such team")
    year, month = parse_month(body.validated_data["month"])
    first_of(year, month)
    return team, year, month, body.validated_data["note"]


class StipendCloseView(_PayView):
    permission_classes = [StaffOnly]

    @extend_schema(
        operation_id="report_stipends_close",
        summary="Close a month: store its statements (staff)",
        request=_MonthBody,
        responses={201: dict, 400: ERROR, 403: ERROR},
    )
    def post(self, request: Request) -> Response:
        team, year, month, _ = _month_request(request)
        try:
            st = month_close(team=team, year=year, month=month, by=request.user)
        except ClosingError as exc:
            raise _bad("month", str(exc)) from None
        return Response(_statement_body(request, st), status=status.HTTP_201_CREATED)


class StipendReopenView(_PayView):
    permission_classes = [StaffOnly]

    @extend_schema(
        operation_id="report_stipends_reopen",
        summary="Reopen a closed month (staff; logged with its note)",
        request=_MonthBody,
        responses={200: dict, 400: ERROR, 403: ERROR},
    )
    def post(self, request: Request) -> Response:
        team, year, month, note = _month_request(request)
        if not note:
            raise _bad("note", "say why the month is reopened")
        try:
            month_reopen(team=team, year=year, month=month, by=request.user, note=note)
        except ClosingError as exc:
            raise _bad("month", str(exc)) from None
        st = month_statement(team=team, year=year, month=month)
        return Response(_statement_body(request, st))
