"""The API token endpoints: ``/api/v1/tokens/`` (list, create) and
``/api/v1/tokens/<id>/`` (revoke).  Parse, check access, call ``scheduling.tokens``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from scheduling.access import token_can_issue_for, tokens_visible, user_is_staff
from scheduling.access.views import ERROR
from scheduling.serializers import (
    ApiTokenCreatedSerializer,
    ApiTokenCreateSerializer,
    ApiTokenSerializer,
)
from scheduling.tokens import api_token_create, api_token_revoke

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class TokenListView(APIView):
    @extend_schema(
        operation_id="tokens_list",
        summary="Your API tokens (and the service tokens you made), without secrets",
        responses={200: ApiTokenSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        me = request.user.pk
        tokens = (
            tokens_visible(request.user)
            .filter(Q(user_id=me) | Q(created_by_id=me))
            .select_related("user", "created_by")
        )
        return Response(ApiTokenSerializer(tokens, many=True).data)

    @extend_schema(
        operation_id="tokens_create",
        summary="Make an API token; the secret is in the answer, this once",
        request=ApiTokenCreateSerializer,
        responses={201: ApiTokenCreatedSerializer, 400: ERROR, 403: ERROR},
        examples=[
            OpenApiExample(
                "a read-only token for a dashboard",
                value={"name": "grafana", "scopes": ["read"]},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        payload = ApiTokenCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        caller = request.user
        if not caller.is_authenticated:  # never: IsAuthenticated guards the view
            raise NotAuthenticated()
        owner = _owner(request, data.get("user"))
        try:
            issued = api_token_create(
                user=owner,
                name=data["name"],
                scopes=data["scopes"],
                expires_at=data.get("expires_at"),
                created_by=caller,
                now=timezone.now(),
            )
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        # For the answer only; never stored (the serializer reads this attribute,
        # which the model does not declare).
        issued.token.token = issued.secret  # type: ignore[attr-defined]
        return Response(ApiTokenCreatedSerializer(issued.token).data, status=201)


def _owner(request: Request, username: str | None) -> User:
    """Who the new token acts as: the caller, or (staff only) the named user."""
    caller = request.user
    if not caller.is_authenticated:  # never: IsAuthenticated guards the view
        raise NotAuthenticated()
    if username is None or username == caller.get_username():
        return caller
    if not user_is_staff(request.user):
        raise PermissionDenied("only staff may make a token for another user")
    owner = get_user_model().objects.filter(username=username).first()
    if owner is None:
        raise serializers.ValidationError({"user": [f"no user {username!r}"]})
    if not token_can_issue_for(request.user, owner):  # the one rule, asked again
        raise PermissionDenied("only staff may make a token for another user")
    return owner


class TokenDetailView(APIView):
    @extend_schema(
        operation_id="tokens_revoke",
        summary="Revoke an API token",
        responses={204: None, 404: ERROR},
    )
    def delete(self, request: Request, pk: int) -> Response:
        token = tokens_visible(request.user).filter(pk=pk).first()
        if token is None:
            raise Http404("no such token")
        api_token_revoke(token=token)
        return Response(status=204)
