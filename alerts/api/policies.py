"""``/api/v1/escalation-policies/`` and ``…/<slug or id>/``: who gets paged, how,
and how long each step waits; the steps are part of the policy's body.

Members read their teams' policies; staff create, replace, change and delete
them through ``alerts.escalation.policies`` -- the admin's path too.  Incidents
already escalating keep the copy they took when they opened.  Durations are
whole seconds.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers
from rest_framework.request import Request

from alerts.api.common import CallerFilterSet, seconds, team_named
from alerts.escalation.policies import (
    StepSpec,
    policy_create,
    policy_delete,
    policy_update,
)
from alerts.models import EscalationPolicy, EscalationStep
from scheduling.access import members_visible, scoped_to_teams
from scheduling.access.permissions import by_key_or_404
from scheduling.access.views import ERROR, CollectionView, ObjectView

# A month: longer waits are typing mistakes, and timedelta arithmetic stays small.
MAX_SECONDS = 31 * 24 * 3600


class StepSerializer(serializers.Serializer):
    delay_seconds = serializers.IntegerField(
        min_value=0,
        max_value=MAX_SECONDS,
        default=0,
        help_text="after the previous step (the first: after the incident opened)",
    )
    target = serializers.ChoiceField(
        choices=EscalationStep.Target.choices, default="primary"
    )
    member = serializers.CharField(
        allow_null=True,
        default=None,
        max_length=150,
        help_text="username; for target 'member' only",
    )
    channel = serializers.ChoiceField(
        choices=EscalationStep.Channel.choices, default="sms_then_voice"
    )
    voice_after_seconds = serializers.IntegerField(
        min_value=0,
        max_value=MAX_SECONDS,
        default=120,
        help_text="for sms_then_voice: how long after the SMS to call",
    )


class PolicySerializer(serializers.ModelSerializer):
    team = serializers.CharField(source="team.slug")
    repeat_after_seconds = serializers.SerializerMethodField()
    steps = serializers.SerializerMethodField()

    class Meta:
        model = EscalationPolicy
        fields = [
            "id",
            "slug",
            "team",
            "name",
            "description",
            "team_default",
            "repeat",
            "repeat_until_acknowledged",
            "repeat_after_seconds",
            "business_start",
            "business_end",
            "business_weekdays",
            "steps",
        ]
        read_only_fields = fields

    def get_repeat_after_seconds(self, policy: EscalationPolicy) -> int:
        return seconds(policy.repeat_after)

    @staticmethod
    def step(step: EscalationStep) -> dict[str, Any]:
        return {
            "delay_seconds": seconds(step.delay),
            "target": step.target,
            "member": step.member.username if step.member else None,
            "channel": step.channel,
            "voice_after_seconds": seconds(step.voice_after),
        }

    @extend_schema_field(StepSerializer(many=True))
    def get_steps(self, policy: EscalationPolicy) -> list[dict[str, Any]]:
        return [self.step(s) for s in policy.steps.all()]


class PolicyInputSerializer(serializers.Serializer):
    """A policy with its steps in order.  ``slug`` left out is made up on create
    and stays on ``PUT``; the other optional fields take their defaults."""

    team = serializers.SlugField(max_length=100, help_text="cannot change")
    slug = serializers.SlugField(max_length=100, required=False)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(allow_blank=True, default="")
    team_default = serializers.BooleanField(
        default=False, help_text="for the team's incidents whose route names none"
    )
    repeat = serializers.IntegerField(min_value=0, max_value=32767, default=0)
    repeat_until_acknowledged = serializers.BooleanField(default=False)
    repeat_after_seconds = serializers.IntegerField(
        min_value=0, max_value=MAX_SECONDS, default=300
    )
    business_start = serializers.TimeField(default=dt.time(9, 0))
    business_end = serializers.TimeField(default=dt.time(18, 0))
    business_weekdays = serializers.CharField(
        max_length=7, default="12345", help_text="ISO weekdays: 1 = Monday"
    )
    steps = StepSerializer(many=True, default=list)


POLICY_EXAMPLE = OpenApiExample(
    "primary, then secondary",
    value={
        "team": "payments",
        "name": "standard",
        "steps": [
            {"target": "primary", "channel": "sms_then_voice"},
            {"target": "secondary", "channel": "sms", "delay_seconds": 300},
        ],
    },
    request_only=True,
)


def _policies(request: Request) -> QuerySet[EscalationPolicy]:
    return scoped_to_teams(
        EscalationPolicy.objects.select_related("team").prefetch_related(
            Prefetch(
                "steps",
                queryset=EscalationStep.objects.select_related("member__user").order_by(
                    "position", "id"
                ),
            )
        ),
        user=request.user,
    ).order_by("team__slug", "name")


def _resolved(request: Request, data: dict) -> dict[str, Any]:
    fields = dict(data)
    fields.pop("team", None)
    if "repeat_after_seconds" in fields:
        fields["repeat_after"] = dt.timedelta(
            seconds=fields.pop("repeat_after_seconds")
        )
    if "steps" in fields:
        fields["steps"] = [_step(request, n, s) for n, s in enumerate(fields["steps"])]
    return fields


def _step(request: Request, number: int, step: dict) -> StepSpec:
    member = None
    if step["member"] is not None:
        member = (
            members_visible(request.user)
            .select_related("user")
            .filter(user__username=step["member"])
            .first()
        )
        if member is None:
            raise serializers.ValidationError(
                {"steps": [f"step {number + 1}: no member {step['member']!r}"]}
            )
    return StepSpec(
        target=step["target"],
        channel=step["channel"],
        delay=dt.timedelta(seconds=step["delay_seconds"]),
        member=member,
        voice_after=dt.timedelta(seconds=step["voice_after_seconds"]),
    )


class PolicyFilter(CallerFilterSet):
    team = django_filters.CharFilter(method="by_team", help_text="team slug")
    team_default = django_filters.BooleanFilter()

    class Meta:
        model = EscalationPolicy
        fields = ["team", "team_default"]

    def by_team(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(team=team_named(self.caller, value))


@extend_schema_view(
    get=extend_schema(
        operation_id="escalation_policies_list",
        summary="Escalation policies of the teams you may read",
        responses={200: PolicySerializer(many=True), 400: ERROR},
    ),
    post=extend_schema(
        operation_id="escalation_policies_create",
        summary="Create an escalation policy with its steps (staff)",
        request=PolicyInputSerializer,
        responses={201: PolicySerializer, 400: ERROR, 403: ERROR},
        examples=[POLICY_EXAMPLE],
    ),
)
class PolicyListView(CollectionView):
    serializer_class = PolicySerializer
    filterset_class = PolicyFilter
    pagination_class = None  # a handful per team

    input_serializer = PolicyInputSerializer

    def create(self, request: Request, data: dict[str, Any]) -> Any:
        team = team_named(request.user, data["team"])
        policy = policy_create(team=team, **_resolved(request, data))
        return PolicySerializer(_policies(request).get(pk=policy.pk)).data

    def get_queryset(self) -> QuerySet[EscalationPolicy]:
        return _policies(self.request)


@extend_schema_view(
    get=extend_schema(
        operation_id="escalation_policies_retrieve",
        summary="An escalation policy, by slug or id",
        responses={200: PolicySerializer, 404: ERROR},
    ),
    put=extend_schema(
        operation_id="escalation_policies_update",
        summary="Replace a policy and its steps (staff)",
        description="Idempotent: the same body twice changes nothing the second "
        "time. `team` may be repeated but cannot change. Incidents escalating "
        "keep the copy they took when they opened.",
        request=PolicyInputSerializer,
        responses={200: PolicySerializer, 400: ERROR, 403: ERROR, 404: ERROR},
        examples=[POLICY_EXAMPLE],
    ),
    patch=extend_schema(
        operation_id="escalation_policies_partial_update",
        summary="Change some of a policy's fields (staff)",
        request=PolicyInputSerializer(partial=True),
        responses={200: PolicySerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    ),
    delete=extend_schema(
        operation_id="escalation_policies_delete",
        summary="Delete a policy (staff); its routes fall back to the team default",
        responses={204: None, 403: ERROR, 404: ERROR},
    ),
)
class PolicyDetailView(ObjectView):
    input_serializer = PolicyInputSerializer

    def find(self, request: Request, **kwargs: Any) -> EscalationPolicy:
        return by_key_or_404(_policies(request), kwargs["key"])

    def show(self, request: Request, policy: EscalationPolicy) -> dict:
        return PolicySerializer(_policies(request).get(pk=policy.pk)).data

    def write(
        self, request: Request, policy: EscalationPolicy, data: dict, *, partial: bool
    ) -> EscalationPolicy:
        named = data.get("team", policy.team.slug)
        if named != policy.team.slug:
            raise serializers.ValidationError(
                {"team": ["a policy cannot move to another team"]}
            )
        policy_update(policy=policy, **_resolved(request, data))
        return policy

    def remove(self, request: Request, policy: EscalationPolicy) -> None:
        policy_delete(policy=policy)
