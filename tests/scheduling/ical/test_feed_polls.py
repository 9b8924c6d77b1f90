"""The lean path of a feed poll (scheduling/feed_polls.py behind
oncall.handlers.LeanPath) answers exactly as Django's feed chain does: every
case goes through both, as WSGI applications, and status, headers, body and the
request metrics must be the same; the test also says which path answered."""

from __future__ import annotations

import datetime as dt
import io
import logging
from wsgiref.util import setup_testing_defaults

import pytest
from django.core.signals import request_finished, request_started
from django.db import OperationalError, close_old_connections, connection
from django.utils import timezone
from django.utils.http import http_date

from oncall.handlers import LeanPath, handler_with_middleware
from oncall.metrics import LATENCY, REQUESTS
from scheduling import feeds
from scheduling.feed_polls import unchanged_poll
from scheduling.feeds import feed_create, feed_revoke, feed_rotate

pytestmark = pytest.mark.django_db

GOOGLE = "Google-Calendar-Importer"
ROUTE = "/ical/<str:token>.ics"


class Spy:
    """A Django handler behind a lean path, counting the requests it is handed."""

    def __init__(self, handler) -> None:
        self.handler = handler
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.handler(environ, start_response)


def lean_path() -> tuple[LeanPath, Spy]:
    spy = Spy(handler_with_middleware("FEED_MIDDLEWARE"))
    lean = LeanPath(
        answer=unchanged_poll,
        handler=spy,
        handler_setting="FEED_MIDDLEWARE",
        route=ROUTE,
    )
    return lean, spy


def call(app, method: str, path: str, **environ_extra: str):
    """(status line, headers, body) of one request through a WSGI application."""
    environ: dict = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "HTTP_HOST": "localhost",
        "HTTP_USER_AGENT": GOOGLE,
        "wsgi.input": io.BytesIO(b""),
        **environ_extra,
    }
    setup_testing_defaults(environ)
    answer: dict = {}

    def start_response(status, headers, exc_info=None):
        answer["status"], answer["headers"] = status, list(headers)

    # As Django's test client does: the test's transaction must outlive the request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        chunks = app(environ, start_response)
        try:
            body = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return answer["status"], answer["headers"], body


def counted(method: str, status: int, route: str = ROUTE) -> float:
    return REQUESTS.labels(method, route, str(status))._value.get()


def counted_anywhere(method: str, status: int) -> float:
    # A redirect to https comes before the URL is resolved: "unmatched".
    return counted(method, status) + counted(method, status, "unmatched")


def both(method: str, path: str, **environ: str):
    """The Django chain's answer and the lean path's, with the requests each
    counted in the metrics; and whether the lean path answered by itself."""
    lean, spy = lean_path()
    django_answer = call(spy.handler, method, path, **environ)
    status = int(django_answer[0].split()[0])
    before = counted_anywhere(method, status)
    lean_answer = call(lean, method, path, **environ)
    assert counted_anywhere(method, status) == before + 1  # once, by one of the two
    return django_answer, lean_answer, spy.calls == 0


@pytest.fixture
def feed(payments, make_rotation):
    team, people = payments
    today = timezone.now().date()
    make_rotation(team, people, start_date=today - dt.timedelta(days=14))
    issued = feed_create(subject=team, owner=people[0].user, created_by=None)
    path = f"/ical/{issued.secret}.ics"
    # The first poll renders, through Django: from then on the lean path answers.
    status, headers, _ = call(lean_path()[0], "GET", path)
    assert status == "200 OK"
    return issued, path, dict(headers)


