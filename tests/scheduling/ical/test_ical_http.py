"""``GET /ical/<token>.ics``: headers, conditional GETs, gzip, 404s, one query
per unchanged poll, and the secret nowhere but in the caller's hands."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import logging

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from scheduling.feeds import feed_create, feed_revoke, feed_rotate
from scheduling.ical import forget_local_documents
from scheduling.overrides import override_create
from scheduling.plan import PRIMARY

pytestmark = pytest.mark.django_db

GOOGLE = "Google-Calendar-Importer"


@pytest.fixture
def team_feed(payments, make_rotation):
    team, people = payments
    today = timezone.now().date()
    rotation = make_rotation(team, people, start_date=today - dt.timedelta(days=14))
    issued = feed_create(subject=team, owner=people[0].user, created_by=None)
    return issued, rotation, people


def _path(secret: str) -> str:
    return f"/ical/{secret}.ics"


def test_it_serves_the_calendar_with_its_headers(team_feed):
    issued, _, _ = team_feed
    response = Client().get(_path(issued.secret), HTTP_USER_AGENT=GOOGLE)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == 'inline; filename="payments-oncall.ics"'
    assert response["ETag"].startswith('"') and not response["ETag"].startswith("W/")
    assert response["Last-Modified"].endswith("GMT")
    assert "private" in response["Cache-Control"]
    assert response.content.startswith(b"BEGIN:VCALENDAR\r\n")
    issued.feed.refresh_from_db()
    assert issued.feed.last_user_agent == GOOGLE
    assert issued.feed.last_polled_at is not None


def test_a_matching_conditional_get_is_a_304(team_feed):
    issued, _, _ = team_feed
    client = Client()
    first = client.get(_path(issued.secret))
    again = client.get(_path(issued.secret), HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert again.content == b""
    since = client.get(
        _path(issued.secret), HTTP_IF_MODIFIED_SINCE=first["Last-Modified"]
    )
    assert since.status_code == 304
    stale = client.get(_path(issued.secret), HTTP_IF_NONE_MATCH='"something-else"')
    assert stale.status_code == 200


def test_a_change_gives_a_new_etag(team_feed, django_capture_on_commit_callbacks):
    issued, rotation, people = team_feed
    client = Client()
    first = client.get(_path(issued.secret))
    start = timezone.now().replace(microsecond=0) + dt.timedelta(days=2)
    with django_capture_on_commit_callbacks(execute=True):
        override_create(
            rotation=rotation,
            role=PRIMARY,
            member=people[4],
            starts_at=start,
            ends_at=start + dt.timedelta(hours=6),
        )
    after = client.get(_path(issued.secret), HTTP_IF_NONE_MATCH=first["ETag"])
    assert after.status_code == 200
    assert after["ETag"] != first["ETag"]


def test_it_gzips_when_asked(team_feed):
    issued, _, _ = team_feed
    plain = Client().get(_path(issued.secret))
    zipped = Client().get(_path(issued.secret), HTTP_ACCEPT_ENCODING="gzip")
    assert zipped["Content-Encoding"] == "gzip"
    assert gzip.GzipFile(fileobj=io.BytesIO(zipped.content)).read() == plain.content
    # A compressed copy is another representation: its validator is weak, and
    # still answers a conditional GET.
    again = Client().get(
        _path(issued.secret),
        HTTP_ACCEPT_ENCODING="gzip",
        HTTP_IF_NONE_MATCH=zipped["ETag"],
    )
    assert again.status_code == 304
    assert zipped["Vary"] == "Accept-Encoding" and plain["Vary"] == "Accept-Encoding"


def test_the_gzipped_body_is_compressed_once_per_process(team_feed, monkeypatch):
    from scheduling import ical

    issued, _, _ = team_feed
    compressed: list[int] = []
    real = ical.compress_string

    def counting(body):
        compressed.append(len(body))
        return real(body)

    monkeypatch.setattr(ical, "compress_string", counting)
    client = Client()
    first = client.get(_path(issued.secret), HTTP_ACCEPT_ENCODING="gzip")
    again = client.get(_path(issued.secret), HTTP_ACCEPT_ENCODING="gzip, br")
    assert first.content == again.content
    assert gzip.decompress(again.content) == client.get(_path(issued.secret)).content
    assert len(compressed) == 1


def test_unknown_revoked_and_rotated_tokens_are_a_plain_404(team_feed):
    issued, _, _ = team_feed
    client = Client()
    unknown = client.get(_path("x" * 43))
    assert unknown.status_code == 404
    assert unknown.content == b"not found\n"
    rotated = feed_rotate(feed=issued.feed)
    assert client.get(_path(issued.secret)).content == unknown.content
    assert client.get(_path(rotated.secret)).status_code == 200
    feed_revoke(feed=issued.feed, now=timezone.now())
    revoked = client.get(_path(rotated.secret))
    assert (revoked.status_code, revoked.content) == (404, unknown.content)


def test_only_get_and_head(team_feed):
    issued, _, _ = team_feed
    assert Client().head(_path(issued.secret)).status_code == 200
    assert Client().post(_path(issued.secret)).status_code == 405


def test_an_unchanged_poll_is_one_query(team_feed, django_assert_num_queries):
    issued, _, _ = team_feed
    client = Client()
    client.get(_path(issued.secret), HTTP_USER_AGENT=GOOGLE)  # renders, records
    with django_assert_num_queries(1):
        response = client.get(_path(issued.secret), HTTP_USER_AGENT=GOOGLE)
    assert response.status_code == 200
    with django_assert_num_queries(1):
        client.get(
            _path(issued.secret),
            HTTP_IF_NONE_MATCH=response["ETag"],
            HTTP_USER_AGENT=GOOGLE,
        )


def test_the_secret_is_not_stored_nor_logged(team_feed, caplog):
    issued, _, _ = team_feed
    caplog.set_level(logging.DEBUG)
    Client().get(_path(issued.secret))
    revoked_secret = issued.secret
    feed_revoke(feed=issued.feed, now=timezone.now())
    assert Client().get(_path(revoked_secret)).status_code == 404
    out = io.StringIO()
    call_command("dumpdata", stdout=out)
    assert issued.secret not in out.getvalue()
    assert issued.feed.token_hash in out.getvalue()
    assert "/ical/" in caplog.text  # the 404 was logged ...
    assert issued.secret not in caplog.text  # ... without the secret


def test_an_unchanged_poll_is_answered_from_this_process_memory(team_feed, monkeypatch):
    from django.core.cache import cache

    issued, _, _ = team_feed
    client = Client()
    first = client.get(_path(issued.secret))
    read: list[str] = []
    real_get = cache.get

    def get(key, *args, **kwargs):
        read.append(key)
        return real_get(key, *args, **kwargs)

    monkeypatch.setattr(cache, "get", get)
    again = client.get(_path(issued.secret), HTTP_IF_NONE_MATCH=first["ETag"])
    full = client.get(_path(issued.secret))

    assert again.status_code == 304
    assert again["ETag"] == first["ETag"]
    assert again["Last-Modified"] == first["Last-Modified"]
    assert (full.status_code, full.content) == (200, first.content)
    assert read == []  # neither poll went to the shared cache


def test_another_process_render_is_read_from_the_shared_cache(team_feed):
    issued, _, _ = team_feed
    client = Client()
    first = client.get(_path(issued.secret))
    forget_local_documents()  # as a worker that did not render it
    with CaptureQueriesContext(connection) as queries:
        again = client.get(_path(issued.secret))
    assert (again.status_code, again.content) == (200, first.content)
    assert len(queries.captured_queries) == 1  # the lookup; no render


# Outside a transaction, as gunicorn serves it: inside one the lookup cannot
# start again on a new connection, and it does not try.
@pytest.mark.django_db(transaction=True)
def test_a_connection_broken_between_polls_is_replaced_not_a_500(
    team_feed, monkeypatch
):
    """The poll skips the per-request "SELECT 1" health check: its lookup runs
    once more on a new connection when the old one turns out broken."""
    from django.db import OperationalError

    from scheduling import hot_sql

    issued, _, _ = team_feed
    client = Client()
    first = client.get(_path(issued.secret))
    real = hot_sql._fetch
    calls: list[bool] = []

    def broken_once(conn, sql, args, rows):
        calls.append(conn.connection is not None)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(conn, sql, args, rows)

    monkeypatch.setattr(hot_sql, "_fetch", broken_once)
    again = client.get(_path(issued.secret))
    assert (again.status_code, again.content) == (200, first.content)
    assert len(calls) == 2
