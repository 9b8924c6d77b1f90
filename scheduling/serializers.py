from __future__ import annotations

from rest_framework import serializers

from scheduling.models import Member
from scheduling.selectors import OnCallAt


class OnCallQuerySerializer(serializers.Serializer):
    at = serializers.CharField(
        required=False,
        help_text="ISO 8601 instant with a UTC offset or Z, e.g. "
        "2026-01-12T09:00:00+03:00. Default: now. A time without an offset is "
        "rejected (400) because it is ambiguous.",
    )


class OnCallMemberSerializer(serializers.Serializer):
    username = serializers.CharField()
    name = serializers.CharField()
    phone = serializers.CharField()

    def to_representation(self, instance: Member) -> dict[str, str]:
        return {
            "username": instance.username,
            "name": instance.display_name,
            "phone": instance.phone,
        }


class OnCallSerializer(serializers.Serializer):
    team = serializers.SlugField(source="team.slug")
    time_zone = serializers.CharField(source="team.time_zone")
    at = serializers.DateTimeField()
    primary = OnCallMemberSerializer(allow_null=True)
    secondary = OnCallMemberSerializer(allow_null=True)
    shift_start = serializers.DateTimeField(allow_null=True)
    shift_end = serializers.DateTimeField(allow_null=True)
    override = serializers.BooleanField()
    rotation = serializers.CharField(source="rotation.name", allow_null=True)

    def to_representation(self, instance: OnCallAt) -> dict:
        data = super().to_representation(instance)
        if instance.rotation is None:
            data["rotation"] = None
        return data
