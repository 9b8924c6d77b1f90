"""Keep secrets that travel in URL paths out of the logs.

A feed's token *is* its URL's path (``/ical/<token>.ics``: calendar apps cannot
send headers), so every logger that writes request paths -- Django's
``django.request`` (4xx/5xx warnings), ``django.server`` (runserver) and
gunicorn's access log -- passes its records through :class:`RedactFeedTokens`.
"""

from __future__ import annotations

import logging
import re

FEED_PATH = re.compile(r"/ical/[^/\s\"'?]+?\.ics")
REDACTED = "/ical/[redacted].ics"


def redact(text: str) -> str:
    return FEED_PATH.sub(REDACTED, text)


class RedactFeedTokens(logging.Filter):
    """Rewrites a record whose message holds a feed path; never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 (a bad record is the handler's to report)
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def install(*names: str) -> None:
    """Add the filter to the named loggers (gunicorn's, which Django's LOGGING
    does not configure)."""
    for name in names:
        logging.getLogger(name).addFilter(RedactFeedTokens())
