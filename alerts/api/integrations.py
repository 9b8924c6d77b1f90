"""``/api/v1/integrations/``: Alertmanager integrations, their token shown once.

Members read their teams' integrations (never a token: only its first
characters); staff create them and rotate their tokens, through
``alerts.intake.integrations`` -- the same services as the admin.  The answer to
a create or a rotate is the one time the token is shown; only its hash is
stored.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.api.contacts import ERROR
from alerts.intake.integrations import (
    integration_create,
    integration_set_token,
    webhook_url,
)
from alerts.models import Integration
from scheduling.access import scoped_to_teams, teams_visible
from scheduling.access.permissions import require_staff_config, scoped_or_404
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


class IntegrationCreateSerializer(serializers.Serializer):
    team = serializers.SlugField()
    name = serializers.CharField()
    enabled = serializers.BooleanField(default=True)


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


class IntegrationListView(APIView):
    @extend_schema(
        operation_id="integrations_list",
        summary="Integrations of the teams you may read (no tokens)",
        responses={200: IntegrationSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        return Response(IntegrationSerializer(_integrations(request), many=True).data)

    @extend_schema(
        operation_id="integrations_create",
        summary="Create an integration (staff); the token is in the answer, once",
        request=IntegrationCreateSerializer,
        responses={201: IntegrationTokenSerializer, 400: ERROR, 403: ERROR},
    )
    def post(self, request: Request) -> Response:
        require_staff_config(request)
        payload = IntegrationCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        team = teams_visible(request.user).filter(slug=data["team"]).first()
        if team is None:
            raise serializers.ValidationError(
                {"team": [f"no team with slug {data['team']!r}"]}
            )
        try:
            made = integration_create(
                team=team, name=data["name"], enabled=data["enabled"]
            )
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        return Response(_with_token(made.integration, made.token), status=201)


class IntegrationDetailView(APIView):
    @extend_schema(
        operation_id="integrations_retrieve",
        summary="An integration (no token)",
        responses={200: IntegrationSerializer, 404: ERROR},
    )
    def get(self, request: Request, pk: int) -> Response:
        integration = scoped_or_404(request, _integrations(request), pk=pk)
        return Response(IntegrationSerializer(integration).data)


class IntegrationRotateView(APIView):
    @extend_schema(
        operation_id="integrations_rotate",
        summary="Replace the token (staff); the old one stops working at once",
        request=None,
        responses={200: IntegrationTokenSerializer, 403: ERROR, 404: ERROR},
    )
    def post(self, request: Request, pk: int) -> Response:
        integration = scoped_or_404(request, _integrations(request), pk=pk)
        require_staff_config(request)
        token = integration_set_token(integration=integration)
        return Response(_with_token(integration, token))
