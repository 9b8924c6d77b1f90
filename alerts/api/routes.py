"""``/api/v1/routes/`` and ``/api/v1/routes/<slug or id>/``: an integration's
routes, each with its label matchers (Alertmanager's syntax, as strings).

Members read the routes of their teams' integrations; staff create, replace,
change and delete them through ``alerts.intake.routes`` -- the admin's path too.
The integration's last catch-all route cannot get matchers or be deleted (409).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.request import Request

from alerts.api.common import (
    CallerFilterSet,
    integration_named,
    policy_named,
    team_named,
)
from alerts.intake.routes import (
    matchers_parse,
    route_create,
    route_delete,
    route_update,
)
from alerts.models import Route
from scheduling.access import scoped_to_teams
from scheduling.access.permissions import by_key_or_404
from scheduling.access.views import ERROR, CollectionView, ObjectView, service_errors


class RouteSerializer(serializers.ModelSerializer):
    integration = serializers.CharField(source="integration.slug")
    team = serializers.CharField(source="team.slug", help_text="who gets the incident")
    escalation_policy = serializers.CharField(
        source="escalation_policy.slug",
        allow_null=True,
        default=None,
        help_text="slug; null: the team's default policy (or the built-in one)",
    )
    matchers = serializers.SerializerMethodField(
        help_text='Alertmanager matchers, e.g. severity=~"critical|page"; none: '
        "a catch-all"
    )

    class Meta:
        model = Route
        fields = [
            "id",
            "slug",
            "integration",
            "position",
            "name",
            "team",
            "urgency",
            "escalation_policy",
            "matchers",
        ]
        read_only_fields = fields

    def get_matchers(self, route: Route) -> list[str]:
        return [str(m) for m in sorted(route.matchers.all(), key=lambda m: m.pk)]


class RouteInputSerializer(serializers.Serializer):
    """A route.  ``slug`` and ``position`` left out are made up on create and
    stay as they are on ``PUT``; the other optional fields take their defaults."""

    integration = serializers.SlugField(
        max_length=100, help_text="the integration's slug (cannot change)"
    )
    slug = serializers.SlugField(max_length=100, required=False)
    name = serializers.CharField(max_length=200, allow_blank=True, default="")
    position = serializers.IntegerField(
        min_value=0,
        max_value=2**31 - 1,
        required=False,
        help_text="routes are tried in this order; default: after the other "
        "matcher routes, before the catch-all",
    )
    team = serializers.SlugField(max_length=100, help_text="who gets the incident")
    urgency = serializers.ChoiceField(
        choices=Route.Urgency.choices,
        default="",
        help_text='"" = from the severity label',
    )
    escalation_policy = serializers.SlugField(
        max_length=100, allow_null=True, default=None
    )
    matchers = serializers.ListField(
        child=serializers.CharField(max_length=1300),
        default=list,
        max_length=100,
        help_text='Alertmanager matchers, e.g. severity=~"critical|page"',
    )


ROUTE_EXAMPLE = OpenApiExample(
    "critical to payments",
    value={
        "integration": "payments-alertmanager",
        "name": "critical",
        "team": "payments",
        "urgency": "high",
        "escalation_policy": "payments-standard",
        "matchers": ['severity=~"critical|page"'],
    },
    request_only=True,
)


def _routes(request: Request) -> QuerySet[Route]:
    return scoped_to_teams(
        Route.objects.select_related(
            "integration__team", "team", "escalation_policy"
        ).prefetch_related("matchers"),
        user=request.user,
        field="integration__team",
    ).order_by("integration__slug", "position", "id")


def _resolved(request: Request, data: dict) -> dict[str, Any]:
    """The body's names as objects, for the services."""
    fields = dict(data)
    fields.pop("integration", None)
    if "team" in fields:
        fields["team"] = team_named(request.user, fields["team"])
    if fields.get("escalation_policy") is not None:
        fields["escalation_policy"] = policy_named(
            request.user, fields["escalation_policy"]
        )
    if "matchers" in fields:
        with service_errors():
            fields["matchers"] = matchers_parse(fields["matchers"])
    return fields


class RouteFilter(CallerFilterSet):
    integration = django_filters.CharFilter(
        method="by_integration", help_text="integration slug"
    )
    team = django_filters.CharFilter(
        method="by_team", help_text="slug of the integration's team"
    )

    class Meta:
        model = Route
        fields = ["integration", "team"]

    def by_integration(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(integration=integration_named(self.caller, value))

    def by_team(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(integration__team=team_named(self.caller, value))


@extend_schema_view(
    get=extend_schema(
        operation_id="routes_list",
        summary="Routes of your teams' integrations, in the order they are tried",
        responses={200: RouteSerializer(many=True), 400: ERROR},
    ),
    post=extend_schema(
        operation_id="routes_create",
        summary="Add a route to an integration (staff)",
        request=RouteInputSerializer,
        responses={201: RouteSerializer, 400: ERROR, 403: ERROR},
        examples=[ROUTE_EXAMPLE],
    ),
)
class RouteListView(CollectionView):
    serializer_class = RouteSerializer
    filterset_class = RouteFilter
    pagination_class = None  # a handful per integration

    input_serializer = RouteInputSerializer

    def create(self, request: Request, data: dict[str, Any]) -> Any:
        integration = integration_named(request.user, data["integration"])
        route = route_create(integration=integration, **_resolved(request, data))
        return RouteSerializer(_routes(request).get(pk=route.pk)).data

    def get_queryset(self) -> QuerySet[Route]:
        return _routes(self.request)


@extend_schema_view(
    get=extend_schema(
        operation_id="routes_retrieve",
        summary="A route, by slug or id",
        responses={200: RouteSerializer, 404: ERROR},
    ),
    put=extend_schema(
        operation_id="routes_update",
        summary="Replace a route and its matchers (staff)",
        description="Idempotent: the same body twice changes nothing the second "
        "time. `integration` may be repeated but cannot change.",
        request=RouteInputSerializer,
        responses={200: RouteSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
        examples=[ROUTE_EXAMPLE],
    ),
    patch=extend_schema(
        operation_id="routes_partial_update",
        summary="Change some of a route's fields (staff)",
        request=RouteInputSerializer(partial=True),
        responses={200: RouteSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    ),
    delete=extend_schema(
        operation_id="routes_delete",
        summary="Delete a route (staff); the last catch-all stays (409)",
        responses={204: None, 403: ERROR, 404: ERROR, 409: ERROR},
    ),
)
class RouteDetailView(ObjectView):
    input_serializer = RouteInputSerializer

    def find(self, request: Request, **kwargs: Any) -> Route:
        return by_key_or_404(_routes(request), kwargs["key"])

    def show(self, request: Request, route: Route) -> dict:
        return RouteSerializer(_routes(request).get(pk=route.pk)).data

    def write(
        self, request: Request, route: Route, data: dict, *, partial: bool
    ) -> Route:
        named = data.get("integration", route.integration.slug)
        if named != route.integration.slug:
            raise serializers.ValidationError(
                {"integration": ["a route cannot move to another integration"]}
            )
        route_update(route=route, **_resolved(request, data))
        return route

    def remove(self, request: Request, route: Route) -> None:
        route_delete(route=route)
