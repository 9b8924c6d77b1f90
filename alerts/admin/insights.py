"""The team insights page (``/admin/alerts/insightsettings/team/<id>/``) and the
per-team insight settings.

Presentation only: every figure comes from ``alerts/insights/``; this module
picks the period (``?weeks=``, the last 13 weeks by default, Monday to Monday in
the team's zone) and hands the figures to the template and the charts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from alerts.admin.incident_page import duration_text
from alerts.admin.insights_charts import heatmap_chart, trend_chart, weekly_load_chart
from alerts.insights.alert_quality import (
    DEFAULT_LABELS,
    LabelError,
    alert_quality,
    check_labels,
)
from alerts.insights.definitions import (
    ALERT_QUALITY_DEFINITIONS,
    INCIDENT_DEFINITIONS,
    PAGE_LOAD_DEFINITIONS,
)
from alerts.insights.fairness import fairness
from alerts.insights.health import health
from alerts.insights.heatmap import page_heatmap
from alerts.insights.incident_figures import incident_figures, incident_trend
from alerts.insights.oncall_weeks import schedule_for
from alerts.insights.page_load import page_load
from alerts.insights.rota import rota_health
from alerts.models import InsightSettings
from scheduling.access import team_can_read
from scheduling.models import Team

DEFAULT_WEEKS = 13
MAX_WEEKS = 53


def report_weeks(raw: str | None) -> tuple[int, str | None]:
    """The number of weeks asked for, and a note when the value was refused."""
    if raw in (None, ""):
        return DEFAULT_WEEKS, None
    text = str(raw).strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_WEEKS:
        return DEFAULT_WEEKS, (
            f"weeks must be a whole number from 1 to {MAX_WEEKS}; "
            f"showing {DEFAULT_WEEKS}"
        )
    return int(text), None


def report_labels(raw: str | None) -> tuple[list[str], str | None]:
    """The alert-quality label set asked for (``?group_by=alertname,service``),
    and a note when it was refused (the default is shown instead)."""
    if raw in (None, ""):
        return list(DEFAULT_LABELS), None
    try:
        return check_labels([p.strip() for p in str(raw).split(",")]), None
    except LabelError as exc:
        return list(DEFAULT_LABELS), f"group by: {exc}; showing alertname"


def period_of(
    team: Team, weeks: int, now: dt.datetime
) -> tuple[dt.datetime, dt.datetime]:
    """The ``weeks`` weeks up to the end of the current one, Monday 00:00 to Monday
    00:00 in the team's zone."""
    tz = team.tz
    today = now.astimezone(tz).date()
    next_monday = today + dt.timedelta(days=7 - today.weekday())
    end = dt.datetime.combine(next_monday, dt.time(0), tzinfo=tz)
    start = dt.datetime.combine(
        next_monday - dt.timedelta(weeks=weeks), dt.time(0), tzinfo=tz
    )
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def insights_url(team: Team) -> str:
    return reverse("admin:alerts_team_insights", args=[team.pk])


@admin.register(InsightSettings)
class InsightSettingsAdmin(admin.ModelAdmin):
    list_display = [
        "team",
        "business_hours",
        "sleep_hours",
        "max_pages_per_week",
        "max_sleep_interruptions_per_week",
        "flap_window",
        "insights",
    ]
    search_fields = ["team__slug", "team__name"]

    @admin.display(description="business hours")
    def business_hours(self, obj: InsightSettings) -> str:
        return (
            f"{obj.business_start:%H:%M}-{obj.business_end:%H:%M} "
            f"(days {obj.business_weekdays})"
        )

    @admin.display(description="sleep hours")
    def sleep_hours(self, obj: InsightSettings) -> str:
        return f"{obj.sleep_start:%H:%M}-{obj.sleep_end:%H:%M}"

    @admin.display(description="insights")
    def insights(self, obj: InsightSettings) -> str:
        return format_html('<a href="{}">insights &rarr;</a>', insights_url(obj.team))

    def get_urls(self) -> list:
        view = self.admin_site.admin_view(self.team_insights_view)
        return [
            path("team/<path:team_id>/", view, name="alerts_team_insights"),
            *super().get_urls(),
        ]

    def team_insights_view(self, request: HttpRequest, team_id: str) -> HttpResponse:
        key = unquote(team_id)
        team = (
            Team.objects.filter(pk=int(key)).first()
            if key.isascii() and key.isdigit() and len(key) < 19
            else None
        )
        if team is None:
            raise Http404(f"no team with id {team_id!r}")
        if not team_can_read(request.user, team):
            raise PermissionDenied
        weeks, note = report_weeks(request.GET.get("weeks"))
        labels, labels_note = report_labels(request.GET.get("group_by"))
        start, end = period_of(team, weeks, timezone.now())
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Insights: {team.name}",
            "team": team,
            "weeks": weeks,
            "note": note,
            "labels_note": labels_note,
            "group_by": ",".join(labels),
            "week_choices": [4, 13, 26, 52],
            **team_insights(team=team, start=start, end=end, labels=labels),
        }
        return TemplateResponse(request, "admin/alerts/insights/team.html", context)


def team_insights(
    *,
    team: Team,
    start: dt.datetime,
    end: dt.datetime,
    labels: list[str] | None = None,
) -> dict[str, Any]:
    """Everything the page shows, for ``team`` over [start, end); alert quality
    grouped by ``labels`` (alertname by default)."""
    teams = Team.objects.filter(pk=team.pk)
    # One effective schedule for the reports that need it (on-call weeks, hours,
    # rota shares), one page-load report for the health flags and fairness.
    schedule = schedule_for(team=team, start=start, end=end)
    load = page_load(team=team, start=start, end=end, schedule=schedule)
    report = health(team=team, start=start, end=end, load=load)
    tz = team.tz
    trend = incident_trend(teams=teams, start=start, end=end, tz=tz)
    figures = incident_figures(teams=teams, start=start, end=end)
    quality = alert_quality(teams=teams, start=start, end=end, labels=labels)
    return {
        "load_rows": [
            (m, _text(m.tta_median), _text(m.tta_worst)) for m in load.members
        ],
        "figure_rows": [
            (
                name,
                spread.count,
                _text(spread.mean),
                _text(spread.median),
                _text(spread.p90),
            )
            for name, spread in (
                ("MTTA", figures.overall.mtta),
                ("MTTR", figures.overall.mttr),
            )
        ],
        "quality_rows": [(a, _text(a.median_duration)) for a in quality.alerts],
        "start": start,
        "end": end,
        "start_local": start.astimezone(tz),
        "end_local": end.astimezone(tz),
        "load": load,
        "health": report,
        "flagged": report.flagged,
        "fairness": fairness(load),
        "figures": figures,
        "quality": quality,
        "rotations": rota_health(team=team, start=start, end=end, schedule=schedule),
        "load_chart": weekly_load_chart(load),
        "heatmap_chart": heatmap_chart(
            page_heatmap(team=team, start=start, end=end), team.time_zone
        ),
        "trend_chart": trend_chart(trend),
        "definitions": {
            **PAGE_LOAD_DEFINITIONS,
            **INCIDENT_DEFINITIONS,
            **ALERT_QUALITY_DEFINITIONS,
        },
    }


def _text(value: dt.timedelta | None) -> str:
    return "-" if value is None else duration_text(value)
