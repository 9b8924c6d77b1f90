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
import traceback
from typing import Any

from gunicorn.glogging import Logger as GunicornLogger
from gunicorn.glogging import SafeAtoms

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


# Whether any of the patterns could match, in one pass: a case-insensitive
# superset of their union.  Most text holds no secret, and gunicorn's access log
# redacts each of a request's fifty-odd atoms (every header and environ entry):
# five substitutions apiece were 0.2 ms of CPU per request, a search is a tenth.
_ANY = re.compile(
    "|".join(p.pattern.removeprefix("(?i)") for p in _PATTERNS), re.IGNORECASE
)


def redact(text: str) -> str:
    if not _ANY.search(text):
        return text
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


class RedactingAtoms(SafeAtoms):
    """gunicorn's atoms of one access log line, each redacted (then quoted, as
    gunicorn quotes them) when the line's format reads it.

    The atoms hold every request and response header and every environ
    variable -- some sixty strings -- and the default format reads nine:
    redacting (five regular expressions) and quoting them all on every request
    cost 0.2 ms of CPU, more than a feed poll's own answer.  The line is the
    same."""

    def __init__(self, atoms: dict) -> None:
        dict.__init__(self, atoms)  # SafeAtoms would quote every value here

    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        if isinstance(value, str):
            return redact(value).replace('"', '\\"')
        return value


class RedactingGunicornLogger(GunicornLogger):
    """gunicorn's logger with the request line, path, query, referer and headers
    redacted before the access log format is applied."""

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        """gunicorn's ``access``, with only the atoms the format uses redacted
        (redacting all of them was 0.2 ms of CPU per request), and the record
        carrying the finished line, never a dict of unredacted atoms that a
        handler might print."""
        if not self.access_log_enabled:
            return
        atoms = RedactingAtoms(super().atoms(resp, req, environ, request_time))
        try:
            self.access_log.info("%s", self.cfg.access_log_format % atoms)
        except Exception:
            self.error(traceback.format_exc())

    def error(self, msg: str, *args: Any, **kwargs: Any) -> None:
        super().error(redact(str(msg)), *args, **kwargs)
