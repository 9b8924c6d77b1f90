from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from scheduling.models import Team
from scheduling.selectors import oncall_at
from scheduling.serializers import OnCallQuerySerializer, OnCallSerializer
from scheduling.timeparse import InstantError, parse_instant

_ERROR = {"type": "object", "properties": {"error": {"type": "string"}}}


class TeamOnCallView(APIView):
    @extend_schema(
        operation_id="team_oncall",
        summary="Who is on call for a team",
        description=(
            "Primary and secondary at `at` (default now), with overrides and layers "
            "applied, and the bounds of the primary's current stint (UTC). "
            "`primary`/`secondary` are null where nobody holds the role."
        ),
        parameters=[
            OpenApiParameter(
                "at",
                str,
                OpenApiParameter.QUERY,
                required=False,
                description="ISO 8601 with offset or Z; naive times are rejected.",
                examples=[OpenApiExample("Nairobi", value="2026-01-12T09:00:00+03:00")],
            )
        ],
        responses={200: OnCallSerializer, 400: _ERROR, 404: _ERROR},
    )
    def get(self, request: Request, slug: str) -> Response:
        query = OnCallQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        raw = query.validated_data.get("at")
        if raw is None:
            at = timezone.now()
        else:
            try:
                at = parse_instant(raw)
            except InstantError as exc:
                raise serializers.ValidationError({"at": [str(exc)]}) from None
        team = get_object_or_404(Team, slug=slug)
        return Response(OnCallSerializer(oncall_at(team=team, at=at)).data)
