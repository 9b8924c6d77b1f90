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


# --- burn-rate alerts that SLO generators (Sloth, Pyrra) send -------------------

PAGE_TIER, TICKET_TIER = "page", "ticket"
# Pyrra's severities by default: critical for its two fast windows, warning for
# the two slow ones; teams that renamed them to page/ticket are read too.
_PYRRA_TIERS = {
    "critical": PAGE_TIER,
    "page": PAGE_TIER,
    "warning": TICKET_TIER,
    "ticket": TICKET_TIER,
}
_DURATION = re.compile(r"(\d+)([smhdwy])")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def _duration_seconds(text: str) -> int | None:
    """A Prometheus duration (``5m``, ``1h30m``, ``3d``) in seconds, or None."""
    parts = _DURATION.findall(text or "")
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(int(n) * _SECONDS[u] for n, u in parts)


@dataclass(frozen=True)
class BurnTier:
    """An alert a multi-window burn-rate rule fired, as its generator labels it.

    ``slo``: the labels that name the SLO (two alerts with the same are tiers of
    one SLO); ``tier``: page or ticket; ``speed``: smaller is faster (the page
    tier before the ticket tier, then the shorter long window)."""

    generator: str
    slo: tuple[tuple[str, str], ...]
    tier: str
    speed: tuple[int, int]

    @property
    def urgency(self) -> str:
        return "high" if self.tier == PAGE_TIER else "low"

    def describe(self) -> str:
        name = ", ".join(f"{k}={v}" for k, v in self.slo)
        return f"{self.generator} {self.tier} tier of SLO {name}"


def burn_tier(labels: dict[str, str]) -> BurnTier | None:
    """The burn-rate tier of an alert from Sloth or Pyrra, recognised by their
    labels; None for any other alert.

    * Sloth labels its alerts ``sloth_service``, ``sloth_slo`` (and ``sloth_id``)
      and ``sloth_severity`` ``page`` or ``ticket``;
    * Pyrra labels them ``slo``, ``long`` and ``short`` (the two windows) and
      ``severity`` (``critical`` for the fast windows, ``warning`` for the slow).
    """
    sloth = labels.get("sloth_severity", "").strip().lower()
    if labels.get("sloth_slo") and sloth in (PAGE_TIER, TICKET_TIER):
        slo = tuple(
            (k, labels[k]) for k in ("sloth_service", "sloth_slo") if k in labels
        )
        return BurnTier("Sloth", slo, sloth, (0 if sloth == PAGE_TIER else 1, 0))
    severity = labels.get("severity", "").strip().lower()
    long = _duration_seconds(labels.get("long", ""))
    if labels.get("slo") and long is not None and labels.get("short"):
        tier = _PYRRA_TIERS.get(severity)
        if tier is not None:
            speed = (0 if tier == PAGE_TIER else 1, long)
            return BurnTier("Pyrra", (("slo", labels["slo"]),), tier, speed)
    return None


def _fastest_tiers(alert_labels: Sequence[dict[str, str]]) -> list[BurnTier] | None:
    """Each alert's tier, fastest first; None unless every alert is a tier."""
    tiers = []
    for labels in alert_labels:
        tier = burn_tier(labels)
        if tier is None:
            return None  # most groups stop at their first alert here
        tiers.append(tier)
    return sorted(tiers, key=lambda t: t.speed) or None


def group_burn_tier(
    common_labels: dict[str, str], alert_labels: Sequence[dict[str, str]] = ()
) -> BurnTier | None:
    """The burn-rate tier of an Alertmanager group (an incident), from the
    labels of its **firing** alerts: the fastest of their tiers, when every one
    of them is a tier of one SLO (Sloth's page and ticket alerts share an
    ``alertname``, so ``group_by: [alertname]`` puts both in one group; Pyrra's
    four windows share ``alertname`` and ``slo``).  None when one of them is
    not a tier, or they name several SLOs.  Without alerts (an incident opened
    by oncall itself, or one whose alerts are not known here), its common
    labels decide, as for a single alert."""
    if not alert_labels:
        return burn_tier(common_labels)
    tiers = _fastest_tiers(alert_labels)
    if tiers is None or len({t.slo for t in tiers}) > 1:
        return None
    return tiers[0]


def urgency_from_labels(
    labels: dict[str, str], alert_labels: Sequence[dict[str, str]] = ()
) -> tuple[str, str]:
    """The urgency a group asks for, and why: when its firing alerts
    (``alert_labels``; else its common ``labels``) are all Sloth or Pyrra
    burn-rate tiers, the fastest of them (page: high, ticket: low), of one SLO
    or several; else the severity of the common labels."""
    tiers = _fastest_tiers(alert_labels) if alert_labels else None
    tier = tiers[0] if tiers else burn_tier(labels)
    if tier is not None:
        return tier.urgency, f"from the {tier.describe()}"
    return urgency_from_severity(labels), "from severity"


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
    rules: Sequence[RouteRule],
    labels: dict[str, str],
    *,
    default_team_id: int,
    alert_labels: Sequence[dict[str, str]] = (),
) -> RouteChoice:
    """First match wins.  Without any match (someone deleted the catch-all) the
    integration's own team gets it, and the decision says so.  ``labels``: the
    group's common labels, which routes match; ``alert_labels``: its firing
    alerts' labels, which burn-rate tiers are read from (``urgency_from_labels``).
    """
    for rule in rules:
        if matches_all(rule.matchers, labels):
            urgency, why = urgency_from_labels(labels, alert_labels)
            if rule.urgency:
                urgency = rule.urgency
            what = ", ".join(str(m) for m in rule.matchers) or "catch-all"
            title = f' "{rule.name}"' if rule.name else ""
            how = "" if rule.urgency else f" ({why})"
            return RouteChoice(
                route_id=rule.id,
                team_id=rule.team_id,
                urgency=urgency,
                decision=f"matched route {rule.number}{title}: {what}; "
                f"urgency {urgency}{how}",
            )
    urgency, why = urgency_from_labels(labels, alert_labels)
    return RouteChoice(
        route_id=None,
        team_id=default_team_id,
        urgency=urgency,
        decision="no route matched and there is no catch-all route: sent to the "
        f"integration's team; urgency {urgency} ({why})",
    )
