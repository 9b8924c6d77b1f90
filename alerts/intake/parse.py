"""The Alertmanager webhook payload: parsing and validation (version 4 bodies).

Pure functions, no database: what the webhook view checks before storing a delivery,
and what processing reads back from the stored body.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

# RFC 3339 as Alertmanager writes it: 0 to 9 fractional digits, Z or an offset.
_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))$"
)


STATUSES = ("firing", "resolved")


# What we accept as a time: anything a real alert can carry, and nothing that
# arithmetic on it (an offset, a retention period, a timeout) could push out of
# Python's or the database's range.  Go's zero time (year 1) means "not set".
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


# truncatedAlerts is stored in a 32-bit integer column (PostgreSQL's "integer").
MAX_TRUNCATED = 2**31 - 1


# A UTF-16 surrogate that is not half of a pair: JSON allows "\ud800", but no
# database encoding can store it (UTF-8 has no spelling for it).
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


# Where parsed JSON can get a surrogate from: a ``\uD800``-``\uDFFF`` escape in
# the text, or the character itself in a Python string (never in one decoded from
# UTF-8, and never in an ASCII one).  A text with neither needs no walk of its
# parsed document: the walk was 30 us of the webhook's CPU, these checks 1 to 10.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


class PayloadError(ValueError):
    """The body is JSON but not an Alertmanager v4 payload; ``problems`` maps each
    wrong field (``alerts[0].startsAt``) to what is wrong with it."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class AlertData:
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime | None
    ends_at: datetime | None  # None for Go's zero time (a firing alert)
    generator_url: str
    fingerprint: str

    @property
    def firing(self) -> bool:
        return self.status == "firing"


@dataclass(frozen=True, slots=True)
class Payload:
    receiver: str
    status: str
    alerts: tuple[AlertData, ...]
    group_labels: dict[str, str]
    common_labels: dict[str, str]
    common_annotations: dict[str, str]
    external_url: str
    group_key: str
    truncated_alerts: int


def parse_time(value: str) -> datetime | None:
    """RFC 3339 → aware UTC datetime; Go's zero time (year 1) → None.

    Python's datetime keeps microseconds, so nanosecond digits are truncated.
    """
    match = _TIME.match(value)
    if match is None:
        raise ValueError("not an RFC 3339 time")
    year, month, day, hour, minute, second, frac, z, sign, oh, om = match.groups()
    if int(year) <= 1:
        return None
    micro = int((frac or "0").ljust(6, "0")[:6])
    if not 1 < int(year) < 9999:
        # Year 0 or 9999 and an offset would leave datetime's range below.
        raise ValueError(f"year {year} is out of range")
    parsed = datetime(
        int(year),
        int(month),
        int(day),
        int(hour),
        int(minute),
        int(second),
        micro,
        tzinfo=UTC,
    )
    if not z:
        offset = timedelta(hours=int(oh), minutes=int(om))
        parsed = parsed - offset if sign == "+" else parsed + offset
    if not EARLIEST <= parsed < LATEST:
        raise ValueError(
            f"out of range ({EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d}, UTC)"
        )
    return parsed


