"""Which team a silence concerns: the teams its silenced alerts could be routed to.

Alertmanager knows no teams; we do, through the routes.  A silence concerns a
team when some alert it mutes could reach that team:

1. A silence with a matcher on the ``team`` label decides by it alone: the
   matchers on ``team`` are evaluated against the team's slug (the label most
   Alertmanager set-ups put on alerts for exactly this).
2. Otherwise every enabled integration's routes are walked in order, as intake
   would, with what the silence pins down: its ``=`` matchers fix labels of every
   alert it mutes.  A route matcher on a fixed label is decided exactly; one on a
   free label is decided against the silence's other matchers on that label where
   the route fixes the value (``service="db"`` against ``service=~"web.*"``);
   otherwise it might match.  A route that cannot match is skipped; one that
   might match makes its team concerned and the walk goes on; one that surely
   matches makes its team concerned and ends the walk (first match wins, later
   routes never see those alerts).  Past the last route, the integration's own
   team gets the rest.

It errs towards showing a silence (regexes against regexes "might match"): a
note that mentions one silence too many costs a glance, one too few a surprise.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from alerts.routing import Matcher, MatcherError, RouteRule, compile_matcher, matches

TEAM_LABEL = "team"


@dataclass(frozen=True)
class IntegrationRoutes:
    team_id: int  # the integration's own team: what no route takes goes there
    rules: Sequence[RouteRule]


def silence_matchers(raw: Iterable[dict]) -> list[Matcher] | None:
    """Alertmanager API v2 matchers (``name``, ``value``, ``isRegex``,
    ``isEqual``) as ours; None if one is malformed (then show the silence)."""
    found = []
    for m in raw:
        regex, equal = bool(m.get("isRegex")), bool(m.get("isEqual", True))
        op = {(False, True): "=", (False, False): "!=", (True, True): "=~"}.get(
            (regex, equal), "!~"
        )
        try:
            found.append(
                compile_matcher(str(m.get("name", "")), op, str(m.get("value", "")))
            )
        except MatcherError:
            return None
    return found


def _verdict(
    rule: Matcher, silence: list[Matcher], fixed: dict[str, str]
) -> bool | None:
    """True: every silenced alert matches ``rule``; False: none does; None: some
    might."""
    if rule.label in fixed:
        return matches(rule, fixed)
    if rule.op == "=":
        pinned = {rule.label: rule.value}
        if not all(matches(m, pinned) for m in silence if m.label == rule.label):
            return False
    return None


def silence_reaches_team(
    matchers: list[Matcher],
    *,
    team_id: int,
    team_slug: str,
    integrations: Iterable[IntegrationRoutes],
) -> bool:
    on_team = [m for m in matchers if m.label == TEAM_LABEL]
    if on_team:
        return all(matches(m, {TEAM_LABEL: team_slug}) for m in on_team)
    fixed = {m.label: m.value for m in matchers if m.op == "="}
    for integration in integrations:
        for rule in integration.rules:
            verdicts = [_verdict(m, matchers, fixed) for m in rule.matchers]
            if False in verdicts:
                continue
            if rule.team_id == team_id:
                return True
            if all(v is True for v in verdicts):
                break  # this route takes every silenced alert of the integration
        else:
            if integration.team_id == team_id:
                return True
    return False
