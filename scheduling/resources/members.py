"""``/api/v1/members/`` and ``/api/v1/members/<username or id>/``.

Everyone signed in reads themself and their teammates (a teammate's phone is what
who-is-on-call shows anyway); staff create members and change anything; a member
changes their own phone and time zone (``scheduling.access.member_can_change``).
Writes go through ``scheduling.members``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from scheduling.access import member_can_change, member_can_manage, members_visible
from scheduling.access.permissions import by_key_or_404, require_staff_config
from scheduling.access.views import ObjectView
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
        .prefetch_related("teams", "contact_methods")
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


@extend_schema_view(
    get=extend_schema(
        operation_id="members_retrieve",
        summary="A member, by username or id",
        responses={200: MemberSerializer, 404: ERROR},
    ),
    put=extend_schema(
        operation_id="members_update",
        summary="Replace a member's profile and teams (staff)",
        description="Idempotent: the same body twice changes nothing the second "
        "time. `username` may be repeated but cannot change.",
        request=MemberPutSerializer,
        responses={200: MemberSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    ),
    patch=extend_schema(
        operation_id="members_partial_update",
        summary="Change some fields of a member (staff; a member their own phone "
        "and time zone)",
        request=MemberPutSerializer(partial=True),
        responses={200: MemberSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    ),
)
class MemberDetailView(ObjectView):
    input_serializer = MemberPutSerializer
    http_method_names = ["get", "put", "patch", "head", "options"]

    def find(self, request: Request, **kwargs: Any) -> Member:
        return member_or_404(request, kwargs["key"])

    def show(self, request: Request, member: Member) -> dict:
        return MemberSerializer(member_or_404(request, member.user.get_username())).data

    def may_write(self, request: Request, member: Member) -> None:
        if not member_can_manage(request.user, member):
            raise PermissionDenied("you may see this member but not change them")

    def may_write_fields(self, request: Request, member: Member, fields: set) -> None:
        if not member_can_change(request.user, member, fields - {"username"}):
            raise PermissionDenied(
                "you may change your own phone and time zone; the rest is staff's"
            )

    def write(
        self, request: Request, member: Member, data: dict, *, partial: bool
    ) -> Member:
        username = data.pop("username", None)
        if username is not None and username != member.user.get_username():
            raise serializers.ValidationError(
                {"username": ["a member's username cannot change"]}
            )
        return member_update(member=member, **data).member
