"""``/api/v1/maintenance-windows/`` and ``…/<id>/``: while a window is active,
incidents of its team (or integration) are recorded and flagged, not escalated.

Members read their teams' windows; staff create, replace, change and delete
them through ``alerts.incidents.maintenance`` -- the admin's path too.  Times
are ISO 8601 with a UTC offset; naive times are refused, saying so.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.request import Request

from alerts.api.common import (
    CallerFilterSet,
    InstantField,
    InstantFilter,
    integration_named,
    team_named,
)
from alerts.api.views import Cursor
from alerts.incidents.maintenance import (
    maintenance_create,
    maintenance_delete,
    maintenance_update,
)
from alerts.models import MaintenanceWindow
from scheduling.access import teams_visible, user_is_staff
from scheduling.access.views import ERROR, CollectionView, ObjectView


class MaintenanceSerializer(serializers.ModelSerializer):
    team = serializers.CharField(source="team.slug", allow_null=True, default=None)
    integration = serializers.CharField(
        source="integration.slug", allow_null=True, default=None
    )
    active = serializers.SerializerMethodField(help_text="active right now")
    created_by = serializers.CharField(
        source="created_by.username", allow_null=True, default=None
    )

    class Meta:
        model = MaintenanceWindow
        fields = [
            "id",
            "team",
            "integration",
            "starts_at",
            "ends_at",
            "reason",
            "active",
            "created_by",
        ]
        read_only_fields = fields

    def get_active(self, window: MaintenanceWindow) -> bool:
        return window.is_active()


class MaintenanceInputSerializer(serializers.Serializer):
    """A window for a team or an integration (exactly one of the two)."""

    team = serializers.SlugField(max_length=100, allow_null=True, default=None)
    integration = serializers.SlugField(max_length=100, allow_null=True, default=None)
    starts_at = InstantField(help_text="ISO 8601 with a UTC offset or Z")
    ends_at = InstantField(help_text="ISO 8601 with a UTC offset or Z")
    reason = serializers.CharField(max_length=500)


EXAMPLE = OpenApiExample(
    "database upgrade",
    value={
        "team": "payments",
        "starts_at": "2026-01-17T22:00:00+03:00",
        "ends_at": "2026-01-18T02:00:00+03:00",
        "reason": "database upgrade",
    },
    request_only=True,
)


def _windows(request: Request) -> QuerySet[MaintenanceWindow]:
    windows = MaintenanceWindow.objects.select_related(
        "team", "integration", "created_by"
    )
    if user_is_staff(request.user):
        return windows
    teams = teams_visible(request.user).values("pk")
    return windows.filter(Q(team__in=teams) | Q(integration__team__in=teams))


def _resolved(request: Request, data: dict) -> dict[str, Any]:
    fields = dict(data)
    if fields.get("team") is not None:
        fields["team"] = team_named(request.user, fields["team"])
    if fields.get("integration") is not None:
        fields["integration"] = integration_named(request.user, fields["integration"])
    return fields


class MaintenanceFilter(CallerFilterSet):
    team = django_filters.CharFilter(method="by_team", help_text="team slug")
    integration = django_filters.CharFilter(
        method="by_integration", help_text="integration slug"
    )
    active = django_filters.BooleanFilter(method="by_active", help_text="active now")
    vars()["from"] = InstantFilter(
        field_name="ends_at",
        lookup_expr="gt",
        help_text="ISO 8601 with offset: windows still running at or after it",
    )
    to = InstantFilter(
        field_name="starts_at",
        lookup_expr="lt",
        help_text="ISO 8601 with offset: windows that start before it",
    )

    class Meta:
        model = MaintenanceWindow
        fields = ["team", "integration", "active", "from", "to"]

    def by_team(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(team=team_named(self.caller, value))

    def by_integration(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(integration=integration_named(self.caller, value))

    def by_active(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        now = timezone.now()
        running = Q(starts_at__lte=now, ends_at__gt=now)
        return queryset.filter(running) if value else queryset.exclude(running)


class MaintenanceCursor(Cursor):
    ordering = ("-starts_at", "-id")


@extend_schema_view(
    get=extend_schema(
        operation_id="maintenance_windows_list",
        summary="Maintenance windows of the teams you may read, latest first",
        responses={200: MaintenanceSerializer(many=True), 400: ERROR},
    ),
    post=extend_schema(
        operation_id="maintenance_windows_create",
        summary="Create a maintenance window (staff)",
        request=MaintenanceInputSerializer,
        responses={201: MaintenanceSerializer, 400: ERROR, 403: ERROR},
        examples=[EXAMPLE],
    ),
)
class MaintenanceListView(CollectionView):
    serializer_class = MaintenanceSerializer
    filterset_class = MaintenanceFilter
    pagination_class = MaintenanceCursor

    input_serializer = MaintenanceInputSerializer

    def create(self, request: Request, data: dict[str, Any]) -> Any:
        user = request.user if request.user.is_authenticated else None
        window = maintenance_create(created_by=user, **_resolved(request, data))
        return MaintenanceSerializer(window).data

    def get_queryset(self) -> QuerySet[MaintenanceWindow]:
        return _windows(self.request)


@extend_schema_view(
    get=extend_schema(
        operation_id="maintenance_windows_retrieve",
        summary="A maintenance window",
        responses={200: MaintenanceSerializer, 404: ERROR},
    ),
    put=extend_schema(
        operation_id="maintenance_windows_update",
        summary="Replace a maintenance window (staff)",
        description="Idempotent: the same body twice changes nothing the second "
        "time. Shortening or ending a window lets its incidents escalate at the "
        "next sweep.",
        request=MaintenanceInputSerializer,
        responses={200: MaintenanceSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
        examples=[EXAMPLE],
    ),
    patch=extend_schema(
        operation_id="maintenance_windows_partial_update",
        summary="Change some of a window's fields (staff)",
        request=MaintenanceInputSerializer(partial=True),
        responses={200: MaintenanceSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    ),
    delete=extend_schema(
        operation_id="maintenance_windows_delete",
        summary="Delete a maintenance window (staff)",
        responses={204: None, 403: ERROR, 404: ERROR},
    ),
)
class MaintenanceDetailView(ObjectView):
    input_serializer = MaintenanceInputSerializer

    def find(self, request: Request, **kwargs: Any) -> MaintenanceWindow:
        window = _windows(request).filter(pk=kwargs["pk"]).first()
        if window is None:
            raise Http404("no such maintenance window")
        return window

    def show(self, request: Request, window: MaintenanceWindow) -> dict:
        return MaintenanceSerializer(window).data

    def write(
        self, request: Request, window: MaintenanceWindow, data: dict, *, partial: bool
    ) -> MaintenanceWindow:
        maintenance_update(window=window, **_resolved(request, data))
        return window

    def remove(self, request: Request, window: MaintenanceWindow) -> None:
        maintenance_delete(window=window)
