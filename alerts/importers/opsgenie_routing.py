"""Opsgenie's integrations and team routing rules as our integrations and routes.

Pure mapping, no HTTP: :mod:`alerts.importers.opsgenie` reads the source and
calls these.

What an Alertmanager alert is in Opsgenie: Alertmanager's ``opsgenie_config``
sends each group as one alert whose *extra properties* (``details``) are the
group's common labels -- the labels our routes match (``commonLabels``).  So a
condition on ``extra-properties`` with a key is a condition on that label, and
only those become matchers.  Conditions on the message, tags, priority, source,
entity... have no label to match (they come from templates in the sender's
config), and are reported.

Which integrations: Opsgenie's ``API`` and ``Prometheus`` ones, the two that
Alertmanager's ``opsgenie_config`` posts to (with their key).  Every other type
(Datadog, email, Webhook...) sends something that is not an Alertmanager
webhook, and is reported.

Conditions, compared case-sensitively as Alertmanager compares labels (a label
that is absent is ``""``, as in Alertmanager; Opsgenie's ``is-empty`` is true
for both):

==========================  =======================================
Opsgenie operation          ours (``not``: the negated operator)
==========================  =======================================
equals                      ``label="v"`` (``!=``)
matches                     ``label=~"v"`` (``!~``), anchored
starts-with                 ``label=~"<escaped v>.*"``
ends-with                   ``label=~".*<escaped v>"``
contains                    ``label=~".*<escaped v>.*"``
is-empty                    ``label=""`` (``!=""``)
greater-than, less-than,    reported: no numeric matcher here
equals-ignore-whitespace
==========================  =======================================

A rule becomes routes whole or not at all: ``match-all`` is a catch-all route,
``match-all-conditions`` one route with all its matchers, ``match-any-condition``
one route per condition (first match wins, so they stand in the rule's place).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from alerts.routing import MatcherError, compile_matcher

# The integration types Alertmanager's opsgenie_config posts to.
ALERTMANAGER_TYPES = frozenset({"API", "Prometheus"})

_REGEX = {
    "starts-with": "{}.*",
    "ends-with": ".*{}",
    "contains": ".*{}.*",
}


@dataclass(frozen=True)
class RoutePlan:
    """One of our routes for a team's rule, before it is put on an integration
    (``key`` ends its slug: the rule's id, and the condition's number)."""

    key: str
    name: str
    matchers: tuple[str, ...]
    escalation_policy: str | None  # None: the team's default policy
    urgency: str  # "" = from the severity label


def condition_matcher(condition: dict[str, Any]) -> str:
    """Our matcher for one Opsgenie condition; ``ValueError`` saying why there is
    none."""
    field = condition.get("field")
    if field != "extra-properties":
        raise ValueError(
            f"a condition on {field!r} (ours matches the alert's labels, which "
            "Alertmanager sends as extra properties)"
        )
    key = str(condition.get("key") or "")
    operation = condition.get("operation")
    expected = str(condition.get("expectedValue") or "")
    negated = bool(condition.get("not"))
    if operation == "equals":
        op, value = ("!=" if negated else "="), expected
    elif operation == "is-empty":
        op, value = ("!=" if negated else "="), ""
    elif operation == "matches":
        op, value = ("!~" if negated else "=~"), expected
    elif operation in _REGEX:
        op = "!~" if negated else "=~"
        value = _REGEX[operation].format(re.escape(expected))
    else:
        raise ValueError(
            f"operation {operation!r} on {key!r} (ours: =, !=, =~, !~ on text)"
        )
    try:
        return str(compile_matcher(key, op, value))
    except MatcherError as exc:
        raise ValueError(f"extra property {key!r}: {exc}") from None


def rule_matchers(rule: dict[str, Any]) -> list[tuple[str, ...]]:
    """The matcher sets a rule becomes (one per route, first match wins);
    ``ValueError`` saying why it cannot be expressed."""
    criteria = rule.get("criteria") or {"type": "match-all"}
    kind = criteria.get("type")
    conditions = criteria.get("conditions") or []
    if kind == "match-all":
        return [()]
    if kind not in ("match-all-conditions", "match-any-condition") or not conditions:
        raise ValueError(f"criteria {kind!r} without conditions")
    made = [condition_matcher(c) for c in conditions]
    if kind == "match-all-conditions":
        return [tuple(made)]
    return [(m,) for m in made]


def team_routes(
    *,
    rules: list[dict[str, Any]],
    team: str,
    policies: dict[str, str],
    primary_schedule: str | None,
    problems: list[str],
) -> list[RoutePlan]:
    """A team's routing rules, in their order, as our routes; what cannot be
    one is reported with the reason.  ``policies``: Opsgenie escalation id (lower
    case) -> our policy slug, for the team's own escalations."""
    routes: list[RoutePlan] = []
    for rule in sorted(rules, key=lambda r: int(r.get("order") or 0)):
        name = str(rule.get("name") or ("default" if rule.get("isDefault") else ""))
        where = f"team {team} routing rule {name or rule['id']!r}"
        skipped = "not imported: the alerts it takes go to the rules after it here"
        if rule.get("timeRestriction"):
            problems.append(
                f"{where}: applies at certain times only (ours routes at all "
                f"times); {skipped}"
            )
            continue
        try:
            matcher_sets = rule_matchers(rule)
        except ValueError as exc:
            problems.append(f"{where}: {exc}; {skipped}")
            continue
        notify = rule.get("notify") or {}
        policy, urgency = None, ""
        target = str(notify.get("id") or "").lower()
        if notify.get("type") == "escalation" and target in policies:
            policy = policies[target]
        elif notify.get("type") == "schedule" and notify.get("id") == primary_schedule:
            problems.append(
                f"{where}: notifies the schedule {notify.get('name')!r} (ours: "
                "a route pages through an escalation policy); imported to the "
                "team's default policy, whose first step pages that schedule's "
                "on-call"
            )
        elif notify.get("type") == "none":
            urgency = "low"
            problems.append(
                f"{where}: notifies no one (ours: a route always pages); "
                "imported as low urgency (SMS in business hours, never a call)"
            )
        else:
            problems.append(
                f"{where}: notifies {notify.get('type')} "
                f"{notify.get('name') or notify.get('id')!r}, not one of this "
                f"team's imported escalations or its primary schedule; {skipped}"
            )
            continue
        for n, matchers in enumerate(matcher_sets, start=1):
            several = len(matcher_sets) > 1
            routes.append(
                RoutePlan(
                    key=f"{str(rule['id']).lower()}{f'-{n}' if several else ''}",
                    name=f"{name} ({n})" if several else name,
                    matchers=matchers,
                    escalation_policy=policy,
                    urgency=urgency,
                )
            )
    if not routes or routes[-1].matchers:
        # Every integration of ours keeps a catch-all; Opsgenie's default rule
        # is one, unless it could not be imported.
        problems.append(
            f"team {team}: no imported rule matches every alert; a catch-all "
            "route to the team's default policy is added last"
        )
        routes.append(RoutePlan("catch-all", "catch-all", (), None, ""))
    return routes


def integration_entry(
    *, slug: str, team: str, name: str, enabled: bool, routes: list[RoutePlan]
) -> dict[str, Any]:
    """The configuration document's entry for one integration."""
    return {
        "slug": slug,
        "team": team,
        "name": name,
        "enabled": enabled,
        "routes": [
            {
                "slug": f"{slug}-{route.key}",
                "name": route.name,
                "position": position,
                "team": team,
                "urgency": route.urgency,
                "matchers": list(route.matchers),
            }
            | (
                {"escalation_policy": route.escalation_policy}
                if route.escalation_policy
                else {}
            )
            for position, route in enumerate(routes)
        ],
    }
