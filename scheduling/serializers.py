from __future__ import annotations

import datetime as dt

from django.utils import timezone
from rest_framework import serializers

from scheduling.access import members_visible
from scheduling.access.api_fields import InstantField
from scheduling.models import ApiToken, Member, Override, Rotation, Team
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


class ScheduleQuerySerializer(serializers.Serializer):
    # "from"/"to" like the report endpoints; "from" is a Python keyword.
    vars()["from"] = InstantField(
        required=False, help_text="ISO 8601 with offset; default now."
    )
    to = InstantField(
        required=False, help_text="ISO 8601 with offset; default from + 7 days."
    )

    MAX_SPAN = dt.timedelta(days=92)

    def validate(self, attrs: dict) -> dict:
        start = attrs.get("from") or timezone.now()
        end = attrs.get("to") or start + dt.timedelta(days=7)
        if end <= start:
            raise serializers.ValidationError({"to": ["must be after from"]})
        if end - start > self.MAX_SPAN:
            raise serializers.ValidationError(
                {"to": ["at most 92 days after from; page through longer ranges"]}
            )
        return {"from": start, "to": end}


class SegmentSerializer(serializers.Serializer):
    start = serializers.DateTimeField(source="starts_at")
    end = serializers.DateTimeField(source="ends_at")
    primary = OnCallMemberSerializer(allow_null=True)
    secondary = OnCallMemberSerializer(allow_null=True)
    override = serializers.BooleanField()
    rotation = serializers.CharField(allow_null=True)


class ScheduleSerializer(serializers.Serializer):
    team = serializers.SlugField()
    vars()["from"] = serializers.DateTimeField()
    to = serializers.DateTimeField()
    segments = SegmentSerializer(many=True)


class SuggestionSerializer(serializers.Serializer):
    member = OnCallMemberSerializer()
    covered_hours_90d = serializers.FloatField(
        source="covered_hours",
        help_text="Hours this member held a role of the team in the last 90 days.",
    )


class ConflictSerializer(serializers.Serializer):
    member = OnCallMemberSerializer()
    role = serializers.CharField()
    rotation = serializers.CharField(source="rotation.name")
    rotation_id = serializers.IntegerField(source="rotation.pk")
    start = serializers.DateTimeField(source="starts_at")
    end = serializers.DateTimeField(source="ends_at")
    kind = serializers.ChoiceField(
        choices=["unavailable", "double_booked"],
        help_text=(
            "unavailable: the member's time off; double_booked: the member is "
            "on call in another of their teams at the same time."
        ),
    )
    description = serializers.CharField(
        source="label", help_text="What the conflict is, in words."
    )
    reasons = serializers.ListField(
        child=serializers.CharField(),
        help_text=(
            "The busy events' summaries; for a double booking, the other team and role."
        ),
    )
    suggestions = SuggestionSerializer(
        many=True,
        help_text=(
            "Free members of the rotation (no time off, on call in no team then), "
            "fewest hours first."
        ),
    )


class ConflictsSerializer(serializers.Serializer):
    team = serializers.SlugField()
    vars()["from"] = serializers.DateTimeField()
    to = serializers.DateTimeField()
    conflicts = ConflictSerializer(many=True)


class OverrideSerializer(serializers.ModelSerializer):
    rotation = serializers.CharField(source="rotation.name")
    member = serializers.CharField(source="member.username")
    start = serializers.DateTimeField(source="starts_at")
    end = serializers.DateTimeField(source="ends_at")
    created_by = serializers.CharField(
        source="created_by.get_username", allow_null=True, default=None
    )

    class Meta:
        model = Override
        fields = [
            "id",
            "rotation",
            "role",
            "member",
            "start",
            "end",
            "reason",
            "swap_id",
            "created_by",
            "created_at",
        ]


class OverrideCreateSerializer(serializers.Serializer):
    rotation = serializers.CharField(help_text="the rotation's name within the team")
    role = serializers.ChoiceField(choices=["primary", "secondary"])
    member = serializers.CharField(help_text="username of who covers")
    start = InstantField()
    end = InstantField()
    reason = serializers.CharField(max_length=300, required=False, default="")

    def validate(self, attrs: dict) -> dict:
        team: Team = self.context["team"]
        rotation = Rotation.objects.filter(team=team, name=attrs["rotation"]).first()
        if rotation is None:
            names = ", ".join(team.rotations.values_list("name", flat=True)) or "none"
            raise serializers.ValidationError(
                {
                    "rotation": [
                        f"no rotation {attrs['rotation']!r} (rotations: {names})"
                    ]
                }
            )
        # Only members the caller may see: a username elsewhere is not revealed.
        member = (
            members_visible(self.context["user"])
            .select_related("user")
            .filter(user__username=attrs["member"])
            .first()
        )
        if member is None:
            raise serializers.ValidationError(
                {"member": [f"no member with username {attrs['member']!r}"]}
            )
        return {**attrs, "rotation": rotation, "member": member}


class ApiTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, help_text="what the token is for")
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=list(ApiToken.SCOPES)),
        help_text='["read"], ["read", "write"], or ["deploy-gate"] (only the '
        "deploy gate's GET, for CI)",
    )
    expires_at = InstantField(
        required=False, allow_null=True, help_text="ISO 8601 with offset; optional."
    )
    user = serializers.CharField(
        required=False,
        help_text="Staff only: the username the token acts as (a service token).",
    )


class ApiTokenSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.get_username", read_only=True)
    scopes = serializers.ListField(child=serializers.CharField(), read_only=True)
    created_by = serializers.CharField(
        source="created_by.get_username", allow_null=True, default=None
    )

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "user",
            "scopes",
            "token_hint",
            "expires_at",
            "last_used_at",
            "created_at",
            "created_by",
        ]
        read_only_fields = fields


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.CharField(
        read_only=True,
        help_text="The secret, shown this once; send it as Authorization: Bearer.",
    )

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields
