"""Services and SLOs as configuration through the API, and OpenSLO over HTTP.

* ``GET/POST /api/v1/services/``, ``GET/PUT/PATCH/DELETE /api/v1/services/<slug>/``
* ``POST /api/v1/slos/`` (``GET`` lists them: ``slos.py``),
  ``GET/PUT/PATCH/DELETE /api/v1/slos/<id>/``
* ``GET /api/v1/slos/openslo.yaml``: the ratio SLOs the caller reads, as OpenSLO
  v1 YAML; ``POST /api/v1/slos/openslo/`` (``team``, ``yaml``) creates or
  updates services and SLOs from such a file -- the same code as
  ``manage.py oncall_openslo`` (``alerts.slos.openslo``).

Who may write: staff, or a member of the owning team (``team_can_manage_slos``)
with a token that has the ``write`` scope.  Another team's service or SLO is a
404; naming a team or service the caller cannot read is a 400 on that field.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.api.common import team_named
from alerts.api.slos import SLOList, YAMLRenderer
from alerts.models import SLO, Service
from alerts.slos.openslo import openslo_export, openslo_import
from alerts.slos.setup import (
    service_create,
    service_delete,
    service_update,
    slo_create,
    slo_delete,
    slo_update,
)
from scheduling.access import scoped_to_teams, team_can_manage_slos
from scheduling.access.permissions import require
from scheduling.access.views import ERROR, Cursor, ObjectView, service_errors

# --- services ------------------------------------------------------------------


class ServiceSerializer(serializers.ModelSerializer):
    team = serializers.CharField(source="team.slug")

    class Meta:
        model = Service
        fields = ["id", "slug", "name", "team", "match_labels"]
        read_only_fields = fields


class ServiceInputSerializer(serializers.Serializer):
    slug = serializers.SlugField(max_length=100)
    name = serializers.CharField(max_length=200)
    team = serializers.SlugField(max_length=100, help_text="the owning team's slug")
    match_labels = serializers.DictField(
        child=serializers.CharField(max_length=200, allow_blank=True),
        help_text='labels its incidents carry, e.g. {"service": "payments-api"}',
    )


SERVICE_EXAMPLE = OpenApiExample(
    "payments-api",
    value={
        "slug": "payments-api",
        "name": "Payments API",
        "team": "payments",
        "match_labels": {"service": "payments-api"},
    },
    request_only=True,
)


def _services(request: Request) -> QuerySet[Service]:
    return scoped_to_teams(
        Service.objects.select_related("team").order_by("slug"), user=request.user
    )


def _team_for_writing(request: Request, slug: str) -> Any:
    team = team_named(request.user, slug)
    require(request, team_can_manage_slos, team)
    return team


class ServiceCursor(Cursor):
    ordering = "slug"


class ServiceListView(generics.ListAPIView):
    serializer_class = ServiceSerializer
    pagination_class = ServiceCursor

    @extend_schema(
        operation_id="services_list",
        summary="Services of the teams you may read",
        responses={200: ServiceSerializer(many=True)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Service]:
        return _services(self.request)

    @extend_schema(
        operation_id="services_create",
        summary="Create a service (staff, or a member of its team)",
        request=ServiceInputSerializer,
        responses={201: ServiceSerializer, 400: ERROR, 403: ERROR},
        examples=[SERVICE_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        payload = ServiceInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        fields = dict(payload.validated_data)
        fields["team"] = _team_for_writing(request, fields["team"])
        with service_errors():
            service = service_create(**fields)
        return Response(ServiceSerializer(service).data, status=201)


@extend_schema_view(
    get=extend_schema(
        operation_id="services_retrieve",
        summary="A service",
        responses={200: ServiceSerializer, 404: ERROR},
    ),
    put=extend_schema(
        operation_id="services_update",
        summary="Replace a service (staff, or a member of its team)",
        request=ServiceInputSerializer,
        responses={200: ServiceSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
        examples=[SERVICE_EXAMPLE],
    ),
    patch=extend_schema(
        operation_id="services_partial_update",
        summary="Change some of a service's fields",
        request=ServiceInputSerializer(partial=True),
        responses={200: ServiceSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    ),
    delete=extend_schema(
        operation_id="services_delete",
        summary="Delete a service with its SLOs and deploys",
        responses={204: None, 403: ERROR, 404: ERROR},
    ),
)
class ServiceDetailView(ObjectView):
    input_serializer = ServiceInputSerializer

    def find(self, request: Request, **kwargs: Any) -> Service:
        service = _services(request).filter(slug=kwargs["slug"]).first()
        if service is None:
            raise Http404("no such service")
        return service

    def show(self, request: Request, service: Service) -> dict:
        return ServiceSerializer(service).data

    def may_write(self, request: Request, service: Service) -> None:
        require(request, team_can_manage_slos, service.team)

    def write(
        self, request: Request, service: Service, data: dict, *, partial: bool
    ) -> Service:
        if "team" in data:
            data["team"] = _team_for_writing(request, data["team"])
        return service_update(service=service, **data)

    def remove(self, request: Request, service: Service) -> None:
        service_delete(service=service)


# --- SLOs ----------------------------------------------------------------------


class SLOConfigSerializer(serializers.ModelSerializer):
    service = serializers.CharField(source="service.slug")

    class Meta:
        model = SLO
        fields = [
            "id",
            "service",
            "name",
            "objective",
            "window",
            "source",
            "incident_urgency",
            "good_query",
            "total_query",
            "allow_above",
            "freeze_below",
            "limited_deploys_per_day",
        ]
        read_only_fields = fields


class SLOInputSerializer(serializers.Serializer):
    service = serializers.SlugField(max_length=100, help_text="the service's slug")
    name = serializers.CharField(max_length=200)
    objective = serializers.DecimalField(
        max_digits=7,
        decimal_places=5,
        min_value=0,
        max_value=100,
        help_text="percent of good time or events, e.g. 99.9",
    )
    window = serializers.ChoiceField(
        choices=SLO.Window.choices, default=SLO.Window.ROLLING_30D
    )
    # A field named like Field.source: DRF's metaclass takes declared fields out
    # of the class body, so nothing is shadowed at run time.
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=SLO.Source.choices, default=SLO.Source.INCIDENT_TIME
    )
    incident_urgency = serializers.ChoiceField(
        choices=SLO.Urgency.choices, default=SLO.Urgency.HIGH
    )
    good_query = serializers.CharField(allow_blank=True, default="", max_length=2000)
    total_query = serializers.CharField(allow_blank=True, default="", max_length=2000)
    allow_above = serializers.DecimalField(
        max_digits=4, decimal_places=3, min_value=0, max_value=1, default=Decimal("0.5")
    )
    freeze_below = serializers.DecimalField(
        max_digits=4,
        decimal_places=3,
        min_value=0,
        max_value=1,
        default=Decimal("0.25"),
    )
    limited_deploys_per_day = serializers.IntegerField(
        min_value=0, max_value=1000, default=1
    )


SLO_EXAMPLE = OpenApiExample(
    "availability",
    value={
        "service": "payments-api",
        "name": "availability",
        "objective": "99.9",
        "window": "rolling_30d",
        "source": "prometheus_ratio",
        "good_query": 'http_requests_total{job="payments",code!~"5.."}',
        "total_query": 'http_requests_total{job="payments"}',
    },
    request_only=True,
)


def _slos(request: Request) -> QuerySet[SLO]:
    return scoped_to_teams(
        SLO.objects.select_related("service__team").order_by("pk"),
        user=request.user,
        field="service__team",
    )


def _service_for_writing(request: Request, slug: str) -> Service:
    service = _services(request).filter(slug=slug).first()
    if service is None:
        raise serializers.ValidationError({"service": [f"no service {slug!r}"]})
    require(request, team_can_manage_slos, service.team)
    return service


class SLOListView(SLOList):
    """``GET /api/v1/slos/`` (``slos.SLOList``: with the budget left) and
    ``POST``: create one."""

    @extend_schema(
        operation_id="slos_create",
        summary="Create an SLO (staff, or a member of its service's team)",
        request=SLOInputSerializer,
        responses={201: SLOConfigSerializer, 400: ERROR, 403: ERROR},
        examples=[SLO_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        payload = SLOInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        fields = dict(payload.validated_data)
        service = _service_for_writing(request, fields.pop("service"))
        with service_errors():
            slo = slo_create(service=service, **fields)
        return Response(SLOConfigSerializer(slo).data, status=201)


@extend_schema_view(
    get=extend_schema(
        operation_id="slos_retrieve",
        summary="An SLO's definition",
        responses={200: SLOConfigSerializer, 404: ERROR},
    ),
    put=extend_schema(
        operation_id="slos_update",
        summary="Replace an SLO (staff, or a member of its service's team)",
        request=SLOInputSerializer,
        responses={200: SLOConfigSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
        examples=[SLO_EXAMPLE],
    ),
    patch=extend_schema(
        operation_id="slos_partial_update",
        summary="Change some of an SLO's fields",
        request=SLOInputSerializer(partial=True),
        responses={200: SLOConfigSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    ),
    delete=extend_schema(
        operation_id="slos_delete",
        summary="Delete an SLO and its evaluations",
        responses={204: None, 403: ERROR, 404: ERROR},
    ),
)
class SLODetailView(ObjectView):
    input_serializer = SLOInputSerializer

    def find(self, request: Request, **kwargs: Any) -> SLO:
        slo = _slos(request).filter(pk=kwargs["pk"]).first()
        if slo is None:
            raise Http404("no such SLO")
        return slo

    def show(self, request: Request, slo: SLO) -> dict:
        return SLOConfigSerializer(slo).data

    def may_write(self, request: Request, slo: SLO) -> None:
        require(request, team_can_manage_slos, slo.service.team)

    def write(self, request: Request, slo: SLO, data: dict, *, partial: bool) -> SLO:
        if "service" in data:
            data["service"] = _service_for_writing(request, data["service"])
        return slo_update(slo=slo, **data)

    def remove(self, request: Request, slo: SLO) -> None:
        slo_delete(slo=slo)


# --- OpenSLO -------------------------------------------------------------------


class OpenSLOImportSerializer(serializers.Serializer):
    team = serializers.SlugField(
        max_length=100, help_text="the team that owns the services the file creates"
    )
    yaml = serializers.CharField(
        max_length=200_000, help_text="OpenSLO v1 documents (Service, SLO)"
    )


class OpenSLOImportResultSerializer(serializers.Serializer):
    changes = serializers.ListField(
        child=serializers.CharField(), help_text="what was created or changed"
    )


# A YAML stream of documents (none when no ratio SLO is readable): no one type.
OPENSLO_FILE: dict[str, Any] = {
    "description": "OpenSLO v1 YAML documents (Service, SLO)",
}


class OpenSLOExport(APIView):
    # JSON first: errors answer JSON unless the client asks for YAML only.
    renderer_classes = [JSONRenderer, YAMLRenderer]

    @extend_schema(
        operation_id="slos_openslo_export",
        summary="Your ratio SLOs as OpenSLO v1 YAML",
        responses={(200, "application/yaml"): OPENSLO_FILE},
    )
    def get(self, request: Request) -> HttpResponse:
        return HttpResponse(
            openslo_export(_slos(request)),
            content_type="application/yaml; charset=utf-8",
        )


class OpenSLOImport(APIView):
    @extend_schema(
        operation_id="slos_openslo_import",
        summary="Create or update services and SLOs from OpenSLO v1 YAML",
        request=OpenSLOImportSerializer,
        # 413: a body past DATA_UPLOAD_MAX_MEMORY_SIZE, refused before parsing.
        responses={
            200: OpenSLOImportResultSerializer,
            400: ERROR,
            403: ERROR,
            413: ERROR,
        },
    )
    def post(self, request: Request) -> Response:
        payload = OpenSLOImportSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        team = _team_for_writing(request, payload.validated_data["team"])
        with service_errors():
            changes = openslo_import(text=payload.validated_data["yaml"], team=team)
        return Response({"changes": changes})
