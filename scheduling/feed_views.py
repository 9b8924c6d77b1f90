"""``GET /ical/<token>.ics``: a feed, for calendar apps.

No session, no user: the token in the path is the credential.  An unknown or
revoked token is a bare 404 with no hint of which.  A poll of an unchanged
schedule is one indexed query and a read of this process's memory (see
``scheduling/feeds.py`` and ``scheduling/ical.py``), the gzipped body included;
under gunicorn the ``/ical/`` path runs a short middleware chain of its own
(``oncall/wsgi.py``, ``settings.FEED_MIDDLEWARE``), and before it the lean path
of ``scheduling/feed_polls.py`` answers the unchanged polls with this view's
answer without Django's request and response objects.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.utils import timezone
from django.utils.cache import (
    get_conditional_response,
    patch_cache_control,
    patch_vary_headers,
)
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from scheduling.feed_polls import ACCEPTS_GZIP, CONTENT_TYPE, GZIP_MIN_BYTES
from scheduling.feeds import feed_for_poll
from scheduling.ical import cached_document, feed_document


@require_safe
def ical_feed(request: HttpRequest, token: str) -> HttpResponse:
    now = timezone.now()
    poll = feed_for_poll(
        secret=token, user_agent=request.headers.get("User-Agent", ""), now=now
    )
    if poll is None:
        return HttpResponseNotFound(b"not found\n", content_type="text/plain")
    doc = cached_document(scope=poll.scope, version=poll.version, now=now)
    if doc is None:  # the schedule changed (or the day did): render it once
        doc = feed_document(feed=poll.load_feed(), version=poll.version, now=now)
    etag, body = doc.etag, doc.body
    gzipped = len(body) >= GZIP_MIN_BYTES and bool(
        ACCEPTS_GZIP.search(request.headers.get("Accept-Encoding", ""))
    )
    if gzipped:
        # Compressed once per process, not per poll (Document.gzipped).  Another
        # representation: its validator is weak, as Django's gzip makes it, and
        # still matches a conditional GET (If-None-Match compares weakly).
        etag, body = "W/" + etag, doc.gzipped
    last_modified = int(doc.last_modified.timestamp())
    response = HttpResponse(body, content_type=CONTENT_TYPE)
    if gzipped:
        response["Content-Encoding"] = "gzip"
    patch_vary_headers(response, ("Accept-Encoding",))
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified)
    response["Content-Disposition"] = f'inline; filename="{doc.filename}"'
    # Private: the URL is a secret; no shared cache should keep a copy.
    patch_cache_control(response, private=True, max_age=0, must_revalidate=True)
    # With its length, gunicorn sends the body as it is instead of in chunks
    # (a chunk header, and a last empty chunk: one more write per poll).  A 304
    # keeps none of it (get_conditional_response); a HEAD says what a GET sends.
    response["Content-Length"] = str(len(body))
    if request.method == "HEAD":
        # The server sends no body to a HEAD (and gunicorn logs a warning for
        # each one it has to drop).
        response.content = b""
    conditional = get_conditional_response(
        request, etag=etag, last_modified=last_modified, response=response
    )
    # Given a response, Django answers it or a 304/412, never None.
    return response if conditional is None else conditional
