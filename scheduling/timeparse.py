"""Parsing the ISO 8601 instants users type into URLs and commands."""

from __future__ import annotations

import datetime as dt
import re

# In a query string an unescaped "+" decodes to a space, so "…T09:00:00+03:00"
# arrives as "…T09:00:00 03:00".  Put the plus back rather than reject what the
# user meant.
_SPACE_OFFSET = re.compile(
    r"(T\d{2}(?::?\d{2}(?::?\d{2}(?:\.\d+)?)?)?) (\d{2}(?::?\d{2})?)$"
)


class InstantError(ValueError):
    pass


def parse_instant(raw: str) -> dt.datetime:
    """An aware datetime from ISO 8601 text; naive input is refused.

    A time without an offset is ambiguous (whose 09:00?  and during a DST fall-back,
    which 01:30?), so we ask for the offset instead of guessing.
    """
    text = _SPACE_OFFSET.sub(r"\1+\2", raw.strip())
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InstantError(
            f"{raw!r} is not an ISO 8601 date and time, e.g. 2026-01-12T09:00:00+03:00"
        ) from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise InstantError(
            f"{raw!r} has no UTC offset; add one (e.g. +03:00) or Z for UTC, so the "
            "instant is unambiguous"
        )
    return value.astimezone(dt.UTC)
