"""``/api/v1/handoffs/``: handoff notes for scripts and other tools.

Reading follows the teams the caller may read (another team's note is a 404 like
one that does not exist); writing follows the note: its outgoing engineer edits and
submits, its incoming one acknowledges, staff may do all (else 403).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.handoff.actions import (
    MAX_ITEMS,
    MAX_TEXT,
    HandoffError,
    handoff_acknowledge,
    handoff_can_acknowledge,
    handoff_can_submit,
    handoff_edit,
    handoff_submit,
)
from alerts.handoff.markdown import handoff_markdown
from alerts.models import HandoffNote
from scheduling.access import scoped_to_teams, teams_visible
from scheduling.access.permissions import require, scoped_or_404
from scheduling.access.views import ERROR

MAX_ID = 2**63 - 1


class OngoingItemSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=MAX_TEXT)
    watch = serializers.BooleanField(default=False)


class HandoffSerializer(serializers.ModelSerializer):
    team = serializers.CharField(source="team.slug", read_only=True)
    rotation = serializers.CharField(source="rotation.name", read_only=True)
    outgoing = serializers.CharField(source="outgoing.username", read_only=True)
    incoming = serializers.CharField(source="incoming.username", read_only=True)
    ongoing = OngoingItemSerializer(many=True, read_only=True)
    markdown = serializers.SerializerMethodField()

    class Meta:
        model = HandoffNote
        fields = [
            "id",
            "team",
            "rotation",
            "role",
            "boundary",
            "outgoing",
            "incoming",
            "status",
            "auto_submitted",
            "submitted_at",
            "acknowledged_at",
            "open_incidents",
            "pages",
            "maintenance",
            "ongoing",
            "tips",
            "markdown",
        ]
        read_only_fields = fields

    def get_markdown(self, note: HandoffNote) -> str:
        return handoff_markdown(note)


class HandoffEditSerializer(serializers.Serializer):
    ongoing = OngoingItemSerializer(many=True, required=False)
    tips = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_TEXT * 5
    )

    def validate_ongoing(self, value: list[dict]) -> list[dict]:
        if len(value) > MAX_ITEMS:
            raise serializers.ValidationError(f"at most {MAX_ITEMS} items")
        return value


class HandoffFilterSerializer(serializers.Serializer):
    team = serializers.SlugField(required=False)
    member = serializers.CharField(
        required=False, max_length=150, help_text="notes from or to this username"
    )


class HandoffCursor(CursorPagination):
    ordering = ("-boundary", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def _notes() -> QuerySet[HandoffNote]:
    return HandoffNote.objects.select_related(
        "team", "rotation", "outgoing__user", "incoming__user"
    )


def _note(request: Request, pk: int) -> HandoffNote:
    """The note if the caller may read its team, else 404."""
    if pk > MAX_ID:
        pk = 0  # past the database's integer range: no such note
    return scoped_or_404(request, _notes(), pk=pk)


def _conflict(exc: HandoffError) -> Response:
    return Response(
        {"error": "conflict", "detail": str(exc)}, status=status.HTTP_409_CONFLICT
    )


class HandoffList(generics.ListAPIView):
    """Notes newest first; ``?team=<slug>`` for one team, ``?member=<username>``
    for the notes from or to one member (a member's history)."""

    serializer_class = HandoffSerializer
    pagination_class = HandoffCursor

    @extend_schema(parameters=[HandoffFilterSerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[HandoffNote]:
        filters = HandoffFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        team = filters.validated_data.get("team")
        notes = scoped_to_teams(_notes(), user=self.request.user)
        if team:
            # A team the caller may not read is answered like one that does not exist.
            if not teams_visible(self.request.user).filter(slug=team).exists():
                raise ValidationError({"team": [f"no team with slug {team!r}"]})
            notes = notes.filter(team__slug=team)
        member = filters.validated_data.get("member")
        if member:
            notes = notes.filter(
                Q(outgoing__user__username=member) | Q(incoming__user__username=member)
            )
        return notes


class HandoffDetail(APIView):
    """One note; ``PATCH`` changes a draft's ``ongoing`` issues and ``tips``."""

    @extend_schema(responses=HandoffSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(HandoffSerializer(_note(request, pk)).data)

    @extend_schema(
        request=HandoffEditSerializer, responses={200: HandoffSerializer, 409: ERROR}
    )
    def patch(self, request: Request, pk: int) -> Response:
        note = _note(request, pk)
        require(request, handoff_can_submit, note)
        body = HandoffEditSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            handoff_edit(
                note=note,
                ongoing=[dict(i) for i in data.get("ongoing", note.ongoing)],
                tips=data.get("tips", note.tips),
            )
        except HandoffError as exc:
            return _conflict(exc)
        return Response(HandoffSerializer(_notes().get(pk=note.pk)).data)


class HandoffSubmit(APIView):
    """The outgoing engineer submits the note; the incoming one is notified."""

    @extend_schema(request=None, responses={200: HandoffSerializer, 409: ERROR})
    def post(self, request: Request, pk: int) -> Response:
        note = _note(request, pk)
        require(request, handoff_can_submit, note)
        try:
            handoff_submit(note=note, now=timezone.now())
        except HandoffError as exc:
            return _conflict(exc)
        return Response(HandoffSerializer(_notes().get(pk=note.pk)).data)


class HandoffAcknowledge(APIView):
    """The incoming engineer has read it (again: no change)."""

    @extend_schema(request=None, responses={200: HandoffSerializer, 409: ERROR})
    def post(self, request: Request, pk: int) -> Response:
        note = _note(request, pk)
        require(request, handoff_can_acknowledge, note)
        try:
            handoff_acknowledge(note=note, now=timezone.now())
        except HandoffError as exc:
            return _conflict(exc)
        return Response(HandoffSerializer(_notes().get(pk=note.pk)).data)
