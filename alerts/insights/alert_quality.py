"""Alert quality: which alerts are worth waking somebody for (signal and noise).

Per alert name (or per the label set the caller chooses, e.g. alertname and
service), over the incidents *opened* in [start, end):

* ``incidents``; ``pages``: the interruptions they caused (``interruptions.py``;
  pages that went out inside a storm bundle count each);
* ``acknowledged`` and ``ack_rate`` (acknowledged / incidents);
* ``auto_resolved``: resolved before anyone acknowledged them (their alerts
  resolved, or somebody resolved without acknowledging first);
* ``flapping``: times the group fired again within the flapping window (the
  team's ``InsightSettings.flap_window``, 10 minutes by default, or the caller's)
  after it had resolved: a new incident of the same group opened that soon after
  the previous one resolved, or the incident reopened that soon (the
  integration's reopen window);
* ``median_duration``: opening → resolution, over the resolved incidents;
* ``sleep_pages`` and ``sleep_share``: pages sent (``sent_at``) in the paged
  member's sleep hours (``windows.py``), and their share of ``pages``;
* ``noisy`` with ``noisy_reasons``: :data:`NOISY_RULE`.

Sorted by pages caused, most first.  A fixed number of queries: one ``GROUP BY``
over incidents, one over pages, whatever their number.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    Count,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce

from alerts.insights.incident_figures import TTR, incidents_in, label
from alerts.insights.interruptions import interruptions
from alerts.insights.sql import duration_percentile, hash_joins_only, without_jit
from alerts.insights.windows import Windows, annotate_sleep, member_zones
from alerts.models import Incident, InsightSettings, Page, TimelineEntry
from scheduling.models import Team

DEFAULT_FLAP_WINDOW = dt.timedelta(minutes=10)
MIN_INCIDENTS = 3
NOISY_RULE = (
    f"noisy: at least {MIN_INCIDENTS} incidents, and half or more resolved before "
    "anyone acknowledged them, or a quarter or more flapping, or fewer than half "
    "acknowledged"
)
DEFAULT_LABELS = ("alertname",)
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]{0,99}")
MAX_LABELS = 3


class LabelError(ValueError):
    pass


def check_labels(labels: list[str]) -> list[str]:
    """The label set to group by, checked: 1 to 3 Prometheus label names."""
    if not labels:
        raise LabelError("name at least one label, e.g. alertname")
    if len(labels) > MAX_LABELS:
        raise LabelError(f"at most {MAX_LABELS} labels")
    for name in labels:
        if not LABEL_NAME.fullmatch(name):
            raise LabelError(f"{name!r} is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)")
    if len(set(labels)) != len(labels):
        raise LabelError("each label at most once")
    return labels


@dataclass
class AlertQuality:
    key: dict[str, str]
    incidents: int = 0
    pages: int = 0
    acknowledged: int = 0
    auto_resolved: int = 0
    flapping: int = 0
    median_duration: dt.timedelta | None = None
    sleep_pages: int = 0
    noisy_reasons: list[str] = field(default_factory=list)

    @property
    def ack_rate(self) -> float | None:
        return None if not self.incidents else self.acknowledged / self.incidents

    @property
    def sleep_share(self) -> float | None:
        return None if not self.pages else self.sleep_pages / self.pages

    @property
    def noisy(self) -> bool:
        return bool(self.noisy_reasons)

    def judge(self) -> None:
        self.noisy_reasons = []
        if self.incidents < MIN_INCIDENTS:
            return
        if self.auto_resolved * 2 >= self.incidents:
            self.noisy_reasons.append(
                f"{self.auto_resolved} of {self.incidents} resolved before anyone "
                "acknowledged them"
            )
        if self.flapping * 4 >= self.incidents:
            self.noisy_reasons.append(
                f"{self.flapping} of {self.incidents} fired again soon after resolving"
            )
        if self.acknowledged * 2 < self.incidents:
            self.noisy_reasons.append(
                f"only {self.acknowledged} of {self.incidents} acknowledged"
            )


@dataclass
class AlertQualityReport:
    start: dt.datetime
    end: dt.datetime
    labels: list[str]
    flap_window: dt.timedelta | None  # None: each team's own
    alerts: list[AlertQuality]
    rule: str = NOISY_RULE


def _flap_windows(teams: QuerySet[Team]) -> dict[int, dt.timedelta]:
    found = dict(
        InsightSettings.objects.filter(team__in=teams).values_list(
            "team_id", "flap_window"
        )
    )
    return {
        pk: found.get(pk, DEFAULT_FLAP_WINDOW)
        for pk in teams.values_list("pk", flat=True)
    }


def _flapping(windows: dict[int, dt.timedelta]) -> Q:
    """The incident opened within its team's window after the previous incident
    of its group resolved."""
    by_window: dict[dt.timedelta, list[int]] = {}
    for team_id, window in windows.items():
        by_window.setdefault(window, []).append(team_id)
    q = Q(pk__in=[])
    for window, team_ids in by_window.items():
        q |= Q(team_id__in=team_ids, previous_resolved_at__gte=F("opened_at") - window)
    return q


def _reopen_flaps(
    incidents: QuerySet[Incident], windows: dict[int, dt.timedelta], keys: dict
) -> QuerySet[TimelineEntry, dict[str, Any]]:
    """Reopens within the team's window of resolving, per label set: one
    ``GROUP BY`` over the (few) ``reopened`` timeline entries of ``incidents``; the
    resolve before a reopen is the latest ``resolved`` entry before it."""
    resolved_before = (
        TimelineEntry.objects.filter(
            incident=OuterRef("incident"),
            kind=TimelineEntry.Kind.RESOLVED,
            at__lte=OuterRef("at"),
        )
        .order_by("-at", "-id")
        .values("at")[:1]
    )
    by_window: dict[dt.timedelta, list[int]] = {}
    for team_id, window in windows.items():
        by_window.setdefault(window, []).append(team_id)
    soon = Q(pk__in=[])
    for window, team_ids in by_window.items():
        soon |= Q(
            incident__team_id__in=team_ids,
            resolved_before__gte=F("at") - window,
        )
    return (
        TimelineEntry.objects.filter(
            kind=TimelineEntry.Kind.REOPENED, incident__in=incidents.values("pk")
        )
        .annotate(resolved_before=Subquery(resolved_before), **keys)
        .filter(soon)
        .values(*keys)
        .annotate(n=Count("id"))
        .order_by()
    )


@without_jit
def alert_quality(
    *,
    teams: QuerySet[Team],
    start: dt.datetime,
    end: dt.datetime,
    labels: list[str] | None = None,
    flap_window: dt.timedelta | None = None,
) -> AlertQualityReport:
    """The signal-to-noise review of the alerts of ``teams`` over [start, end)."""
    labels = check_labels(labels or list(DEFAULT_LABELS))
    keys = {f"label_{i}": label(name) for i, name in enumerate(labels)}
    key_names = list(keys)
    windows = (
        dict.fromkeys(teams.values_list("pk", flat=True), flap_window)
        if flap_window is not None
        else _flap_windows(teams)
    )
    previous_resolved = (
        Incident.objects.filter(
            integration=OuterRef("integration"),
            group_key_hash=OuterRef("group_key_hash"),
            resolved_at__lte=OuterRef("opened_at"),
        )
        .exclude(pk=OuterRef("pk"))
        .order_by("-resolved_at")
        .values("resolved_at")[:1]
    )
    incidents = (
        incidents_in(teams=teams, start=start, end=end)
        .annotate(
            **keys,
            previous_resolved_at=Subquery(previous_resolved),
        )
        .values(*key_names)
        .annotate(
            incidents=Count("id"),
            acknowledged=Count("id", filter=Q(acknowledged_at__isnull=False)),
            auto_resolved=Count(
                "id",
                filter=Q(resolved_at__isnull=False, acknowledged_at__isnull=True),
            ),
            new_flaps=Count("id", filter=_flapping(windows)),
            median_duration=duration_percentile(
                TTR, 0.5, filter=Q(resolved_at__isnull=False)
            ),
        )
        .order_by()
    )
    page_keys = {f"label_{i}": _related_label(n) for i, n in enumerate(labels)}
    reopens = _reopen_flaps(
        incidents_in(teams=teams, start=start, end=end), windows, page_keys
    )
    pages = interruptions(
        Page.objects.filter(
            incident__team__in=teams,
            incident__opened_at__gte=start,
            incident__opened_at__lt=end,
        ),
        bundled=True,
    )
    with_sleep, asleep = annotate_sleep(
        pages.annotate(**page_keys),
        instant="sent_at",
        zone_field="member__time_zone",
        zones=member_zones(),
        windows_by_team=_hour_windows(teams),
        team_field="incident__team_id",
    )
    page_rows = (
        with_sleep.values(*key_names)
        .annotate(pages=Count("id"), sleep=Count("id", filter=asleep))
        .order_by()
    )
    found: dict[tuple[str, ...], AlertQuality] = {}

    def entry(row: dict[str, Any]) -> AlertQuality:
        key = tuple(row[k] for k in key_names)
        if key not in found:
            found[key] = AlertQuality(dict(zip(labels, key, strict=True)))
        return found[key]

    for row in incidents:
        item = entry(row)
        item.incidents = row["incidents"]
        item.acknowledged = row["acknowledged"]
        item.auto_resolved = row["auto_resolved"]
        item.flapping = row["new_flaps"]
        item.median_duration = row["median_duration"]
    for row in reopens:
        entry(row).flapping += row["n"]
    # Org-wide (more than one team), the page count joins by hashes: see
    # hash_joins_only.  Evaluated here, inside the setting.
    with hash_joins_only(when=teams.count() > 1):
        page_list = list(page_rows)
    for row in page_list:
        item = entry(row)
        item.pages = row["pages"]
        item.sleep_pages = row["sleep"]
    for item in found.values():
        item.judge()
    ordered = sorted(
        found.values(),
        key=lambda a: (-a.pages, -a.incidents, tuple(a.key.values())),
    )
    return AlertQualityReport(start, end, labels, flap_window, ordered)


def _related_label(name: str) -> Any:
    """The label of the row's incident (a page's, a timeline entry's)."""
    return Coalesce(
        _key("incident__common_labels", name),
        _key("incident__group_labels", name),
        Value(""),
        output_field=TextField(),
    )


def _key(path: str, name: str) -> Any:
    return KeyTextTransform(name, path)


def _hour_windows(teams: QuerySet[Team]) -> dict[int, Windows]:
    found = {
        s.team_id: Windows.of(s) for s in InsightSettings.objects.filter(team__in=teams)
    }
    return {pk: found.get(pk, Windows()) for pk in teams.values_list("pk", flat=True)}
