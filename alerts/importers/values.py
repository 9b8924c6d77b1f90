"""Reading a source's values: what an answer must hold, as a ``SourceError``
naming the source and the place when it does not."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from alerts.importers.client import SourceError


def source_instant(source: str, value: Any, what: str) -> dt.datetime:
    """An ISO 8601 date-time with a UTC offset (``Z`` accepted), as UTC."""
    if not isinstance(value, str):
        raise SourceError(f"{source}: {what} is not a date-time: {value!r}")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise SourceError(f"{source}: {what} is not a date-time: {value!r}") from None
    if parsed.tzinfo is None:
        raise SourceError(f"{source}: {what} has no UTC offset: {value!r}")
    return parsed.astimezone(dt.UTC)


def source_id(source: str, obj: Any, what: str) -> str:
    """The string ``id`` of an object of the answer."""
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
        raise SourceError(f"{source}: {what} has no id")
    return obj["id"]


def team_slug(name: str) -> str:
    """Our slug for a source team's name."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:50] or "team"


@contextmanager
def answers_in_shape(source: str) -> Iterator[None]:
    """Reading ``source``'s answers: a field missing or of the wrong type (an
    unknown time zone is a ``KeyError`` too) is the source's data, not our bug,
    and becomes a ``SourceError`` that says so."""
    try:
        yield
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SourceError(
            f"{source}: an answer is not in the documented shape "
            f"({type(exc).__name__}: {exc})"
        ) from None
