"""The admin's import page (issue 19): the same import as ``manage.py
oncall_import``, run by a Celery worker, with a progress bar and its report.

"Import runs" in the admin index lists past runs; its *Add* is the form (source,
URL, token, team, dry run).  A run's page shows the progress bar, refreshed by a
few lines of script polling ``<id>/status/`` or, without script, by a
``<meta refresh>``; when the run ends, its report (with the faithfulness check's
lines) or its error.  The token is sealed for the worker and never stored
(``alerts/importers/token_seal.py``).  Staff only, with the model's permissions.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from alerts.importers.run import IMPORTERS, SOURCES
from alerts.importers.runs import import_run_start, import_runs_expire
from alerts.models import ImportRun


class ImportForm(forms.Form):
    source = forms.ChoiceField(choices=[(s, s) for s in SOURCES])
    url = forms.URLField(
        label="API URL",
        required=False,
        assume_scheme="https",
        help_text="Empty: the source's public API ("
        + ", ".join(f"{s}: {i.default_url}" for s, i in IMPORTERS.items())
        + ").",
    )
    # Never rendered back into the page, even when the form has errors.
    token = forms.CharField(
        label="API token",
        max_length=500,
        strip=True,
        widget=forms.PasswordInput(render_value=False),
        help_text="Read access is enough. It is handed to the worker sealed and "
        "never stored.",
    )
    team = forms.CharField(
        max_length=200,
        required=False,
        help_text="Only this team of the source (its id or name); empty: all.",
    )
    dry_run = forms.BooleanField(
        required=False,
        initial=True,
        help_text="Plan and check, then roll everything back.",
    )

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        source = self.cleaned_data.get("source")
        if not url and source in IMPORTERS:
            return IMPORTERS[source].default_url
        if url and not url.startswith(("https://", "http://")):
            raise forms.ValidationError("Use an http:// or https:// URL.")
        return url

    def clean_token(self) -> str:
        token = self.cleaned_data["token"]
        if any(c.isspace() for c in token):
            raise forms.ValidationError(
                "A token has no spaces or line breaks: paste the token alone."
            )
        return token


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "status",
        "progress",
        "url",
        "team",
        "started_by",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "source", "dry_run"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a run is a record: nothing to edit

    @admin.display(description="progress")
    def progress(self, run: ImportRun) -> str:
        return f"{run.percent} %"

    def get_urls(self) -> list[URLPattern]:
        status = path(
            "<int:pk>/status/",
            self.admin_site.admin_view(self.status_view),
            name="alerts_importrun_status",
        )
        return [status, *super().get_urls()]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        import_runs_expire()
        return super().changelist_view(request, extra_context)

    def add_view(
        self,
        request: HttpRequest,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ImportForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            run = import_run_start(
                source=data["source"],
                url=data["url"],
                token=data["token"],
                team=data["team"],
                dry_run=data["dry_run"],
                by=request.user,
            )
            return HttpResponseRedirect(
                reverse("admin:alerts_importrun_change", args=[run.pk])
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import from another on-call product",
            "form": form,
        }
        return TemplateResponse(request, "admin/alerts/importrun/start.html", context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if not object_id.isdigit():
            raise Http404("no such import run")
        run = self._run(request, int(object_id))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": str(run),
            "run": run,
            "finished": run.finished_at is not None,
            "status_url": reverse("admin:alerts_importrun_status", args=[run.pk]),
        }
        return TemplateResponse(request, "admin/alerts/importrun/run.html", context)

    def status_view(self, request: HttpRequest, pk: int) -> JsonResponse:
        run = self._run(request, pk)
        return JsonResponse(
            {
                "status": run.status,
                "stage": run.stage,
                "done": run.done,
                "total": run.total,
                "percent": run.percent,
                "finished": run.finished_at is not None,
            }
        )

    def _run(self, request: HttpRequest, pk: int) -> ImportRun:
        if not self.has_view_permission(request):
            raise PermissionDenied
        import_runs_expire()
        return get_object_or_404(ImportRun, pk=pk)
