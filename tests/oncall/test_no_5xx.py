"""No input answers 5xx: odd values thrown at every URL and every admin form.

The endpoints are read from the URL conf, so an endpoint added later is covered
without touching this file.  A 5xx, or an exception escaping a view (the test
client re-raises it), fails the test.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client
from django.urls import URLResolver, get_resolver
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from alerts.intake.drain import delivery_process
from alerts.models import Incident, Page, WebhookDelivery
from oncall.demo import demo_load
from scheduling.models import Override, Team

pytestmark = pytest.mark.django_db

METHODS = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]
TOKEN = "no-5xx-demo-token-0123456789abcdef"
RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "alertmanager" / "raw"

# Values the exploratory tries found 500s with, and their cousins.
ODD_VALUES = [
    "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00",
    "0001-01-01",
    "9999-12-31",
    "2026-02-30T00:00:00Z",
    "2026-01-12T09:00:00",
    "²",
    "٣",
    "１２",
    "\ud800",
    "-1",
    "0",
    "9" * 30,
    "1e309",
    "NaN",
    "",
    "null",
    "%00",
    "a" * 3000,
]
DEEP_JSON = "[" * 100_000 + "]" * 100_000
HUGE_JSON = json.dumps({"reason": "x" * (3 * 1024 * 1024)})


def url_templates(resolver: URLResolver | None = None, prefix: str = "") -> list:
    """(format string, parameter names) of every URL, namespaces included."""
    resolver = resolver or get_resolver()
    found = set()
    for _key, entries in resolver.reverse_dict.lists():
        for possibilities, *_ in entries:
            for fmt, params in possibilities:
                found.add((prefix + fmt, tuple(params)))
    for ns_prefix, sub in resolver.namespace_dict.values():
        found |= set(url_templates(sub, prefix + ns_prefix))
    return sorted(found)


def _quote(value: str) -> str:
    # Surrogates cannot be UTF-8; a raw client sends their WTF-8 bytes anyway.
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


@pytest.fixture
def world(settings):
    """The demo organisation plus an incident, a page and an override."""
    settings.ONCALL_DEMO_TOKEN = TOKEN
    settings.TWILIO_AUTH_TOKEN = "test-auth-token"
    demo_load()
    client = Client()
    response = client.post(
        "/api/v1/alertmanager/",
        (RECORDED / "a_single_firing.body").read_bytes(),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {TOKEN}",
    )
    assert response.status_code == 202, response.content
    for pk in WebhookDelivery.objects.values_list("pk", flat=True):
        delivery_process(delivery_id=pk)
    staff = get_user_model().objects.get(username="admin")
    good = {
        "slug": ["payments", "nope"],
        "token": [TOKEN, "nope"],
        "pk": [str(Incident.objects.values_list("pk", flat=True).first() or 1)],
        "page_id": [str(Page.objects.values_list("pk", flat=True).first() or 1)],
        "object_id": [str(Team.objects.get().pk), "1"],
        "id": [str(staff.pk)],
        "app_label": ["scheduling", "alerts"],
        "content_type_id": ["1"],
        "url": ["nope/"],
    }
    good["pk"] += list(map(str, Override.objects.values_list("pk", flat=True)[:1]))
    return staff, good


def _client(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _request(client, method, path, *, query="", body="", content_type=None):
    extra = {"QUERY_STRING": query}
    try:
        response = client.generic(
            method,
            path,
            data=body,
            content_type=content_type or "application/json",
            **extra,
        )
    except Exception as exc:
        exc.add_note(f"request: {method} {path}?{query[:200]} {body[:200]!r}")
        raise
    assert response.status_code < 500, (
        method,
        path,
        query,
        body[:200],
        response.status_code,
        response.content[:500],
    )
    if path.startswith("/api/v1/") and response.status_code >= 400 and method != "HEAD":
        assert response["Content-Type"].startswith("application/json"), (
            method,
            path,
            response.status_code,
            response.content[:300],
        )
    return response


def _path(fmt: str, params: dict[str, str]) -> str:
    return "/" + fmt % {k: _quote(v) for k, v in params.items()}


def test_every_url_and_method_answers_below_500(world, settings):
    """Each endpoint, each method, staff and anonymous, with the odd values in
    turn as path parameters, query values and JSON bodies."""
    settings.TWILIO_VALIDATE_SIGNATURES = False  # the views past the signature
    staff, good = world
    for n, (fmt, names) in enumerate(url_templates()):
        odd = ODD_VALUES[n % len(ODD_VALUES)]
        params = {name: good.get(name, ["1"])[0] for name in names}
        query = "&".join(
            f"{key}={_quote(odd)}" for key in ("at", "from", "to", "start", "page")
        )
        body = json.dumps({"start": odd, "end": odd, "rotation": odd, "x": [odd]})
        for user, methods in ((staff, METHODS), (None, ["GET", "POST"])):
            for method in methods:
                _request(
                    _client(user), method, _path(fmt, params), query=query, body=body
                )
        odd_params = {name: odd for name in names}
        _request(_client(staff), "GET", _path(fmt, odd_params))


def test_the_500s_found_by_hand_are_4xx_with_a_reason(world, settings):
    staff, _ = world
    client = _client(staff)
    for value in ("0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00"):
        for path, key in (
            ("/api/v1/teams/payments/oncall/", "at"),
            ("/api/v1/teams/payments/schedule/", "from"),
            ("/api/v1/teams/payments/overrides/", "from"),
        ):
            response = client.get(path, {key: value})
            assert response.status_code == 400
            assert "out of range" in response.json()["detail"][key][0]
        response = client.post(
            "/api/v1/teams/payments/overrides/",
            {
                "rotation": "Weekly primary/secondary",
                "role": "primary",
                "member": "alice",
                "start": value,
                "end": "2026-01-07T00:00:00Z",
            },
            content_type="application/json",
        )
        assert response.status_code == 400
        assert "out of range" in response.json()["detail"]["start"][0]
    team = Team.objects.get()
    for start in ("0001-01-01", "9999-12-31"):
        response = client.get(
            f"/admin/scheduling/team/{team.pk}/schedule/?start={start}"
        )
        assert response.status_code == 200  # bad input falls back to this week
    assert client.get("/admin/scheduling/team/abc/schedule/").status_code == 404
    rotation = team.rotations.get()
    alice = team.members.get(user__username="alice")
    response = client.post(
        "/admin/scheduling/override/add/",
        {
            "rotation": rotation.pk,
            "role": "primary",
            "member": alice.pk,
            "starts_at_0": "9999-12-31",
            "starts_at_1": "20:00",
            "ends_at_0": "9999-12-31",
            "ends_at_1": "23:00",
        },
    )
    assert response.status_code == 200
    assert "out of range" in response.context["adminform"].form.errors["starts_at"][0]
    response = client.post(
        "/api/v1/teams/payments/overrides/", DEEP_JSON, content_type="application/json"
    )
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["error"]
    response = client.post(
        "/api/v1/teams/payments/overrides/", HUGE_JSON, content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json()["error"]
    response = client.post(
        "/api/v1/teams/payments/overrides/",
        "reason=" + "x" * (3 * 1024 * 1024),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413
    assert response.json() == {"error": "request body too large"}


def test_a_signed_twilio_status_callback_with_an_odd_page_id_is_200(world):
    url = "http://127.0.0.1:8000/twilio/status/?page=%C2%B2"
    params = {"MessageSid": "SM0", "MessageStatus": "delivered"}
    signature = RequestValidator("test-auth-token").compute_signature(url, params)
    response = Client().post(
        "/twilio/status/",
        params,
        QUERY_STRING="page=%C2%B2",
        HTTP_X_TWILIO_SIGNATURE=signature,
    )
    assert response.status_code == 200


# --- Hypothesis: odd values anywhere ------------------------------------------

offsets = st.sampled_from(
    [dt.UTC, dt.timezone(dt.timedelta(hours=14)), dt.timezone(dt.timedelta(hours=-12))]
)
odd_text = st.one_of(
    st.sampled_from(ODD_VALUES),
    st.datetimes(timezones=offsets).map(dt.datetime.isoformat),
    st.dates().map(dt.date.isoformat),
    st.integers().map(str),
    st.text(max_size=30),
    st.text(st.characters(codec="utf-16", categories=["Nd", "No", "Cs"]), max_size=6),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | odd_text,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "rotation",
                    "role",
                    "member",
                    "start",
                    "end",
                    "reason",
                    "at",
                    "from",
                    "to",
                    "labels",
                    "alerts",
                    "status",
                    "note",
                    "username",
                    "team",
                ]
            )
            | st.text(max_size=8),
            inner,
            max_size=6,
        )
    ),
    max_leaves=12,
)
bodies = st.one_of(
    json_values.map(json.dumps),
    st.sampled_from([DEEP_JSON, HUGE_JSON, '{"a": NaN}', "\udcff", "{", "[" * 5000]),
)


@hypothesis_settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_odd_values_at_any_endpoint_never_answer_5xx(world, settings, data):
    settings.TWILIO_VALIDATE_SIGNATURES = False
    staff, good = world
    fmt, names = data.draw(st.sampled_from(url_templates()), label="url")
    params = {
        name: data.draw(st.sampled_from(good.get(name, ["1"])) | odd_text, label=name)
        for name in names
    }
    query = "&".join(
        f"{_quote(k)}={_quote(v)}"
        for k, v in data.draw(
            st.dictionaries(
                st.sampled_from(
                    [
                        "at",
                        "from",
                        "to",
                        "start",
                        "weeks",
                        "page",
                        "team",
                        "status",
                        "since",
                        "q",
                        "o",
                        "p",
                    ]
                ),
                odd_text,
                max_size=3,
            ),
            label="query",
        ).items()
    )
    content_type = data.draw(
        st.sampled_from(
            ["application/json", "application/x-www-form-urlencoded", "text/plain"]
        ),
        label="content type",
    )
    body = data.draw(bodies, label="body")
    body = body.encode("utf-8", "surrogatepass")  # a raw client sends any bytes
    user = data.draw(st.sampled_from([staff, None]), label="user")
    method = data.draw(st.sampled_from(METHODS), label="method")
    _request(
        _client(user),
        method,
        _path(fmt, params),
        query=query,
        body=body,
        content_type=content_type,
    )


# --- Every admin add and change form --------------------------------------------

_FIELD = re.compile(
    r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"(?:[^>]*\bvalue="([^"]*)")?'
)


def admin_form_urls() -> list[str]:
    urls = []
    for model in admin.site._registry:
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        urls.append(base + "add/")
        first = model._default_manager.order_by("pk").values_list("pk", flat=True)[:1]
        urls += [f"{base}{pk}/change/" for pk in first]
    return urls


@hypothesis_settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_odd_values_in_any_admin_form_never_answer_5xx(world, data):
    # Each example's writes are rolled back: what one example saves must not
    # change the forms (and so the draws) of the next, or Hypothesis cannot
    # replay an example (FlakyStrategyDefinition).
    with transaction.atomic():
        _post_odd_values_to_an_admin_form(world, data)
        transaction.set_rollback(True)


def _post_odd_values_to_an_admin_form(world: tuple, data: st.DataObject) -> None:
    staff, _ = world
    client = _client(staff)
    url = data.draw(st.sampled_from(admin_form_urls()), label="form")
    page = client.get(url)
    assert page.status_code < 500
    if page.status_code != 200:
        return
    fields = dict(_FIELD.findall(page.content.decode()))
    fields.pop("csrfmiddlewaretoken", None)
    post = {
        name: data.draw(st.just(value) | odd_text, label=name)
        for name, value in fields.items()
    }
    encoded = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in post.items())
    _request(
        client,
        "POST",
        url,
        body=encoded,
        content_type="application/x-www-form-urlencoded",
    )
