from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from scheduling.access import team_can_edit_schedule
from scheduling.access.permissions import require, scoped_or_404, visible_team_or_404
from scheduling.access.views import ERROR
from scheduling.conflicts import team_conflicts
from scheduling.effective import Holder
from scheduling.models import Member, Override
from scheduling.overrides import override_create, override_delete
from scheduling.selectors import oncall_at, team_schedule
from scheduling.serializers import (
    ConflictsSerializer,
    OnCallQuerySerializer,
    OnCallSerializer,
    OverrideCreateSerializer,
    OverrideSerializer,
    ScheduleQuerySerializer,
    ScheduleSerializer,
)
from scheduling.timeparse import InstantError, parse_instant


class TeamOnCallView(APIView):
    @extend_schema(
        operation_id="team_oncall",
        summary="Who is on call for a team",
        description=(
            "Primary and secondary at `at` (default now), with overrides and layers "
            "applied, and the bounds of the primary's current stint (UTC). "
            "`primary`/`secondary` are null where nobody holds the role."
        ),
        parameters=[
            OpenApiParameter(
                "at",
                str,
                OpenApiParameter.QUERY,
                required=False,
                description="ISO 8601 with offset or Z; naive times are rejected.",
                examples=[OpenApiExample("Nairobi", value="2026-01-12T09:00:00+03:00")],
            )
        ],
        responses={200: OnCallSerializer, 400: ERROR, 404: ERROR},
        examples=[
            OpenApiExample(
                "alice primary, bob secondary",
                value={
                    "team": "payments",
                    "time_zone": "Africa/Nairobi",
                    "at": "2026-01-14T06:00:00Z",
                    "primary": {
                        "username": "alice",
                        "name": "Alice",
                        "phone": "+254700000001",
                    },
                    "secondary": {
                        "username": "bob",
                        "name": "Bob",
                        "phone": "+254700000002",
                    },
                    "shift_start": "2026-01-12T06:00:00Z",
                    "shift_end": "2026-01-19T06:00:00Z",
                    "override": False,
                    "rotation": "weekly",
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request, slug: str) -> Response:
        query = OnCallQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        raw = query.validated_data.get("at")
        if raw is None:
            at = timezone.now()
        else:
            try:
                at = parse_instant(raw)
            except InstantError as exc:
                raise serializers.ValidationError({"at": [str(exc)]}) from None
        team = visible_team_or_404(request, slug)
        return Response(OnCallSerializer(oncall_at(team=team, at=at)).data)


class TeamScheduleView(APIView):
    @extend_schema(
        operation_id="team_schedule",
        summary="A team's effective schedule over a range",
        description=(
            "Consecutive segments of [from, to) with who is primary and secondary "
            "(layers and overrides applied); stretches nobody covers are left out. "
            "At most 92 days per request."
        ),
        parameters=[ScheduleQuerySerializer],
        responses={200: ScheduleSerializer, 400: ERROR, 404: ERROR},
    )
    def get(self, request: Request, slug: str) -> Response:
        query = ScheduleQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        team = visible_team_or_404(request, slug)
        start, end = query.validated_data["from"], query.validated_data["to"]
        schedule = team_schedule(team=team, start=start, end=end)
        names = {r.pk: r.name for r in schedule.rotations}

        def member(holder: Holder | None) -> Member | None:
            return None if holder is None else schedule.members[holder.member_id]

        segments = [
            {
                "starts_at": seg.starts_at,
                "ends_at": seg.ends_at,
                "primary": member(seg.resolution.primary),
                "secondary": member(seg.resolution.secondary),
                "override": seg.resolution.override,
                "rotation": names.get(seg.resolution.primary.rotation_id)
                if seg.resolution.primary
                else None,
            }
            for seg in schedule.effective
        ]
        body = {"team": team.slug, "from": start, "to": end, "segments": segments}
        return Response(ScheduleSerializer(body).data)


class TeamConflictsView(APIView):
    @extend_schema(
        operation_id="team_conflicts",
        summary="Effective on-call time that overlaps the holder's time off",
        description=(
            "Each stretch of [from, to) where the member effectively on call "
            "(overrides and layers applied) is unavailable per their out-of-office "
            "calendar, with suggested covers: members of the rotation who hold no "
            "role of the team and are free for the whole stretch, fewest covered "
            "hours in the last 90 days first. At most 92 days per request."
        ),
        parameters=[ScheduleQuerySerializer],
        responses={200: ConflictsSerializer, 400: ERROR, 404: ERROR},
    )
    def get(self, request: Request, slug: str) -> Response:
        query = ScheduleQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        team = visible_team_or_404(request, slug)
        start, end = query.validated_data["from"], query.validated_data["to"]
        conflicts = team_conflicts(team=team, start=start, end=end, now=timezone.now())
        body = {"team": team.slug, "from": start, "to": end, "conflicts": conflicts}
        return Response(ConflictsSerializer(body).data)


class TeamOverridesView(APIView):
    @extend_schema(
        operation_id="team_overrides_list",
        summary="Overrides of a team's rotations overlapping a range",
        parameters=[ScheduleQuerySerializer],
        responses={200: OverrideSerializer(many=True), 400: ERROR, 404: ERROR},
    )
    def get(self, request: Request, slug: str) -> Response:
        query = ScheduleQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        team = visible_team_or_404(request, slug)
        overrides = (
            Override.objects.filter(
                rotation__team=team,
                ends_at__gt=query.validated_data["from"],
                starts_at__lt=query.validated_data["to"],
            )
            .select_related("rotation", "member__user", "created_by")
            .order_by("starts_at", "pk")
        )
        return Response(OverrideSerializer(overrides, many=True).data)

    @extend_schema(
        operation_id="team_overrides_create",
        summary="Put someone else in a role for an interval",
        description=(
            "Validated like the admin: times with offsets, end after start, a role "
            "the rotation has, shifts to override in the interval, and the member "
            "never holding the other role meanwhile. Staff, or a member of the team."
        ),
        request=OverrideCreateSerializer,
        responses={201: OverrideSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
        examples=[
            OpenApiExample(
                "charlie covers Wednesday to Friday",
                value={
                    "rotation": "weekly",
                    "role": "primary",
                    "member": "charlie",
                    "start": "2026-01-14T09:00:00+03:00",
                    "end": "2026-01-16T09:00:00+03:00",
                    "reason": "alice at a wedding",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Request, slug: str) -> Response:
        team = visible_team_or_404(request, slug)
        require(request, team_can_edit_schedule, team)
        payload = OverrideCreateSerializer(
            data=request.data, context={"team": team, "user": request.user}
        )
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        try:
            override = override_create(
                rotation=data["rotation"],
                role=data["role"],
                member=data["member"],
                starts_at=data["start"],
                ends_at=data["end"],
                reason=data["reason"],
                created_by=request.user,
            )
        except DjangoValidationError as exc:
            raise serializers.ValidationError(_messages(exc)) from None
        return Response(OverrideSerializer(override).data, status=201)


class OverrideDetailView(APIView):
    @extend_schema(
        operation_id="override_delete",
        summary="Delete an override (and the other half of its swap)",
        responses={204: None, 403: ERROR, 404: ERROR},
    )
    def delete(self, request: Request, pk: int) -> Response:
        override = scoped_or_404(
            request,
            Override.objects.select_related("rotation__team"),
            field="rotation__team",
            pk=pk,
        )
        require(request, team_can_edit_schedule, override.rotation.team)
        override_delete(override=override)
        return Response(status=204)


_API_NAMES = {"starts_at": "start", "ends_at": "end"}


def _messages(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {
            _API_NAMES.get(name, name): [m for e in errs for m in e.messages]
            for name, errs in exc.error_dict.items()
        }
    return {"non_field_errors": exc.messages}
