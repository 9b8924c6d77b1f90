"""The log line's formats and the redaction filter, as ``logging.config``
dictionaries: one definition for Django's ``settings.LOGGING`` and for granian's
own logging (``oncall.granian_server``), which is configured before Django is.

Functions, not constants: ``dictConfig`` takes the ``"()"`` factory key out of
the dictionaries it is given, and a granian worker configures logging twice.
"""

from __future__ import annotations

from typing import Any

LINE = "%(asctime)s %(levelname)s %(name)s %(message)s"


def formatters() -> dict[str, Any]:
    """``text`` (the line as is) and ``json`` (one object per line, with the
    fields renamed ``time``, ``level``, ``logger``): ``LOG_FORMAT`` picks one."""
    return {
        "text": {"format": LINE},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": LINE,
            "rename_fields": {
                "asctime": "time",
                "levelname": "level",
                "name": "logger",
            },
        },
    }


def filters() -> dict[str, Any]:
    """``redact``: tokens in URL paths and query strings (the webhook's, the
    feed's) are removed from every line (``oncall.log_redaction``)."""
    return {"redact": {"()": "oncall.log_redaction.RedactingFilter"}}


def console_handler(log_format: str, **extra: Any) -> dict[str, Any]:
    """A stream handler in ``log_format`` with the redaction filter."""
    return {
        "class": "logging.StreamHandler",
        "formatter": log_format,
        "filters": ["redact"],
        **extra,
    }
