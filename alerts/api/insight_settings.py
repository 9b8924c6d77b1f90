"""``/api/v1/teams/<slug>/insight-settings/``: the hours, thresholds and flapping
window the insights reports judge a team by (``alerts/insights/``).

Members read their team's settings (the defaults when none were saved); staff
change them (``PUT`` whole, ``PATCH`` some), as every team configuration.  The
rules are ``scheduling.access``'s: a team the caller may not read is a 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.request import Request

from alerts.insights.settings import insight_settings_of, insight_settings_update
from alerts.models import InsightSettings
from scheduling.access.permissions import visible_team_or_404
from scheduling.access.views import ERROR, ObjectView

MAX_FLAP_WINDOW = 7 * 24 * 3600


class InsightSettingsSerializer(serializers.Serializer):
    team = serializers.CharField(source="team.slug")
    business_start = serializers.TimeField(format="%H:%M")
    business_end = serializers.TimeField(format="%H:%M")
    business_weekdays = serializers.CharField(help_text="ISO weekday digits")
    sleep_start = serializers.TimeField(format="%H:%M")
    sleep_end = serializers.TimeField(format="%H:%M")
    max_pages_per_week = serializers.IntegerField()
    max_sleep_interruptions_per_week = serializers.IntegerField()
    flap_window_seconds = serializers.SerializerMethodField()
    saved = serializers.SerializerMethodField(
        help_text="false: the team has no settings of its own (the defaults)"
    )

    def get_flap_window_seconds(self, obj: InsightSettings) -> int:
        return int(obj.flap_window.total_seconds())

    def get_saved(self, obj: InsightSettings) -> bool:
        return obj.pk is not None


class InsightSettingsInputSerializer(serializers.Serializer):
    business_start = serializers.TimeField(help_text="HH:MM, the members' own zones")
    business_end = serializers.TimeField(help_text="HH:MM, after business_start")
    business_weekdays = serializers.RegexField(
        r"^[1-7]{1,7}$",
        max_length=7,
        help_text="ISO weekday digits, each at most once (12345 = Monday-Friday)",
    )
    sleep_start = serializers.TimeField(help_text="HH:MM")
    sleep_end = serializers.TimeField(help_text="HH:MM (the next morning)")
    max_pages_per_week = serializers.IntegerField(min_value=0, max_value=100_000)
    max_sleep_interruptions_per_week = serializers.IntegerField(
        min_value=0, max_value=100_000
    )
    flap_window_seconds = serializers.IntegerField(
        min_value=0, max_value=MAX_FLAP_WINDOW
    )


EXAMPLE = OpenApiExample(
    "PagerDuty's hours, a stricter load limit",
    value={
        "business_start": "08:00",
        "business_end": "18:00",
        "business_weekdays": "12345",
        "sleep_start": "22:00",
        "sleep_end": "08:00",
        "max_pages_per_week": 8,
        "max_sleep_interruptions_per_week": 2,
        "flap_window_seconds": 600,
    },
    request_only=True,
)


@extend_schema_view(
    get=extend_schema(
        operation_id="team_insight_settings_retrieve",
        summary="A team's insight settings (the defaults when none were saved)",
        responses={200: InsightSettingsSerializer, 404: ERROR},
    ),
    put=extend_schema(
        operation_id="team_insight_settings_update",
        summary="Replace a team's insight settings (staff)",
        request=InsightSettingsInputSerializer,
        responses={
            200: InsightSettingsSerializer,
            400: ERROR,
            403: ERROR,
            404: ERROR,
        },
        examples=[EXAMPLE],
    ),
    patch=extend_schema(
        operation_id="team_insight_settings_partial_update",
        summary="Change some of a team's insight settings (staff)",
        request=InsightSettingsInputSerializer(partial=True),
        responses={
            200: InsightSettingsSerializer,
            400: ERROR,
            403: ERROR,
            404: ERROR,
        },
    ),
)
class InsightSettingsView(ObjectView):
    input_serializer = InsightSettingsInputSerializer
    http_method_names = ["get", "put", "patch", "head", "options"]

    def find(self, request: Request, **kwargs: Any) -> InsightSettings:
        return insight_settings_of(team=visible_team_or_404(request, kwargs["slug"]))

    def show(self, request: Request, obj: InsightSettings) -> dict:
        return InsightSettingsSerializer(obj).data

    def write(
        self, request: Request, obj: InsightSettings, data: dict, *, partial: bool
    ) -> InsightSettings:
        fields = dict(data)
        if "flap_window_seconds" in fields:
            fields["flap_window"] = dt.timedelta(
                seconds=fields.pop("flap_window_seconds")
            )
        return insight_settings_update(team=obj.team, **fields)
