"""``GET /ical/<token>.ics``: a feed, for calendar apps.

No session, no user: the token in the path is the credential.  An unknown or
revoked token is a bare 404 with no hint of which.  A poll of an unchanged
schedule is one indexed query and a cache hit (see ``scheduling/ical.py``).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_safe

from scheduling.feeds import feed_for_poll
from scheduling.ical import feed_document, feed_validators


@gzip_page
@require_safe
def ical_feed(request: HttpRequest, token: str) -> HttpResponse:
    now = timezone.now()
    poll = feed_for_poll(
        secret=token, user_agent=request.headers.get("User-Agent", ""), now=now
    )
    if poll is None:
        return HttpResponseNotFound(b"not found\n", content_type="text/plain")
    known = feed_validators(feed=poll.feed, version=poll.version, now=now)
    if known is not None and (
        "If-None-Match" in request.headers or "If-Modified-Since" in request.headers
    ):
        # An unchanged feed polled conditionally: answered from the validators
        # alone, without reading the body out of the cache.
        etag, changed = known
        empty = HttpResponse(content_type="text/calendar; charset=utf-8")
        empty["ETag"] = etag
        empty["Last-Modified"] = http_date(int(changed.timestamp()))
        conditional = get_conditional_response(
            request,
            etag=etag,
            last_modified=int(changed.timestamp()),
            response=empty,
        )
        if conditional is not None and conditional is not empty:
            patch_cache_control(
                conditional, private=True, max_age=0, must_revalidate=True
            )
            return conditional
    doc = feed_document(feed=poll.feed, version=poll.version, now=now)
    last_modified = int(doc.last_modified.timestamp())
    response = HttpResponse(doc.body, content_type="text/calendar; charset=utf-8")
    response["ETag"] = doc.etag
    response["Last-Modified"] = http_date(last_modified)
    response["Content-Disposition"] = f'inline; filename="{doc.filename}"'
    # Private: the URL is a secret; no shared cache should keep a copy.
    patch_cache_control(response, private=True, max_age=0, must_revalidate=True)
    conditional = get_conditional_response(
        request, etag=doc.etag, last_modified=last_modified, response=response
    )
    # Given a response, Django answers it or a 304/412, never None.
    return response if conditional is None else conditional
