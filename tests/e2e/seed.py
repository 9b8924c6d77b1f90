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


def sms_bundles(phone: str) -> None:
    """The bundle SMS of the member with this phone, for a test to decide what
    ACK ALL answers as the service does (``alerts.paging.replies``: the member's
    latest SENT or DELIVERED bundle SMS by ``sent_at``, then pk).

    Prints ``{"unsettled": n, "latest": {...} | null}``: how many are still
    queued or sending, and the one ACK ALL would answer now, with its incidents.
    """
    from alerts.models import Incident, PageBundle
    from scheduling.models import Member

    member = Member.objects.get(phone=phone)
    bundles = PageBundle.objects.filter(member=member, channel=PageBundle.Channel.SMS)
    unsettled = bundles.filter(
        status__in=[PageBundle.Status.QUEUED, PageBundle.Status.SENDING]
    ).count()
    bundle = (
        bundles.filter(status__in=[PageBundle.Status.SENT, PageBundle.Status.DELIVERED])
        .order_by("-sent_at", "-pk")
        .first()
    )
    latest = None
    if bundle is not None:
        incidents = Incident.objects.filter(pages__bundle=bundle).distinct()
        latest = {
            "provider_id": bundle.provider_id,
            "incidents": sorted(incidents.values_list("pk", flat=True)),
        }
    print(json.dumps({"unsettled": unsettled, "latest": latest}))

