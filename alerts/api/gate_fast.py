"""The deploy gate's answer straight from the WSGI request: the lean path of
``GET /api/v1/services/<slug>/deploy-gate`` (oncall/wsgi.py, ``LeanPath``).

A CI job asks the gate before every deploy, and the answer comes from stored
facts (one statement, :mod:`alerts.slos.gate_facts`): Django's and DRF's
request handling around it (URL resolution through the API's includes, the
query serializer, content negotiation, rendering) cost more than the answer.
This module answers the common case with the view's own pieces and nothing
else:

* authentication, permissions and throttles are the view's own classes
  (``ServiceDeployGate``, DRF's settings), called in DRF's order of effect:
  a token that does not authenticate, lacks the scope, or is over its rate is
  left to Django, which answers the 401, 403 or 429 (a throttle refusing does
  not count the request, so Django's throttle refuses it as well);
* the gate is ``deploy_gate_for`` (a service the caller may not see, or none:
  left to Django's 404), checked before the throttle counts the request, so a
  request handed to Django is never counted twice;
* the body is ``gate_body`` rendered by DRF's ``JSONRenderer``, with the
  headers DRF's ``APIView`` adds (``Allow``, ``Vary: Accept``).

Anything else goes to Django untouched: another method, a query string
(``?enforce=``), an ``Accept`` other than JSON (the browsable API), a host
``ALLOWED_HOSTS`` refuses, no bearer token.  ``tests/alerts/api/test_gate_fast.py``
sends each case through both paths and compares status, headers and body.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest
from django.http.request import HttpHeaders
from rest_framework.exceptions import APIException
from rest_framework.renderers import JSONRenderer

from alerts.api.slos import ServiceDeployGate, gate_body
from alerts.slos.gate import deploy_gate_for

PATH = re.compile(r"/api/v1/services/(?P<slug>[^/]+)/deploy-gate")
JSON_ACCEPTS = frozenset({"", "*/*", "application/json"})


class Answer:
    __slots__ = ("status", "reason", "headers", "body")

    def __init__(self, body: bytes, headers: list[tuple[str, str]]) -> None:
        self.status, self.reason, self.body, self.headers = 200, "OK", body, headers


class _Request:
    """What the view's authentication, permission and throttle classes read of
    a DRF request: the environ as ``META`` and ``headers``, the method, then
    who it is."""

    __slots__ = ("META", "headers", "method", "user", "auth")

    def __init__(self, environ: dict[str, Any]) -> None:
        self.META = environ
        self.headers = HttpHeaders(environ)
        self.method = environ["REQUEST_METHOD"]
        self.user: Any = None
        self.auth: Any = None


def _slug(environ: dict[str, Any]) -> str | None:
    """The service's slug of a plain JSON GET of the gate to an allowed host,
    else ``None``."""
    if environ.get("REQUEST_METHOD") != "GET" or environ.get("QUERY_STRING"):
        return None
    if environ.get("HTTP_ACCEPT", "") not in JSON_ACCEPTS:
        return None
    match = PATH.fullmatch(environ.get("PATH_INFO", ""))
    if match is None:
        return None
    try:
        # Django's own check (ALLOWED_HOSTS), which the chain's CommonMiddleware
        # makes of every request: a host it refuses is Django's 400.
        WSGIRequest(environ).get_host()
    except DisallowedHost:
        return None
    return match["slug"]


def _authorised(request: _Request, view: ServiceDeployGate) -> bool:
    """The view's authenticators (the first that recognises the request) and
    permissions, as DRF runs them; the caller is set on ``request``."""
    try:
        for authenticator in view.get_authenticators():
            found = authenticator.authenticate(request)  # type: ignore[arg-type]
            if found is not None:
                break
        else:
            return False
    except APIException:
        return False
    request.user, request.auth = found
    return all(
        permission.has_permission(request, view)  # type: ignore[arg-type]
        for permission in view.get_permissions()
    )


def deploy_gate_answer(environ: dict[str, Any]) -> Answer | None:
    """The gate's 200 for an authorised, unthrottled GET; ``None`` for anything
    Django should answer."""
    slug = _slug(environ)
    if slug is None:
        return None
    request = _Request(environ)
    view = ServiceDeployGate()
    view.setup(request, slug=slug)  # type: ignore[arg-type]  # as as_view() does
    if not _authorised(request, view):
        return None
    gate = deploy_gate_for(slug=slug, user=request.user)
    if gate is None:
        return None
    for throttle in view.get_throttles():
        if not throttle.allow_request(request, view):  # type: ignore[arg-type]
            return None
    body = JSONRenderer().render(gate_body(gate))
    headers = [
        ("Content-Type", "application/json"),
        ("Vary", "Accept"),
        ("Allow", ", ".join(view.allowed_methods)),
        ("Content-Length", str(len(body))),
    ]
    return Answer(body, headers)