def test_an_unconditional_poll_is_answered_by_the_lean_path_as_by_django(feed):
    _, path, _ = feed
    django_answer, lean_answer, lean_answered = both("GET", path)
    assert lean_answered
    assert lean_answer == django_answer
    status, headers, body = lean_answer
    assert status == "200 OK" and body.startswith(b"BEGIN:VCALENDAR\r\n")
    assert dict(headers)["Content-Length"] == str(len(body))
    assert dict(headers)["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"HTTP_ACCEPT_ENCODING": "gzip, deflate, br"}, "200 OK"),
        ({"HTTP_ACCEPT_ENCODING": "identity"}, "200 OK"),
        ({"HTTP_IF_NONE_MATCH": "{etag}"}, "304 Not Modified"),
        ({"HTTP_IF_NONE_MATCH": "W/{etag}"}, "304 Not Modified"),
        (
            {"HTTP_IF_NONE_MATCH": "W/{etag}", "HTTP_ACCEPT_ENCODING": "gzip"},
            "304 Not Modified",
        ),
        ({"HTTP_IF_NONE_MATCH": '"other", {etag}'}, "304 Not Modified"),
        ({"HTTP_IF_NONE_MATCH": "*"}, "304 Not Modified"),
        ({"HTTP_IF_NONE_MATCH": '"something-else"'}, "200 OK"),
        ({"HTTP_IF_NONE_MATCH": ""}, "200 OK"),
        ({"HTTP_IF_NONE_MATCH": "not an etag"}, "200 OK"),
        ({"HTTP_IF_MODIFIED_SINCE": "{last_modified}"}, "304 Not Modified"),
        ({"HTTP_IF_MODIFIED_SINCE": "{an_hour_before}"}, "200 OK"),
        ({"HTTP_IF_MODIFIED_SINCE": "yesterday-ish"}, "200 OK"),
        # If-None-Match is asked first; a stale one wins over a fresh date.
        (
            {
                "HTTP_IF_NONE_MATCH": '"stale"',
                "HTTP_IF_MODIFIED_SINCE": "{last_modified}",
            },
            "200 OK",
        ),
    ],
)
def test_conditional_and_gzip_polls_are_the_same_on_both_paths(feed, headers, expected):
    _, path, first = feed
    modified = first["Last-Modified"]
    values = {
        "etag": first["ETag"],
        "last_modified": modified,
        "an_hour_before": http_date(
            dt.datetime.strptime(modified, "%a, %d %b %Y %H:%M:%S GMT")
            .replace(tzinfo=dt.UTC)
            .timestamp()
            - 3600
        ),
    }
    environ = {k: v.format(**values) for k, v in headers.items()}
    django_answer, lean_answer, lean_answered = both("GET", path, **environ)
    assert lean_answered
    assert django_answer[0] == expected
    assert lean_answer == django_answer


@pytest.mark.parametrize("conditional", [False, True])
def test_head_is_the_same_on_both_paths(feed, conditional):
    _, path, first = feed
    environ = {"HTTP_IF_NONE_MATCH": first["ETag"]} if conditional else {}
    django_answer, lean_answer, lean_answered = both("HEAD", path, **environ)
    assert lean_answered
    assert lean_answer == django_answer
    assert django_answer[0] == ("304 Not Modified" if conditional else "200 OK")
    # No body for the server to drop, and the length a GET would send.
    assert lean_answer[2] == b""
    if not conditional:
        assert int(dict(lean_answer[1])["Content-Length"]) > 1000


def test_https_behind_the_proxy_adds_hsts_on_both_paths(feed, settings):
    _, path, _ = feed
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    for proto in ("https", "http", "https, http"):
        django_answer, lean_answer, lean_answered = both(
            "GET", path, HTTP_X_FORWARDED_PROTO=proto
        )
        assert lean_answered
        assert lean_answer == django_answer
        hsts = dict(lean_answer[1]).get("Strict-Transport-Security")
        assert (hsts is not None) == proto.startswith("https")


def test_a_request_to_redirect_to_https_is_django_s(feed, settings):
    _, path, _ = feed
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    plain = both("GET", path, HTTP_X_FORWARDED_PROTO="http")
    assert plain[0][0].startswith("301") and plain[1] == plain[0] and not plain[2]
    secure = both("GET", path, HTTP_X_FORWARDED_PROTO="https")
    assert secure[2] and secure[1] == secure[0]


