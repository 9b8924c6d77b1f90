"""The Alertmanager webhook: authenticate, validate, store, answer.

A plain Django view rather than DRF: it is the hot path of an alert storm, and all it
may do is check the request and insert one row.  Everything else happens in the worker.
Every client mistake gets a 4xx with a JSON body saying what is wrong.
"""

from __future__ import annotations

import base64
import binascii
import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from alerts.intake.integrations import integration_for_token
from alerts.intake.parse import Payload, PayloadError, payload_from_json
from alerts.intake.receive import delivery_receive
from alerts.models import WebhookDelivery

# Headers worth keeping with a delivery, and where WSGI puts them.
KEPT_HEADERS = {
    "User-Agent": "HTTP_USER_AGENT",
    "Content-Type": "CONTENT_TYPE",
    "Content-Length": "CONTENT_LENGTH",
    "X-Forwarded-For": "HTTP_X_FORWARDED_FOR",
}
_CHALLENGE = 'Bearer realm="oncall", Basic realm="oncall"'


def _error(status: int, error: str, detail: object = None) -> JsonResponse:
    body: dict[str, object] = {"error": error}
    if detail is not None:
        body["detail"] = detail
    response = JsonResponse(body, status=status)
    if status == 401:
        response["WWW-Authenticate"] = _CHALLENGE
    return response


def _header_token(request: HttpRequest) -> tuple[str, str] | None:
    """(auth style, token) from ``Authorization``, or None if absent/unusable."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    value = value.strip()
    if scheme == "bearer" and value:
        return WebhookDelivery.Auth.BEARER, value
    if scheme == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        _user, sep, password = decoded.partition(":")
        if sep and password:
            return WebhookDelivery.Auth.BASIC, password
    return None


class _Refused(Exception):
    """A client mistake, carrying the 4xx answer that says what is wrong."""

    def __init__(self, response: JsonResponse) -> None:
        super().__init__(response.status_code)
        self.response = response


def _authenticate(request: HttpRequest, token: str | None) -> tuple[str, int]:
    """(auth style, integration id) from the URL's token or ``Authorization``."""
    if token is not None:
        integration_id = integration_for_token(token)
        if integration_id is None:
            # Same answer for unknown and disabled: nothing to learn by probing.
            raise _Refused(_error(404, "not found"))
        return WebhookDelivery.Auth.PATH, integration_id
    found = _header_token(request)
    if found is None:
        raise _Refused(
            _error(
                401,
                "authentication required: send the integration token as "
                "'Authorization: Bearer <token>', as the basic auth password, or in "
                "the URL path",
            )
        )
    auth, header_token = found
    integration_id = integration_for_token(header_token)
    if integration_id is None:
        raise _Refused(_error(401, "invalid credentials"))
    return auth, integration_id


def _body(request: HttpRequest) -> bytes:
    """The raw JSON body, refused unless JSON and within the size limit."""
    content_type = request.content_type or ""
    if content_type != "application/json":
        raise _Refused(
            _error(
                415,
                f"unsupported content type {content_type or '(none)'!r}: "
                "send application/json",
            )
        )
    limit = settings.ALERTMANAGER_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise _Refused(_error(400, "invalid Content-Length header")) from None
    if declared > limit:
        raise _Refused(
            _error(413, f"body of {declared} bytes is over the {limit}-byte limit")
        )
    raw = request.read(limit + 1)
    if len(raw) > limit:
        raise _Refused(_error(413, f"body is over the {limit}-byte limit"))
    return raw


def _payload(raw: bytes) -> tuple[Payload, str]:
    """(validated Alertmanager payload, the body as text)."""
    try:
        # UTF-8 as the standard says (json.loads would also guess UTF-16 or 32,
        # which the inbox's text column would then fail to store).
        text = raw.decode("utf-8")
        data = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _Refused(_error(400, f"body is not valid JSON: {exc}")) from None
    except RecursionError:
        raise _Refused(
            _error(400, "body is not valid JSON: nested too deeply")
        ) from None
    if b"\\u0000" in raw:
        # PostgreSQL cannot store NUL in text or jsonb: refuse it now with a reason
        # rather than accept a webhook that could never be processed.
        raise _Refused(_error(400, "NUL characters (\\u0000) are not accepted"))
    try:
        return payload_from_json(data, text=text), text
    except PayloadError as exc:
        raise _Refused(
            _error(400, "not an Alertmanager webhook (version 4) payload", exc.problems)
        ) from None


@csrf_exempt
def alertmanager_webhook(
    request: HttpRequest, token: str | None = None
) -> HttpResponse:
    if request.method != "POST":
        response = _error(405, "method not allowed: POST an Alertmanager webhook")
        response["Allow"] = "POST"
        return response
    try:
        auth, integration_id = _authenticate(request, token)
        raw = _body(request)
        payload, text = _payload(raw)
    except _Refused as refused:
        return refused.response

    meta = request.META
    headers = {name: meta[key] for name, key in KEPT_HEADERS.items() if meta.get(key)}
    headers["Remote-Addr"] = meta.get("REMOTE_ADDR", "")
    delivery_id = delivery_receive(
        integration_id=integration_id,
        body=text,
        headers=headers,
        auth=auth,
        group_key=payload.group_key,
    )
    return HttpResponse(
        b'{"status": "accepted", "delivery": %d}' % delivery_id,
        status=202,
        content_type="application/json",
    )
