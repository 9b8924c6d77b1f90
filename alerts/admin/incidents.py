"""Incidents in the admin: alerts, timeline, pages, and the acknowledge, resolve and
escalate-now actions (each calls the service in ``alerts.incidents``).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join

from alerts.admin.escalation import (
    PageInline,
    escalate_now,
    escalation_display,
    figures_display,
)
from alerts.incidents.state import (
    IncidentStateError,
    incident_acknowledge,
    incident_resolve,
)
from alerts.models import (
    Incident,
    IncidentAlert,
    TimelineEntry,
)
from scheduling.models import Member


class IncidentAlertInline(admin.TabularInline):
    model = IncidentAlert
    extra = 0
    can_delete = False
    fields = [
        "alert_name",
        "status",
        "fingerprint",
        "labels",
        "added_at",
        "resolved_at",
    ]
    readonly_fields = fields
    ordering = ["added_at", "alert_id"]

    def has_add_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[IncidentAlert]:
        return super().get_queryset(request).select_related("alert")

    @admin.display(description="alert")
    def alert_name(self, link: IncidentAlert) -> str:
        return link.alert.name

    @admin.display(description="fingerprint")
    def fingerprint(self, link: IncidentAlert) -> str:
        return link.alert.fingerprint

    @admin.display(description="labels")
    def labels(self, link: IncidentAlert) -> str:
        return format_html_join(
            " ", "<code>{}={}</code>", sorted(link.alert.labels.items())
        )


class TimelineInline(admin.TabularInline):
    model = TimelineEntry
    extra = 0
    can_delete = False
    fields = ["at", "kind", "text", "actor"]
    readonly_fields = fields
    ordering = ["at", "id"]

    def has_add_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "title",
        "status",
        "urgency",
        "team",
        "opened_at",
        "alerts_summary",
        "flags",
    ]
    list_filter = ["status", "urgency", "team", "in_maintenance", "source"]
    search_fields = ["=id", "title", "group_key"]
    date_hierarchy = "opened_at"
    inlines = [IncidentAlertInline, TimelineInline, PageInline]
    actions = ["acknowledge", "resolve", escalate_now]
    readonly_fields = [
        "escalation_state",
        "figures",
        "number",
        "title",
        "status",
        "urgency",
        "team",
        "integration",
        "source",
        "route",
        "routing",
        "group_key",
        "labels_display",
        "annotations_display",
        "external_url",
        "truncated_alerts",
        "in_maintenance",
        "notifications",
        "opened_at",
        "last_notified_at",
        "acknowledged_at",
        "acknowledged_by",
        "resolved_at",
        "resolved_by",
        "resolved_how",
    ]
    fields = readonly_fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Incident]:
        return (
            super()
            .get_queryset(request)
            .select_related("team", "integration")
            .annotate(
                n_alerts=Count("incident_alerts", distinct=True),
                n_firing=Count(
                    "incident_alerts",
                    filter=Q(incident_alerts__status="firing"),
                    distinct=True,
                ),
            )
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # incidents come from alerts

    @admin.display(description="escalation")
    def escalation_state(self, incident: Incident) -> str:
        return escalation_display(incident)

    @admin.display(description="time")
    def figures(self, incident: Incident) -> str:
        return figures_display(incident)

    @admin.display(description="#", ordering="id")
    def number(self, incident: Incident) -> int:
        return incident.pk

    @admin.display(description="alerts")
    def alerts_summary(self, incident: Incident) -> str:
        total = getattr(incident, "n_alerts", 0)
        firing = getattr(incident, "n_firing", 0)
        return f"{firing} firing / {total}"

    @admin.display(description="flags")
    def flags(self, incident: Incident) -> str:
        found = []
        if incident.in_maintenance:
            found.append("maintenance")
        if incident.truncated_alerts:
            found.append(f"{incident.truncated_alerts} truncated")
        if incident.source == Incident.Source.HEARTBEAT:
            found.append("dead man's switch")
        return ", ".join(found)

    @admin.display(description="common labels")
    def labels_display(self, incident: Incident) -> str:
        return format_html_join(
            " ", "<code>{}={}</code>", sorted(incident.common_labels.items())
        )

    @admin.display(description="common annotations")
    def annotations_display(self, incident: Incident) -> str:
        return format_html_join(
            "", "<div><b>{}</b>: {}</div>", sorted(incident.common_annotations.items())
        )

    def _member(self, request: HttpRequest) -> Member | None:
        return Member.objects.filter(user=request.user).first()

    @admin.action(description="Acknowledge the selected incidents")
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        done = 0
        for incident in queryset:
            try:
                incident_acknowledge(
                    incident=incident, by=self._member(request), via="admin"
                )
                done += 1
            except IncidentStateError as exc:
                self.message_user(request, str(exc), messages.WARNING)
        self.message_user(request, f"Acknowledged {done} incident(s).")

    @admin.action(description="Resolve the selected incidents")
    def resolve(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        by = self._member(request)
        who = by.display_name if by else request.user.get_username()
        for incident in queryset:
            incident_resolve(
                incident=incident,
                by=by,
                how="manual",
                text=f"resolved by {who} (admin)",
            )
        self.message_user(request, f"Resolved {queryset.count()} incident(s).")
