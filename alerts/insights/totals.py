"""Org-wide totals for ``/metrics`` (``alerts/metrics.py`` renders them).

Labels are bounded by configuration, never by alerts: ``team`` (one per team) and
``channel`` (sms, voice).  Each total is one ``GROUP BY`` at scrape time.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, DurationField, F, Q, Sum
from django.db.models.expressions import CombinedExpression

from alerts.insights.incident_figures import TTA, answered_opening
from alerts.insights.interruptions import interruptions
from alerts.insights.sql import without_jit
from alerts.insights.windows import SLEEP, Windows, annotate_kind, member_zones
from alerts.models import Incident, InsightSettings, Page
from scheduling.models import Team

# Seconds: 1, 5, 15 and 30 minutes, 1, 2 and 4 hours.
TTA_BUCKETS = (60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0)


@without_jit
def pages_sent_by_team_and_channel() -> dict[tuple[str, str], int]:
    """Every page that went out (SMS or call; bundled ones each count), by the
    incident's team and the channel."""
    rows = (
        Page.objects.filter(sent_at__isnull=False)
        .values_list("incident__team__slug", "channel")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {(team, channel): n for team, channel, n in rows}


@without_jit
def sleep_pages_by_team(*, now: dt.datetime, days: int = 7) -> dict[str, int]:
    """Interruptions in the paged member's sleep hours over the last ``days`` days,
    by team (every team listed, 0 included)."""
    since = now - dt.timedelta(days=days)
    pages = interruptions(
        Page.objects.filter(sent_at__gte=since, sent_at__lt=now), bundled=True
    )
    settings = {s.team_id: Windows.of(s) for s in InsightSettings.objects.all()}
    teams = dict(Team.objects.values_list("pk", "slug"))
    windows = {pk: settings.get(pk, Windows()) for pk in teams}
    zones = member_zones()
    rows = (
        annotate_kind(
            pages,
            instant="sent_at",
            zone_field="member__time_zone",
            zones=zones,
            windows_by_team=windows,
            team_field="incident__team_id",
        )
        .filter(hour_kind=SLEEP)
        .values_list("incident__team_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    found = dict.fromkeys(teams.values(), 0)
    for team_id, n in rows:
        found[teams[team_id]] = n
    return found


@without_jit
def tta_histogram_by_team() -> dict[str, tuple[list[int], int, float]]:
    """Per team: cumulative counts of acknowledged incidents per bucket of
    :data:`TTA_BUCKETS` (seconds, ``le``), the count, and the sum of seconds.
    Time to acknowledge as in the reports: from the (re)opening answered."""
    buckets = {
        f"le_{i}": Count("id", filter=Q(acknowledged_at__lte=_plus(bound)))
        for i, bound in enumerate(TTA_BUCKETS)
    }
    rows = (
        Incident.objects.filter(acknowledged_at__isnull=False)
        .annotate(answered_from=answered_opening())
        .values("team__slug")
        .annotate(
            n=Count("id"), total=Sum(TTA, output_field=DurationField()), **buckets
        )
        .order_by()
    )
    found: dict[str, tuple[list[int], int, float]] = {}
    for row in rows:
        total = row["total"]
        found[row["team__slug"]] = (
            [row[f"le_{i}"] for i in range(len(TTA_BUCKETS))],
            row["n"],
            total.total_seconds() if total is not None else 0.0,
        )
    return found


def _plus(bound: float) -> CombinedExpression:
    return F("answered_from") + dt.timedelta(seconds=bound)
