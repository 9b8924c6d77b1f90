"""REST API for incidents: list, detail, alerts, timeline, pages, acknowledge,
resolve, escalate.

Access (``scheduling.access``): every incident is looked up among the teams the
caller may read, so another team's incident is a 404 like one that does not
exist; acting on one also needs ``incident_can_act`` (else 403).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.api.serializers import (
    IncidentActionSerializer,
    IncidentAlertSerializer,
    IncidentFilterSerializer,
    IncidentSerializer,
    PageSerializer,
    TimelineEntrySerializer,
)
from alerts.incidents.escalate import incident_escalate
from alerts.incidents.state import (
    IncidentStateError,
    actor_name,
    incident_acknowledge,
    incident_resolve,
)
from alerts.models import Incident, IncidentAlert, Page, TimelineEntry
from alerts.selectors import incident_list
from scheduling.access import incident_can_act, scoped_to_teams, teams_visible
from scheduling.access.permissions import require, scoped_or_404
from scheduling.access.views import ERROR
from scheduling.access.views import Cursor as BaseCursor
from scheduling.models import Member


class Pagination(LimitOffsetPagination):
    """An incident's alerts: a bounded list (one notification group)."""

    default_limit = 50
    max_limit = 500


class Cursor(BaseCursor):
    """The large collections (incidents, pages, timeline): ``?cursor=`` from
    ``next``/``previous``, ``?page_size=`` up to 500.  No OFFSET and no COUNT, so
    a page deep in 100,000 incidents costs what the first does, and incidents
    opened meanwhile neither repeat nor go missing."""


class IncidentCursor(Cursor):
    ordering = ("-opened_at", "-id")


class PageCursor(Cursor):
    ordering = ("created_at", "id")


class TimelineCursor(Cursor):
    ordering = ("at", "id")


class IncidentList(generics.ListAPIView):
    serializer_class = IncidentSerializer
    pagination_class = IncidentCursor

    @extend_schema(
        operation_id="incidents_list",
        summary="Incidents of the teams you may read, newest first",
        parameters=[IncidentFilterSerializer],
        responses={200: IncidentSerializer(many=True), 400: ERROR},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Incident]:
        filters = IncidentFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        team = data.get("team")
        # A team the caller may not read is answered like one that does not exist.
        if team and not teams_visible(self.request.user).filter(slug=team).exists():
            raise ValidationError({"team": [f"no team with slug {team!r}"]})
        return scoped_to_teams(
            incident_list(
                team_slug=team, statuses=data.get("status"), since=data.get("since")
            ),
            user=self.request.user,
        )


@extend_schema_view(
    get=extend_schema(
        operation_id="incidents_retrieve",
        summary="An incident",
        responses={200: IncidentSerializer, 404: ERROR},
    )
)
class IncidentDetail(generics.RetrieveAPIView):
    serializer_class = IncidentSerializer

    def get_queryset(self) -> QuerySet[Incident]:
        return scoped_to_teams(incident_list(), user=self.request.user)


@extend_schema_view(
    get=extend_schema(
        operation_id="incident_alerts_list",
        summary="An incident's alerts",
        responses={200: IncidentAlertSerializer(many=True), 400: ERROR, 404: ERROR},
    )
)
class IncidentAlerts(generics.ListAPIView):
    serializer_class = IncidentAlertSerializer
    pagination_class = Pagination

    def get_queryset(self) -> QuerySet[IncidentAlert]:
        incident = _incident(self.request, self.kwargs["pk"])
        return (
            IncidentAlert.objects.filter(incident=incident)
            .select_related("alert")
            .order_by("added_at", "alert_id")
        )


@extend_schema_view(
    get=extend_schema(
        operation_id="incident_timeline_list",
        summary="An incident's timeline, oldest first",
        responses={200: TimelineEntrySerializer(many=True), 400: ERROR, 404: ERROR},
    )
)
class IncidentTimeline(generics.ListAPIView):
    serializer_class = TimelineEntrySerializer
    pagination_class = TimelineCursor

    def get_queryset(self) -> QuerySet[TimelineEntry]:
        incident = _incident(self.request, self.kwargs["pk"])
        return (
            TimelineEntry.objects.filter(incident=incident)
            .select_related("actor__user")
            .order_by("at", "id")
        )


