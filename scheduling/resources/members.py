"""``/api/v1/members/`` and ``/api/v1/members/<username or id>/``.

Everyone signed in reads themself and their teammates (a teammate's phone is what
who-is-on-call shows anyway); staff create members and change anything; a member
changes their own phone and time zone (``scheduling.access.member_can_change``).
Writes go through ``scheduling.members``.
"""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from scheduling.access import member_can_change, members_visible
from scheduling.access.permissions import by_key_or_404, require_staff_config
from scheduling.members import member_create, member_update
from scheduling.models import Member
from scheduling.resources.common import ERROR, service_errors
from scheduling.resources.serializers import (
    MemberCreateSerializer,
    MemberPutSerializer,
    MemberSerializer,
)


def _members(request: Request) -> QuerySet[Member]:
    return (
        members_visible(request.user)
        .select_related("user")
        .prefetch_related("teams")
        .order_by("user__username")
    )


def member_or_404(request: Request, key: str) -> Member:
    return by_key_or_404(_members(request), key, slug_field="user__username")


class MemberListView(APIView):
    @extend_schema(
        operation_id="members_list",
        summary="The members you may read: yourself and your teammates (staff: all)",
        responses={200: MemberSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        return Response(MemberSerializer(_members(request), many=True).data)

    @extend_schema(
        operation_id="members_create",
        summary="Create a user with their member profile (staff)",
        request=MemberCreateSerializer,
        responses={201: MemberSerializer, 400: ERROR, 403: ERROR},
        examples=[
            OpenApiExample(
                "alice",
                value={
                    "username": "alice",
                    "name": "Alice Mwangi",
                    "phone": "+254700000001",
                    "time_zone": "Africa/Nairobi",
                    "teams": ["payments"],
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        require_staff_config(request)
        payload = MemberCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        with service_errors():
            member = member_create(**payload.validated_data)
        fresh = member_or_404(request, member.user.get_username())
        return Response(MemberSerializer(fresh).data, status=201)


class MemberDetailView(APIView):
    @extend_schema(
        operation_id="members_retrieve",
        summary="A member, by username or id",
        responses={200: MemberSerializer, 404: ERROR},
    )
    def get(self, request: Request, key: str) -> Response:
        return Response(MemberSerializer(member_or_404(request, key)).data)

    @extend_schema(
        operation_id="members_update",
        summary="Replace a member's profile and teams (staff)",
        description="Idempotent: the same body twice changes nothing the second "
        "time. `username` may be repeated but cannot change.",
        request=MemberPutSerializer,
        responses={200: MemberSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    )
    def put(self, request: Request, key: str) -> Response:
        return self._write(request, key, partial=False)

    @extend_schema(
        operation_id="members_partial_update",
        summary="Change some fields of a member (staff; a member their own phone "
        "and time zone)",
        request=MemberPutSerializer(partial=True),
        responses={200: MemberSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    )
    def patch(self, request: Request, key: str) -> Response:
        return self._write(request, key, partial=True)

    def _write(self, request: Request, key: str, *, partial: bool) -> Response:
        member = member_or_404(request, key)
        payload = MemberPutSerializer(data=request.data, partial=partial)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        username = data.pop("username", None)
        fields = set(data) if partial else {*data, "name", "active", "teams"}
        if not member_can_change(request.user, member, fields):
            raise PermissionDenied(
                "you may change your own phone and time zone; the rest is staff's"
            )
        if username is not None and username != member.user.get_username():
            return Response(
                {
                    "error": "invalid request",
                    "detail": {"username": ["a member's username cannot change"]},
                },
                status=400,
            )
        with service_errors():
            member_update(member=member, **data)
        fresh = member_or_404(request, member.user.get_username())
        return Response(MemberSerializer(fresh).data)