@pytest.mark.parametrize(
    ("method", "headers"),
    [
        ("POST", {}),
        ("PUT", {}),
        ("GET", {"HTTP_IF_MATCH": '"nope"'}),
        ("GET", {"HTTP_IF_UNMODIFIED_SINCE": "Sat, 01 Jan 2000 00:00:00 GMT"}),
    ],
)
def test_other_methods_and_preconditions_go_to_django(feed, method, headers):
    _, path, _ = feed
    django_answer, lean_answer, lean_answered = both(method, path, **headers)
    assert not lean_answered
    assert lean_answer == django_answer
    assert django_answer[0].split()[0] in {"405", "412"}


def test_unknown_revoked_and_rotated_tokens_are_django_s_404(feed, caplog):
    issued, path, _ = feed
    caplog.set_level(logging.WARNING)
    unknown = both("GET", "/ical/" + "x" * 43 + ".ics")
    rotated = feed_rotate(feed=issued.feed)
    old = both("GET", path)  # at once, and without any cache to clear
    new_path = f"/ical/{rotated.secret}.ics"
    assert both("GET", new_path)[1][0] == "200 OK"
    feed_revoke(feed=issued.feed, now=timezone.now())
    revoked = both("GET", new_path, HTTP_IF_NONE_MATCH="*")
    for django_answer, lean_answer, lean_answered in (unknown, old, revoked):
        assert not lean_answered
        assert lean_answer == django_answer
        assert lean_answer[0] == "404 Not Found" and lean_answer[2] == b"not found\n"
    assert "/ical/[redacted].ics" in caplog.text  # Django logged the 404s ...
    assert issued.secret not in caplog.text and rotated.secret not in caplog.text


def test_a_first_render_is_django_s_then_the_lean_path_s(payments, make_rotation):
    team, people = payments
    make_rotation(team, people, start_date=timezone.now().date())
    issued = feed_create(subject=people[1], owner=people[1].user, created_by=None)
    path = f"/ical/{issued.secret}.ics"
    lean, spy = lean_path()
    first = call(lean, "GET", path)
    assert (first[0], spy.calls) == ("200 OK", 1)
    again = call(lean, "GET", path)
    assert (again, spy.calls) == (first, 1)


def test_a_database_outage_is_the_chains_503_on_both_paths(feed, monkeypatch):
    _, path, _ = feed

    def down(conn, sql, args, rows="one"):
        raise OperationalError("connection refused")

    monkeypatch.setattr(feeds, "hot_fetch", down)
    django_answer, lean_answer, lean_answered = both("GET", path)
    assert not lean_answered
    assert lean_answer == django_answer
    assert django_answer[0] == "503 Service Unavailable"
    assert ("Retry-After", "5") in django_answer[1]


def test_an_unexpected_error_is_logged_and_answered_by_django(
    feed, monkeypatch, caplog
):
    _, path, _ = feed
    lean, spy = lean_path()
    monkeypatch.setattr(lean, "answer", lambda environ: 1 / 0)
    status, _, body = call(lean, "GET", path)
    assert (status, spy.calls) == ("200 OK", 1)
    assert body.startswith(b"BEGIN:VCALENDAR")
    assert "the lean path failed" in caplog.text
    assert path not in caplog.text


def test_the_lean_path_records_its_latency_under_the_route(feed):
    _, path, first = feed
    lean, _ = lean_path()
    observed = LATENCY.labels("GET", ROUTE)._sum.get()
    before = counted("GET", 304)
    call(lean, "GET", path, HTTP_IF_NONE_MATCH=first["ETag"])
    assert counted("GET", 304) == before + 1
    assert LATENCY.labels("GET", ROUTE)._sum.get() > observed


