"""An unchanged feed poll answered from the WSGI environ, without Django's
request and response objects.

Calendar apps poll ``/ical/<token>.ics`` all day, and on an unchanged schedule
the work is small: one indexed lookup (:func:`scheduling.feeds.feed_for_poll`)
and a read of this process's memory (:func:`scheduling.ical.cached_document`).
Building a ``WSGIRequest``, resolving the URL, running the middleware and an
``HttpResponse`` with its header bookkeeping cost about as much CPU again, so
under gunicorn ``/ical/`` comes here first (``oncall/wsgi.py``, through
``oncall.handlers.LeanPath``, which adds what the feed's middleware chain adds:
the request signals, the security headers, the request metrics).

:func:`unchanged_poll` answers only a poll it can answer exactly as the view
(``scheduling/feed_views.py``) would -- a GET or HEAD of a live token whose
calendar this process (or the shared cache) already holds, unconditional or
with ``If-None-Match`` / ``If-Modified-Since`` -- and returns ``None`` for
everything else, which then goes through Django as before: a first render, an
unknown or revoked token (the 404, logged redacted by Django), another method,
``If-Match`` or ``If-Unmodified-Since``, a path that is not plain ASCII.  The
answers are the view's byte for byte: ``tests/scheduling/ical/test_feed_polls.py``
sends every case through both and compares status, headers and body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.http import http_date, parse_etags, parse_http_date_safe

from scheduling.feeds import feed_for_poll
from scheduling.ical import cached_document

# The URL conf's "ical/<str:token>.ics" (a str converter is [^/]+), whole path.
FEED_PATH = re.compile(r"/ical/([^/]+)\.ics")
# As Django's GZipMiddleware decides (and below its size, not worth it).
ACCEPTS_GZIP = re.compile(r"\bgzip\b")
GZIP_MIN_BYTES = 200
CONTENT_TYPE = "text/calendar; charset=utf-8"
# Private: the URL is a secret; no shared cache should keep a copy.  Written as
# django.utils.cache.patch_cache_control writes private=True, max_age=0,
# must_revalidate=True (the view calls it; the tests compare).
CACHE_CONTROL = "private, max-age=0, must-revalidate"
VARY = "Accept-Encoding"


@dataclass(frozen=True, slots=True)
class Answer:
    """A poll's answer before the project's own headers (security) are added."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes


def _not_modified(environ: dict[str, Any], etag: str, last_modified: int) -> bool:
    """Steps 3 and 4 of django.utils.cache.get_conditional_response for a GET
    or HEAD without If-Match and If-Unmodified-Since (those go to Django)."""
    if_none_match = parse_etags(environ.get("HTTP_IF_NONE_MATCH", ""))
    if if_none_match:
        if if_none_match == ["*"]:
            return True
        # A weak comparison, stripped as Django strips it.
        return etag.strip("W/") in (e.strip("W/") for e in if_none_match)
    since = environ.get("HTTP_IF_MODIFIED_SINCE")
    since_at = parse_http_date_safe(since) if since else None
    if not since_at:  # absent, unreadable (or the epoch, which Django ignores)
        return False
    return last_modified <= since_at


def unchanged_poll(environ: dict[str, Any]) -> Answer | None:
    """The view's answer to this poll, or ``None`` when Django has to give it."""
    method = environ.get("REQUEST_METHOD")
    if method != "GET" and method != "HEAD":
        return None
    match = FEED_PATH.fullmatch(environ.get("PATH_INFO", ""))
    if match is None or not match[1].isascii():
        return None
    if "HTTP_IF_MATCH" in environ or "HTTP_IF_UNMODIFIED_SINCE" in environ:
        return None  # a 412 is Django's to give (and to log)
    now = timezone.now()
    poll = feed_for_poll(
        secret=match[1], user_agent=environ.get("HTTP_USER_AGENT", ""), now=now
    )
    if poll is None:
        return None
    doc = cached_document(scope=poll.scope, version=poll.version, now=now)
    if doc is None:
        return None
    etag, body = doc.etag, doc.body
    gzipped = len(body) >= GZIP_MIN_BYTES and bool(
        ACCEPTS_GZIP.search(environ.get("HTTP_ACCEPT_ENCODING", ""))
    )
    if gzipped:
        etag, body = "W/" + etag, doc.gzipped
    last_modified = int(doc.last_modified.timestamp())
    modified = http_date(last_modified)
    if _not_modified(environ, etag, last_modified):
        # The headers Django's 304 keeps from the full answer, in its order.
        return Answer(
            304,
            "Not Modified",
            [
                ("Cache-Control", CACHE_CONTROL),
                ("ETag", etag),
                ("Last-Modified", modified),
                ("Vary", VARY),
            ],
            b"",
        )
    headers = [("Content-Type", CONTENT_TYPE)]
    if gzipped:
        headers.append(("Content-Encoding", "gzip"))
    headers += [
        ("Vary", VARY),
        ("ETag", etag),
        ("Last-Modified", modified),
        ("Content-Disposition", f'inline; filename="{doc.filename}"'),
        ("Cache-Control", CACHE_CONTROL),
        ("Content-Length", str(len(body))),
    ]
    return Answer(200, "OK", headers, b"" if method == "HEAD" else body)
