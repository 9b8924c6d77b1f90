"""The demo Alertmanager integration of DESIGN.md §5 (loaded by ``oncall_demo``)."""

from __future__ import annotations

from django.conf import settings

from alerts.integrations import (
    integration_create,
    integration_set_token,
    route_add,
    token_matches,
    webhook_url,
)
from alerts.models import Integration
from scheduling.models import Team

DEMO_INTEGRATION = "alertmanager"


def demo_alerts_load(*, team: Team) -> tuple[list[str], list[str]]:
    """Create (or keep) the demo integration; returns (created, notes to print).

    Its token is ``$ONCALL_DEMO_TOKEN`` when set, else random; a random token can
    only be printed when it is made (only its hash is stored).
    """
    created: list[str] = []
    wanted = settings.ONCALL_DEMO_TOKEN
    integration = Integration.objects.filter(team=team, name=DEMO_INTEGRATION).first()
    token: str | None = None
    if integration is None:
        made = integration_create(
            team=team, name=DEMO_INTEGRATION, token=wanted or None
        )
        integration, token = made.integration, made.token
        route_add(
            integration=integration,
            team=team,
            matchers=['severity=~"critical|page"'],
            name="page for critical",
            urgency="high",
        )
        created.append(f"integration {team.slug}/{DEMO_INTEGRATION}")
    elif wanted:
        if not token_matches(integration, wanted):
            integration_set_token(integration=integration, token=wanted)
        token = wanted

    if token:
        notes = [
            f"Alertmanager webhook: {webhook_url(token)}",
            f"  (or {webhook_url()} with 'Authorization: Bearer {token}')",
        ]
    else:
        notes = [
            f"Alertmanager integration {team.slug}/{DEMO_INTEGRATION} exists; its "
            "token was printed when it was made. Set ONCALL_DEMO_TOKEN to choose "
            "one, or rotate it in the admin."
        ]
    return created, notes
