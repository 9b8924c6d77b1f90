"""Postmortems and their action items in the admin: the sections edited in a
form, the whole postmortem rendered from its Markdown, action items inline, and
the overdue ones listed per team.  Drafts are made from resolved incidents (the
incidents list's action), through ``alerts.postmortems``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from alerts.markdown import render_html
from alerts.models import ActionItem, Incident, Postmortem
from alerts.postmortems.draft import postmortem_refresh
from alerts.postmortems.markdown import postmortem_markdown


class ActionItemInline(admin.TabularInline):
    model = ActionItem
    fields = ["text", "owner", "priority", "due", "status"]
    extra = 1


class PostmortemForm(forms.ModelForm):
    class Meta:
        model = Postmortem
        fields = [
            "title",
            "status",
            "severity",
            "incidents",
            "impact",
            "root_cause",
            "went_well",
            "went_wrong",
            "lessons",
        ]

    def clean_incidents(self) -> Any:
        incidents = self.cleaned_data.get("incidents")
        if incidents is not None and self.instance.pk:
            if incidents.exclude(team_id=self.instance.team_id).exists():
                raise forms.ValidationError("Only incidents of the postmortem's team.")
            if incidents.exclude(status=Incident.Status.RESOLVED).exists():
                raise forms.ValidationError("Only resolved incidents.")
        return incidents


@admin.register(Postmortem)
class PostmortemAdmin(admin.ModelAdmin):
    form = PostmortemForm
    list_display = ["title", "team", "started_at", "status", "open_items"]
    list_filter = ["team", "status"]
    search_fields = ["title", "impact", "root_cause", "lessons"]
    date_hierarchy = "started_at"
    raw_id_fields = ["incidents"]
    inlines = [ActionItemInline]
    fields = [
        "preview",
        "title",
        "status",
        "severity",
        "incidents",
        "impact",
        "root_cause",
        "went_well",
        "went_wrong",
        "lessons",
        "markdown",
        "team",
        "incident",
        "started_at",
        "ended_at",
    ]
    readonly_fields = [
        "preview",
        "markdown",
        "team",
        "incident",
        "started_at",
        "ended_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # drafted from a resolved incident (the incidents' action)

    @admin.display(description="open action items")
    def open_items(self, postmortem: Postmortem) -> int:
        return postmortem.action_items.filter(status=ActionItem.Status.OPEN).count()

    @admin.display(description="postmortem")
    def preview(self, postmortem: Postmortem) -> SafeString:
        # markdown-it runs with raw HTML off: what people typed is escaped.
        return mark_safe(render_html(postmortem_markdown(postmortem)))  # noqa: S308

    @admin.display(description="Markdown (export)")
    def markdown(self, postmortem: Postmortem) -> SafeString:
        return format_html("<pre>{}</pre>", postmortem_markdown(postmortem))

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        postmortem_refresh(postmortem=form.instance)


class OverdueFilter(admin.SimpleListFilter):
    title = "overdue"
    parameter_name = "overdue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "overdue")]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[ActionItem]
    ) -> QuerySet[ActionItem]:
        if self.value() != "yes":
            return queryset
        # Judged in each team's zone: an item is overdue from the day after it
        # is due there; one day of slack in UTC covers every zone, then exact.
        now = timezone.now()
        ids = [
            item.pk
            for item in queryset.filter(
                status=ActionItem.Status.OPEN,
                due__lt=now.date() + timedelta(days=1),
            ).select_related("postmortem__team")
            if item.due < now.astimezone(item.postmortem.team.tz).date()
        ]
        return queryset.filter(pk__in=ids)


@admin.register(ActionItem)
class ActionItemAdmin(admin.ModelAdmin):
    list_display = ["text", "priority", "owner", "due", "status", "team", "postmortem"]
    list_filter = [OverdueFilter, "postmortem__team", "status", "priority"]
    list_select_related = ["owner__user", "postmortem__team"]
    search_fields = ["text"]
    fields = ["postmortem", "text", "owner", "priority", "due", "status"]
    readonly_fields = ["postmortem"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # added on their postmortem's page

    @admin.display(description="team", ordering="postmortem__team")
    def team(self, item: ActionItem) -> str:
        return item.postmortem.team.slug
