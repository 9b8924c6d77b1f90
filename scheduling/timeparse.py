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


# The instants a schedule question may name.  Wide enough for any real rotation,
# and far enough from datetime's limits (years 1 and 9999) that the arithmetic done
# on them -- a UTC offset, a 92-day range, a rotation's handoffs in local time --
# can never overflow into a 500.
EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(3000, 1, 1, tzinfo=dt.UTC)


class InstantError(ValueError):
    pass


def check_range(value: dt.datetime) -> dt.datetime:
    """``value`` if it lies in [EARLIEST, LATEST), else InstantError."""
    if not EARLIEST <= value < LATEST:
        raise InstantError(_out_of_range(value.date().isoformat()))
    return value


def _out_of_range(what: str) -> str:
    return (
        f"{what} is out of range: times from {EARLIEST:%Y-%m-%d} to before "
        f"{LATEST:%Y-%m-%d} (UTC) are accepted"
    )


def parse_instant(raw: str) -> dt.datetime:
    """An aware datetime from ISO 8601 text; naive input is refused.

    A time without an offset is ambiguous (whose 09:00?  and during a DST fall-back,
    which 01:30?), so we ask for the offset instead of guessing.
    """
    text = _SPACE_OFFSET.sub(r"\1+\2", raw.strip())
    try:
        value = dt.datetime.fromisoformat(text)
    except (ValueError, UnicodeError):
        raise InstantError(
            f"{raw!r} is not an ISO 8601 date and time, e.g. 2026-01-12T09:00:00+03:00"
        ) from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise InstantError(
            f"{raw!r} has no UTC offset; add one (e.g. +03:00) or Z for UTC, so the "
            "instant is unambiguous"
        )
    try:
        utc = value.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01T00:00+05:00 is before year 1 in UTC
        raise InstantError(_out_of_range(repr(raw))) from None
    return check_range(utc)
