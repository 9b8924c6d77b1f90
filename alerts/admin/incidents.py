"""Incidents in the admin: the list at a glance, the incident page an operator
works from (``incident_page.py``; Acknowledge / Resolve / Escalate now buttons), and
the same three as list actions.  Each calls the service in ``alerts.incidents``;
incidents are never edited or deleted by hand.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from alerts.admin.escalation import (
    PageInline,
    escalate_now,
    escalation_display,
    figures_display,
)
from alerts.admin.incident_page import duration_text, incident_page_context
from alerts.incidents.escalate import incident_escalate
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
from alerts.postmortems.draft import PostmortemError, postmortem_for_incident
from scheduling.models import Member


class IncidentAlertInline(admin.TabularInline):
    model = IncidentAlert
    extra = 0
    can_delete = False
    fields = readonly_fields = (
        "alert_name",
        "status",
        "fingerprint",
        "labels",
        "added_at",
        "resolved_at",
    )
    ordering = ["added_at", "alert_id"]

    def has_add_permission(
        self, request: HttpRequest, obj: Incident | None = None
    ) -> bool:
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
    fields = readonly_fields = ("at", "kind", "text", "actor")
    ordering = ["at", "id"]

    def has_add_permission(
        self, request: HttpRequest, obj: Incident | None = None
    ) -> bool:
        return False


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "title",
        "status_badge",
        "urgency",
        "team",
        "age",
        "holder",
        "alerts_summary",
        "flags",
    ]
    list_select_related = ["team", "integration", "acknowledged_by__user"]
    list_filter = ["status", "urgency", "team", "in_maintenance", "source"]
    search_fields = ["=id", "title", "group_key"]
    date_hierarchy = "opened_at"
    # The inlines and fields below are what a view-only change form would show;
    # the incident page (change_view) replaces that form.
    inlines = [IncidentAlertInline, TimelineInline, PageInline]
    actions = ["acknowledge", "resolve", escalate_now, "draft_postmortem"]
    fields = readonly_fields = (
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
    )

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

    def has_delete_permission(
        self, request: HttpRequest, obj: Incident | None = None
    ) -> bool:
        return False  # the record of what happened; resolved, never deleted

    # --- the incident page ---------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        act = path(
            "<path:object_id>/act/<str:action>/",
            self.admin_site.admin_view(self.act_view),
            name="alerts_incident_act",
        )
        # Before the defaults: their "<object_id>/" catch-all would take it.
        return [act, *super().get_urls()]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        """Not a form: the page an operator works from.  Changes go through the
        buttons (``act_view``), never through editing fields."""
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        incident = self.get_object(request, unquote(object_id))
        if incident is None:
            raise Http404(f"no incident {object_id}")
        if not self.has_view_or_change_permission(request, incident):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Incident #{incident.pk}",
            "can_act": self.has_change_permission(request, incident),
            **incident_page_context(incident),
        }
        return TemplateResponse(request, "admin/alerts/incident/console.html", context)

    def act_view(
        self, request: HttpRequest, object_id: str, action: str
    ) -> HttpResponse:
        """POST from the incident page's buttons: acknowledge, resolve, escalate."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        incident = self.get_object(request, unquote(object_id))
        if incident is None:
            raise Http404(f"no incident {object_id}")
        if not self.has_change_permission(request, incident):
            raise PermissionDenied
        by = self._member(request)
        user = request.user
        # Never anonymous here (the admin serves signed-in staff); an anonymous
        # user has no full name.
        full_name = user.get_full_name() if user.is_authenticated else ""
        by_name = full_name or user.get_username()
        try:
            if action == "acknowledge":
                incident_acknowledge(
                    incident=incident, by=by, by_name=by_name, via="admin"
                )
            elif action == "resolve":
                incident_resolve(
                    incident=incident,
                    by=by,
                    by_name=by_name,
                    how="manual",
                    text=f"resolved by {by.display_name if by else by_name} (admin)",
                )
            elif action == "escalate":
                incident_escalate(
                    incident=incident, by=by, by_name=by_name, via="admin"
                )
            else:
                raise Http404(f"no action {action!r}")
        except IncidentStateError as exc:
            self.message_user(request, str(exc), messages.WARNING)
        else:
            self.message_user(request, f"Incident #{incident.pk}: {action} done.")
        return HttpResponseRedirect(
            reverse("admin:alerts_incident_change", args=[incident.pk])
        )

    # --- the list --------------------------------------------------------------------

    @admin.display(description="status", ordering="status")
    def status_badge(self, incident: Incident) -> str:
        colours = {"triggered": "#ba2121", "acknowledged": "#b36b00"}
        return format_html(
            '<span style="color:{};font-weight:bold">{}</span>',
            colours.get(incident.status, "#2f7d32"),
            incident.get_status_display(),
        )

    @admin.display(description="age", ordering="opened_at")
    def age(self, incident: Incident) -> str:
        end = incident.resolved_at or timezone.now()
        return duration_text(end - incident.opened_at)

    @admin.display(description="held by")
    def holder(self, incident: Incident) -> str:
        if incident.status == Incident.Status.ACKNOWLEDGED and incident.acknowledged_by:
            return incident.acknowledged_by.display_name
        return "-"

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
        if incident.suppressed_by_id is not None:
            found.append(f"suppressed by #{incident.suppressed_by_id}")
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
        user = request.user
        if not user.is_authenticated:  # never: the admin serves signed-in staff
            return None
        return Member.objects.filter(user=user).first()

    @admin.action(
        description="Acknowledge the selected incidents", permissions=["change"]
    )
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

    @admin.action(
        description="Draft a postmortem of the selected resolved incidents",
        permissions=["change"],
    )
    def draft_postmortem(
        self, request: HttpRequest, queryset: QuerySet[Incident]
    ) -> None:
        for incident in queryset:
            try:
                postmortem, created = postmortem_for_incident(
                    incident=incident, by=request.user
                )
            except PostmortemError as exc:
                self.message_user(request, str(exc), messages.WARNING)
                continue
            url = reverse("admin:alerts_postmortem_change", args=[postmortem.pk])
            self.message_user(
                request,
                format_html(
                    '{} <a href="{}">{}</a>',
                    "Drafted" if created else "Already drafted:",
                    url,
                    postmortem,
                ),
            )

    @admin.action(description="Resolve the selected incidents", permissions=["change"])
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
