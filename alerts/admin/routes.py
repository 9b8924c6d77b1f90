"""Routes and their label matchers in the admin."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.formsets import BaseFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from alerts.intake.routes import (
    route_catch_all_problem,
    route_delete,
    route_delete_problem,
    route_policy_problem,
    route_save,
)
from alerts.models import (
    Route,
    RouteMatcher,
)
from alerts.routing import Matcher


def _kept(formset: forms.BaseInlineFormSet) -> list[forms.Form]:
    return [
        f
        for f in formset.forms
        if f.cleaned_data and not f.cleaned_data.get("DELETE", False)
    ]


class MatcherFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        problem = route_catch_all_problem(self.instance, catch_all=not _kept(self))
        if problem:
            raise ValidationError(problem)


class RouteForm(forms.ModelForm):
    class Meta:
        model = Route
        fields = [
            "integration",
            "position",
            "name",
            "slug",
            "team",
            "urgency",
            "escalation_policy",
        ]

    def clean(self) -> dict:
        data = super().clean() or {}
        team, policy = data.get("team"), data.get("escalation_policy")
        if team is not None and policy is not None:
            # The service's rule, asked of the form's values.
            problem = route_policy_problem(Route(team=team, escalation_policy=policy))
            if problem:
                self.add_error("escalation_policy", problem)
        return data


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
    form = RouteForm
    fields = [
        "integration",
        "position",
        "name",
        "slug",
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
        if obj is not None and route_delete_problem(obj):
            return False  # the last catch-all stays
        return super().has_delete_permission(request, obj)

    # Saved with its matchers through the service (alerts/intake/routes.py), the
    # API's and configuration files' path: in save_related, once the inline's
    # matchers are known.
    def save_model(
        self, request: HttpRequest, obj: Route, form: forms.ModelForm, change: bool
    ) -> None:
        pass

    def save_related(
        self,
        request: HttpRequest,
        form: forms.ModelForm,
        formsets: list[BaseFormSet],
        change: bool,
    ) -> None:
        for formset in formsets:
            # Only to record what changed for the admin's history (Django reads
            # new_objects, changed_objects, deleted_objects); nothing is saved.
            if isinstance(formset, forms.BaseModelFormSet):
                formset.save(commit=False)
        matchers = [
            Matcher(
                f.cleaned_data["label"], f.cleaned_data["op"], f.cleaned_data["value"]
            )
            for formset in formsets
            if isinstance(formset, forms.BaseInlineFormSet)
            and formset.model is RouteMatcher
            for f in _kept(formset)
        ]
        route_save(route=form.instance, matchers=matchers)

    def delete_model(self, request: HttpRequest, obj: Route) -> None:
        route_delete(route=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Route]) -> None:
        # "Delete selected": one by one through the service; the last catch-all
        # of an integration stays (said so, not a 500).
        for route in queryset.order_by("-id"):
            problem = route_delete_problem(route)
            if problem:
                self.message_user(request, f"{route}: {problem}", messages.WARNING)
                continue
            route_delete(route=route)
