from __future__ import annotations

from datetime import datetime

from rest_framework import serializers

from alerts.models import Incident, IncidentAlert, Page, TimelineEntry
from scheduling.access.representation import PlannedRepresentation
from scheduling.models import Team
from scheduling.timeparse import InstantError, parse_instant


class IncidentSerializer(PlannedRepresentation, serializers.ModelSerializer):
    number = serializers.IntegerField(source="pk", read_only=True)
    team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    integration = serializers.CharField(source="integration.name", read_only=True)
    acknowledged_by = serializers.CharField(
        source="acknowledged_by.username", default=None, read_only=True, allow_null=True
    )
    resolved_by = serializers.CharField(
        source="resolved_by.username", default=None, read_only=True, allow_null=True
    )
    alerts_total = serializers.IntegerField(
        read_only=True, default=None, allow_null=True
    )
    time_to_acknowledge = serializers.SerializerMethodField(
        help_text="Seconds from open to acknowledgement (null if never)."
    )
    time_to_resolve = serializers.SerializerMethodField(
        help_text="Seconds from open to resolution (null while open)."
    )
    escalation = serializers.SerializerMethodField()
    alerts_firing = serializers.IntegerField(
        read_only=True, default=None, allow_null=True
    )
    suppressed_by = serializers.IntegerField(
        source="suppressed_by_id",
        read_only=True,
        allow_null=True,
        help_text="The number of the incident holding this one back: a slower "
        "burn-rate tier (Sloth, Pyrra) of an SLO whose faster tier is open is "
        "recorded, not escalated, while that one is open; null otherwise.",
    )

    class Meta:
        model = Incident
        fields = [
            "id",
            "number",
            "title",
            "status",
            "urgency",
            "team",
            "integration",
            "source",
            "group_key",
            "group_labels",
            "common_labels",
            "common_annotations",
            "external_url",
            "routing",
            "in_maintenance",
            "suppressed_by",
            "truncated_alerts",
            "alerts_total",
            "alerts_firing",
            "notifications",
            "opened_at",
            "last_notified_at",
            "acknowledged_at",
            "acknowledged_by",
            "resolved_at",
            "resolved_by",
            "resolved_how",
            "time_to_acknowledge",
            "time_to_resolve",
            "escalation",
        ]
        read_only_fields = fields

    def get_time_to_acknowledge(self, incident: Incident) -> float | None:
        value = incident.time_to_acknowledge
        return None if value is None else value.total_seconds()

    def get_time_to_resolve(self, incident: Incident) -> float | None:
        value = incident.time_to_resolve
        return None if value is None else value.total_seconds()

    def get_escalation(self, incident: Incident) -> dict | None:
        escalation = getattr(incident, "escalation", None)
        if escalation is None:
            return None
        return {
            "policy": incident.escalation_policy_name
            if hasattr(incident, "escalation_policy_name")
            else escalation.snapshot.get("name"),
            "state": escalation.state,
            "next_step": escalation.next_step + 1,
            "next_round": escalation.next_round,
            "next_action_at": escalation.next_action_at,
        }


class PageSerializer(PlannedRepresentation, serializers.ModelSerializer):
    member = serializers.CharField(source="member.username", read_only=True)

    class Meta:
        model = Page
        fields = [
            "id",
            "member",
            "channel",
            "status",
            "cycle",
            "step",
            "repeat",
            "number",
            "attempts",
            "step_due_at",
            "due_at",
            "created_at",
            "sent_at",
            "delivered_at",
            "finished_at",
            "error",
        ]
        read_only_fields = fields


class IncidentAlertSerializer(serializers.ModelSerializer):
    fingerprint = serializers.CharField(source="alert.fingerprint")
    name = serializers.CharField(source="alert.name")
    labels = serializers.JSONField(source="alert.labels")
    annotations = serializers.JSONField(source="alert.annotations")
    current_status = serializers.CharField(source="alert.status")
    starts_at = serializers.DateTimeField(source="alert.starts_at")
    ends_at = serializers.DateTimeField(source="alert.ends_at")
    generator_url = serializers.CharField(source="alert.generator_url")

    class Meta:
        model = IncidentAlert
        fields = [
            "fingerprint",
            "name",
            "status",
            "current_status",
            "labels",
            "annotations",
            "starts_at",
            "ends_at",
            "generator_url",
            "added_at",
            "resolved_at",
        ]
        read_only_fields = fields


class TimelineEntrySerializer(PlannedRepresentation, serializers.ModelSerializer):
    actor = serializers.CharField(
        source="actor.username", default=None, allow_null=True
    )

    class Meta:
        model = TimelineEntry
        fields = ["at", "kind", "text", "actor"]
        read_only_fields = fields


class IncidentFilterSerializer(serializers.Serializer):
    team = serializers.SlugField(required=False)
    status = serializers.CharField(
        required=False,
        help_text="comma-separated: triggered, acknowledged, resolved, or open "
        "(= triggered,acknowledged)",
    )
    since = serializers.CharField(
        required=False,
        help_text="ISO 8601 with a UTC offset or Z (a time without one is refused: "
        "it is ambiguous); incidents active at some point since then",
    )

    def validate_since(self, value: str) -> datetime:
        try:
            return parse_instant(value)
        except InstantError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate_status(self, value: str) -> list[str]:
        statuses: list[str] = []
        for item in (part.strip() for part in value.split(",")):
            if item == "open":
                statuses += ["triggered", "acknowledged"]
            elif item in Incident.Status.values:
                statuses.append(item)
            elif item:
                raise serializers.ValidationError(
                    f"{item!r} is not a status; use triggered, acknowledged, "
                    "resolved or open"
                )
        return statuses


class IncidentActionSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000)