def lone_surrogates(data: Any) -> dict[str, str]:
    """Paths of the strings (and object keys) in parsed JSON that hold a lone
    UTF-16 surrogate.  Walks the whole document, unknown fields included (they
    are stored too), without recursion: depth is whatever the sender chose."""
    problems: dict[str, str] = {}
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if _LONE_SURROGATE.search(value):
                problems[path or "$"] = "contains a lone UTF-16 surrogate"
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                if _LONE_SURROGATE.search(key):
                    child = _LONE_SURROGATE.sub("?", child)
                    problems[child] = "the name contains a lone UTF-16 surrogate"
                    continue
                stack.append((child, item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(value))
    return dict(sorted(problems.items()))


def _string_map(value: Any, path: str, problems: dict[str, str]) -> dict[str, str]:
    if not isinstance(value, dict):
        problems[path] = "must be an object of strings"
        return {}
    for key, item in value.items():
        if not isinstance(item, str):
            problems[f"{path}.{key}"] = "must be a string"
    return value


def _alert(raw: Any, path: str, problems: dict[str, str]) -> AlertData | None:
    if not isinstance(raw, dict):
        problems[path] = "must be an object"
        return None
    before = len(problems)
    # JSON values (Any) until checked; a problem is recorded for each bad one.
    status: Any = raw.get("status")
    if status not in STATUSES:
        problems[f"{path}.status"] = "must be 'firing' or 'resolved'"
    labels = _string_map(raw.get("labels"), f"{path}.labels", problems)
    annotations = _string_map(
        raw.get("annotations", {}), f"{path}.annotations", problems
    )
    fingerprint: Any = raw.get("fingerprint")
    if not isinstance(fingerprint, str) or not 1 <= len(fingerprint) <= 64:
        problems[f"{path}.fingerprint"] = "must be a string of 1 to 64 characters"
    times: dict[str, datetime | None] = {}
    for field in ("startsAt", "endsAt"):
        value = raw.get(field)
        if not isinstance(value, str):
            problems[f"{path}.{field}"] = "must be an RFC 3339 time string"
            continue
        try:
            times[field] = parse_time(value)
        except ValueError as exc:
            if _TIME.match(value):
                problems[f"{path}.{field}"] = f"{value[:40]!r}: {exc}"
            else:
                problems[f"{path}.{field}"] = f"{value[:40]!r} is not an RFC 3339 time"
    generator_url = raw.get("generatorURL", "")
    if not isinstance(generator_url, str):
        problems[f"{path}.generatorURL"] = "must be a string"
    if len(problems) > before:
        return None
    return AlertData(
        status=status,
        labels=labels,
        annotations=annotations,
        starts_at=times["startsAt"],
        ends_at=times["endsAt"],
        generator_url=generator_url,
        fingerprint=fingerprint,
    )


def _alerts(raw_alerts: Any, problems: dict[str, str]) -> list[AlertData]:
    """The valid alerts of the payload's ``alerts``; what is wrong with the others
    goes into ``problems``."""
    if not isinstance(raw_alerts, list) or not raw_alerts:
        problems["alerts"] = "must be a non-empty list of alerts"
        return []
    alerts: list[AlertData] = []
    for index, raw in enumerate(raw_alerts):
        alert = _alert(raw, f"alerts[{index}]", problems)
        if alert is not None:
            alerts.append(alert)
    return alerts


def parse_payload(body: bytes | str) -> Payload:
    """Parse and validate; raises ``json.JSONDecodeError``/``UnicodeDecodeError`` for
    a body that is not JSON and ``PayloadError`` for JSON of the wrong shape."""
    data = json.loads(body)
    return payload_from_json(data, text=body if isinstance(body, str) else None)


def payload_from_json(data: Any, *, text: str | None = None) -> Payload:
    """Validate parsed JSON; ``text``, the JSON it was parsed from, lets the check
    for lone surrogates skip its walk of the document when the text has no
    surrogate escape (almost always)."""
    if not isinstance(data, dict):
        raise PayloadError({"$": "must be a JSON object (an Alertmanager webhook)"})
    problems = _surrogate_problems(data, text)
    if problems:
        raise PayloadError(_capped(problems))
    version = data.get("version")
    if version != "4":
        problems["version"] = (
            f'must be "4" (Alertmanager\'s webhook format), got {version!r}'[:120]
        )
    # JSON values (Any) until checked; a problem is recorded for each bad one.
    group_key: Any = data.get("groupKey")
    if not isinstance(group_key, str) or not group_key:
        problems["groupKey"] = "must be a non-empty string"
    status: Any = data.get("status")
    if status not in STATUSES:
        problems["status"] = "must be 'firing' or 'resolved'"
    receiver = data.get("receiver", "")
    if not isinstance(receiver, str):
        problems["receiver"] = "must be a string"
    external_url = data.get("externalURL", "")
    if not isinstance(external_url, str):
        problems["externalURL"] = "must be a string"
    truncated = data.get("truncatedAlerts", 0)
    if (
        not isinstance(truncated, int)
        or isinstance(truncated, bool)
        or not 0 <= truncated <= MAX_TRUNCATED
    ):
        problems["truncatedAlerts"] = f"must be an integer from 0 to {MAX_TRUNCATED}"
    maps = {
        name: _string_map(data.get(name, {}), name, problems)
        for name in ("groupLabels", "commonLabels", "commonAnnotations")
    }
    alerts = _alerts(data.get("alerts"), problems)
    if problems:
        raise PayloadError(_capped(problems))
    return Payload(
        receiver=receiver,
        status=status,
        alerts=tuple(alerts),
        group_labels=maps["groupLabels"],
        common_labels=maps["commonLabels"],
        common_annotations=maps["commonAnnotations"],
        external_url=external_url,
        group_key=group_key,
        truncated_alerts=truncated,
    )


def _surrogate_problems(data: Any, text: str | None) -> dict[str, str]:
    if (
        text is not None
        and not _SURROGATE_ESCAPE.search(text)
        and (text.isascii() or not _LONE_SURROGATE.search(text))
    ):
        return {}
    return lone_surrogates(data)


def _capped(problems: dict[str, str]) -> dict[str, str]:
    """At most 20 problems, so a 1 MiB body of broken alerts gives a readable
    answer."""
    if len(problems) <= 20:
        return problems
    kept = dict(list(problems.items())[:20])
    kept["..."] = f"and {len(problems) - 20} more problems"
    return kept


def am_fingerprint(labels: dict[str, str]) -> str:
    """Alertmanager's fingerprint of a label set (FNV-1a 64 over sorted labels).

    Used for alerts we make up ourselves (the dead man's switch), so they look like
    any other alert.
    """
    h = 0xCBF29CE484222325
    for name in sorted(labels):
        for part in (name.encode(), b"\xff", labels[name].encode(), b"\xff"):
            for byte in part:
                h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"
