"""Postmortems in the API: draft one from a resolved incident, list and read them
(with their Markdown and action items), link and unlink incidents, add action
items, list a team's overdue ones.

Access as for incidents: another team's postmortem or incident is a 404; writing
needs ``incident_can_act`` on the incident (a read-only token: 403).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.models import ActionItem, Incident, Postmortem
from alerts.postmortems.budget import postmortem_budget
from alerts.postmortems.draft import (
    PostmortemError,
    postmortem_for_incident,
    postmortem_link_incident,
    postmortem_unlink_incident,
    postmortem_update,
)
from alerts.postmortems.items import (
    action_item_add,
    action_item_update,
    action_items_overdue,
)
from alerts.postmortems.markdown import postmortem_markdown
from scheduling.access import incident_can_act, scoped_to_teams, teams_visible
from scheduling.access.permissions import require, scoped_or_404
from scheduling.access.views import ERROR
from scheduling.access.views import Cursor as BaseCursor
from scheduling.models import Member

MAX_ID = 2**63 - 1


class ActionItemSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    postmortem = serializers.IntegerField(source="postmortem_id", read_only=True)

    class Meta:
        model = ActionItem
        fields = ["id", "postmortem", "text", "owner", "priority", "due", "status"]
        read_only_fields = fields


class ActionItemInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=1000)
    owner = serializers.CharField(max_length=150, help_text="a username")
    priority = serializers.ChoiceField(choices=ActionItem.Priority.choices)
    due = serializers.DateField()


class BudgetConsumedSerializer(serializers.Serializer):
    """The error budget the linked incidents consumed, per SLO of their services
    (``alerts/postmortems/budget.py``); minutes ``null`` for a Prometheus SLI."""

    service = serializers.CharField()
    slo = serializers.CharField()
    objective = serializers.DecimalField(max_digits=7, decimal_places=5)
    window = serializers.CharField()
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    budget_minutes = serializers.FloatField()
    consumed_minutes = serializers.FloatField(allow_null=True)
    consumed_fraction = serializers.FloatField(allow_null=True)
    counted_incidents = serializers.IntegerField()


class PostmortemSerializer(serializers.ModelSerializer):
    team = serializers.CharField(source="team.slug", read_only=True)
    incidents = serializers.SerializerMethodField()
    duration_seconds = serializers.SerializerMethodField()
    action_items = ActionItemSerializer(many=True, read_only=True)
    error_budget = serializers.SerializerMethodField()
    markdown = serializers.SerializerMethodField()

    class Meta:
        model = Postmortem
        fields = [
            "id",
            "team",
            "incident",
            "incidents",
            "title",
            "status",
            "severity",
            "started_at",
            "ended_at",
            "duration_seconds",
            "impact",
            "error_budget",
            "timeline",
            "root_cause",
            "went_well",
            "went_wrong",
            "lessons",
            "action_items",
            "markdown",
        ]
        read_only_fields = fields

    def get_incidents(self, postmortem: Postmortem) -> list[int]:
        return sorted(postmortem.incidents.values_list("pk", flat=True))

    def get_duration_seconds(self, postmortem: Postmortem) -> int:
        return int(postmortem.duration.total_seconds())

    @extend_schema_field(BudgetConsumedSerializer(many=True))
    def get_error_budget(self, postmortem: Postmortem) -> list[dict[str, Any]]:
        rows = [
            {
                "service": item.service,
                "slo": item.slo,
                "objective": item.objective,
                "window": item.window,
                "window_start": item.window_start,
                "window_end": item.window_end,
                "budget_minutes": round(item.budget_seconds / 60, 3),
                "consumed_minutes": None
                if item.consumed_seconds is None
                else round(item.consumed_seconds / 60, 3),
                "consumed_fraction": None
                if item.fraction is None
                else round(item.fraction, 6),
                "counted_incidents": item.counted_incidents,
            }
            for item in postmortem_budget(postmortem=postmortem)
        ]
        return list(BudgetConsumedSerializer(rows, many=True).data)

    def get_markdown(self, postmortem: Postmortem) -> str:
        return postmortem_markdown(postmortem)


class PostmortemEditSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=500, required=False)
    status = serializers.ChoiceField(choices=Postmortem.Status.choices, required=False)
    severity = serializers.CharField(max_length=32, required=False, allow_blank=True)
    impact = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    root_cause = serializers.CharField(
        max_length=20000, required=False, allow_blank=True
    )
    went_well = serializers.CharField(
        max_length=20000, required=False, allow_blank=True
    )
    went_wrong = serializers.CharField(
        max_length=20000, required=False, allow_blank=True
    )
    lessons = serializers.CharField(max_length=20000, required=False, allow_blank=True)


class ActionItemEditSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=1000, required=False)
    owner = serializers.CharField(max_length=150, required=False)
    priority = serializers.ChoiceField(
        choices=ActionItem.Priority.choices, required=False
    )
    due = serializers.DateField(required=False)
    status = serializers.ChoiceField(choices=ActionItem.Status.choices, required=False)


class OverdueFilterSerializer(serializers.Serializer):
    team = serializers.SlugField(required=False)


class PostmortemSummarySerializer(serializers.ModelSerializer):
    """A postmortem in the list: no Markdown or timeline (``GET`` it for those)."""

    team = serializers.CharField(source="team.slug", read_only=True)
    incidents = serializers.SerializerMethodField()
    duration_seconds = serializers.SerializerMethodField()
    open_action_items = serializers.IntegerField(read_only=True)
    overdue_action_items = serializers.SerializerMethodField()

    class Meta:
        model = Postmortem
        fields = [
            "id",
            "team",
            "incident",
            "incidents",
            "title",
            "status",
            "severity",
            "started_at",
            "ended_at",
            "duration_seconds",
            "open_action_items",
            "overdue_action_items",
        ]
        read_only_fields = fields

    def get_incidents(self, postmortem: Postmortem) -> list[int]:
        return sorted(i.pk for i in postmortem.incidents.all())

    def get_duration_seconds(self, postmortem: Postmortem) -> int:
        return int(postmortem.duration.total_seconds())

    def get_overdue_action_items(self, postmortem: Postmortem) -> int:
        today = timezone.now().astimezone(postmortem.team.tz).date()
        return sum(
            1
            for item in postmortem.action_items.all()
            if item.status == ActionItem.Status.OPEN and item.due < today
        )


class PostmortemFilterSerializer(serializers.Serializer):
    team = serializers.SlugField(required=False)
    status = serializers.ChoiceField(choices=Postmortem.Status.choices, required=False)
    overdue = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="true: only postmortems with an open action item past its due "
        "date (in the team's zone); false: only those without",
    )


class PostmortemCursor(BaseCursor):
    ordering = ("-started_at", "-id")


class IncidentLinkSerializer(serializers.Serializer):
    incident = serializers.IntegerField(min_value=1, max_value=2**63 - 1)


def _postmortem(request: Request, pk: int) -> Postmortem:
    return scoped_or_404(
        request,
        Postmortem.objects.select_related("team"),
        pk=pk if pk <= MAX_ID else 0,
    )


class IncidentPostmortem(APIView):
    """Create the incident's postmortem draft (201), or return it (200)."""

    @extend_schema(
        request=None, responses={200: PostmortemSerializer, 201: PostmortemSerializer}
    )
    def post(self, request: Request, pk: int) -> Response:
        incident = scoped_or_404(request, Incident.objects.all(), pk=pk)
        require(request, incident_can_act, incident)
        try:
            postmortem, created = postmortem_for_incident(
                incident=incident, by=request.user
            )
        except PostmortemError as exc:
            return Response(
                {"error": "conflict", "detail": str(exc)},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(
            PostmortemSerializer(postmortem).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class PostmortemList(generics.ListAPIView):
    """Postmortems of the teams you may read, newest first (by when the incident
    started); ``?team=<slug>``, ``?status=draft|final``, ``?overdue=true``."""

    serializer_class = PostmortemSummarySerializer
    pagination_class = PostmortemCursor

    @extend_schema(
        parameters=[PostmortemFilterSerializer],
        responses={200: PostmortemSummarySerializer(many=True), 400: ERROR},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Postmortem]:
        filters = PostmortemFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        found = scoped_to_teams(Postmortem.objects.all(), user=self.request.user)
        slug = data.get("team")
        if slug:
            # A team the caller may not read is answered like one that does not exist.
            if not teams_visible(self.request.user).filter(slug=slug).exists():
                raise ValidationError({"team": [f"no team with slug {slug!r}"]})
            found = found.filter(team__slug=slug)
        if data.get("status"):
            found = found.filter(status=data["status"])
        if data.get("overdue") is not None:
            now = timezone.now()
            late: list[int] = []
            for team in teams_visible(self.request.user):
                late += action_items_overdue(team=team, now=now).values_list(
                    "postmortem_id", flat=True
                )
            found = (
                found.filter(pk__in=late)
                if data["overdue"]
                else found.exclude(pk__in=late)
            )
        return (
            found.select_related("team")
            .prefetch_related("incidents", "action_items")
            .annotate(
                open_action_items=Count(
                    "action_items",
                    filter=Q(action_items__status=ActionItem.Status.OPEN),
                    distinct=True,
                )
            )
        )


class PostmortemIncidents(APIView):
    """Link a resolved incident of the same team to the postmortem: its timeline
    entries join, the span grows.  201 when linked now, 200 when it was already."""

    @extend_schema(
        request=IncidentLinkSerializer,
        responses={200: PostmortemSerializer, 201: PostmortemSerializer, 409: ERROR},
    )
    def post(self, request: Request, pk: int) -> Response:
        postmortem = _postmortem(request, pk)
        require(request, incident_can_act, postmortem.incident)
        body = IncidentLinkSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        incident = Incident.objects.filter(
            pk=body.validated_data["incident"], team=postmortem.team_id
        ).first()
        if incident is None:
            raise ValidationError({"incident": ["no incident of the team by that id"]})
        try:
            linked = postmortem_link_incident(postmortem=postmortem, incident=incident)
        except PostmortemError as exc:
            return Response(
                {"error": "conflict", "detail": str(exc)},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(
            PostmortemSerializer(_postmortem(request, pk)).data,
            status=status.HTTP_201_CREATED if linked else status.HTTP_200_OK,
        )


class PostmortemIncidentDetail(APIView):
    """Unlink an incident.  The one the postmortem was drafted from stays: 409."""

    @extend_schema(responses={204: None, 404: ERROR, 409: ERROR})
    def delete(self, request: Request, pk: int, incident_id: int) -> Response:
        postmortem = _postmortem(request, pk)
        require(request, incident_can_act, postmortem.incident)
        incident = get_object_or_404(
            postmortem.incidents.all(), pk=incident_id if incident_id <= MAX_ID else 0
        )
        try:
            postmortem_unlink_incident(postmortem=postmortem, incident=incident)
        except PostmortemError as exc:
            return Response(
                {"error": "conflict", "detail": str(exc)},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(status=status.HTTP_204_NO_CONTENT)


class PostmortemDetail(APIView):
    """The postmortem; ``PATCH`` writes its sections (or ``status``: final)."""

    @extend_schema(responses=PostmortemSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(PostmortemSerializer(_postmortem(request, pk)).data)

    @extend_schema(request=PostmortemEditSerializer, responses=PostmortemSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        postmortem = _postmortem(request, pk)
        require(request, incident_can_act, postmortem.incident)
        body = PostmortemEditSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            postmortem_update(postmortem=postmortem, **body.validated_data)
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None
        return Response(PostmortemSerializer(_postmortem(request, pk)).data)


class ActionItemDetail(APIView):
    """``PATCH`` an action item: done, a new due date, another owner, ..."""

    @extend_schema(request=ActionItemEditSerializer, responses=ActionItemSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        item = scoped_or_404(
            request,
            ActionItem.objects.select_related("postmortem__incident", "owner__user"),
            field="postmortem__team",
            pk=pk if pk <= MAX_ID else 0,
        )
        require(request, incident_can_act, item.postmortem.incident)
        body = ActionItemEditSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        if "owner" in fields:
            owner = Member.objects.filter(
                user__username=fields["owner"], teams=item.postmortem.team_id
            ).first()
            if owner is None:
                raise ValidationError({"owner": ["no member of the team by that name"]})
            fields["owner"] = owner
        try:
            item = action_item_update(item=item, now=timezone.now(), **fields)
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None
        return Response(ActionItemSerializer(item).data)


class PostmortemActionItems(APIView):
    """Add an action item; its owner must be a member of the team."""

    @extend_schema(request=ActionItemInputSerializer, responses=ActionItemSerializer)
    def post(self, request: Request, pk: int) -> Response:
        postmortem = _postmortem(request, pk)
        require(request, incident_can_act, postmortem.incident)
        body = ActionItemInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        owner = Member.objects.filter(
            user__username=data["owner"], teams=postmortem.team
        ).first()
        if owner is None:
            raise ValidationError({"owner": ["no member of the team by that name"]})
        try:
            item = action_item_add(
                postmortem=postmortem,
                text=data["text"],
                owner=owner,
                priority=data["priority"],
                due=data["due"],
            )
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None
        return Response(ActionItemSerializer(item).data, status=status.HTTP_201_CREATED)


class OverdueActionItems(generics.ListAPIView):
    """Open action items past their due date (in the team's zone), oldest first;
    ``?team=<slug>`` for one team."""

    serializer_class = ActionItemSerializer
    pagination_class = None

    @extend_schema(parameters=[OverdueFilterSerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[ActionItem]:
        filters = OverdueFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        teams = teams_visible(self.request.user)
        slug = filters.validated_data.get("team")
        if slug:
            teams = teams.filter(slug=slug)
            if not teams.exists():
                raise ValidationError({"team": [f"no team with slug {slug!r}"]})
        now = timezone.now()
        ids: list[int] = []
        for team in teams:
            ids += action_items_overdue(team=team, now=now).values_list("pk", flat=True)
        return (
            ActionItem.objects.filter(pk__in=ids)
            .select_related("owner__user")
            .order_by("due", "priority", "id")
        )
