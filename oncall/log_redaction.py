"""Keep secrets out of every log line.

An Alertmanager integration's token may sit in the webhook's URL path
(``/api/v1/alertmanager/<token>/``), and whatever logs a path -- gunicorn's access
log, Django's "Not Found: ..." warnings, our own messages -- would write the token
out.  ``redact`` rewrites such text; ``RedactingFilter`` applies it to every record
the root handlers emit (settings.LOGGING) and ``RedactingGunicornLogger`` to
gunicorn's access and error logs (oncall/gunicorn_conf.py).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger as GunicornLogger

REDACTED = "[redacted]"

_PATTERNS = [
    # The webhook's path token (percent-encoded or not), up to the next / ? or space.
    re.compile(r"(/api/v1/alertmanager/)[^/?#\s\"']+"),
    # Calendar feed tokens (/ical/<token>.ics).
    re.compile(r"(/ical/)[^/?#\s\"'.]+"),
    # Signed single-use links to handoff notes (/handoffs/link/<token>/), which
    # also travel in SMS and email bodies that the console transports log.
    re.compile(r"(/handoffs/link/)[^/?#\s\"']+"),
    # Query parameters named like secrets (also first in a bare query string, as
    # granian's access log writes it: query="token=...").
    re.compile(
        r"(?i)((?:[?&]|query=\")(?:token|access_token|key|secret|password)=)"
        r"[^&#\s\"']+"
    ),
    # Credentials in headers that might be logged.
    re.compile(r"(?i)(\b(?:bearer|basic|token)\s+)[A-Za-z0-9._~+/=-]+"),
]


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(rf"\1{REDACTED}", text)
    return text


# What every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_ATTRIBUTES = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__
) | {"message", "asctime"}


class RedactingFilter(logging.Filter):
    """Formats the record's message once, redacted; never drops a record.

    The ``extra=`` values are redacted too: the JSON formatter writes each one as
    a field, and Django's request logger passes the request itself, whose text
    (``<WSGIRequest: POST '/api/v1/alertmanager/<token>/'>``) holds the path.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        self._redact_extras(record)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the formatter
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and record.exc_text is None:
            formatter = logging.Formatter()
            record.exc_text = redact(formatter.formatException(record.exc_info))
        return True

    @staticmethod
    def _redact_extras(record: logging.LogRecord) -> None:
        for key, value in list(record.__dict__.items()):
            if key in _RECORD_ATTRIBUTES or isinstance(value, int | float | None):
                continue
            # The formatter would write str(value); write it redacted instead.
            record.__dict__[key] = redact(
                value if isinstance(value, str) else str(value)
            )


class RedactingGunicornLogger(GunicornLogger):
    """gunicorn's logger with the request line, path, query, referer and headers
    redacted before the access log format is applied."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            key: redact(value) if isinstance(value, str) else value
            for key, value in atoms.items()
        }

    def error(self, msg: str, *args: Any, **kwargs: Any) -> None:
        super().error(redact(str(msg)), *args, **kwargs)
