"""Label matching with Alertmanager's semantics, and choosing a route.

Semantics copied from Alertmanager's behaviour (not its code): a label that is absent
has the value ``""`` (so ``team=""`` matches alerts without ``team``), and regexes are
anchored at both ends (``severity=~"crit"`` does not match ``critical``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

OPS = ("=", "!=", "=~", "!~")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# label op "value" | label op value (unquoted: no quotes, spaces, operators, braces)
_MATCHER = re.compile(
    r"^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"
    r'(?:"((?:[^"\\]|\\.)*)"|([^\s"=!~{},]*))\s*$'
)
# Severity values that mean "do not wake anyone"; everything else (including no
# severity at all) is high urgency: paging for an unknown label is the safer error.
LOW_SEVERITIES = frozenset(
    {"warning", "warn", "info", "informational", "low", "minor", "none", "notice"}
)


class MatcherError(ValueError):
    pass


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str
    value: str

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.label}{self.op}"{escaped}"'


@lru_cache(maxsize=1024)
def _regex(value: str) -> re.Pattern[str]:
    try:
        return re.compile(f"^(?:{value})$", re.DOTALL)
    except re.error as exc:
        raise MatcherError(f"invalid regular expression {value!r}: {exc}") from exc


def compile_matcher(label: str, op: str, value: str) -> Matcher:
    """Validate a matcher; raises ``MatcherError`` saying what is wrong."""
    if not _LABEL.match(label or ""):
        raise MatcherError(
            f"{label!r} is not a label name (letters, digits, _; not starting "
            "with a digit)"
        )
    if op not in OPS:
        raise MatcherError(f"{op!r} is not a matcher operator; use one of {OPS}")
    if op in ("=~", "!~"):
        _regex(value)
    return Matcher(label, op, value)


def parse_matcher(text: str) -> Matcher:
    """``severity=~"critical|page"`` (Alertmanager's matcher syntax) → Matcher."""
    match = _MATCHER.match(text)
    if match is None:
        raise MatcherError(
            f'{text!r} is not a matcher; write it like severity=~"critical|page"'
        )
    label, op, quoted, bare = match.groups()
    value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else (bare or "")
    return compile_matcher(label, op, value)


def matches(matcher: Matcher, labels: dict[str, str]) -> bool:
    value = labels.get(matcher.label, "")
    if matcher.op == "=":
        return value == matcher.value
    if matcher.op == "!=":
        return value != matcher.value
    found = _regex(matcher.value).match(value) is not None
    return found if matcher.op == "=~" else not found


def matches_all(matchers: Iterable[Matcher], labels: dict[str, str]) -> bool:
    return all(matches(m, labels) for m in matchers)


def urgency_from_severity(labels: dict[str, str]) -> str:
    severity = labels.get("severity", "").strip().lower()
    return "low" if severity in LOW_SEVERITIES else "high"


@dataclass(frozen=True)
class RouteChoice:
    route_id: int | None
    team_id: int
    urgency: str
    decision: str


@dataclass(frozen=True)
class RouteRule:
    """A route as plain data, so choosing one needs no queries per alert."""

    id: int
    number: int  # 1-based position in the integration's list, as shown to humans
    name: str
    team_id: int
    urgency: str  # "" = from severity
    matchers: tuple[Matcher, ...]


def choose_route(
    rules: Sequence[RouteRule], labels: dict[str, str], *, default_team_id: int
) -> RouteChoice:
    """First match wins.  Without any match (someone deleted the catch-all) the
    integration's own team gets it, and the decision says so."""
    for rule in rules:
        if matches_all(rule.matchers, labels):
            urgency = rule.urgency or urgency_from_severity(labels)
            what = ", ".join(str(m) for m in rule.matchers) or "catch-all"
            title = f' "{rule.name}"' if rule.name else ""
            how = "" if rule.urgency else " (from severity)"
            return RouteChoice(
                route_id=rule.id,
                team_id=rule.team_id,
                urgency=urgency,
                decision=f"matched route {rule.number}{title}: {what}; "
                f"urgency {urgency}{how}",
            )
    urgency = urgency_from_severity(labels)
    return RouteChoice(
        route_id=None,
        team_id=default_team_id,
        urgency=urgency,
        decision="no route matched and there is no catch-all route: sent to the "
        f"integration's team; urgency {urgency} (from severity)",
    )
