"""Alertmanager silences that expire during the next shift, for the handoff note's
upcoming-maintenance section: when a silence ends, whatever it hid pages again.

Read from Alertmanager's API v2 (``GET /api/v2/silences``) at ``ALERTMANAGER_URL``
with ``httpx`` (the project's one HTTP client); nothing is read when it is unset.
One Alertmanager serves every team; a team's note lists only the silences whose
alerts could reach the team (``silence_teams.py`` says how that is decided).
If it cannot be read, every note says so instead of silently showing none.
"""

from __future__ import annotations

import datetime as dt
import logging

import httpx
from django.conf import settings

from alerts.handoff.silence_teams import (
    IntegrationRoutes,
    silence_matchers,
    silence_reaches_team,
)
from alerts.models import Integration
from alerts.selectors import route_rules
from scheduling.models import Team

logger = logging.getLogger(__name__)

LIVE_STATES = ("active", "pending")


def _matchers(matchers: list[dict]) -> str:
    ops = {(False, True): "=", (False, False): "!=", (True, True): "=~"}
    parts = []
    for m in matchers:
        op = ops.get((bool(m.get("isRegex")), bool(m.get("isEqual", True))), "!~")
        parts.append(f'{m.get("name", "")}{op}"{m.get("value", "")}"')
    return "{" + ", ".join(parts) + "}"


def _instant(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _routes() -> list[IntegrationRoutes]:
    return [
        IntegrationRoutes(team_id=team_id, rules=route_rules(integration_id=pk))
        for pk, team_id in Integration.objects.filter(enabled=True)
        .order_by("pk")
        .values_list("pk", "team_id")
    ]


def silences_expiring(
    *, start: dt.datetime, end: dt.datetime, team: Team | None = None
) -> list[dict]:
    """Live silences whose end falls in (start, end], as maintenance items; with
    ``team``, only those that concern it."""
    base = settings.ALERTMANAGER_URL
    if not base:
        return []
    try:
        response = httpx.get(
            f"{base}/api/v2/silences", timeout=settings.ALERTMANAGER_TIMEOUT_SECONDS
        )
        response.raise_for_status()
        silences = response.json()
        if not isinstance(silences, list):
            raise ValueError("not a list of silences")
    except (httpx.HTTPError, ValueError) as exc:
        logger.warning("could not read Alertmanager silences: %s", exc)
        return [
            {
                "kind": "silence",
                "starts_at": start.isoformat(),
                "ends_at": start.isoformat(),
                "text": "Alertmanager silences could not be read: check them by hand",
            }
        ]
    routes = _routes() if team is not None else []
    items = []
    for silence in silences:
        try:
            state = silence["status"]["state"]
            ends = _instant(silence["endsAt"])
            starts = _instant(silence["startsAt"])
        except (KeyError, TypeError, ValueError):
            continue
        if state not in LIVE_STATES or not (start < ends <= end):
            continue
        if team is not None and not _concerns(silence, team, routes):
            continue
        items.append(_item(silence, starts, ends))
    return items


def _concerns(silence: dict, team: Team, routes: list[IntegrationRoutes]) -> bool:
    matchers = silence_matchers(silence.get("matchers") or [])
    if matchers is None:
        return True  # malformed matchers: shown rather than hidden
    return silence_reaches_team(
        matchers, team_id=team.pk, team_slug=team.slug, integrations=routes
    )


def _item(silence: dict, starts: dt.datetime, ends: dt.datetime) -> dict:
    comment = str(silence.get("comment", "")).strip()
    by = str(silence.get("createdBy", "")).strip()
    text = f"Alertmanager silence {_matchers(silence.get('matchers') or [])} ends"
    if comment:
        text += f": {comment}"
    if by:
        text += f" (by {by})"
    return {
        "kind": "silence",
        "starts_at": starts.astimezone(dt.UTC).isoformat(),
        "ends_at": ends.astimezone(dt.UTC).isoformat(),
        "text": text,
    }
