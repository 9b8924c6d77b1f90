"""Turn an unreachable database into a clear 503, not a 500 with a stack trace.

While PostgreSQL restarts, every request that needs it fails.  A 503 with
``Retry-After`` tells clients the truth: come back shortly.  Alertmanager retries
5xx at once, so a webhook refused here is delivered again once the database is back,
and nothing was accepted that was not stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning(
            "database unavailable answering %s %s: %s",
            request.method,
            request.path,
            exception,
        )
        response = JsonResponse(
            {"error": "database unavailable; retry shortly"}, status=503
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
