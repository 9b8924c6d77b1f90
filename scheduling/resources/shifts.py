"""``/api/v1/shifts/``: the materialized shifts, read-only.

Shifts are written only by ``scheduling.materialize`` from the rotations'
definitions, so there is nothing to create or change here.  These are the
rotations' shifts *before* overrides; who actually covered is the effective
schedule (``/api/v1/teams/<slug>/schedule/``).  Filtered with django-filter,
cursor-paginated (years of history are a large collection).
"""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from scheduling.access import members_visible, scoped_to_teams, teams_visible
from scheduling.models import Shift
from scheduling.resources.common import (
    ERROR,
    CallerFilterSet,
    CursorPage,
    InstantFilter,
    StableOrdering,
)
from scheduling.resources.serializers import ShiftSerializer


class ShiftFilter(CallerFilterSet):
    team = django_filters.CharFilter(method="by_team", help_text="team slug")
    member = django_filters.CharFilter(method="by_member", help_text="username")
    rotation = django_filters.NumberFilter(field_name="rotation_id")
    role = django_filters.ChoiceFilter(choices=Shift.ROLE_CHOICES)
    # Overlap: shifts that end after `from` and start before `to`.
    vars()["from"] = InstantFilter(
        field_name="ends_at",
        lookup_expr="gt",
        help_text="ISO 8601 with offset: shifts still running at or after it",
    )
    to = InstantFilter(
        field_name="starts_at",
        lookup_expr="lt",
        help_text="ISO 8601 with offset: shifts that start before it",
    )

    class Meta:
        model = Shift
        fields = ["team", "member", "rotation", "role", "from", "to"]

    def by_team(self, queryset: QuerySet[Shift], name: str, value: str) -> QuerySet:
        # A team the caller may not read is answered like one that does not exist.
        team = teams_visible(self.caller).filter(slug=value).first()
        if team is None:
            raise serializers.ValidationError(
                {"team": [f"no team with slug {value!r}"]}
            )
        return queryset.filter(rotation__team=team)

    def by_member(self, queryset: QuerySet[Shift], name: str, value: str) -> QuerySet:
        member = members_visible(self.caller).filter(user__username=value).first()
        if member is None:
            raise serializers.ValidationError(
                {"member": [f"no member with username {value!r}"]}
            )
        return queryset.filter(member=member)


class ShiftListView(generics.ListAPIView):
    serializer_class = ShiftSerializer
    pagination_class = CursorPage
    filter_backends = [DjangoFilterBackend, StableOrdering]
    filterset_class = ShiftFilter
    ordering_fields = ["starts_at"]
    ordering = ["starts_at", "id"]

    @extend_schema(
        operation_id="shifts_list",
        summary="Shifts of the teams you may read (before overrides)",
        responses={200: ShiftSerializer(many=True), 400: ERROR},
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Shift]:
        return scoped_to_teams(
            Shift.objects.select_related("rotation__team", "member__user"),
            user=self.request.user,
            field="rotation__team",
        )
