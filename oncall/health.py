"""Liveness, readiness and metrics endpoints (no authentication, no sessions)."""

from __future__ import annotations

import hmac
import logging

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from oncall import metrics
from oncall.celery import app as celery_app

logger = logging.getLogger(__name__)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and answering; touches nothing else."""
    return JsonResponse({"status": "ok"})


def check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def check_broker() -> str | None:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready to serve: the database and the broker both answer.

    503 names the part that failed, so a load balancer log says what to fix.
    """
    checks = {"database": check_database(), "broker": check_broker()}
    failed = {name: error for name, error in checks.items() if error}
    for name, error in failed.items():
        # The reason goes to the log, not to whoever asks: exception text can name
        # hosts, users and paths.
        logger.warning("readiness check %s failed: %s", name, error)
    body = {
        "status": "unavailable" if failed else "ok",
        "checks": {
            name: ("failed" if error else "ok") for name, error in checks.items()
        },
    }
    return JsonResponse(body, status=503 if failed else 200)


def _metrics_authorized(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if not token:
        return True
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        credentials.strip().encode(), token.encode()
    )


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _metrics_authorized(request):
        response = JsonResponse(
            {
                "error": "unauthorized",
                "detail": "send Authorization: Bearer <METRICS_TOKEN>",
            },
            status=401,
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    payload, content_type = metrics.render()
    return HttpResponse(payload, content_type=content_type)
