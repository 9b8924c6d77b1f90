"""The WSGI application gunicorn serves (oncall/wsgi.py): the Alertmanager webhook
through its lean middleware chain, everything else through the usual one."""

from __future__ import annotations

import io
import json
from wsgiref.util import setup_testing_defaults

import pytest
from django.core.signals import request_finished, request_started
from django.db import OperationalError, close_old_connections

from alerts.models import WebhookDelivery
from oncall.metrics import REQUESTS
from oncall.wsgi import application
from tests.alerts.conftest import recorded
from tests.cast import TOKEN

pytestmark = pytest.mark.django_db


def call(method: str, path: str, body: bytes = b"", app=None, **headers: str):
    """(status code, headers, body) of one request through the WSGI application
    (or ``app``)."""
    environ: dict = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "HTTP_HOST": "localhost",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        **headers,
    }
    setup_testing_defaults(environ)
    answer: dict = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"] = int(status.split()[0])
        answer["headers"] = dict(response_headers)

    # As Django's test client does: the test's transaction must outlive the request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        chunks = (app or application)(environ, start_response)
        try:
            content = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return answer["status"], answer["headers"], content


def post_webhook(path: str = f"/api/v1/alertmanager/{TOKEN}/"):
    return call(
        "POST",
        path,
        recorded("a_single_firing"),
        HTTP_USER_AGENT="Alertmanager/0.25.0",
    )


def accepted_count(path: str) -> float:
    return REQUESTS.labels("POST", path, "202")._value.get()


def test_the_webhook_is_stored_through_the_intake_chain(integration):
    before = accepted_count("/api/v1/alertmanager/<str:token>/")
    status, headers, content = post_webhook()

    assert status == 202
    delivery = WebhookDelivery.objects.get(pk=json.loads(content)["delivery"])
    assert delivery.integration == integration
    assert delivery.headers["User-Agent"] == "Alertmanager/0.25.0"
    # The lean chain: security headers yes, frame options and cookies no.
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "X-Frame-Options" not in headers
    assert "Set-Cookie" not in headers
    # ... and still counted in /metrics, under its route.
    assert accepted_count("/api/v1/alertmanager/<str:token>/") == before + 1


def test_the_bearer_url_goes_through_the_intake_chain_too(integration):
    status, headers, _ = call(
        "POST",
        "/api/v1/alertmanager/",
        recorded("a_single_firing"),
        HTTP_AUTHORIZATION=f"Bearer {TOKEN}",
    )
    assert status == 202
    assert "X-Frame-Options" not in headers


def test_other_pages_go_through_the_usual_chain():
    status, headers, _ = call("GET", "/healthz")
    assert status == 200
    assert headers["X-Frame-Options"] == "DENY"


def test_a_database_outage_on_the_intake_chain_is_a_json_503(integration, monkeypatch):
    def down(**kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("alerts.webhooks.alertmanager.delivery_receive", down)
    status, headers, content = post_webhook()

    assert status == 503
    assert headers["Retry-After"] == "5"
    assert json.loads(content) == {"error": "database unavailable; retry shortly"}


def test_the_intake_chain_refuses_hosts_that_are_not_allowed(integration, settings):
    settings.ALLOWED_HOSTS = ["oncall.example.com"]
    status, _, _ = post_webhook()
    assert status == 400


def test_a_calendar_feed_goes_through_the_feed_chain(rotation, alice):
    from django.core.cache import cache

    from scheduling.feeds import feed_create
    from scheduling.ical import forget_local_documents

    cache.clear()
    forget_local_documents()
    issued = feed_create(subject=rotation.team, owner=alice.user, created_by=None)
    before = REQUESTS.labels("GET", "/ical/<str:token>.ics", "200")._value.get()

    status, headers, content = call("GET", f"/ical/{issued.secret}.ics")

    assert status == 200
    assert content.startswith(b"BEGIN:VCALENDAR\r\n")
    # The feed chain: security headers and metrics yes; no session, so no
    # cookie, no "Vary: Cookie", no frame options.
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "X-Frame-Options" not in headers
    assert "Set-Cookie" not in headers
    assert headers["Vary"] == "Accept-Encoding"
    after = REQUESTS.labels("GET", "/ical/<str:token>.ics", "200")._value.get()
    assert after == before + 1
    unknown = call("GET", "/ical/" + "x" * 43 + ".ics")
    assert (unknown[0], unknown[2]) == (404, b"not found\n")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", f"/api/v1/alertmanager/{TOKEN}/"),
        ("POST", "/api/v1/alertmanager/"),
        ("GET", f"/api/v1/alertmanager/{TOKEN}/"),
        ("POST", f"/api/v1/alertmanager/{TOKEN}"),  # no slash: APPEND_SLASH
        ("POST", f"/api/v1/alertmanager/{TOKEN}/more/"),
        ("POST", "/api/v1/alertmanager/unknown-token/"),
    ],
)
def test_the_intake_urlconf_answers_as_the_root_urlconf_does(
    integration, settings, method, path
):
    """The webhook's handler resolves with oncall.intake_urls; the usual chain
    with the root URLconf.  Both give the same answer for every path the
    dispatcher sends to the webhook's handler."""
    from oncall.wsgi import default_application, intake_application

    settings.DEBUG = False
    body = recorded("a_single_firing")
    lean = call(method, path, body, app=intake_application)
    usual = call(method, path, body, app=default_application)

    assert lean[0] == usual[0]
    if lean[0] == 202:  # each stored its own delivery
        assert json.loads(lean[2])["status"] == json.loads(usual[2])["status"]
    else:
        assert lean[2] == usual[2]
    assert lean[1].get("Location") == usual[1].get("Location")


def test_the_webhook_is_resolved_with_the_intake_urlconf(integration, monkeypatch):
    from django.core.handlers.base import BaseHandler

    seen: list[str | None] = []
    resolve = BaseHandler.resolve_request

    def spy(self, request):
        seen.append(getattr(request, "urlconf", None))
        return resolve(self, request)

    monkeypatch.setattr(BaseHandler, "resolve_request", spy)
    assert post_webhook()[0] == 202
    assert call("GET", "/healthz")[0] == 200
    assert seen == ["oncall.intake_urls", None]
