"""REST API for incidents: list, detail, alerts, timeline, pages, acknowledge,
resolve, escalate."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
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
    incident_acknowledge,
    incident_resolve,
)
from alerts.models import Incident, IncidentAlert, Page, TimelineEntry
from alerts.selectors import incident_list
from scheduling.models import Member, Team


class Pagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500


class IncidentList(generics.ListAPIView):
    serializer_class = IncidentSerializer
    pagination_class = Pagination

    @extend_schema(parameters=[IncidentFilterSerializer])
    def get(self, request: Request, *args, **kwargs) -> Response:  # noqa: ANN002, ANN003
        return super().get(request, *args, **kwargs)

    def get_queryset(self):  # noqa: ANN201
        filters = IncidentFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        team = data.get("team")
        if team and not Team.objects.filter(slug=team).exists():
            raise ValidationError({"team": [f"no team with slug {team!r}"]})
        return incident_list(
            team_slug=team, statuses=data.get("status"), since=data.get("since")
        )


class IncidentDetail(generics.RetrieveAPIView):
    serializer_class = IncidentSerializer

    def get_queryset(self):  # noqa: ANN201
        return incident_list()


class IncidentAlerts(generics.ListAPIView):
    serializer_class = IncidentAlertSerializer
    pagination_class = Pagination

    def get_queryset(self):  # noqa: ANN201
        incident = get_object_or_404(Incident, pk=self.kwargs["pk"])
        return (
            IncidentAlert.objects.filter(incident=incident)
            .select_related("alert")
            .order_by("added_at", "alert_id")
        )


class IncidentTimeline(generics.ListAPIView):
    serializer_class = TimelineEntrySerializer
    pagination_class = Pagination

    def get_queryset(self):  # noqa: ANN201
        incident = get_object_or_404(Incident, pk=self.kwargs["pk"])
        return (
            TimelineEntry.objects.filter(incident=incident)
            .select_related("actor__user")
            .order_by("at", "id")
        )


def _member(request: Request) -> Member | None:
    return Member.objects.filter(user=request.user).select_related("user").first()


class IncidentAck(APIView):
    @extend_schema(request=IncidentActionSerializer, responses=IncidentSerializer)
    def post(self, request: Request, pk: int) -> Response:
        incident = get_object_or_404(Incident, pk=pk)
        try:
            incident = incident_acknowledge(
                incident=incident, by=_member(request), via="API"
            )
        except IncidentStateError as exc:
            return Response({"error": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(IncidentSerializer(incident_list().get(pk=incident.pk)).data)


class IncidentResolve(APIView):
    @extend_schema(request=IncidentActionSerializer, responses=IncidentSerializer)
    def post(self, request: Request, pk: int) -> Response:
        incident = get_object_or_404(Incident, pk=pk)
        by = _member(request)
        who = by.display_name if by else request.user.get_username()
        incident = incident_resolve(
            incident=incident, by=by, how="manual", text=f"resolved by {who} via API"
        )
        return Response(IncidentSerializer(incident_list().get(pk=incident.pk)).data)


class IncidentEscalate(APIView):
    """Escalate now: the next step of the policy fires at once."""

    @extend_schema(request=IncidentActionSerializer, responses=IncidentSerializer)
    def post(self, request: Request, pk: int) -> Response:
        incident = get_object_or_404(Incident, pk=pk)
        try:
            incident_escalate(incident=incident, by=_member(request), via="API")
        except IncidentStateError as exc:
            return Response(
                {"error": "conflict", "detail": str(exc)},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(IncidentSerializer(incident_list().get(pk=incident.pk)).data)


class IncidentPages(generics.ListAPIView):
    """Every SMS and call of an incident, with its delivery status."""

    serializer_class = PageSerializer
    pagination_class = Pagination

    def get_queryset(self):  # noqa: ANN201
        incident = get_object_or_404(Incident, pk=self.kwargs["pk"])
        return (
            Page.objects.filter(incident=incident)
            .select_related("member__user")
            .order_by("created_at", "id")
        )
