"""Integrations in the admin: the secret token shown once (on creation or rotation,
never stored in clear), the Alertmanager configuration snippets, the route tester.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.forms.formsets import BaseFormSet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from alerts.escalation.policies import escalation_preview
from alerts.intake.integrations import (
    alertmanager_snippets,
    integration_set_token,
    new_token,
    webhook_url,
)
from alerts.models import (
    Incident,
    Integration,
    Route,
    hash_token,
)
from alerts.routing import choose_route
from alerts.selectors import route_rules
from scheduling.models import Team

# The request attribute that carries a new token from save_model to response_add,
# which shows it once.
_SHOWN_ONCE_ATTR = "_oncall_new_token"


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
        "alertmanager_config",
    ]
    fieldsets = [
        (None, {"fields": ["team", "name", "enabled", "reopen_window"]}),
        (
            "Webhook",
            {
                "fields": [
                    "webhook_urls",
                    "token_hint_display",
                    "alertmanager_config",
                    "tools",
                ]
            },
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

    class Media:
        css = {"all": ["alerts/admin.css"]}
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

    @admin.display(description="alertmanager.yml")
    def alertmanager_config(self, integration: Integration) -> str:
        """The configuration to paste, with a placeholder: the token itself was
        shown once, when the integration was created (or its token rotated)."""
        return format_html(
            '<pre id="alertmanager-config">{}</pre><p>Put the token in place of '
            "<code>&lt;token&gt;</code> (it was shown once, when it was made; "
            "if it is lost, rotate it). Token in the URL path or basic auth "
            "work too.</p>",
            alertmanager_snippets("<token>")["bearer"],
        )

    @admin.display(description="tools")
    def tools(self, integration: Integration) -> str:
        if not integration.pk:
            return "-"
        return format_html(
            '<a href="{}">Test labels against the routes</a> · '
            '<a href="{}">Rotate the token (shows the new token once)</a>',
            reverse("admin:alerts_integration_test_labels", args=[integration.pk]),
            reverse("admin:alerts_integration_rotate", args=[integration.pk]),
        )

    def get_urls(self) -> list[URLPattern]:
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

    def save_model(
        self,
        request: HttpRequest,
        obj: Integration,
        form: forms.ModelForm,
        change: bool,
    ) -> None:
        if not change:
            # Shown once by response_add; only the hash is stored.
            token = new_token()
            setattr(request, _SHOWN_ONCE_ATTR, token)
            obj.token_hash = hash_token(token)
            obj.token_hint = token[:6]
        super().save_model(request, obj, form, change)

    def save_related(
        self,
        request: HttpRequest,
        form: forms.ModelForm,
        formsets: list[BaseFormSet],
        change: bool,
    ) -> None:
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

    def response_add(
        self,
        request: HttpRequest,
        obj: Integration,
        post_url_continue: str | None = None,
    ) -> HttpResponse:
        token = getattr(request, _SHOWN_ONCE_ATTR, None)
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

    @admin.action(
        description="Rotate the token (the old one stops working)",
        permissions=["change"],
    )
    def rotate_token(
        self, request: HttpRequest, queryset: QuerySet[Integration]
    ) -> HttpResponse | None:
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
        preview = None
        if choice is not None:
            chosen_team = Team.objects.filter(pk=choice.team_id).first()
            now = timezone.now()
            name, hours, steps = escalation_preview(
                incident=Incident(
                    integration=integration,
                    team=chosen_team,
                    route_id=choice.route_id,
                    urgency=choice.urgency,
                ),
                at=now,
            )
            preview = {"policy": name, "hours": hours, "steps": steps, "now": now}
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Which route would match? ({integration})",
            "integration": integration,
            "form": form,
            "rules": rules,
            "choice": choice,
            "chosen_team": chosen_team,
            "preview": preview,
        }
        return TemplateResponse(
            request, "admin/alerts/integration/test_labels.html", context
        )
