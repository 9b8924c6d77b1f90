"""SLOs and the deploy gate in the API.

* ``GET /api/v1/services/<slug>/deploy-gate``: may the service ship now?  Answered
  from the stored evaluation (``alerts.slos.gate``); ``?enforce=true`` answers 409
  when the deploy would be refused, so ``curl --fail`` stops a pipeline.  A token
  with the ``deploy-gate`` scope may call this and nothing else.
* ``POST /api/v1/services/<slug>/deploys/``: record a deploy; refused (409) when
  the gate says no.  Staff may break glass with a reason.
* ``GET /api/v1/slos/``: the SLOs of the teams the caller reads, each with its
  latest ``budget_remaining``.
* ``GET /api/v1/slos/rules.yaml``: their burn-rate alerts as a Prometheus rules
  file (``alerts.slos.rules``).

Access as for incidents: another team's service is a 404; recording a deploy is a
write (a read-only token: 403).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import yaml
from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.models import SLO, Deploy, Service
from alerts.slos.budget import DECISIONS
from alerts.slos.evaluate import slos_with_latest
from alerts.slos.gate import DeployRefused, Gate, deploy_gate_for, deploy_record
from alerts.slos.rules import slo_rules_yaml
from scheduling.access import incident_can_act, scoped_to_teams, user_is_staff
from scheduling.access.permissions import require, scoped_or_404
from scheduling.access.views import Cursor, service_errors
from scheduling.models import ApiToken


class GateOnCallSerializer(serializers.Serializer):
    primary = serializers.CharField(
        allow_null=True, help_text="username of who would be paged now"
    )
    in_sleep_hours = serializers.BooleanField(
        allow_null=True, help_text="whether it is night for them (insights' hours)"
    )


class DeployGateSerializer(serializers.Serializer):
    service = serializers.CharField(source="service.slug")
    decision = serializers.ChoiceField(choices=DECISIONS)
    deploy_allowed = serializers.BooleanField(
        help_text="false on freeze, and on limited once today's deploys are used"
    )
    budget_remaining = serializers.FloatField(
        allow_null=True,
        help_text="fraction of the error budget left (negative when overspent)",
    )
    burn_1h = serializers.FloatField(allow_null=True)
    burn_6h = serializers.FloatField(allow_null=True)
    open_incidents = serializers.IntegerField()
    oncall = GateOnCallSerializer()
    slo = serializers.CharField(allow_null=True, help_text="the SLO that decided")
    reason = serializers.CharField()
    next_allowed_at = serializers.DateTimeField(allow_null=True)
    evaluated_at = serializers.DateTimeField(allow_null=True)
    stale = serializers.BooleanField()
    warning = serializers.CharField(allow_blank=True)
    deploys_today = serializers.IntegerField()


class DeployRefusedSerializer(DeployGateSerializer):
    error = serializers.CharField()


class DeployGateQuerySerializer(serializers.Serializer):
    enforce = serializers.BooleanField(
        required=False,
        default=False,
        help_text="answer 409 when a deploy would be refused now (for curl --fail)",
    )


class DeployInputSerializer(serializers.Serializer):
    ref = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )
    break_glass = serializers.BooleanField(
        required=False, default=False, help_text="staff only: deploy past the gate"
    )
    reason = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, default=""
    )


class DeploySerializer(serializers.ModelSerializer):
    service = serializers.CharField(source="service.slug", read_only=True)
    by = serializers.CharField(source="by.username", read_only=True, allow_null=True)

    class Meta:
        model = Deploy
        fields = ["id", "service", "at", "ref", "by", "decision", "break_glass"]
        read_only_fields = fields


def _instant(value: dt.datetime | None) -> str | None:
    """As DRF's DateTimeField renders an aware instant (ISO 8601, Z for UTC)."""
    if value is None:
        return None
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def gate_body(gate: Gate) -> dict[str, Any]:
    """:class:`DeployGateSerializer`'s output, built directly: the serializer
    costs more than the rest of an answer from stored facts (it copies its
    fields per call).  ``tests/alerts/api/test_deploy_gate_body.py`` holds the
    two equal; the serializer stays the schema's description."""
    return {
        "service": gate.service.slug,
        "decision": gate.decision,
        "deploy_allowed": gate.deploy_allowed,
        "budget_remaining": gate.budget_remaining,
        "burn_1h": gate.burn_1h,
        "burn_6h": gate.burn_6h,
        "open_incidents": gate.open_incidents,
        "oncall": {
            "primary": gate.oncall.primary,
            "in_sleep_hours": gate.oncall.in_sleep_hours,
        },
        "slo": gate.slo,
        "reason": gate.reason,
        "next_allowed_at": _instant(gate.next_allowed_at),
        "evaluated_at": _instant(gate.evaluated_at),
        "stale": gate.stale,
        "warning": gate.warning,
        "deploys_today": gate.deploys_today,
    }


def _refusal(gate: Gate) -> Response:
    body = gate_body(gate)
    return Response(
        {"error": f"deploy refused: {gate.reason}", **body},
        status=status.HTTP_409_CONFLICT,
    )


def _service(request: Request, slug: str) -> Service:
    return scoped_or_404(request, Service.objects.select_related("team"), slug=slug)