def _incident(request: Request, pk: int) -> Incident:
    """The incident if the caller may read it, else 404."""
    return scoped_or_404(request, Incident.objects.all(), pk=pk)


def _actionable(request: Request, pk: int) -> Incident:
    """The incident if the caller may act on it: 404 if they may not read it,
    403 if they may read it but not act."""
    incident = _incident(request, pk)
    require(request, incident_can_act, incident)
    return incident


def _member(request: Request) -> Member | None:
    user = request.user
    if not user.is_authenticated:  # never: the API's IsAuthenticated lets no one in
        return None
    return Member.objects.filter(user=user).select_related("user").first()


def _actor(request: Request) -> dict:
    """Who acts, for the services: the member, and the user's name for a user
    without a member profile; and the ``note`` given with the action."""
    body = IncidentActionSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    user = request.user
    # Never anonymous here (IsAuthenticated); an anonymous user has no full name.
    full_name = user.get_full_name() if user.is_authenticated else ""
    return {
        "by": _member(request),
        "by_name": full_name or user.get_username(),
        "note": body.validated_data.get("note", ""),
    }


class IncidentAck(APIView):
    @extend_schema(
        operation_id="incidents_ack",
        summary="Acknowledge an incident: its escalation stops",
        request=IncidentActionSerializer,
        responses={
            200: IncidentSerializer,
            400: ERROR,
            403: ERROR,
            404: ERROR,
            409: ERROR,
        },
        examples=[
            OpenApiExample(
                "with a note",
                value={"note": "looking into it"},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request, pk: int) -> Response:
        incident = _actionable(request, pk)
        try:
            incident = incident_acknowledge(
                incident=incident, via="API", **_actor(request)
            )
        except IncidentStateError as exc:
            return Response({"error": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(IncidentSerializer(incident_list().get(pk=incident.pk)).data)


class IncidentResolve(APIView):
    @extend_schema(
        operation_id="incidents_resolve",
        summary="Resolve an incident",
        request=IncidentActionSerializer,
        responses={200: IncidentSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    )
    def post(self, request: Request, pk: int) -> Response:
        incident = _actionable(request, pk)
        actor = _actor(request)
        who = actor_name(by=actor["by"], by_name=actor["by_name"])
        incident = incident_resolve(
            incident=incident, how="manual", text=f"resolved by {who} via API", **actor
        )
        return Response(IncidentSerializer(incident_list().get(pk=incident.pk)).data)


class IncidentEscalate(APIView):
    """Escalate now: the next step of the policy fires at once."""

    @extend_schema(
        operation_id="incidents_escalate",
        summary="Escalate now: the next step fires at once",
        request=IncidentActionSerializer,
        responses={
            200: IncidentSerializer,
            400: ERROR,
            403: ERROR,
            404: ERROR,
            409: ERROR,
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        incident = _actionable(request, pk)
        try:
            incident_escalate(incident=incident, via="API", **_actor(request))
        except IncidentStateError as exc:
            return Response(
                {"error": "conflict", "detail": str(exc)},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(IncidentSerializer(incident_list().get(pk=incident.pk)).data)


@extend_schema_view(
    get=extend_schema(
        operation_id="incident_pages_list",
        summary="An incident's pages (SMS and calls) with their delivery status",
        responses={200: PageSerializer(many=True), 400: ERROR, 404: ERROR},
    )
)
class IncidentPages(generics.ListAPIView):
    """Every SMS and call of an incident, with its delivery status."""

    serializer_class = PageSerializer
    pagination_class = PageCursor

    def get_queryset(self) -> QuerySet[Page]:
        incident = _incident(self.request, self.kwargs["pk"])
        return (
            Page.objects.filter(incident=incident)
            .select_related("member__user")
            .order_by("created_at", "id")
        )
