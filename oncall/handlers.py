"""WSGI plumbing: a Django handler with another middleware chain, and a dispatcher
that sends the requests under some URL prefixes to it (see oncall/wsgi.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _Handler(WSGIHandler):
    def __init__(self, setting: str, urlconf: str | None = None) -> None:
        self._setting = setting
        self._urlconf = urlconf
        super().__init__()

    def get_response(self, request: HttpRequest) -> HttpResponseBase:
        if self._urlconf is not None:
            # Django's own hook for a per-request URLconf: resolving (and the
            # middleware's APPEND_SLASH check) then tries only these patterns,
            # not the thirty of the root URLconf's includes before them.
            # (An attribute Django reads but django-stubs does not declare.)
            request.urlconf = self._urlconf  # type: ignore[attr-defined]
        return super().get_response(request)

    def load_middleware(self, is_async: bool = False) -> None:
        # BaseHandler builds its chain from settings.MIDDLEWARE: give it ours while
        # it does (once, at start-up, before any request is served).
        usual = settings.MIDDLEWARE
        settings.MIDDLEWARE = getattr(settings, self._setting)
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = usual


def handler_with_middleware(setting: str, urlconf: str | None = None) -> WSGIHandler:
    """A Django WSGI handler whose middleware chain is the named setting, and
    which resolves URLs with ``urlconf`` if given (else ``ROOT_URLCONF``)."""
    return _Handler(setting, urlconf)


class PathDispatcher:
    """Send each request whose path starts with one of the named URLs (or one of
    the literal ``prefixes``, for URLs whose every path has an argument) to that
    application, else to ``default``."""

    def __init__(
        self,
        *,
        default: WSGIApp,
        routes: dict[str, WSGIApp],
        prefixes: dict[str, WSGIApp] | None = None,
    ) -> None:
        self.default = default
        self.routes = [(reverse(name), app) for name, app in routes.items()]
        self.routes += list((prefixes or {}).items())

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        for prefix, app in self.routes:
            if path.startswith(prefix):
                return app(environ, start_response)
        return self.default(environ, start_response)
