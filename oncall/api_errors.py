"""JSON errors everywhere a client can reach.

DRF views get a handler that always answers ``{"error": ..., "detail": ...}``;
plain Django 404/500 pages under ``/api/`` answer JSON too, so a script never has to
parse an HTML error page.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.defaults import bad_request, page_not_found, server_error
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, dict) and set(data) == {"detail"}:
        body = {"error": str(data["detail"])}
    else:
        body = {"error": "invalid request", "detail": data}
    response.data = body
    return response


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith(("/api/", "/twilio/", "/ical/"))


def handler400(request: HttpRequest, exception: Exception) -> Any:
    """Django's 400s (a body past ``DATA_UPLOAD_MAX_MEMORY_SIZE``, too many form
    fields, a bad Host header) as JSON where clients are scripts; a body too large
    is what HTTP calls a 413."""
    if not _wants_json(request):
        return bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse({"error": "request body too large"}, status=413)
    return JsonResponse({"error": "bad request", "detail": str(exception)}, status=400)


def handler404(request: HttpRequest, exception: Exception) -> Any:
    if _wants_json(request):
        return JsonResponse({"error": "not found"}, status=404)
    return page_not_found(request, exception)


def handler500(request: HttpRequest) -> Any:
    if _wants_json(request):
        return JsonResponse({"error": "internal error"}, status=500)
    return server_error(request)
