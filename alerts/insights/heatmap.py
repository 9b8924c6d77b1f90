"""When pages come: interruptions by weekday and hour of day, in the team's zone.

The insights page draws it as an hour × weekday chart.  Interruptions as in
``interruptions.py`` (bundled pages each count: the chart is about when alerts
fire), each at the instant it was sent (``sent_at``: a bundled page's is its
bundle's).  One ``GROUP BY`` in the database: at most 7 × 24 rows come back.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay

from alerts.insights.interruptions import interruptions
from alerts.insights.sql import without_jit
from alerts.models import Page
from scheduling.models import Team

WEEKDAYS = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)


@without_jit
def page_heatmap(
    *, team: Team, start: dt.datetime, end: dt.datetime
) -> list[list[int]]:
    """``grid[weekday][hour]``: interruptions of ``team`` in [start, end), Monday
    first, hours 0-23 in the team's time zone."""
    grid = [[0] * 24 for _ in WEEKDAYS]
    tz = team.tz
    rows = (
        interruptions(
            Page.objects.filter(
                incident__team=team, sent_at__gte=start, sent_at__lt=end
            ),
            bundled=True,
        )
        .annotate(
            weekday=ExtractIsoWeekDay("sent_at", tzinfo=tz),
            hour=ExtractHour("sent_at", tzinfo=tz),
        )
        .values("weekday", "hour")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        grid[row["weekday"] - 1][row["hour"]] += row["n"]
    return grid
