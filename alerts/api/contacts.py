"""``/api/v1/members/<username or id>/contact-methods/`` and
``/api/v1/contact-methods/<id>/``: the numbers paging tries, in order.

Whoever may read a member reads their numbers (a teammate's phone is what
who-is-on-call shows anyway); the member and staff change them
(``scheduling.access.member_can_manage``; a teammate gets a 403).  Writes go
through ``alerts.paging.contacts``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.models import ContactMethod
from alerts.paging.contacts import (
    contact_method_create,
    contact_method_delete,
    contact_method_update,
)
from scheduling.access import member_can_manage, members_visible
from scheduling.access.permissions import by_key_or_404, require
from scheduling.access.views import ERROR, ObjectView, service_errors
from scheduling.models import Member


class ContactMethodSerializer(serializers.ModelSerializer):
    member = serializers.CharField(source="member.user.username", read_only=True)

    class Meta:
        model = ContactMethod
        fields = [
            "id",
            "member",
            "position",
            "label",
            "phone",
            "sms",
            "voice",
            "broken_at",
            "broken_reason",
        ]
        read_only_fields = fields


class ContactMethodInputSerializer(serializers.Serializer):
    phone = serializers.CharField(help_text="E.164, e.g. +254700000001")
    # DRF's metaclass moves declared fields out of the class, so this does not
    # replace Field.label at run time; the stubs cannot know that.
    label = serializers.CharField(  # type: ignore[assignment]
        allow_blank=True, default=""
    )
    sms = serializers.BooleanField(default=True)
    voice = serializers.BooleanField(default=True)
    position = serializers.IntegerField(
        min_value=0, max_value=32767, required=False, help_text="default: last"
    )


def _member(request: Request, key: str) -> Member:
    return by_key_or_404(
        members_visible(request.user).select_related("user"),
        key,
        slug_field="user__username",
    )


def _methods(request: Request) -> QuerySet[ContactMethod]:
    return ContactMethod.objects.filter(
        member__in=members_visible(request.user)
    ).select_related("member__user")


class MemberContactMethodsView(APIView):
    @extend_schema(
        operation_id="contact_methods_list",
        summary="A member's numbers, in the order paging tries them",
        responses={200: ContactMethodSerializer(many=True), 404: ERROR},
    )
    def get(self, request: Request, key: str) -> Response:
        member = _member(request, key)
        methods = _methods(request).filter(member=member)
        return Response(ContactMethodSerializer(methods, many=True).data)

    @extend_schema(
        operation_id="contact_methods_create",
        summary="Add a number (the member themself, or staff)",
        request=ContactMethodInputSerializer,
        responses={201: ContactMethodSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    )
    def post(self, request: Request, key: str) -> Response:
        member = _member(request, key)
        require(request, member_can_manage, member)
        payload = ContactMethodInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        with service_errors():
            method = contact_method_create(member=member, **payload.validated_data)
        return Response(ContactMethodSerializer(method).data, status=201)


@extend_schema_view(
    get=extend_schema(
        operation_id="contact_methods_retrieve",
        summary="A contact method",
        responses={200: ContactMethodSerializer, 404: ERROR},
    ),
    put=extend_schema(
        operation_id="contact_methods_update",
        summary="Replace a contact method (idempotent)",
        request=ContactMethodInputSerializer,
        responses={200: ContactMethodSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    ),
    patch=extend_schema(
        operation_id="contact_methods_partial_update",
        summary="Change some fields of a contact method",
        request=ContactMethodInputSerializer(partial=True),
        responses={200: ContactMethodSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    ),
    delete=extend_schema(
        operation_id="contact_methods_delete",
        summary="Remove a number",
        responses={204: None, 403: ERROR, 404: ERROR},
    ),
)
class ContactMethodDetailView(ObjectView):
    input_serializer = ContactMethodInputSerializer

    def find(self, request: Request, **kwargs: Any) -> ContactMethod:
        method = _methods(request).filter(pk=kwargs["pk"]).first()
        if method is None:
            raise Http404("no such contact method")
        return method

    def show(self, request: Request, method: ContactMethod) -> dict:
        return ContactMethodSerializer(method).data

    def may_write(self, request: Request, method: ContactMethod) -> None:
        require(request, member_can_manage, method.member)

    def write(
        self, request: Request, method: ContactMethod, data: dict, *, partial: bool
    ) -> ContactMethod:
        if not partial:
            data.setdefault("position", method.position)
        contact_method_update(method=method, **data)
        return method

    def remove(self, request: Request, method: ContactMethod) -> None:
        contact_method_delete(method=method)
