"""Services, SLOs and deploys in the admin: each SLO with its budget left, burn
rates and decision at the latest stored evaluation (``alerts.slos``); an SLO's
page draws its budget burning down over the window, with the incidents that
consumed it (``alerts.slos.burndown``).  The services overview lists the
services with the least budget left first."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import ORDER_VAR, ChangeList
from django.db.models import F, Min, QuerySet
from django.http import HttpRequest, HttpResponse

from alerts.admin.slo_charts import burndown_chart
from alerts.models import SLO, Deploy, Service
from alerts.slos.burndown import slo_burndown
from alerts.slos.evaluate import slos_with_latest


class _LeastBudgetFirst(ChangeList):
    """The services overview's default order (a column clicked still sorts)."""

    def get_ordering(self, request: HttpRequest, queryset: QuerySet) -> list[Any]:
        if ORDER_VAR in self.params:
            return super().get_ordering(request, queryset)
        return [F("least_budget_left").asc(nulls_last=True), "slug", "pk"]


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    """The services overview: least budget left first (the worst SLO's, at its
    latest evaluation; services with no evaluated SLO last)."""

    list_display = ["slug", "name", "team", "budget_left", "match_labels"]
    list_filter = ["team"]
    search_fields = ["slug", "name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Service]:
        return (
            super()
            .get_queryset(request)
            .select_related("team")
            .annotate(
                least_budget_left=Min("slos__latest_evaluation__budget_remaining")
            )
        )

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return _LeastBudgetFirst

    @admin.display(description="budget left (worst SLO)", ordering="least_budget_left")
    def budget_left(self, service: Service) -> str:
        value = getattr(service, "least_budget_left", None)
        return "not evaluated" if value is None else f"{value:.1%}"


@admin.register(SLO)
class SLOAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "service",
        "objective",
        "window",
        "source",
        "budget_left",
        "burn_1h",
        "burn_6h",
        "decision",
        "evaluated_at",
    ]
    list_filter = ["window", "source", "service"]
    fieldsets = [
        (None, {"fields": ["service", "name", "objective", "window"]}),
        (
            "SLI",
            {"fields": ["source", "incident_urgency", "good_query", "total_query"]},
        ),
        (
            "Error-budget policy",
            {"fields": ["allow_above", "freeze_below", "limited_deploys_per_day"]},
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[SLO]:
        return slos_with_latest().select_related("latest_evaluation")

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """The SLO's form, under its burn-down chart and budget figures."""
        extra_context = dict(extra_context or {})
        slo = self.get_object(request, object_id)
        if slo is not None:
            burndown = slo_burndown(slo=slo)
            extra_context["burndown"] = burndown
            extra_context["burndown_chart"] = burndown_chart(
                burndown.points, float(slo.allow_above), float(slo.freeze_below)
            )
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="budget left", ordering="latest_budget_remaining")
    def budget_left(self, slo: SLO) -> str:
        value = getattr(slo, "latest_budget_remaining", None)
        return "not evaluated" if value is None else f"{value:.1%}"

    @admin.display(description="burn 1 h")
    def burn_1h(self, slo: SLO) -> str:
        value = getattr(slo, "latest_burn_1h", None)
        return "" if value is None else f"{value:.2f}×"

    @admin.display(description="burn 6 h")
    def burn_6h(self, slo: SLO) -> str:
        value = getattr(slo, "latest_burn_6h", None)
        return "" if value is None else f"{value:.2f}×"

    @admin.display(description="decision")
    def decision(self, slo: SLO) -> str:
        return getattr(slo, "latest_decision", None) or ""

    @admin.display(description="evaluated at", ordering="latest_evaluated_at")
    def evaluated_at(self, slo: SLO) -> object:
        return getattr(slo, "latest_evaluated_at", None)


@admin.register(Deploy)
class DeployAdmin(admin.ModelAdmin):
    """Deploys are recorded through the API; the admin only shows them."""

    list_display = ["service", "at", "ref", "by", "decision", "break_glass"]
    list_filter = ["service", "break_glass", "decision"]
    readonly_fields = [
        "service",
        "at",
        "ref",
        "by",
        "decision",
        "break_glass",
        "reason",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: Deploy | None = None
    ) -> bool:
        return False
