"""``/api/v1/teams/`` and ``/api/v1/teams/<slug or id>/`` (and ``members/``).

Everyone signed in lists the teams they may read; staff create and change
teams (``scheduling.teams``) and who is in them (``scheduling.members``).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from scheduling.access import teams_visible
from scheduling.access.permissions import by_key_or_404, require_staff_config
from scheduling.access.views import ObjectView
from scheduling.members import membership_add, membership_remove
from scheduling.models import Member, Team
from scheduling.resources.common import ERROR, service_errors
from scheduling.resources.serializers import (
    MemberSerializer,
    MembershipInputSerializer,
    TeamInputSerializer,
    TeamSerializer,
)
from scheduling.teams import team_create, team_put


def _teams(request: Request) -> QuerySet[Team]:
    return teams_visible(request.user).prefetch_related("members__user")


def _team(request: Request, key: str) -> Team:
    return by_key_or_404(_teams(request), key)


class TeamListView(APIView):
    @extend_schema(
        operation_id="teams_list",
        summary="The teams you may read (staff: all)",
        responses={200: TeamSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        return Response(TeamSerializer(_teams(request), many=True).data)

    @extend_schema(
        operation_id="teams_create",
        summary="Create a team (staff)",
        request=TeamInputSerializer,
        responses={201: TeamSerializer, 400: ERROR, 403: ERROR},
        examples=[
            OpenApiExample(
                "payments",
                value={
                    "slug": "payments",
                    "name": "Payments",
                    "time_zone": "Africa/Nairobi",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        require_staff_config(request)
        payload = TeamInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        with service_errors():
            team = team_create(**payload.validated_data)
        return Response(TeamSerializer(team).data, status=201)


@extend_schema_view(
    get=extend_schema(
        operation_id="teams_retrieve",
        summary="A team, by slug or id",
        responses={200: TeamSerializer, 404: ERROR},
    ),
    put=extend_schema(
        operation_id="teams_update",
        summary="Replace a team's slug, name and time zone (staff)",
        description=(
            "Idempotent: the same body twice changes nothing the second time. "
            "A new time zone regenerates the future shifts of the team's rotations "
            "(handoffs are local times); shifts under way stay."
        ),
        request=TeamInputSerializer,
        responses={200: TeamSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    ),
    patch=extend_schema(
        operation_id="teams_partial_update",
        summary="Change some of a team's fields (staff)",
        request=TeamInputSerializer(partial=True),
        responses={200: TeamSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    ),
)
class TeamDetailView(ObjectView):
    input_serializer = TeamInputSerializer
    http_method_names = ["get", "put", "patch", "head", "options"]

    def find(self, request: Request, **kwargs: Any) -> Team:
        return _team(request, kwargs["key"])

    def show(self, request: Request, team: Team) -> dict:
        return TeamSerializer(_team(request, team.slug)).data

    def write(self, request: Request, team: Team, data: dict, *, partial: bool) -> Team:
        values = {
            "slug": team.slug,
            "name": team.name,
            "time_zone": team.time_zone,
            **data,
        }
        return team_put(team=team, **values).team


class TeamMembersView(APIView):
    @extend_schema(
        operation_id="team_members_list",
        summary="A team's members",
        responses={200: MemberSerializer(many=True), 404: ERROR},
    )
    def get(self, request: Request, key: str) -> Response:
        team = _team(request, key)
        members = (
            Member.objects.filter(teams=team)
            .select_related("user")
            .prefetch_related("teams")
        )
        return Response(MemberSerializer(members, many=True).data)

    @extend_schema(
        operation_id="team_members_add",
        summary="Add a member to a team (staff)",
        description="Idempotent: adding someone already in the team answers 200.",
        request=MembershipInputSerializer,
        responses={
            200: MemberSerializer,
            201: MemberSerializer,
            400: ERROR,
            403: ERROR,
            404: ERROR,
        },
    )
    def post(self, request: Request, key: str) -> Response:
        team = _team(request, key)
        require_staff_config(request)
        payload = MembershipInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        username = payload.validated_data["member"]
        member = Member.objects.filter(user__username=username).first()
        if member is None:
            return _bad("member", f"no member with username {username!r}")
        added = membership_add(team=team, member=member)
        return Response(MemberSerializer(member).data, status=201 if added else 200)


class TeamMemberDetailView(APIView):
    @extend_schema(
        operation_id="team_members_remove",
        summary="Take a member out of a team (staff)",
        description="Refused (400) while they are on one of the team's rotations.",
        responses={204: None, 400: ERROR, 403: ERROR, 404: ERROR},
    )
    def delete(self, request: Request, key: str, username: str) -> Response:
        team = _team(request, key)
        member = by_key_or_404(
            Member.objects.filter(teams=team), username, slug_field="user__username"
        )
        require_staff_config(request)
        with service_errors():
            membership_remove(team=team, member=member)
        return Response(status=204)


def _bad(field: str, message: str) -> Response:
    return Response(
        {"error": "invalid request", "detail": {field: [message]}}, status=400
    )
