"""The operator's console for alerts: integrations, routes, incidents, the inbox.

Admin actions and extra views parse input and call the services; the secret token is
shown once (on creation or rotation), never stored in clear.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from alerts.admin_escalation import (
    PageInline,
    escalate_now,
    escalation_display,
    figures_display,
)
from alerts.deliveries import delivery_retry
from alerts.incidents import IncidentStateError, incident_acknowledge, incident_resolve
from alerts.integrations import (
    alertmanager_snippets,
    integration_set_token,
    new_token,
    webhook_url,
)
from alerts.models import (
    Incident,
    IncidentAlert,
    Integration,
    MaintenanceWindow,
    Route,
    RouteMatcher,
    TimelineEntry,
    WebhookDelivery,
    hash_token,
)
from alerts.routing import choose_route
from alerts.selectors import route_rules
from scheduling.models import Member, Team

# --- integrations and routes -----------------------------------------------------


class RouteInline(admin.TabularInline):
    model = Route
    extra = 0
    fields = [
        "position",
        "name",
        "team",
        "urgency",
        "escalation_policy",
        "matchers_summary",
    ]
    readonly_fields = ["matchers_summary"]
    show_change_link = True
    ordering = ["position", "id"]

    @admin.display(description="matchers (edit the route to change)")
    def matchers_summary(self, route: Route) -> str:
        if not route.pk:
            return "-"
        found = [str(m) for m in route.matchers.all()]
        return ", ".join(found) if found else "catch-all (matches everything)"


class TestLabelsForm(forms.Form):
    labels = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "cols": 60}),
        help_text="One label per line as name=value (severity=critical), or a JSON "
        'object ({"severity": "critical"}): the common labels of a group.',
    )

    def clean_labels(self) -> dict[str, str]:
        text = self.cleaned_data["labels"].strip()
        if text.startswith("{"):
            try:
                data = json.loads(text)
            except ValueError as exc:
                raise ValidationError(f"not valid JSON: {exc}") from exc
            if not isinstance(data, dict) or not all(
                isinstance(v, str) for v in data.values()
            ):
                raise ValidationError("the JSON must be an object of strings")
            return data
        labels: dict[str, str] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            name, sep, value = line.partition("=")
            if not sep or not name.strip():
                raise ValidationError(f"line {number}: write name=value")
            labels[name.strip()] = value.strip().strip('"')
        return labels


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "team",
        "enabled",
        "token_hint_display",
        "heartbeat_display",
        "open_incidents",
    ]
    list_filter = ["enabled", "team"]
    search_fields = ["name", "team__slug", "token_hint"]
    readonly_fields = [
        "webhook_urls",
        "token_hint_display",
        "heartbeat_last_seen_at",
        "created_at",
        "tools",
    ]
    fieldsets = [
        (None, {"fields": ["team", "name", "enabled", "reopen_window"]}),
        (
            "Webhook",
            {"fields": ["webhook_urls", "token_hint_display", "tools"]},
        ),
        (
            "Dead man's switch",
            {
                "fields": [
                    "heartbeat_alertname",
                    "heartbeat_interval",
                    "heartbeat_last_seen_at",
                ]
            },
        ),
        (None, {"fields": ["created_at"]}),
    ]
    inlines = [RouteInline]
    actions = ["rotate_token"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Integration]:
        return (
            super()
            .get_queryset(request)
            .select_related("team")
            .annotate(
                open_count=Count(
                    "incidents",
                    filter=Q(incidents__status__in=["triggered", "acknowledged"]),
                )
            )
        )

    @admin.display(description="open incidents", ordering="open_count")
    def open_incidents(self, integration: Integration) -> int:
        return getattr(integration, "open_count", 0)

    @admin.display(description="token")
    def token_hint_display(self, integration: Integration) -> str:
        if not integration.token_hint:
            return "-"
        return f"{integration.token_hint}… (shown in full only when created or rotated)"

    @admin.display(description="dead man's switch")
    def heartbeat_display(self, integration: Integration) -> str:
        if not integration.heartbeat_interval:
            return "off"
        seen = integration.heartbeat_last_seen_at
        state = f"last {seen:%Y-%m-%d %H:%M} UTC" if seen else "not armed yet"
        return (
            f"{integration.heartbeat_alertname} every "
            f"{integration.heartbeat_interval} min ({state})"
        )

    @admin.display(description="webhook URL")
    def webhook_urls(self, integration: Integration) -> str:
        return format_html(
            "<code>{}</code> (token in the path)<br><code>{}</code> with "
            "<code>Authorization: Bearer &lt;token&gt;</code> or basic auth with the "
            "token as password",
            webhook_url("<token>"),
            webhook_url(),
        )

    @admin.display(description="tools")
    def tools(self, integration: Integration) -> str:
        if not integration.pk:
            return "-"
        return format_html(
            '<a href="{}">Test labels against the routes</a> · '
            '<a href="{}">Rotate the token (shows the config to paste)</a>',
            reverse("admin:alerts_integration_test_labels", args=[integration.pk]),
            reverse("admin:alerts_integration_rotate", args=[integration.pk]),
        )

    def get_urls(self):  # noqa: ANN201
        extra = [
            path(
                "<int:pk>/test-labels/",
                self.admin_site.admin_view(self.test_labels_view),
                name="alerts_integration_test_labels",
            ),
            path(
                "<int:pk>/rotate-token/",
                self.admin_site.admin_view(self.rotate_view),
                name="alerts_integration_rotate",
            ),
        ]
        return extra + super().get_urls()

    def save_model(self, request, obj, form, change) -> None:  # noqa: ANN001
        if not change:
            # Shown once by response_add; only the hash is stored.
            request._oncall_new_token = new_token()
            obj.token_hash = hash_token(request._oncall_new_token)
            obj.token_hint = request._oncall_new_token[:6]
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change) -> None:  # noqa: ANN001
        super().save_related(request, form, formsets, change)
        integration = form.instance
        if not integration.routes.filter(matchers__isnull=True).exists():
            Route.objects.create(
                integration=integration,
                position=1000,
                name="catch-all",
                team=integration.team,
            )
            messages.info(
                request, "Added a catch-all route: every integration keeps one."
            )

    def response_add(self, request, obj, post_url_continue=None):  # noqa: ANN001, ANN201
        token = getattr(request, "_oncall_new_token", None)
        if token is None:
            return super().response_add(request, obj, post_url_continue)
        return self._token_page(request, obj, token, "created")

    def _token_page(
        self, request: HttpRequest, integration: Integration, token: str, what: str
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Integration {what}: copy its token now",
            "integration": integration,
            "token": token,
            "path_url": webhook_url(token),
            "header_url": webhook_url(),
            "snippets": alertmanager_snippets(token),
            "what": what,
        }
        return TemplateResponse(request, "admin/alerts/integration/token.html", context)

    def rotate_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        integration = get_object_or_404(Integration, pk=pk)
        if not self.has_change_permission(request, integration):
            return HttpResponse(status=403)
        if request.method != "POST":
            context = {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": f"Rotate the token of {integration}?",
                "integration": integration,
            }
            return TemplateResponse(
                request, "admin/alerts/integration/rotate_confirm.html", context
            )
        token = integration_set_token(integration=integration)
        return self._token_page(request, integration, token, "token rotated")

    @admin.action(description="Rotate the token (the old one stops working)")
    def rotate_token(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        if queryset.count() != 1:
            self.message_user(
                request, "Rotate one integration at a time.", messages.WARNING
            )
            return None
        integration = queryset.get()
        token = integration_set_token(integration=integration)
        return self._token_page(request, integration, token, "token rotated")

    def test_labels_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        integration = get_object_or_404(Integration, pk=pk)
        rules = route_rules(integration_id=integration.pk)
        choice = None
        form = TestLabelsForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            choice = choose_route(
                rules, form.cleaned_data["labels"], default_team_id=integration.team_id
            )
        chosen_team = None
        if choice is not None:
            chosen_team = Team.objects.filter(pk=choice.team_id).first()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Which route would match? ({integration})",
            "integration": integration,
            "form": form,
            "rules": rules,
            "choice": choice,
            "chosen_team": chosen_team,
        }
        return TemplateResponse(
            request, "admin/alerts/integration/test_labels.html", context
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

    def has_delete_permission(self, request, obj=None) -> bool:  # noqa: ANN001
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


# --- incidents ----------------------------------------------------------------


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


# --- the inbox ----------------------------------------------------------------


class DeliveryStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):  # noqa: ANN001, ANN201
        return [
            ("pending", "waiting to be processed"),
            ("failed", "failed"),
            ("processed", "processed"),
        ]

    def queryset(self, request, queryset):  # noqa: ANN001, ANN201
        if self.value() == "pending":
            return queryset.filter(processed_at__isnull=True, error="")
        if self.value() == "failed":
            return queryset.filter(processed_at__isnull=True).exclude(error="")
        if self.value() == "processed":
            return queryset.filter(processed_at__isnull=False)
        return queryset


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "integration",
        "received_at",
        "auth",
        "group_key",
        "state",
        "attempts",
        "outcome",
    ]
    list_filter = [DeliveryStateFilter, "integration", "auth"]
    search_fields = ["group_key", "=id"]
    date_hierarchy = "received_at"
    actions = ["process_again"]
    fields = [
        "integration",
        "received_at",
        "auth",
        "headers_display",
        "group_key",
        "processed_at",
        "attempts",
        "last_attempt_at",
        "result",
        "error",
        "body_display",
    ]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False  # the inbox is a record; view only

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookDelivery]:
        return super().get_queryset(request).select_related("integration__team")

    @admin.display(description="state")
    def state(self, delivery: WebhookDelivery) -> str:
        if delivery.processed_at:
            return "processed"
        return "failed" if delivery.error else "pending"

    @admin.display(description="result")
    def outcome(self, delivery: WebhookDelivery) -> str:
        return (delivery.error or delivery.result)[:120]

    @admin.display(description="headers")
    def headers_display(self, delivery: WebhookDelivery) -> str:
        return format_html_join(
            "", "<div><code>{}: {}</code></div>", sorted(delivery.headers.items())
        )

    @admin.display(description="body")
    def body_display(self, delivery: WebhookDelivery) -> str:
        try:
            pretty = json.dumps(json.loads(delivery.body), indent=2)
        except ValueError:
            pretty = delivery.body
        return format_html(
            '<pre style="white-space: pre-wrap; max-height: 40em; overflow: auto">'
            "{}</pre>",
            pretty,
        )

    @admin.action(description="Process again (resets the attempt count)")
    def process_again(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = delivery_retry(delivery_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request, f"Queued {count} unprocessed delivery(ies) for processing."
        )


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(admin.ModelAdmin):
    list_display = ["reason", "team", "integration", "starts_at", "ends_at", "active"]
    list_filter = ["team", "integration"]
    date_hierarchy = "starts_at"
    fields = ["team", "integration", "starts_at", "ends_at", "reason", "created_by"]
    readonly_fields = ["created_by"]

    @admin.display(boolean=True, description="active now")
    def active(self, window: MaintenanceWindow) -> bool:
        return window.is_active()

    def save_model(self, request, obj, form, change) -> None:  # noqa: ANN001
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
