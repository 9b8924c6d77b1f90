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


def settled(
    until: str | None = None,
    leases: bool = False,
    due: list[int] | None = None,
) -> None:
    """Whether nothing more can happen, by the database and by the broker: the
    test's "nothing more was sent" assertions wait for this, not for a sleep.

    Settled means: the clock has reached ``until`` (an ISO instant the database
    gave, e.g. a step's due time), no active escalation is overdue, no page or
    bundle is queued and due or being sent, no task waits in Redis and the worker
    holds none (running, reserved or with a countdown); with ``leases``, every
    lease (a sweep's ``enqueued_until``, a send's ``claimed_until``) has run out,
    so anything claimed twice would have shown.  With ``due`` (incident numbers)
    it asks something else: has every one of their escalations' next step fallen
    due (by the database's ``next_action_at``)?  Prints ``{"settled": bool,
    "why": str}``.
    """
    from datetime import datetime

    from django.db.models import Max
    from django.utils import timezone

    from alerts.models import Escalation, Page, PageBundle
    from oncall.celery import app

    def answer(why: str) -> None:
        print(json.dumps({"settled": not why, "why": why}))

    now = timezone.now()
    if due is not None:
        waiting = Escalation.objects.filter(incident__in=due).exclude(
            state=Escalation.State.ACTIVE, next_action_at__lte=now
        )
        left = waiting.count()
        return answer(f"{left} escalations not yet due" if left else "")
    if until is not None and now < datetime.fromisoformat(until):
        return answer(f"not yet {until}")
    if Escalation.objects.filter(
        state=Escalation.State.ACTIVE, next_action_at__lte=now
    ).exists():
        return answer("an escalation is overdue")
    in_flight = {"status__in": ["queued", "sending"]}
    if Page.objects.filter(**in_flight, due_at__lte=now).exists() or (
        Page.objects.filter(status="sending").exists()
    ):
        return answer("a page is due or being sent")
    if PageBundle.objects.filter(**in_flight).exists():
        return answer("a bundle is queued or being sent")
    if leases:
        latest = max(
            [
                Escalation.objects.aggregate(at=Max("enqueued_until"))["at"],
                Page.objects.aggregate(at=Max("claimed_until"))["at"],
                PageBundle.objects.aggregate(at=Max("claimed_until"))["at"],
            ],
            key=lambda at: at or now,
        )
        if latest is not None and latest > now:
            return answer(f"a lease runs until {latest.isoformat()}")
    with app.connection_for_write() as connection:
        if connection.default_channel.client.llen("celery"):
            return answer("tasks wait in Redis")
    inspect = app.control.inspect(timeout=1.0)
    replies = [inspect.active(), inspect.reserved(), inspect.scheduled()]
    if any(reply is None for reply in replies):
        return answer("the worker did not answer")
    if any(tasks for reply in replies for tasks in reply.values()):
        return answer("the worker holds tasks")
    return answer("")


def unprocessed_deliveries(containing: str) -> None:
    """How many stored webhook deliveries whose body holds ``containing`` wait,
    unprocessed, in the inbox.  Prints ``{"unprocessed": n}``."""
    from alerts.models import WebhookDelivery

    waiting = WebhookDelivery.objects.filter(
        processed_at__isnull=True, body__contains=containing
    )
    print(json.dumps({"unprocessed": waiting.count()}))


def seed_time_off(username: str, starts_at: str, ends_at: str, summary: str) -> None:
    """Give ``username`` this busy time, as their out-of-office calendar's fetch
    would have stored it (the fetch itself is tested against a loopback server
    in tests/scheduling/ooo/)."""
    from datetime import datetime

    from scheduling.models import Member, OutOfOfficeCalendar, Unavailability

    member = Member.objects.get(user__username=username)
    calendar, _ = OutOfOfficeCalendar.objects.get_or_create(
        member=member, defaults={"url": "http://127.0.0.1:9/never-fetched.ics"}
    )
    row = Unavailability.objects.create(
        member=member,
        calendar=calendar,
        starts_at=datetime.fromisoformat(starts_at),
        ends_at=datetime.fromisoformat(ends_at),
        summary=summary,
    )
    print(json.dumps({"unavailability": row.pk}))


def handoff_link() -> None:
    """A signed link for the outgoing engineer of the demo's latest primary
    handoff note, made as the drafted-note SMS makes it (the demo drafts its
    notes quietly, so nobody was texted one).  Prints the note, the link and
    the incoming engineer's phone."""
    from alerts.handoff.links import link_create
    from alerts.models import HandoffNote

    note = HandoffNote.objects.filter(team__slug="payments", role="primary").first()
    assert note is not None, "the demo has no handoff note"
    print(
        json.dumps(
            {
                "note": note.pk,
                "link": link_create(note=note, member=note.outgoing),
                "incoming_phone": note.incoming.phone,
            }
        )
    )
