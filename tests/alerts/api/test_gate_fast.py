"""The deploy gate's lean path (alerts/api/gate_fast.py behind
oncall.handlers.LeanPath, as oncall/wsgi.py puts it in front of the usual
chain) answers exactly as Django and DRF do: each case goes through both, as
WSGI applications, and status, headers and body must be the same; the test
also says which path answered."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.utils import timezone

from alerts.api.gate_fast import deploy_gate_answer
from alerts.slos.evaluate import slo_evaluate
from oncall.handlers import API_MIRRORS, LeanPath, frame_options_headers
from oncall.metrics import REQUESTS
from oncall.wsgi import default_application
from scheduling.tokens import api_token_create
from tests.scheduling.ical.test_feed_polls import Spy, call

pytestmark = pytest.mark.django_db

GATE = "/api/v1/services/payments-api/deploy-gate"
ROUTE = "/api/v1/services/<str:slug>/deploy-gate"


def lean_path() -> tuple[LeanPath, Spy]:
    spy = Spy(default_application)  # Django's usual chain
    lean = LeanPath(
        answer=deploy_gate_answer,
        handler=spy,
        handler_setting="MIDDLEWARE",
        route=ROUTE,
        mirrors=API_MIRRORS,
        extra_headers=frame_options_headers,
    )
    assert lean.enabled
    return lean, spy


def both(path: str = GATE, *, method: str = "GET", exact: bool = True, **environ):
    """Django's answer and the lean path's, each from a clean throttle, and
    whether the lean path answered by itself.  ``exact=False``: the status only
    (a page with a fresh CSRF cookie differs from itself)."""
    cache.clear()
    django_answer = call(default_application, method, path, **environ)
    cache.clear()
    lean, spy = lean_path()
    lean_answer = call(lean, method, path, **environ)
    status, headers, body = django_answer
    if exact:
        normalised = (status, sorted(headers), body)
        assert (lean_answer[0], sorted(lean_answer[1]), lean_answer[2]) == normalised
    assert lean_answer[0] == status
    return status, dict(headers), body, spy.calls == 0


def bearer(user, scopes=("deploy-gate",)) -> str:
    issued = api_token_create(
        user=user, name="ci", scopes=list(scopes), created_by=None, now=timezone.now()
    )
    return f"Bearer {issued.secret}"


def test_the_gate_is_answered_by_the_lean_path_as_by_drf(slo, alice, rotation):
    slo_evaluate(slo=slo)
    before = REQUESTS.labels("GET", ROUTE, "200")._value.get()
    status, headers, body, lean = both(HTTP_AUTHORIZATION=bearer(alice.user))
    assert (status, lean) == ("200 OK", True)
    # Counted under the same route by each path: Django's, then the lean one.
    assert REQUESTS.labels("GET", ROUTE, "200")._value.get() == before + 2
    assert json.loads(body)["service"] == "payments-api"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Allow"] == "GET, HEAD, OPTIONS"


def test_a_read_token_and_a_never_evaluated_slo_too(slo, alice):
    auth = bearer(alice.user, scopes=("read",))
    status, _, body, lean = both(HTTP_AUTHORIZATION=auth)
    assert (status, lean) == ("200 OK", True)
    assert json.loads(body)["stale"] is True


@pytest.mark.parametrize(
    "case",
    ["no token", "unknown token", "other team", "no service"],
)
def test_what_django_answers_is_left_to_django(case, slo, alice, other_team):
    from tests import cast

    outsider = cast.member_join(other_team, "oscar")
    auth = {
        "no token": "",
        "unknown token": "Bearer not-a-token",
        "other team": bearer(outsider.user),
        "no service": bearer(alice.user),
    }[case]
    path = "/api/v1/services/nope/deploy-gate" if case == "no service" else GATE
    environ = {"HTTP_AUTHORIZATION": auth} if auth else {}
    status, headers, body, lean = both(path, **environ)
    assert not lean
    assert status[:3] in {"401", "403", "404"}, status
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)


@pytest.mark.parametrize(
    "environ",
    [
        {"QUERY_STRING": "enforce=true"},
        {"HTTP_ACCEPT": "text/html"},
        {"REQUEST_METHOD": "HEAD"},
    ],
)
def test_a_query_another_accept_or_method_goes_to_django(slo, alice, environ):
    extra = dict(environ)
    method = extra.pop("REQUEST_METHOD", "GET")
    status, _, _, lean = both(
        method=method,
        exact="HTTP_ACCEPT" not in extra,
        HTTP_AUTHORIZATION=bearer(alice.user),
        **extra,
    )
    assert not lean
    assert status[:3] in {"200", "409"}


def test_over_the_rate_is_djangos_429_and_counted_once(slo, alice, settings):
    settings.API_THROTTLE_RATE = "2/min"
    auth = bearer(alice.user)
    cache.clear()
    lean, spy = lean_path()
    answers = [call(lean, "GET", GATE, HTTP_AUTHORIZATION=auth) for _ in range(3)]
    assert [a[0][:3] for a in answers] == ["200", "200", "429"]
    assert spy.calls == 1  # the third, refused by the lean path's throttle
    # Django alone, the same three: the same answers.
    cache.clear()
    plain = [
        call(default_application, "GET", GATE, HTTP_AUTHORIZATION=auth)
        for _ in range(3)
    ]
    assert [a[0][:3] for a in plain] == ["200", "200", "429"]
    assert sorted(answers[2][1]) == sorted(plain[2][1])


def test_a_host_django_refuses_is_djangos_400(slo, alice):
    status, _, _, lean = both(
        exact=False, HTTP_HOST="evil.example", HTTP_AUTHORIZATION=bearer(alice.user)
    )
    assert (status[:3], lean) == ("400", False)
