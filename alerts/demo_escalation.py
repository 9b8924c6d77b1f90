"""The demo escalation policy (loaded by ``oncall_demo``): the on-call primary by
SMS, then the secondary, then the whole team; the demo route uses it."""

from __future__ import annotations

from datetime import timedelta

from alerts.models import EscalationPolicy, EscalationStep, Route
from scheduling.models import Team

DEMO_POLICY = "primary, secondary, team"
DEMO_STEPS = [
    {"target": "primary", "channel": "sms_then_voice", "delay": timedelta(0)},
    {"target": "secondary", "channel": "sms_then_voice", "delay": timedelta(minutes=5)},
    {"target": "team", "channel": "sms", "delay": timedelta(minutes=10)},
]


def demo_escalation_load(*, team: Team) -> list[str]:
    created: list[str] = []
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
        created.append(f"escalation policy {policy}")
    updated = Route.objects.filter(
        integration__team=team, escalation_policy__isnull=True
    ).update(escalation_policy=policy)
    if updated:
        created.append(f"{updated} route(s) → {policy.name}")
    return created
