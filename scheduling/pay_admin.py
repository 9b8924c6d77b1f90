"""The admin's pay pages: rates (with effective dates), each team's pay policy and
added holidays, closed months and their log, and the **pay report** of a team
and month (*Team → Pay*): a table per member and role, a bar chart per member
(pygal), the CSV download, close and reopen.  Registered by ``apps.py``; every
rule lives in :mod:`scheduling.pay`.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pygal  # type: ignore[import-untyped]  # pygal ships no types
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from scheduling.models import (
    PayGivenAway,
    PayHoliday,
    PayLine,
    PayLogEntry,
    PayMonth,
    PayPolicy,
    StipendRate,
    Team,
)
from scheduling.pay.closing import (
    ClosingError,
    MonthStatement,
    month_close,
    month_reopen,
    month_statement,
)
from scheduling.pay.export import payroll_csv
from scheduling.pay.money import minor_digits
from scheduling.pay.statements import Row, row_totals

_MONTH_MIN, _MONTH_MAX = 1900, 2999


@admin.register(StipendRate)
class StipendRateAdmin(admin.ModelAdmin):
    list_display = [
        "team",
        "rotation",
        "role",
        "amount",
        "currency",
        "unit",
        "effective_from",
        "weekend_multiplier",
        "holiday_multiplier",
        "minimum_per_shift",
    ]
    list_filter = ["team", "role", "unit"]
    autocomplete_fields = ["team", "rotation"]


@admin.register(PayPolicy)
class PayPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "team",
        "holiday_country",
        "holiday_subdivision",
        "weekend_days",
        "two_roles",
        "cap_hours",
        "cap_period",
    ]
    autocomplete_fields = ["team"]


@admin.register(PayHoliday)
class PayHolidayAdmin(admin.ModelAdmin):
    list_display = ["team", "date", "name"]
    list_filter = ["team"]
    autocomplete_fields = ["team"]


class _StoredInline(admin.TabularInline):
    """A closed month's stored rows: shown, never added, changed or deleted."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PayLineInline(_StoredInline):
    model = PayLine
    fields = readonly_fields = (
        "position",
        "member",
        "currency",
        "kind",
        "rotation_name",
        "role",
        "rate",
        "multiplier",
        "reason",
        "hours",
        "amount",
        "refers_to",
        "note",
    )


class PayGivenAwayInline(_StoredInline):
    """The month's overrides given away, as stored when it closed."""

    model = PayGivenAway
    fields = readonly_fields = (
        "position",
        "member",
        "covered_by",
        "rotation_name",
        "role",
        "override_id",
        "starts_at",
        "ends_at",
    )


