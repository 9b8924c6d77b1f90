"""The query string of the reports: ``team``, ``from``, ``to``, ``format`` ...

``from`` and ``to`` are dates or ISO 8601 instants with an offset (naive instants
are refused: whose 09:00?).  A date is a whole day in the team's time zone (UTC
without a team): ``from=2026-01-01&to=2026-03-31`` is the first quarter, up to
midnight at the end of 31 March.  At most :data:`MAX_DAYS` days per request.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers

from alerts.insights.alert_quality import LabelError, check_labels
from scheduling.access import teams_visible
from scheduling.models import Team
from scheduling.timeparse import InstantError, check_range, parse_instant

MAX_DAYS = 400
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _bound(raw: str, tz: dt.tzinfo, *, end: bool) -> dt.datetime:
    text = raw.strip()
    if _DATE.match(text):
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise InstantError(f"{raw!r} is not a date (YYYY-MM-DD)") from None
        if end:
            if day == dt.date.max:
                raise InstantError(f"{raw!r} is out of range")
            day += dt.timedelta(days=1)
        local = dt.datetime.combine(day, dt.time(0, 0), tzinfo=tz)
        try:
            return check_range(local.astimezone(dt.UTC))
        except OverflowError:
            raise InstantError(f"{raw!r} is out of range") from None
    return parse_instant(text)


class ReportQuery(serializers.Serializer):
    """What every report takes."""

    team = serializers.CharField(
        required=False, max_length=200, help_text="The team's slug."
    )
    # ``from`` is a keyword: the field is declared under another name below.
    to = serializers.CharField(
        max_length=64,
        help_text="End: a date (inclusive, whole day in the team's zone) or an "
        "ISO 8601 instant with an offset (exclusive).",
    )
    format = serializers.ChoiceField(
        choices=["json", "csv"], required=False, default="json"
    )

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["from"] = serializers.CharField(
            max_length=64,
            help_text="Start: a date (from its midnight in the team's zone) or an "
            "ISO 8601 instant with an offset.",
        )
        return fields


class PageLoadQuery(ReportQuery):
    team = serializers.CharField(max_length=200, help_text="The team's slug.")


class IncidentsQuery(ReportQuery):
    service = serializers.CharField(
        required=False, max_length=200, help_text="Only this `service` label."
    )


class AlertQualityQuery(ReportQuery):
    group_by = serializers.CharField(
        required=False,
        max_length=400,
        help_text="The labels to group by, comma-separated (at most 3), e.g. "
        "alertname,service (default alertname).",
    )
    by = serializers.CharField(
        required=False,
        max_length=400,
        help_text="The older name of group_by (give one of the two).",
    )
    flap_window = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=7 * 24 * 3600,
        help_text="Seconds: firing again this soon after resolving is flapping "
        "(default: each team's setting, 600).",
    )


@dataclass(frozen=True)
class Period:
    teams: QuerySet[Team]
    team: Team | None
    start: dt.datetime
    end: dt.datetime
    csv: bool
    data: dict[str, Any]


def parse_report_query(
    serializer_class: type[ReportQuery], query: Any, user: Any
) -> Period:
    """The request's report query, checked; a 400 naming what is wrong.  A team
    the caller may not read is answered like one that does not exist."""
    params = serializer_class(data=query)
    params.is_valid(raise_exception=True)
    data = dict(params.validated_data)
    visible = teams_visible(user)
    team = None
    if data.get("team"):
        team = visible.filter(slug=data["team"]).first()
        if team is None:
            raise serializers.ValidationError(
                {"team": [f"no team with slug {data['team']!r}"]}
            )
        teams = visible.filter(pk=team.pk)
    else:
        teams = visible
    tz = zoneinfo.ZoneInfo(team.time_zone) if team else dt.UTC
    errors: dict[str, list[str]] = {}
    bounds: dict[str, dt.datetime] = {}
    for name in ("from", "to"):
        try:
            bounds[name] = _bound(data[name], tz, end=name == "to")
        except InstantError as exc:
            errors[name] = [str(exc)]
    if errors:
        raise serializers.ValidationError(errors)
    start, end = bounds["from"], bounds["to"]
    if end <= start:
        raise serializers.ValidationError({"to": ["must be after from"]})
    if end - start > dt.timedelta(days=MAX_DAYS):
        raise serializers.ValidationError(
            {"to": [f"a report covers at most {MAX_DAYS} days"]}
        )
    if serializer_class is AlertQualityQuery:
        data["group_by"] = _group_by(data)
    return Period(teams, team, start, end, data.get("format") == "csv", data)


def _group_by(data: dict[str, Any]) -> list[str]:
    """The label set of ``group_by`` (or its older name ``by``), checked: a 400
    names the field that was given."""
    if "group_by" in data and "by" in data:
        raise serializers.ValidationError(
            {"group_by": ["give group_by or by (its older name), not both"]}
        )
    field = "by" if "by" in data else "group_by"
    raw = data.get(field, "alertname")
    labels = [part.strip() for part in raw.split(",")]
    try:
        return check_labels(labels)
    except LabelError as exc:
        raise serializers.ValidationError({field: [str(exc)]}) from None
