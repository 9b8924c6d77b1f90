"""The demo organisation's alerting: an Alertmanager integration with routes, and an
escalation policy (called by ``manage.py oncall_demo``; never modifies what exists).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from alerts.intake.integrations import (
    integration_create,
    integration_set_token,
    route_add,
    token_matches,
    webhook_url,
)
from alerts.models import EscalationPolicy, EscalationStep, Integration
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
        # Made just now, so this sets up, it changes nothing of the operator's:
        # what no route pages for (warnings, info) must not wake anybody.
        integration.routes.filter(matchers__isnull=True).update(urgency="low")
        route_add(
            integration=integration,
            team=team,
            matchers=['severity=~"critical|page"'],
            name="page for critical",
            urgency="high",
        )
        # The routes made just now are the demo's own: they follow the demo
        # policy.  Routes that already existed are the operator's, left alone.
        policy, _ = demo_policy(team=team)
        integration.routes.update(escalation_policy=policy)
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


DEMO_POLICY = "primary, secondary, team"


DEMO_STEPS = [
    {"target": "primary", "channel": "sms_then_voice", "delay": timedelta(0)},
    {"target": "secondary", "channel": "sms_then_voice", "delay": timedelta(minutes=5)},
    {"target": "team", "channel": "sms", "delay": timedelta(minutes=10)},
]


def demo_policy(*, team: Team) -> tuple[EscalationPolicy, bool]:
    """The demo escalation policy, made with its steps if missing; (policy, made)."""
    policy, made = EscalationPolicy.objects.get_or_create(
        team=team,
        name=DEMO_POLICY,
        defaults={
            "team_default": not team.escalation_policies.filter(
                team_default=True
            ).exists(),
            "repeat": 1,
            "description": "Demo: SMS the primary (a call 2 minutes later if not "
            "acknowledged), then the secondary after 5 minutes, then the whole "
            "team after 10; once more if nobody acknowledges.",
        },
    )
    if made:
        for position, step in enumerate(DEMO_STEPS):
            EscalationStep.objects.create(policy=policy, position=position, **step)
    return policy, made


def demo_escalation_load(*, team: Team) -> list[str]:
    """Make the demo policy if it is missing.  Never gives it to existing routes:
    a route without a policy may be the operator's, and the demo loader creates
    what is missing, never modifies what exists."""
    policy, made = demo_policy(team=team)
    return [f"escalation policy {policy}"] if made else []