@admin.register(PayMonth)
class PayMonthAdmin(admin.ModelAdmin):
    """Closed months: read-only (stored lines are never edited); closing and
    reopening happen on the pay report page, through the closing service."""

    list_display = ["team", "month", "closed_at", "closed_by", "report_link"]
    list_filter = ["team"]
    inlines = [PayLineInline, PayGivenAwayInline]
    readonly_fields = ["team", "month", "closed_at", "closed_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="report")
    def report_link(self, obj: PayMonth) -> str:
        url = reverse("admin:scheduling_pay_report", args=[obj.team_id])
        return format_html('<a href="{}?month={:%Y-%m}">pay report</a>', url, obj.month)

    def get_urls(self) -> list:
        view = self.admin_site.admin_view(self.report_view)
        return [
            path("report/<int:team_id>/", view, name="scheduling_pay_report"),
            *super().get_urls(),
        ]

    def report_view(self, request: HttpRequest, team_id: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        team = Team.objects.filter(pk=team_id).first()
        if team is None:
            raise Http404("no such team")
        year, month = _month_param(request, team)
        if request.method == "POST":
            return self._act(request, team, year, month)
        statement = month_statement(team=team, year=year, month=month)
        if request.GET.get("format") == "csv":
            return _csv_response(team, statement)
        return TemplateResponse(
            request,
            "admin/scheduling/pay/report.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": f"Pay: {team.name}, {statement.month:%B %Y}",
                "team": team,
                "statement": statement,
                "rows": statement.rows,
                "totals": row_totals(statement.rows),
                "chart": _chart(statement),
                "month": f"{statement.month:%Y-%m}",
                "prev": _shift(statement.month, -1),
                "next": _shift(statement.month, 1),
                "can_change": self.has_change_permission(request),
                "log": PayLogEntry.objects.filter(
                    team=team, month=statement.month
                ).select_related("by")[:20],
            },
        )

    def _act(
        self, request: HttpRequest, team: Team, year: int, month: int
    ) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        action = request.POST.get("action")
        note = request.POST.get("note", "").strip()[:300]
        try:
            if action == "close":
                month_close(team=team, year=year, month=month, by=request.user)
                messages.success(request, f"{year}-{month:02d} closed.")
            elif action == "reopen":
                if not note:
                    raise ClosingError("Say why the month is reopened.")
                month_reopen(
                    team=team, year=year, month=month, by=request.user, note=note
                )
                messages.success(request, f"{year}-{month:02d} reopened.")
            else:
                messages.error(request, "Unknown action.")
        except ClosingError as exc:
            messages.error(request, str(exc))
        url = reverse("admin:scheduling_pay_report", args=[team.pk])
        return HttpResponseRedirect(f"{url}?month={year}-{month:02d}")


@admin.register(PayLogEntry)
class PayLogEntryAdmin(admin.ModelAdmin):
    list_display = ["acted_at", "team", "month", "action", "by", "note"]
    list_filter = ["team", "action"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _month_param(request: HttpRequest, team: Team) -> tuple[int, int]:
    """``?month=YYYY-MM``; the current month in the team's zone when absent or
    not a month (the page says which month it shows)."""
    raw = request.GET.get("month", "")
    try:
        year, month = (int(part) for part in raw.split("-"))
        if _MONTH_MIN <= year <= _MONTH_MAX and 1 <= month <= 12:
            return year, month
    except ValueError:
        pass
    today = timezone.now().astimezone(team.tz).date()
    return today.year, today.month


def _shift(month: dt.date, by: int) -> str:
    index = month.year * 12 + month.month - 1 + by
    year, m = divmod(index, 12)
    if not _MONTH_MIN <= year <= _MONTH_MAX:
        return ""
    return f"{year}-{m + 1:02d}"


def _csv_response(team: Team, statement: MonthStatement) -> HttpResponse:
    nxt = statement.month.replace(day=28) + dt.timedelta(days=4)
    last = nxt - dt.timedelta(days=nxt.day)
    body = payroll_csv(statement.rows, team=team.slug, first=statement.month, last=last)
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    name = f"pay-{team.slug}-{statement.month:%Y-%m}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _chart(statement: MonthStatement) -> str:
    """A bar per member (one series per currency), drawn by pygal; shown as an
    ``<img>`` of the SVG, so nothing in it (pygal's config script) ever runs."""
    rows: list[Row] = statement.rows
    totals = row_totals(rows)
    members = sorted({u for u, _, _ in totals})
    currencies = sorted({c for _, c, _ in totals})
    chart = pygal.Bar(
        js=[],
        width=720,
        height=300,
        show_legend=len(currencies) > 1,
        title=f"Pay per member, {statement.month:%B %Y}",
    )
    chart.x_labels = members
    amounts = {(u, c): a for u, c, a in totals}
    for currency in currencies:
        digits = minor_digits(currency)
        chart.add(
            currency,
            # Floats only to draw the bars; the table shows the exact amounts.
            [float(amounts.get((u, currency), 0)) for u in members],
            formatter=lambda v, d=digits, c=currency: f"{v:,.{d}f} {c}",
        )
    svg = base64.b64encode(chart.render(is_unicode=True).encode()).decode("ascii")
    return format_html(
        '<img src="data:image/svg+xml;base64,{}" alt="{}" width="720" height="300">',
        svg,
        f"Bar chart of pay per member, {statement.month:%B %Y}",
    )
