"""``/api/v1/rotations/``, ``/api/v1/rotations/<id>/`` and
``/api/v1/rotations/preview/``.

Members read their teams' rotations; staff create, change and delete them.  Every
write goes through ``scheduling.rotations``, which checks the definition and the
roster and regenerates the future shifts -- the same path the admin takes.
``preview`` runs the same checks and answers the shifts a definition would have,
saving nothing.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from scheduling.access import members_visible, scoped_to_teams, teams_visible
from scheduling.access.permissions import (
    by_key_or_404,
    scoped_or_404,
)
from scheduling.access.views import CollectionView, ObjectView
from scheduling.conflicts import double_booked_during, unavailable_during
from scheduling.models import Rotation, RotationParticipant, Team
from scheduling.resources.common import ERROR, CallerFilterSet, service_errors
from scheduling.resources.serializers import (
    RotationInputSerializer,
    RotationPreviewSerializer,
    RotationSerializer,
)
from scheduling.rotations import (
    rotation_create,
    rotation_delete,
    rotation_preview,
    rotation_update,
)
from scheduling.serializers import ScheduleQuerySerializer


def _rotations(request: Request) -> QuerySet[Rotation]:
    return scoped_to_teams(
        Rotation.objects.select_related("team").prefetch_related(
            Prefetch(
                "rotationparticipant_set",
                queryset=RotationParticipant.objects.select_related("member__user"),
            )
        ),
        user=request.user,
    )


def _visible_team(user: AbstractBaseUser | AnonymousUser | None, slug: str) -> Team:
    """The team named in a body or filter; one the caller may not read is
    answered like one that does not exist (a 400 naming the field)."""
    team = teams_visible(user).filter(slug=slug).first()
    if team is None:
        raise serializers.ValidationError({"team": [f"no team with slug {slug!r}"]})
    return team


class RotationFilter(CallerFilterSet):
    team = django_filters.CharFilter(method="by_team", help_text="team slug")
    active = django_filters.BooleanFilter()

    class Meta:
        model = Rotation
        fields = ["team", "active"]

    def by_team(
        self, queryset: QuerySet[Rotation], name: str, value: str
    ) -> QuerySet[Rotation]:
        return queryset.filter(team=_visible_team(self.caller, value))


def _definition(data: dict) -> tuple[dict, list]:
    data = dict(data)
    data.pop("team", None)
    participants = data.pop("participants", None)
    return data, participants


@extend_schema_view(
    get=extend_schema(
        operation_id="rotations_list",
        summary="Rotations of the teams you may read",
        responses={200: RotationSerializer(many=True), 400: ERROR},
    ),
    post=extend_schema(
        operation_id="rotations_create",
        summary="Create a rotation (staff); its shifts are generated at once",
        request=RotationInputSerializer,
        responses={201: RotationSerializer, 400: ERROR, 403: ERROR},
    ),
)
class RotationListView(CollectionView):
    serializer_class = RotationSerializer
    filterset_class = RotationFilter
    pagination_class = None  # a handful per team

    input_serializer = RotationInputSerializer

    def input_context(self, request: Request) -> dict[str, Any]:
        return {"members": members_visible(request.user)}

    def create(self, request: Request, data: dict[str, Any]) -> Any:
        team = _visible_team(request.user, data["team"])
        definition, participants = _definition(data)
        saved = rotation_create(team=team, participants=participants, **definition)
        fresh = _rotations(request).get(pk=saved.rotation.pk)
        return RotationSerializer(fresh).data

    def get_queryset(self) -> QuerySet[Rotation]:
        return _rotations(self.request)


@extend_schema_view(
    get=extend_schema(
        operation_id="rotations_retrieve",
        summary="A rotation, by slug or id",
        responses={200: RotationSerializer, 404: ERROR},
    ),
    put=extend_schema(
        operation_id="rotations_update",
        summary="Replace a rotation's definition and roster (staff)",
        description="Idempotent: the same body twice changes nothing the second "
        "time (not even `updated_at`). A change regenerates the shifts that have "
        "not started; history stays. `team` may be repeated but cannot change.",
        request=RotationInputSerializer,
        responses={200: RotationSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    ),
    patch=extend_schema(
        operation_id="rotations_partial_update",
        summary="Change some of a rotation's fields (staff)",
        request=RotationInputSerializer(partial=True),
        responses={200: RotationSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    ),
    delete=extend_schema(
        operation_id="rotations_delete",
        summary="Delete a rotation that has no history (staff)",
        description="A rotation whose shifts have started is history that pay and "
        "reports rely on: 409; deactivate it (`active: false`) instead.",
        responses={204: None, 403: ERROR, 404: ERROR, 409: ERROR},
    ),
)
class RotationDetailView(ObjectView):
    input_serializer = RotationInputSerializer

    def find(self, request: Request, **kwargs: Any) -> Rotation:
        return by_key_or_404(_rotations(request), kwargs["key"])

    def show(self, request: Request, rotation: Rotation) -> dict:
        return RotationSerializer(_rotations(request).get(pk=rotation.pk)).data

    def input_context(self, request: Request, rotation: Rotation) -> dict:
        return {"members": members_visible(request.user)}

    def write(
        self, request: Request, rotation: Rotation, data: dict, *, partial: bool
    ) -> Rotation:
        team = data.get("team", rotation.team.slug)
        if team != rotation.team.slug:
            raise serializers.ValidationError(
                {"team": ["a rotation cannot move to another team"]}
            )
        definition, participants = _definition(data)
        rotation_update(rotation=rotation, participants=participants, **definition)
        return rotation

    def remove(self, request: Request, rotation: Rotation) -> None:
        rotation_delete(rotation=rotation)


class PreviewQuerySerializer(ScheduleQuerySerializer):
    rotation = serializers.IntegerField(
        required=False,
        help_text="id of a rotation: preview a change to it (the body is its whole "
        "new definition, as for PUT)",
    )

    def validate(self, attrs: dict) -> dict:
        return {**super().validate(attrs), "rotation": attrs.get("rotation")}


class RotationPreviewView(APIView):
    @extend_schema(
        operation_id="rotations_preview",
        summary="The shifts a rotation definition would have, without saving it",
        description=(
            "Checked like creating it (a member of the team may preview; nothing "
            "is saved). `from`/`to` as for the schedule: ISO 8601 with offsets, "
            "default now and 7 days later, at most 92 days. `?rotation=` naming "
            "no rotation you may read: 404."
        ),
        parameters=[PreviewQuerySerializer],
        request=RotationInputSerializer,
        responses={200: RotationPreviewSerializer, 400: ERROR, 404: ERROR},
    )
    def post(self, request: Request) -> Response:
        query = PreviewQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        start, end = query.validated_data["from"], query.validated_data["to"]
        changing = None
        if query.validated_data["rotation"] is not None:
            changing = scoped_or_404(
                request, _rotations(request), pk=query.validated_data["rotation"]
            )
        payload = RotationInputSerializer(
            data=request.data, context={"members": members_visible(request.user)}
        )
        payload.is_valid(raise_exception=True)
        team = _visible_team(request.user, payload.validated_data["team"])
        if changing is not None and changing.team_id != team.pk:
            raise serializers.ValidationError(
                {"team": ["a rotation cannot move to another team"]}
            )
        definition, participants = _definition(payload.validated_data)
        with service_errors():
            shifts = rotation_preview(
                rotation=changing,
                team=team,
                participants=participants,
                start=start,
                end=end,
                **definition,
            )
        names = {m.pk: m.user.get_username() for m in participants}
        spans = [(s.member_id, s.starts_at, s.ends_at) for s in shifts]
        away = unavailable_during(spans)
        elsewhere = double_booked_during(team=team, spans=spans)
        body = {
            "from": start,
            "to": end,
            "shifts": [
                {
                    "slot": s.slot,
                    "role": s.role,
                    "member": names[s.member_id],
                    "start": s.starts_at,
                    "end": s.ends_at,
                    "unavailable": reasons,
                    "double_booked": booked,
                }
                for s, reasons, booked in zip(shifts, away, elsewhere, strict=True)
            ],
        }
        return Response(RotationPreviewSerializer(body).data)
