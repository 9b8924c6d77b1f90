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


class RedactingFilter(logging.Filter):
    """Formats the record's message once, redacted; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
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
