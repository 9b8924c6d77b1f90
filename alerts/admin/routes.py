"""Routes and their label matchers in the admin."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from alerts.models import (
    Route,
    RouteMatcher,
)


class MatcherFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        route: Route = self.instance
        if not route.pk:
            return
        kept = [
            f
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE", False)
        ]
        if kept:
            other_catch_alls = (
                Route.objects.filter(
                    integration_id=route.integration_id, matchers__isnull=True
                )
                .exclude(pk=route.pk)
                .exists()
            )
            was_catch_all = not route.matchers.exists()
            if was_catch_all and not other_catch_alls:
                raise ValidationError(
                    "This is the integration's only catch-all route: add another "
                    "route for these matchers instead, so unmatched alerts still "
                    "reach someone."
                )


class RouteMatcherInline(admin.TabularInline):
    model = RouteMatcher
    formset = MatcherFormSet
    extra = 1
    fields = ["label", "op", "value"]


@admin.register(Route)
class RouteAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "integration",
        "position",
        "team",
        "urgency",
        "escalation_policy",
        "rule",
    ]
    list_filter = ["integration", "team"]
    ordering = ["integration", "position", "id"]
    inlines = [RouteMatcherInline]
    fields = [
        "integration",
        "position",
        "name",
        "team",
        "urgency",
        "escalation_policy",
        "test_link",
    ]
    readonly_fields = ["test_link"]

    @admin.display(description="matchers")
    def rule(self, route: Route) -> str:
        found = [str(m) for m in route.matchers.all()]
        return ", ".join(found) if found else "catch-all"

    @admin.display(description="test")
    def test_link(self, route: Route) -> str:
        if not route.pk:
            return "-"
        return format_html(
            '<a href="{}">Test labels against this integration\'s routes</a>',
            reverse(
                "admin:alerts_integration_test_labels", args=[route.integration_id]
            ),
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Route]:
        return (
            super()
            .get_queryset(request)
            .select_related("integration__team", "team")
            .prefetch_related("matchers")
        )

    def has_delete_permission(
        self, request: HttpRequest, obj: Route | None = None
    ) -> bool:
        if obj is not None and not obj.matchers.exists():
            others = (
                Route.objects.filter(
                    integration_id=obj.integration_id, matchers__isnull=True
                )
                .exclude(pk=obj.pk)
                .exists()
            )
            if not others:
                return False  # the last catch-all stays
        return super().has_delete_permission(request, obj)
