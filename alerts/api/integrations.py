"""``/api/v1/integrations/``: Alertmanager integrations, their token shown once.

Members read their teams' integrations (never a token: only its first
characters); staff create them and rotate their tokens, through
``alerts.intake.integrations`` -- the same services as the admin.  The answer to
a create or a rotate is the one time the token is shown; only its hash is
stored.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.api.common import CallerFilterSet, team_named
from alerts.intake.integrations import (
    integration_create,
    integration_delete,
    integration_set_token,
    integration_update,
    webhook_url,
)
from alerts.models import Integration
from scheduling.access import scoped_to_teams
from scheduling.access.permissions import by_key_or_404, require_staff_config
from scheduling.access.views import ERROR, CollectionView, ObjectView
from scheduling.models import Team


class IntegrationSerializer(serializers.ModelSerializer):
    team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    webhook_url = serializers.SerializerMethodField(
        help_text="POST here with Authorization: Bearer <token>"
    )

    class Meta:
        model = Integration
        fields = [
            "id",
            "slug",
            "team",
            "name",
            "kind",
            "enabled",
            "token_hint",
            "webhook_url",
            "reopen_window",
            "heartbeat_alertname",
            "heartbeat_interval",
            "heartbeat_last_seen_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_webhook_url(self, integration: Integration) -> str:
        return webhook_url()


class IntegrationTokenSerializer(IntegrationSerializer):
    token = serializers.CharField(help_text="the secret, shown this once")
    webhook_url_with_token = serializers.CharField(
        help_text="the same webhook with the token in the path"
    )

    class Meta(IntegrationSerializer.Meta):
        fields = [*IntegrationSerializer.Meta.fields, "token", "webhook_url_with_token"]
        read_only_fields = fields


class IntegrationInputSerializer(serializers.Serializer):
    """An integration without its token (the token is made by the server and
    shown once).  ``slug`` left out is made up on create and stays on ``PUT``;
    the other optional fields take their defaults."""

    team = serializers.SlugField(max_length=100, help_text="cannot change")
    slug = serializers.SlugField(max_length=100, required=False)
    name = serializers.CharField(max_length=200)
    enabled = serializers.BooleanField(default=True)
    reopen_window = serializers.IntegerField(
        min_value=0,
        max_value=2**31 - 1,
        default=0,
        help_text="seconds after a resolve during which the group firing again "
        "reopens the incident (0 = never)",
    )
    heartbeat_alertname = serializers.CharField(max_length=200, default="Watchdog")
    heartbeat_interval = serializers.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        allow_null=True,
        default=None,
        help_text="dead man's switch: minutes without a heartbeat before an "
        "incident opens (null = off)",
    )


def _integrations(request: Request) -> QuerySet[Integration]:
    return scoped_to_teams(
        Integration.objects.select_related("team"), user=request.user
    )


def _with_token(integration: Integration, token: str) -> dict:
    """The answer IntegrationTokenSerializer describes: the integration, the token
    and the webhook URL with it (for the answer only; never stored)."""
    return {
        **IntegrationSerializer(integration).data,
        "token": token,
        "webhook_url_with_token": webhook_url(token),
    }


class IntegrationFilter(CallerFilterSet):
    team = django_filters.CharFilter(method="by_team", help_text="team slug")
    enabled = django_filters.BooleanFilter()

    class Meta:
        model = Integration
        fields = ["team", "enabled"]

    def by_team(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(team=team_named(self.caller, value))


@extend_schema_view(
    get=extend_schema(
        operation_id="integrations_list",
        summary="Integrations of the teams you may read (no tokens)",
        responses={200: IntegrationSerializer(many=True), 400: ERROR},
    ),
    post=extend_schema(
        operation_id="integrations_create",
        summary="Create an integration (staff); the token is in the answer, once",
        request=IntegrationInputSerializer,
        responses={201: IntegrationTokenSerializer, 400: ERROR, 403: ERROR},
    ),
)
class IntegrationListView(CollectionView):
    serializer_class = IntegrationSerializer
    filterset_class = IntegrationFilter
    pagination_class = None  # a handful per team

    input_serializer = IntegrationInputSerializer

    def create(self, request: Request, data: dict[str, Any]) -> Any:
        team = team_named(request.user, data.pop("team"))
        made = integration_create(team=team, **data)
        return _with_token(made.integration, made.token)

    def get_queryset(self) -> QuerySet[Integration]:
        return _integrations(self.request)


@extend_schema_view(
    get=extend_schema(
        operation_id="integrations_retrieve",
        summary="An integration, by slug or id (no token)",
        responses={200: IntegrationSerializer, 404: ERROR},
    ),
    put=extend_schema(
        operation_id="integrations_update",
        summary="Replace an integration's settings (staff); the token stays",
        description="Idempotent: the same body twice changes nothing the second "
        "time. `team` may be repeated but cannot change.",
        request=IntegrationInputSerializer,
        responses={200: IntegrationSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    ),
    patch=extend_schema(
        operation_id="integrations_partial_update",
        summary="Change some of an integration's settings (staff)",
        request=IntegrationInputSerializer(partial=True),
        responses={200: IntegrationSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    ),
    delete=extend_schema(
        operation_id="integrations_delete",
        summary="Delete an integration that never opened an incident (staff)",
        description="One with incidents keeps their history: 409; disable it "
        "(`enabled: false`) instead.",
        responses={204: None, 403: ERROR, 404: ERROR, 409: ERROR},
    ),
)
class IntegrationDetailView(ObjectView):
    input_serializer = IntegrationInputSerializer

    def find(self, request: Request, **kwargs: Any) -> Integration:
        return by_key_or_404(_integrations(request), kwargs["key"])

    def show(self, request: Request, integration: Integration) -> dict:
        return IntegrationSerializer(integration).data

    def write(
        self, request: Request, integration: Integration, data: dict, *, partial: bool
    ) -> Integration:
        named = data.pop("team", integration.team.slug)
        if named != integration.team.slug:
            raise serializers.ValidationError(
                {"team": ["an integration cannot move to another team"]}
            )
        integration_update(integration=integration, **data)
        return integration

    def remove(self, request: Request, integration: Integration) -> None:
        integration_delete(integration=integration)


class IntegrationRotateView(APIView):
    @extend_schema(
        operation_id="integrations_rotate",
        summary="Replace the token (staff); the old one stops working at once",
        request=None,
        responses={200: IntegrationTokenSerializer, 403: ERROR, 404: ERROR},
    )
    def post(self, request: Request, key: str) -> Response:
        integration = by_key_or_404(_integrations(request), key)
        require_staff_config(request)
        token = integration_set_token(integration=integration)
        return Response(_with_token(integration, token))