def test_the_lean_path_sends_the_request_signals(feed):
    _, path, _ = feed
    lean, spy = lean_path()
    seen: list[str] = []

    def started(sender, **kwargs):
        seen.append("started")

    def finished(sender, **kwargs):
        seen.append("finished")

    request_started.connect(started)
    request_finished.connect(finished)
    # The test's transaction must outlive the request (as in call()).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        environ: dict = {"REQUEST_METHOD": "GET", "PATH_INFO": path}
        setup_testing_defaults(environ)
        body = lean(environ, lambda status, headers: seen.append(status))
        assert seen == ["started", "200 OK"]  # finished only when closed
        b"".join(body)
        body.close()
    finally:
        request_started.disconnect(started)
        request_finished.disconnect(finished)
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    assert seen == ["started", "200 OK", "finished"]
    assert spy.calls == 0


def test_the_lean_path_stays_off_when_the_feed_chain_changes(feed, settings, caplog):
    _, path, _ = feed
    settings.FEED_MIDDLEWARE = [
        *settings.FEED_MIDDLEWARE,
        "django.middleware.common.CommonMiddleware",
    ]
    lean, spy = lean_path()
    assert not lean.enabled
    assert "every request goes through Django" in caplog.text
    assert call(lean, "GET", path)[0] == "200 OK"
    assert spy.calls == 1


def test_the_served_application_has_the_lean_path_on():
    from oncall.wsgi import feed_application

    assert isinstance(feed_application, LeanPath)
    assert feed_application.enabled
    assert feed_application.route == ROUTE


# Outside a test transaction, as gunicorn serves: the connection's lifetime.
@pytest.mark.django_db(transaction=True)
def test_a_lean_poll_closes_the_connection_when_conn_max_age_says_so(
    payments, make_rotation
):
    team, people = payments
    make_rotation(team, people, start_date=timezone.now().date())
    issued = feed_create(subject=team, owner=people[0].user, created_by=None)
    path = f"/ical/{issued.secret}.ics"
    lean, spy = lean_path()
    environ: dict = {"REQUEST_METHOD": "GET", "PATH_INFO": path}
    setup_testing_defaults(environ)
    b"".join(lean(dict(environ), lambda *a: None))  # renders, through Django
    saved = connection.settings_dict["CONN_MAX_AGE"]
    connection.settings_dict["CONN_MAX_AGE"] = 0
    connection.close()  # the next connection is made with the new lifetime
    try:
        body = lean(dict(environ), lambda *a: None)
        assert connection.connection is not None  # the lookup's, still open
        b"".join(body)
        body.close()  # the server closes the body: request_finished
        assert connection.connection is None
    finally:
        connection.settings_dict["CONN_MAX_AGE"] = saved
        connection.close()
    assert spy.calls == 1


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="prepared statements: PostgreSQL"
)
def test_the_lookup_is_one_prepared_statement_on_postgresql(feed, settings):
    """Parsed and planned once per connection (settings.PREPARED_STATEMENTS),
    and still counted as the one statement of an unchanged poll."""
    from django.test.utils import CaptureQueriesContext

    _, path, first = feed
    lean, spy = lean_path()
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            status = call(lean, "GET", path, HTTP_IF_NONE_MATCH=first["ETag"])[0]
            assert status == "304 Not Modified"
    assert len(queries.captured_queries) == 3 and spy.calls == 0
    # Logged as written (a prepared statement leaves no "last query" text).
    assert all("scheduling_feedtoken" in q["sql"] for q in queries.captured_queries)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement FROM pg_prepared_statements WHERE from_sql = false"
        )
        prepared = [row[0] for row in cursor.fetchall()]
    assert any("scheduling_feedtoken" in text for text in prepared), prepared
    settings.PREPARED_STATEMENTS = False
    with CaptureQueriesContext(connection) as plain:
        assert call(lean, "GET", path)[0] == "200 OK"
    assert len(plain.captured_queries) == 1
