"""Input and output shapes of the configuration resources.

Inputs parse (types, choices, slugs and usernames to objects); the rules --
a free slug, a known time zone, an E.164 phone, a roster that fits the scheme --
are the services' (``scheduling.teams``, ``members``, ``rotations``), so a
script, the admin and configuration-as-code meet the same ones.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from rest_framework import serializers

from scheduling import plan
from scheduling.models import NO_PHONE, Member, Rotation, Shift, Team

# --- teams -------------------------------------------------------------------


class TeamSerializer(serializers.ModelSerializer):
    members = serializers.SerializerMethodField(
        help_text="usernames of the team's members"
    )

    class Meta:
        model = Team
        fields = ["id", "slug", "name", "time_zone", "members"]
        read_only_fields = fields

    def get_members(self, team: Team) -> list[str]:
        return sorted(m.user.get_username() for m in team.members.all())


class TeamInputSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    time_zone = serializers.CharField(help_text="IANA time zone, e.g. Africa/Nairobi")


class MembershipInputSerializer(serializers.Serializer):
    member = serializers.CharField(help_text="username of the member to add")


# --- members -----------------------------------------------------------------


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")
    name = serializers.CharField(source="display_name")
    teams = serializers.SerializerMethodField(help_text="slugs of the member's teams")
    paging_warning = serializers.SerializerMethodField(
        help_text='why pages cannot reach this member ("no phone number": neither '
        'a phone nor a contact method, e.g. imported from Grafana OnCall), or ""'
    )

    class Meta:
        model = Member
        fields = [
            "id",
            "username",
            "name",
            "phone",
            "time_zone",
            "active",
            "teams",
            "feed_busy",
            "feed_alarm_minutes",
            "paging_warning",
        ]
        read_only_fields = fields

    def get_teams(self, member: Member) -> list[str]:
        return sorted(t.slug for t in member.teams.all())

    def get_paging_warning(self, member: Member) -> str:
        # The list prefetches contact methods: no query per member here.
        if member.phone or list(member.contact_methods.all()):
            return ""
        return NO_PHONE


class TeamSlugsField(serializers.ListField):
    """Team slugs, turned into the teams; an unknown slug is a 400 naming it."""

    child = serializers.CharField()

    def to_internal_value(self, data: Any) -> list[Team]:
        slugs = super().to_internal_value(data)
        teams = {t.slug: t for t in Team.objects.filter(slug__in=slugs)}
        unknown = [s for s in slugs if s not in teams]
        if unknown:
            raise serializers.ValidationError(
                f"no team with slug {', '.join(repr(s) for s in unknown)}"
            )
        return [teams[s] for s in dict.fromkeys(slugs)]


class MemberCreateSerializer(serializers.Serializer):
    username = serializers.CharField()
    name = serializers.CharField()
    phone = serializers.CharField(help_text="E.164, e.g. +254700000001")
    time_zone = serializers.CharField(default="UTC", help_text="IANA time zone")
    teams = TeamSlugsField(default=list, help_text="slugs of the member's teams")
    active = serializers.BooleanField(default=True)


class MemberPutSerializer(serializers.Serializer):
    """The whole profile.  ``username`` may be repeated (a file applied as is) but
    cannot change: it names the member."""

    username = serializers.CharField(required=False)
    name = serializers.CharField()
    phone = serializers.CharField()
    time_zone = serializers.CharField()
    teams = TeamSlugsField()
    active = serializers.BooleanField()
    feed_busy = serializers.BooleanField(
        required=False,
        help_text="Show on-call time as busy in the member's own iCal feed.",
    )
    feed_alarm_minutes = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=7 * 24 * 60,
        help_text="A reminder this many minutes before each shift in the member's "
        "own iCal feed; 0 for none.",
    )


# --- rotations ---------------------------------------------------------------


class UsernamesField(serializers.ListField):
    """Usernames in rotation order, turned into members.  Only members the
    caller may see are found (``context["members"]``, a queryset); anyone else is
    reported as unknown."""

    child = serializers.CharField()

    def to_internal_value(self, data: Any) -> list[Member]:
        names = super().to_internal_value(data)
        known = {
            m.user.get_username(): m
            for m in self.context["members"]
            .select_related("user")
            .filter(user__username__in=names)
        }
        unknown = [n for n in names if n not in known]
        if unknown:
            raise serializers.ValidationError(
                f"no member with username {', '.join(repr(n) for n in unknown)}"
            )
        return [known[n] for n in names]


class RotationInputSerializer(serializers.Serializer):
    """A rotation's definition.  Optional fields left out take the model's
    defaults on create and on ``PUT`` (the whole object), and stay as they are
    on ``PATCH``."""

    team = serializers.SlugField(help_text="the team's slug (cannot change)")
    slug = serializers.SlugField(
        max_length=100,
        required=False,
        help_text="default: the team's slug and the name; left out of a PUT, stays",
    )
    name = serializers.CharField(max_length=200)
    scheme = serializers.ChoiceField(choices=list(plan.SCHEMES), default=plan.PAIRED)
    participants = UsernamesField(help_text="usernames, in rotation order")
    shift_length = serializers.IntegerField(min_value=1, max_value=32767, default=1)
    shift_unit = serializers.ChoiceField(choices=list(plan.UNITS), default=plan.WEEKS)
    start_date = serializers.DateField(help_text="local date of the first handoff")
    # A time, not "09:00": DRF hands defaults to the service unparsed, and
    # rotation_update compares them with the stored time (a string never equals it,
    # so a PUT without handoff_time rewrote the rotation every time).
    handoff_time = serializers.TimeField(default=dt.time(9, 0), help_text="local time")
    handoff_weekday = serializers.IntegerField(
        min_value=0,
        max_value=6,
        allow_null=True,
        default=None,
        help_text="0 = Monday; weekly rotations only; null = the start date's",
    )
    time_zone = serializers.CharField(
        max_length=64, allow_blank=True, default="", help_text="blank = the team's"
    )
    layer = serializers.IntegerField(min_value=0, max_value=32767, default=1)
    restrict_weekdays = serializers.CharField(
        max_length=7, allow_blank=True, default="", help_text='e.g. "01234"'
    )
    restrict_start = serializers.TimeField(allow_null=True, default=None)
    restrict_end = serializers.TimeField(allow_null=True, default=None)
    active = serializers.BooleanField(default=True)


class RotationSerializer(serializers.ModelSerializer):
    team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    participants = serializers.SerializerMethodField(
        help_text="usernames, in rotation order"
    )

    class Meta:
        model = Rotation
        fields = [
            "id",
            "slug",
            "team",
            "name",
            "scheme",
            "participants",
            "shift_length",
            "shift_unit",
            "start_date",
            "handoff_time",
            "handoff_weekday",
            "time_zone",
            "layer",
            "restrict_weekdays",
            "restrict_start",
            "restrict_end",
            "active",
            "generated_until",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_participants(self, rotation: Rotation) -> list[str]:
        rows = sorted(
            rotation.rotationparticipant_set.all(), key=lambda p: (p.position, p.pk)
        )
        return [p.member.user.get_username() for p in rows]


class PlannedShiftSerializer(serializers.Serializer):
    slot = serializers.IntegerField()
    role = serializers.CharField()
    member = serializers.CharField(help_text="username")
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    unavailable = serializers.ListField(
        child=serializers.CharField(),
        help_text="Why the member is out of office during the shift (their "
        "out-of-office calendar's events); empty when free: a conflict otherwise.",
    )
    double_booked = serializers.ListField(
        child=serializers.CharField(),
        help_text='Where else the member is on call during the shift ("on call '
        'for Checkout as primary"): a double booking, the conflict kind '
        "double_booked; empty when not.",
    )


class RotationPreviewSerializer(serializers.Serializer):
    vars()["from"] = serializers.DateTimeField()
    to = serializers.DateTimeField()
    shifts = PlannedShiftSerializer(many=True)


# --- shifts ------------------------------------------------------------------


class ShiftSerializer(serializers.ModelSerializer):
    team = serializers.CharField(source="rotation.team.slug")
    rotation = serializers.IntegerField(source="rotation_id")
    rotation_name = serializers.CharField(source="rotation.name")
    member = serializers.CharField(source="member.user.username")
    start = serializers.DateTimeField(source="starts_at")
    end = serializers.DateTimeField(source="ends_at")

    class Meta:
        model = Shift
        fields = [
            "id",
            "team",
            "rotation",
            "rotation_name",
            "role",
            "member",
            "start",
            "end",
        ]
        read_only_fields = fields
