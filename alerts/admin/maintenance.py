"""Maintenance windows in the admin."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from alerts.incidents.maintenance import maintenance_delete, maintenance_save
from alerts.models import (
    MaintenanceWindow,
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

    def save_model(
        self,
        request: HttpRequest,
        obj: MaintenanceWindow,
        form: forms.ModelForm,
        change: bool,
    ) -> None:
        # The admin serves signed-in staff only: is_authenticated is for the type
        # checker (request.user may be AnonymousUser elsewhere).
        if not change and request.user.is_authenticated:
            obj.created_by = request.user
        maintenance_save(window=obj)  # the API's and configuration files' path

    def delete_model(self, request: HttpRequest, obj: MaintenanceWindow) -> None:
        maintenance_delete(window=obj)

    def delete_queryset(
        self, request: HttpRequest, queryset: QuerySet[MaintenanceWindow]
    ) -> None:
        for window in queryset:
            maintenance_delete(window=window)
