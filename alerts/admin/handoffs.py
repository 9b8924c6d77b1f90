"""Handoff notes and the teams' handoff settings in the admin: lists, filters,
text search, and each note's Markdown rendered.  Notes are written by engineers
on their own pages (``alerts.member_pages``) and the API, so here they are read
only; an action submits forgotten drafts through the same service."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from alerts.handoff.actions import HandoffError, handoff_submit
from alerts.handoff.markdown import handoff_markdown
from alerts.markdown import render_html
from alerts.models import HandoffNote, HandoffSettings


@admin.register(HandoffSettings)
class HandoffSettingsAdmin(admin.ModelAdmin):
    list_display = ["team", "merge_roles", "auto_submit_after", "grace"]


@admin.register(HandoffNote)
class HandoffNoteAdmin(admin.ModelAdmin):
    list_display = [
        "boundary",
        "team",
        "rotation",
        "role",
        "outgoing",
        "incoming",
        "status_shown",
        "auto_submitted",
    ]
    list_filter = ["team", "role", "status", "auto_submitted"]
    date_hierarchy = "boundary"
    search_fields = [
        "tips",
        "outgoing__user__username",
        "incoming__user__username",
    ]
    list_select_related = ["team", "rotation", "outgoing__user", "incoming__user"]
    actions = ["submit_as_drafted"]
    fields = readonly_fields = (
        "preview",
        "markdown",
        "team",
        "rotation",
        "role",
        "boundary",
        "outgoing",
        "incoming",
        "status",
        "auto_submitted",
        "drafted_at",
        "submitted_at",
        "notified_at",
        "reminded_at",
        "acknowledged_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # drafted at shift changes only

    def has_change_permission(
        self, request: HttpRequest, obj: HandoffNote | None = None
    ) -> bool:
        return False  # edited by its author; staff read it (and use the action)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[HandoffNote], search_term: str
    ) -> tuple[QuerySet[HandoffNote], bool]:
        """Also search the ongoing issues and the incidents' titles (JSON)."""
        found, duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term:
            as_text = queryset.annotate(
                ongoing_text=Cast("ongoing", TextField()),
                incidents_text=Cast("open_incidents", TextField()),
            ).filter(
                Q(ongoing_text__icontains=term) | Q(incidents_text__icontains=term)
            )
            found = found | queryset.filter(pk__in=as_text.values("pk"))
        return found, duplicates

    @admin.display(description="status", ordering="status")
    def status_shown(self, note: HandoffNote) -> str:
        if note.status == HandoffNote.Status.SUBMITTED:
            return "unacknowledged"
        return note.status

    @admin.display(description="note")
    def preview(self, note: HandoffNote) -> SafeString:
        # markdown-it runs with raw HTML off: what the engineer typed is escaped.
        return mark_safe(render_html(handoff_markdown(note)))  # noqa: S308

    @admin.display(description="Markdown")
    def markdown(self, note: HandoffNote) -> SafeString:
        return format_html("<pre>{}</pre>", handoff_markdown(note))

    def has_submit_permission(self, request: HttpRequest) -> bool:
        """Submitting is a change to the note, by whoever may change notes (the
        change form itself stays read-only)."""
        return request.user.has_perm("alerts.change_handoffnote")

    @admin.action(
        description="Submit the selected drafts as drafted", permissions=["submit"]
    )
    def submit_as_drafted(
        self, request: HttpRequest, queryset: QuerySet[HandoffNote]
    ) -> None:
        done = 0
        for note in queryset.filter(status=HandoffNote.Status.DRAFT):
            try:
                handoff_submit(note=note, now=timezone.now(), auto=True)
                done += 1
            except HandoffError:
                continue
        self.message_user(request, f"{done} note(s) submitted.", messages.SUCCESS)
