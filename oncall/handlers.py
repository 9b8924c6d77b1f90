"""WSGI plumbing: a Django handler with another middleware chain, a dispatcher
that sends the requests under some URL prefixes to it, and a lean path in front
of such a handler for the requests that need none of Django's request machinery
(see oncall/wsgi.py)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse

from oncall.metrics import LATENCY, REQUESTS

logger = logging.getLogger(__name__)

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
    application; one whose path ends with one of the ``suffixes`` (a URL with an
    argument in the middle) to that one; else to ``default``."""

    def __init__(
        self,
        *,
        default: WSGIApp,
        routes: dict[str, WSGIApp],
        prefixes: dict[str, WSGIApp] | None = None,
        suffixes: dict[str, WSGIApp] | None = None,
    ) -> None:
        self.default = default
        self.routes = [(reverse(name), app) for name, app in routes.items()]
        self.routes += list((prefixes or {}).items())
        self.suffixes = list((suffixes or {}).items())

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        for prefix, app in self.routes:
            if path.startswith(prefix):
                return app(environ, start_response)
        for suffix, app in self.suffixes:
            if path.endswith(suffix):
                return app(environ, start_response)
        return self.default(environ, start_response)


class LeanAnswer(Protocol):
    """What a lean path's ``answer`` gives: e.g. scheduling.feed_polls.Answer."""

    @property
    def status(self) -> int: ...
    @property
    def reason(self) -> str: ...
    @property
    def headers(self) -> list[tuple[str, str]]: ...
    @property
    def body(self) -> bytes: ...


# The middleware whose effects LeanPath reproduces, in this order (see
# settings.FEED_MIDDLEWARE): metrics, security headers, and the database-outage
# 503 -- which the lean path leaves to the handler, by handing it the request.
LEAN_MIRRORS = (
    "oncall.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "oncall.middleware.DatabaseUnavailableMiddleware",
)
# settings.MIDDLEWARE, the chain in front of the API.  For an answer of a view
# that reads no session, cookie or message, with its Content-Length set, what
# the chain adds beyond LEAN_MIRRORS is XFrameOptionsMiddleware's header
# (``frame_options_headers``); the others leave such an answer as it is.
# WhiteNoise (DEBUG off) serves only STATIC_URL and is not compared.
API_MIRRORS = (
    "oncall.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "oncall.middleware.DatabaseUnavailableMiddleware",
)
WHITENOISE = "whitenoise.middleware.WhiteNoiseMiddleware"


def frame_options_headers() -> list[tuple[str, str]]:
    """What XFrameOptionsMiddleware adds to an answer that has no such header."""
    return [("X-Frame-Options", getattr(settings, "X_FRAME_OPTIONS", "DENY").upper())]


class _Finishing:
    """A lean answer's body: closing it (the server does, once it is sent) is
    the end of the request, as closing a Django response is."""

    __slots__ = ("body",)

    def __init__(self, body: bytes) -> None:
        self.body = body

    def __iter__(self) -> Iterator[bytes]:
        return iter((self.body,))

    def close(self) -> None:
        # close_old_connections (CONN_MAX_AGE, a connection left broken), the
        # caches' close: whatever Django does at the end of every request.
        request_finished.send(sender=LeanPath)


class LeanPath:
    """Answer the requests ``answer(environ)`` can answer from the environ alone;
    hand the rest to ``handler`` (a Django handler whose middleware chain is
    ``handler_setting``), untouched.

    What the handler's chain adds, the lean path adds the same way:
    ``request_started`` before and ``request_finished`` when the body is closed
    (connection lifetime: ``close_old_connections``), the security headers
    ``SecurityMiddleware`` would add (from the same settings, read once at
    start-up as the middleware reads them), the request counter and latency
    under ``route`` (the URL pattern RequestMetricsMiddleware would label it
    with).  A request Django must
    redirect to https goes to the handler, and so does one whose ``answer``
    raises: a database error becomes the chain's 503 there, anything else is
    logged and answered by Django.  If the setting's chain is not the one this
    class mirrors (:data:`LEAN_MIRRORS`), the lean path stays off and says so.
    """

    def __init__(
        self,
        *,
        answer: Callable[[dict[str, Any]], LeanAnswer | None],
        handler: WSGIApp,
        handler_setting: str,
        route: str,
        mirrors: tuple[str, ...] = LEAN_MIRRORS,
        extra_headers: Callable[[], list[tuple[str, str]]] | None = None,
    ) -> None:
        self.answer = answer
        self.handler = handler
        self.route = route
        chain = tuple(m for m in getattr(settings, handler_setting) if m != WHITENOISE)
        self.enabled = chain == mirrors
        if not self.enabled:
            logger.warning(
                "%s is not the chain the lean path mirrors (%s): every request "
                "goes through Django",
                handler_setting,
                ", ".join(mirrors),
            )
        # Read once, as the chain's SecurityMiddleware reads them.
        self.redirect = bool(settings.SECURE_SSL_REDIRECT)
        extra = extra_headers() if extra_headers is not None else []
        self.security_headers = {
            secure: _security_headers(secure=secure) + extra for secure in (False, True)
        }

    def _is_secure(self, environ: dict[str, Any]) -> bool:
        """HttpRequest.is_secure(), from the environ."""
        proxy = settings.SECURE_PROXY_SSL_HEADER
        if proxy:
            header, secure_value = proxy
            value = environ.get(header)
            if value is not None:
                return value.split(",", 1)[0].strip() == secure_value
        return environ.get("wsgi.url_scheme") == "https"

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if not self.enabled:
            return self.handler(environ, start_response)
        started = time.perf_counter()
        secure = self._is_secure(environ)
        if self.redirect and not secure:
            return self.handler(environ, start_response)
        request_started.send(sender=LeanPath, environ=environ)
        try:
            answer = self.answer(environ)
        except Exception as error:
            # The handler runs it again: its chain turns a database outage
            # into the 503 with Retry-After, and Django logs anything else.
            if not isinstance(error, DatabaseError):
                logger.exception("the lean path failed; Django answers instead")
            answer = None
        if answer is None:
            # request_started again there: close_old_connections is idempotent.
            return self.handler(environ, start_response)
        start_response(
            f"{answer.status} {answer.reason}",
            answer.headers + self.security_headers[secure],
        )
        method = environ["REQUEST_METHOD"]
        LATENCY.labels(method, self.route).observe(time.perf_counter() - started)
        REQUESTS.labels(method, self.route, str(answer.status)).inc()
        return _Finishing(answer.body)


def _security_headers(*, secure: bool) -> list[tuple[str, str]]:
    """The headers django.middleware.security.SecurityMiddleware adds to an
    answer that has none of them, from the same settings, in its order."""
    headers = []
    if settings.SECURE_HSTS_SECONDS and secure:
        sts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            sts += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            sts += "; preload"
        headers.append(("Strict-Transport-Security", sts))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    policy = settings.SECURE_REFERRER_POLICY
    if policy:
        values = policy.split(",") if isinstance(policy, str) else policy
        headers.append(("Referrer-Policy", ",".join(v.strip() for v in values)))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(
            ("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY)
        )
    return headers
