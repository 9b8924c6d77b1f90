"""The SLO page's chart: the error budget burning down over the window, drawn
by pygal as inline SVG with the insights charts' options (no script, no XML
declaration).  The figures come from ``alerts/slos/burndown.py``."""

from __future__ import annotations

from typing import Any

import pygal  # type: ignore[import-untyped]  # pygal ships no types
from django.utils.safestring import SafeString

# One look for every admin chart: the insights module owns it.
from alerts.admin.insights_charts import _options, _svg


def burndown_chart(
    points: list[tuple[Any, float]], allow: float, freeze: float
) -> SafeString:
    """An SLO's error budget left (percent) over its window, with the policy's
    thresholds as flat lines."""
    chart = pygal.Line(
        **_options(
            title="Error budget left (%)",
            legend_at_bottom=True,
            x_label_rotation=30,
            show_minor_x_labels=False,
            x_labels_major_every=max(1, len(points) // 10),
            dots_size=1,
        )
    )
    chart.x_labels = [f"{at:%Y-%m-%d %H:%M}" for at, _ in points]
    chart.add("budget left", [round(value * 100, 2) for _, value in points])
    chart.add("allow above", [round(allow * 100, 2)] * len(points), show_dots=False)
    chart.add("freeze below", [round(freeze * 100, 2)] * len(points), show_dots=False)
    return _svg(chart)