class ServiceDeployGate(APIView):
    read_scopes = (ApiToken.DEPLOY_GATE,)

    @extend_schema(
        operation_id="service_deploy_gate",
        summary="May this service deploy now? (from the stored SLO evaluation)",
        parameters=[DeployGateQuerySerializer],
        responses={200: DeployGateSerializer, 409: DeployRefusedSerializer},
        examples=[
            OpenApiExample(
                "limited",
                response_only=True,
                status_codes=["200"],
                value={
                    "service": "payments-api",
                    "decision": "limited",
                    "deploy_allowed": True,
                    "budget_remaining": 0.37,
                    "burn_1h": 0.0,
                    "burn_6h": 2.5,
                    "open_incidents": 0,
                    "oncall": {"primary": "alice", "in_sleep_hours": False},
                    "slo": "availability",
                    "reason": "SLO 'availability': 37.0% of the error budget left "
                    "(limited); 1 of 1 deploy(s) left today",
                    "next_allowed_at": None,
                    "evaluated_at": "2026-03-20T09:00:00Z",
                    "stale": False,
                    "warning": "",
                    "deploys_today": 0,
                },
            )
        ],
    )
    def get(self, request: Request, slug: str) -> Response:
        query = DeployGateQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        # Scoped to the caller's teams in the gate's one statement: another
        # team's service is a 404, as everywhere.
        gate = deploy_gate_for(slug=slug, user=request.user)  # type: ignore[arg-type]
        if gate is None:
            raise Http404("not found")
        if query.validated_data["enforce"] and not gate.deploy_allowed:
            return _refusal(gate)
        return Response(gate_body(gate))


class ServiceDeploys(APIView):
    @extend_schema(
        operation_id="service_deploys_create",
        summary="Record a deploy (refused with 409 when the gate says no)",
        request=DeployInputSerializer,
        responses={201: DeploySerializer, 409: DeployRefusedSerializer},
    )
    def post(self, request: Request, slug: str) -> Response:
        service = _service(request, slug)
        require(request, incident_can_act, service)
        body = DeployInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        user = request.user
        if data["break_glass"] and not user_is_staff(request.user):
            raise PermissionDenied("only staff may break glass")
        try:
            with service_errors():
                deploy = deploy_record(
                    service=service,
                    by=user if isinstance(user, AbstractBaseUser) else None,
                    ref=data["ref"],
                    break_glass=data["break_glass"],
                    reason=data["reason"],
                )
        except DeployRefused as refused:
            return _refusal(refused.gate)
        return Response(DeploySerializer(deploy).data, status=status.HTTP_201_CREATED)


class SLOSerializer(serializers.ModelSerializer):
    service = serializers.CharField(source="service.slug", read_only=True)
    team = serializers.CharField(source="service.team.slug", read_only=True)
    budget_remaining = serializers.FloatField(
        source="latest_budget_remaining",
        read_only=True,
        allow_null=True,
        help_text="fraction of the error budget left at the latest evaluation",
    )
    burn_1h = serializers.FloatField(
        source="latest_burn_1h", read_only=True, allow_null=True
    )
    burn_6h = serializers.FloatField(
        source="latest_burn_6h", read_only=True, allow_null=True
    )
    decision = serializers.CharField(
        source="latest_decision", read_only=True, allow_null=True
    )
    evaluated_at = serializers.DateTimeField(
        source="latest_evaluated_at", read_only=True, allow_null=True
    )
    stale = serializers.BooleanField(
        source="latest_stale", read_only=True, allow_null=True
    )

    class Meta:
        model = SLO
        fields = [
            "id",
            "service",
            "team",
            "name",
            "objective",
            "window",
            "source",
            "budget_remaining",
            "burn_1h",
            "burn_6h",
            "decision",
            "evaluated_at",
            "stale",
        ]
        read_only_fields = fields


class SLOCursor(Cursor):
    ordering = "id"


class SLOList(generics.ListAPIView):
    serializer_class = SLOSerializer
    pagination_class = SLOCursor

    @extend_schema(
        operation_id="slos_list",
        summary="SLOs of the teams you may read, with their budget left",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[SLO]:
        return scoped_to_teams(
            slos_with_latest(),
            user=self.request.user,
            field="service__team",
        )


# The rules file's shape, as Prometheus reads it.
RULES_FILE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "groups": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "rules": {"type": "array", "items": {"type": "object"}},
                },
                "required": ["name", "rules"],
            },
        }
    },
    "required": ["groups"],
}


class YAMLRenderer(BaseRenderer):
    """Errors as YAML for a client that accepts only YAML."""

    media_type = "application/yaml"
    format = "yaml"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode()


class SLORules(APIView):
    # JSON first: errors answer JSON unless the client asks for YAML only.
    renderer_classes = [JSONRenderer, YAMLRenderer]

    @extend_schema(
        operation_id="slos_rules",
        summary="The burn-rate alerts of your ratio SLOs as a Prometheus rules file",
        responses={(200, "application/yaml"): RULES_FILE},
    )
    def get(self, request: Request) -> HttpResponse:
        slos = scoped_to_teams(
            SLO.objects.select_related("service").order_by("pk"),
            user=request.user,
            field="service__team",
        )
        # The file as it is, whatever the client accepts (renderers are for errors).
        return HttpResponse(
            slo_rules_yaml(slos), content_type="application/yaml; charset=utf-8"
        )
