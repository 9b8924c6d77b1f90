"""The insights page's charts, drawn by pygal as inline SVG.

Presentation only: the figures come from ``alerts/insights/``.  Charts are
rendered without pygal's JavaScript (no script from a CDN in the admin) and
without an XML declaration, so they can sit inside the page.
"""

from __future__ import annotations

import re
from typing import Any

import pygal  # type: ignore[import-untyped]  # pygal ships no types
from django.utils.safestring import SafeString, mark_safe
from pygal.style import Style  # type: ignore[import-untyped]

from alerts.insights.heatmap import WEEKDAYS
from alerts.insights.incident_figures import WeekFigures
from alerts.insights.page_load import PageLoad

_STYLE = Style(
    background="transparent",
    plot_background="transparent",
    font_family="system-ui, sans-serif",
    label_font_size=11,
    major_label_font_size=11,
    legend_font_size=12,
    title_font_size=14,
)


def _options(**extra: Any) -> dict[str, Any]:
    return {
        "js": [],
        "disable_xml_declaration": True,
        "style": _STYLE,
        "height": 320,
        "width": 900,
        "explicit_size": False,
        "print_values": False,
        # pygal's own value formatter looks its options up through a slow
        # __getattribute__ for every dot: str() cut the heatmap's render from
        # 46 to 16 ms of CPU (168 values).
        "formatter": str,
        **extra,
    }


_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL)


def _svg(chart: Any) -> SafeString:
    """The chart as inline SVG.  pygal escapes the labels and values it writes;
    the inline script it adds anyway (its tooltips' config, for pygal.js that we
    do not load) is taken out, so the page runs none of it."""
    return mark_safe(_SCRIPT.sub("", chart.render(is_unicode=True)))  # noqa: S308


def weekly_load_chart(load: PageLoad) -> SafeString:
    """Pages per on-call week: one bar group per week start (a handoff, in the
    team's zone; off-rota weeks start on Mondays), one series per member."""
    tz = load.team.tz
    starts = sorted({w for m in load.members for w in m.weeks})
    chart = pygal.Bar(
        **_options(
            title="Pages per on-call week (handoff to handoff)",
            legend_at_bottom=True,
            x_label_rotation=30,
        )
    )
    chart.x_labels = [f"{s.astimezone(tz):%a %d %b %H:%M}" for s in starts]
    for member in load.members:
        if not member.weeks and not member.oncall_hours:
            continue
        chart.add(
            member.member.username,
            [member.weeks[s].pages if s in member.weeks else None for s in starts],
        )
    return _svg(chart)


def heatmap_chart(grid: list[list[int]], zone: str) -> SafeString:
    """Pages by hour of day (columns) and weekday (rows): the bigger the dot, the
    more pages."""
    chart = pygal.Dot(
        **_options(
            title=f"Pages by hour and weekday ({zone})",
            show_legend=False,
            height=300,
        )
    )
    chart.x_labels = [f"{h:02d}" for h in range(24)]
    for day, row in zip(WEEKDAYS, grid, strict=True):
        chart.add(day[:3], row)
    return _svg(chart)


def trend_chart(weeks: list[WeekFigures]) -> SafeString:
    """Median time to acknowledge and to resolve per week, in minutes."""
    chart = pygal.Line(
        **_options(
            title="MTTA and MTTR per week (median, minutes)",
            legend_at_bottom=True,
            x_label_rotation=30,
        )
    )
    chart.x_labels = [w.week.isoformat() for w in weeks]

    def minutes(value: Any) -> float | None:
        return None if value is None else round(value.total_seconds() / 60, 1)

    chart.add("MTTA", [minutes(w.mtta.median) for w in weeks])
    chart.add("MTTR", [minutes(w.mttr.median) for w in weeks])
    return _svg(chart)
