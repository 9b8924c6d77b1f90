"""The inbox of stored webhooks in the admin, with the process-again action."""

from __future__ import annotations

import json

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from alerts.intake.inbox import delivery_retry
from alerts.models import (
    WebhookDelivery,
)


class DeliveryStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin
    ) -> list[tuple[str, str]]:
        return [
            ("pending", "waiting to be processed"),
            ("failed", "failed"),
            ("processed", "processed"),
        ]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]
    ) -> QuerySet[WebhookDelivery]:
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
    fields = readonly_fields = (
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
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: WebhookDelivery | None = None
    ) -> bool:
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

    def has_process_permission(self, request: HttpRequest) -> bool:
        # The admin is view-only (has_change_permission is False), so the action
        # asks for the model permission itself: "change" means "may retry".
        return request.user.has_perm("alerts.change_webhookdelivery")

    @admin.action(
        description="Process again (resets the attempt count)",
        permissions=["process"],
    )
    def process_again(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = delivery_retry(delivery_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request, f"Queued {count} unprocessed delivery(ies) for processing."
        )
