"""Services, SLOs and deploys in the admin: each SLO with its budget left, burn
rates and decision at the latest stored evaluation (``alerts.slos``)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from alerts.models import SLO, Deploy, Service
from alerts.slos.evaluate import slos_with_latest


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "team", "match_labels"]
    list_filter = ["team"]
    search_fields = ["slug", "name"]


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
        return slos_with_latest()

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
