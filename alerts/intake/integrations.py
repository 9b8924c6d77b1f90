"""Integrations (one per Alertmanager receiver) and their secret tokens.

Tokens are stored as hashes; a token is shown once, when created or rotated.  Also the
configuration snippets the admin shows, and adding routes to an integration.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from alerts.models import Integration, Route, RouteMatcher, hash_token
from alerts.routing import MatcherError, parse_matcher
from scheduling.models import Team


@dataclass(frozen=True)
class IntegrationSecret:
    """A freshly made token: shown once, never stored in clear."""

    integration: Integration
    token: str


def new_token() -> str:
    return secrets.token_urlsafe(32)  # 256 bits


@transaction.atomic
def integration_create(
    *, team: Team, name: str, token: str | None = None, enabled: bool = True
) -> IntegrationSecret:
    """Create an integration with its catch-all route to ``team``.
    ``ValidationError`` (``name``) for a blank name or one the team already uses."""
    if not name.strip() or len(name) > 200:
        raise ValidationError({"name": ["give a name of 1 to 200 characters"]})
    if Integration.objects.filter(team=team, name=name).exists():
        raise ValidationError(
            {"name": [f"{team.slug} already has an integration named {name!r}"]}
        )
    token = token or new_token()
    integration = Integration.objects.create(
        team=team,
        name=name,
        token_hash=hash_token(token),
        token_hint=token[:6],
        enabled=enabled,
    )
    Route.objects.create(
        integration=integration, position=1000, name="catch-all", team=team
    )
    return IntegrationSecret(integration=integration, token=token)


def integration_set_token(*, integration: Integration, token: str | None = None) -> str:
    """Replace the secret (a leaked token, or the demo's fixed one); the old one stops
    working at once."""
    token = token or new_token()
    integration.token_hash = hash_token(token)
    integration.token_hint = token[:6]
    integration.save(update_fields=["token_hash", "token_hint"])
    return token


# token hash -> (integration id, when cached).  The webhook is the hot path of an
# alert storm and the lookup is a third of its database round trips, so each web
# process remembers recent hits for a few seconds.  Saving or deleting an integration
# clears this process' cache at once (signals below); other processes see a disabled
# integration or a rotated token within TOKEN_CACHE_SECONDS.  Misses are never
# cached, so a new token works at once.
TOKEN_CACHE_SECONDS = 5.0


_token_cache: dict[str, tuple[int, float]] = {}


def integration_for_token(token: str) -> int | None:
    """The id of the enabled integration holding ``token``, or None.

    The lookup is by SHA-256 of the token, so response time does not depend on how
    much of a guessed token is right; the final compare is constant-time anyway.
    """
    if not token or len(token) > 256:
        return None
    digest = hash_token(token)
    now = time.monotonic()
    cached = _token_cache.get(digest)
    if cached is not None and now - cached[1] < TOKEN_CACHE_SECONDS:
        return cached[0]
    found = (
        Integration.objects.filter(token_hash=digest, enabled=True)
        .values_list("pk", "token_hash")
        .first()
    )
    if found is None or not hmac.compare_digest(found[1], digest):
        _token_cache.pop(digest, None)
        return None
    if len(_token_cache) > 10_000:  # bounded: a process serves few integrations
        _token_cache.clear()
    _token_cache[digest] = (found[0], now)
    return found[0]


@receiver([post_save, post_delete], sender=Integration)
def _forget_cached_tokens(**kwargs: object) -> None:
    _token_cache.clear()


def token_matches(integration: Integration, token: str) -> bool:
    return hmac.compare_digest(integration.token_hash, hash_token(token))


def webhook_url(token: str | None = None) -> str:
    base = settings.PUBLIC_BASE_URL
    if token is None:
        return f"{base}/api/v1/alertmanager/"
    return f"{base}/api/v1/alertmanager/{token}/"


def alertmanager_snippets(token: str) -> dict[str, str]:
    """A complete alertmanager.yml per auth style (``amtool check-config`` passes
    each, also with the ``<token>`` placeholder): a route to the ``oncall``
    receiver and the receiver's ``webhook_configs``."""
    common = "    send_resolved: true\n    max_alerts: 0\n"
    route = "route:\n  receiver: oncall\nreceivers:\n- name: oncall\n"
    return {
        "path": (
            f"{route}  webhook_configs:\n"
            f"  - url: '{webhook_url(token)}'\n{common}"
        ),
        "bearer": (
            f"{route}  webhook_configs:\n"
            f"  - url: '{webhook_url()}'\n{common}"
            "    http_config:\n      authorization:\n        type: Bearer\n"
            f"        credentials: '{token}'\n"
        ),
        "basic": (
            f"{route}  webhook_configs:\n"
            f"  - url: '{webhook_url()}'\n{common}"
            "    http_config:\n      basic_auth:\n        username: alertmanager\n"
            f"        password: '{token}'\n"
        ),
    }


@transaction.atomic
def route_add(
    *,
    integration: Integration,
    team: Team,
    matchers: list[str],
    name: str = "",
    urgency: str = "",
    position: int | None = None,
) -> Route:
    """Add a route from matchers in Alertmanager's syntax (``severity=~"crit|page"``).

    Without ``position`` it goes after the other matcher routes, before the
    catch-all.  Raises ``ValidationError`` for a bad matcher (an invalid regex is
    caught here, not when an alert arrives).
    """
    try:
        parsed = [parse_matcher(text) for text in matchers]
    except MatcherError as exc:
        raise ValidationError({"matchers": str(exc)}) from exc
    if position is None:
        last = (
            integration.routes.filter(matchers__isnull=False)
            .order_by("-position")
            .values_list("position", flat=True)
            .first()
        )
        position = (last or 0) + 10
    route = Route.objects.create(
        integration=integration,
        team=team,
        name=name,
        urgency=urgency,
        position=position,
    )
    RouteMatcher.objects.bulk_create(
        [
            RouteMatcher(route=route, label=m.label, op=m.op, value=m.value)
            for m in parsed
        ]
    )
    return route
