"""The feed endpoints: ``/api/v1/feeds/`` (list, create), ``/api/v1/feeds/<id>/``
(revoke) and ``/api/v1/feeds/<id>/rotate/`` (a new token).  Parse, check access,
call ``scheduling.feeds``.  The token -- and so the URL -- is in the answer to
create and rotate, this once."""

from __future__ import annotations

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from scheduling.access import (
    feed_can_create,
    feeds_visible,
    members_visible,
    scoped_to_teams,
    teams_visible,
)
from scheduling.access.views import ERROR
from scheduling.feeds import IssuedFeed, feed_create, feed_revoke, feed_rotate
from scheduling.models import FeedToken, Member, Rotation, Team


class FeedSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(read_only=True)
    member = serializers.CharField(
        source="member.username", allow_null=True, default=None
    )
    team = serializers.CharField(source="team.slug", allow_null=True, default=None)
    rotation = serializers.IntegerField(
        source="rotation_id", allow_null=True, default=None
    )
    owner = serializers.CharField(source="owner.get_username", read_only=True)

    class Meta:
        model = FeedToken
        fields = [
            "id",
            "kind",
            "member",
            "team",
            "rotation",
            "owner",
            "token_hint",
            "created_at",
            "last_polled_at",
            "last_user_agent",
        ]
        read_only_fields = fields


class FeedIssuedSerializer(FeedSerializer):
    url = serializers.CharField(read_only=True, help_text="https:// (or http://)")
    webcal_url = serializers.CharField(
        read_only=True, help_text="webcal://: opens as a subscription"
    )
    token = serializers.CharField(read_only=True, help_text="Shown this once.")

    class Meta(FeedSerializer.Meta):
        fields = [*FeedSerializer.Meta.fields, "url", "webcal_url", "token"]
        read_only_fields = fields


class FeedCreateSerializer(serializers.Serializer):
    member = serializers.CharField(required=False, help_text="a username")
    team = serializers.SlugField(required=False, help_text="a team's slug")
    rotation = serializers.IntegerField(required=False, help_text="a rotation's id")

    def validate(self, attrs: dict) -> dict:
        given = [k for k in ("member", "team", "rotation") if k in attrs]
        if len(given) != 1:
            raise serializers.ValidationError(
                "give exactly one of member, team or rotation"
            )
        return attrs


def _issued(issued: IssuedFeed, status: int) -> Response:
    feed = issued.feed
    # For the answer only; never stored.
    feed.url, feed.webcal_url, feed.token = (  # type: ignore[attr-defined]
        issued.url,
        issued.webcal_url,
        issued.secret,
    )
    return Response(FeedIssuedSerializer(feed).data, status=status)


def _subject(request: Request, data: dict) -> Member | Team | Rotation:
    """The feed's subject among what the caller may see; an unknown one and one
    the caller may not see are the same 400, naming the field."""
    user = request.user
    found: Member | Team | Rotation | None
    if "member" in data:
        field, value = "member", data["member"]
        found = (
            members_visible(user)
            .select_related("user")
            .filter(user__username=value)
            .first()
        )
    elif "team" in data:
        field, value = "team", data["team"]
        found = teams_visible(user).filter(slug=value).first()
    else:
        field, value = "rotation", data["rotation"]
        found = (
            scoped_to_teams(Rotation.objects.all(), user=user)
            .select_related("team")
            .filter(pk=value)
            .first()
        )
    if found is None:
        raise serializers.ValidationError({field: [f"no {field} {value!r}"]})
    return found


class FeedListView(APIView):
    @extend_schema(
        operation_id="feeds_list",
        summary="Your iCal feeds (staff: all), without their tokens",
        responses={200: FeedSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        feeds = feeds_visible(request.user).select_related(
            "owner", "member__user", "team"
        )
        return Response(FeedSerializer(feeds, many=True).data)

    @extend_schema(
        operation_id="feeds_create",
        summary="Make an iCal feed; its URL and token are in the answer, this once",
        request=FeedCreateSerializer,
        responses={201: FeedIssuedSerializer, 400: ERROR, 403: ERROR},
        examples=[
            OpenApiExample(
                "my own shifts", value={"member": "alice"}, request_only=True
            ),
            OpenApiExample("a team", value={"team": "payments"}, request_only=True),
        ],
    )
    def post(self, request: Request) -> Response:
        payload = FeedCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        subject = _subject(request, payload.validated_data)
        if not feed_can_create(request.user, subject):
            raise PermissionDenied("you may make feeds of your own shifts only")
        caller = request.user
        if not caller.is_authenticated:  # never: the API lets only signed-in users in
            raise NotAuthenticated()
        owner = subject.user if isinstance(subject, Member) else caller
        issued = feed_create(subject=subject, owner=owner, created_by=caller)
        return _issued(issued, 201)


def _visible_feed(request: Request, pk: int) -> FeedToken:
    feed = feeds_visible(request.user).filter(pk=pk).first()
    if feed is None:
        raise Http404("no such feed")
    return feed


class FeedDetailView(APIView):
    @extend_schema(
        operation_id="feeds_revoke",
        summary="Revoke an iCal feed: its URL answers 404 from now on",
        responses={204: None, 404: ERROR},
    )
    def delete(self, request: Request, pk: int) -> Response:
        feed_revoke(feed=_visible_feed(request, pk), now=timezone.now())
        return Response(status=204)


class FeedRotateView(APIView):
    @extend_schema(
        operation_id="feeds_rotate",
        summary="A new token (and URL) for a feed; the old URL answers 404 at once",
        request=None,
        responses={200: FeedIssuedSerializer, 404: ERROR},
    )
    def post(self, request: Request, pk: int) -> Response:
        issued = feed_rotate(feed=_visible_feed(request, pk))
        return _issued(issued, 200)
