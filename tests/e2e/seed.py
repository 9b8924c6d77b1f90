"""Run inside the stack (``manage.py shell``): load the demo organisation and give
the tests an API token.  Prints one JSON line the test reads back."""

from __future__ import annotations

import json


def seed_demo() -> None:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from oncall.demo import demo_load
    from scheduling.tokens import api_token_create

    result = demo_load()
    user = get_user_model().objects.get(username="admin")
    issued = api_token_create(
        user=user,
        name="e2e",
        scopes=["read", "write"],
        created_by=user,
        now=timezone.now(),
    )
    print(json.dumps({"team": result.team.slug, "api_token": issued.secret}))


def seed_policy(steps: list[tuple[str, str, float]], repeat: int = 0) -> None:
    """Give the demo policy these (target, channel, delay seconds) steps.

    Real delays are minutes; the scenarios use seconds so they finish quickly.
    """
    from datetime import timedelta

    from alerts.models import EscalationPolicy, EscalationStep

    policy = EscalationPolicy.objects.get(team__slug="payments", team_default=True)
    policy.steps.all().delete()
    for position, (target, channel, delay) in enumerate(steps):
        EscalationStep.objects.create(
            policy=policy,
            position=position,
            target=target,
            channel=channel,
            delay=timedelta(seconds=delay),
            voice_after=timedelta(seconds=delay),
        )
    policy.repeat = repeat
    policy.repeat_until_acknowledged = False
    policy.save()
    print(json.dumps({"policy": policy.pk}))
