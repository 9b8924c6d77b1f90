"""Invariants 4 and 5 as properties: whatever the policy, however often and in
whatever order the sweep and the tasks run, each page goes out at most once, every
step due before the acknowledgement is paged, and nothing is paged after it."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings as django_settings
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.escalation.claims import escalations_claim
from alerts.escalation.engine import escalations_advance
from alerts.incidents.state import incident_acknowledge
from alerts.models import Escalation, Page
from alerts.paging.claims import pages_claim
from alerts.paging.send import pages_send
from tests.alerts.conftest import open_incident, sent
from tests.cast import policy_create

steps = st.lists(
    st.fixed_dictionaries(
        {
            "target": st.sampled_from(["primary", "secondary", "team"]),
            "channel": st.sampled_from(["sms", "voice", "sms_then_voice"]),
            "delay": st.integers(0, 600).map(lambda s: timedelta(seconds=s)),
            "voice_after": st.integers(0, 300).map(lambda s: timedelta(seconds=s)),
        }
    ),
    min_size=1,
    max_size=3,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    policy_steps=steps,
    repeat=st.integers(0, 2),
    ticks=st.lists(st.integers(0, 3600), min_size=1, max_size=25),
    duplicates=st.integers(1, 3),
    ack_after=st.one_of(st.none(), st.integers(0, 3600)),
)
def test_each_page_goes_out_once_and_none_after_the_ack(
    team,
    rotation,
    integration,
    alice,
    policy_steps,
    repeat,
    ticks,
    duplicates,
    ack_after,
):
    # Each example on its own: earlier examples' chains stopped, no storm limit
    # (alice is paged by every example).
    django_settings.STORM_MAX_PAGES = 0
    Escalation.objects.update(state="stopped", next_action_at=None)
    Page.objects.filter(status="queued").update(status="cancelled")
    team.escalation_policies.all().delete()
    policy_create(
        team,
        *policy_steps,
        repeat=repeat,
        repeat_after=timedelta(seconds=60),
        team_default=True,
    )
    before = len(sent())
    opened = timezone.now()
    incident = open_incident(integration, at=opened)
    acked = False

    def run(now) -> None:
        # The same work offered several times, as a duplicating broker would.
        for _ in range(duplicates):
            for pk in [pk for pk, _ in escalations_claim(now=now, limit=100)]:
                for _ in range(duplicates):
                    escalations_advance(incident_ids=[pk], now=now)[pk]
            for pk in [pk for pk, _ in pages_claim(now=now, limit=100)]:
                for _ in range(duplicates):
                    pages_send(page_ids=[pk], now=now)[pk]

    for tick in sorted(set(ticks)):
        if ack_after is not None and not acked and tick >= ack_after:
            incident = incident_acknowledge(
                incident=incident, by=alice, at=opened + timedelta(seconds=ack_after)
            )
            acked = True
        run(opened + timedelta(seconds=tick))
    if ack_after is not None and not acked:
        incident = incident_acknowledge(
            incident=incident, by=alice, at=opened + timedelta(seconds=ack_after)
        )
    # Then the sweep keeps running: each time the next thing falls due.
    for _ in range(60):
        due = [
            *Escalation.objects.filter(pk=incident.pk, state="active").values_list(
                "next_action_at", flat=True
            ),
            *Page.objects.filter(incident=incident, status="queued").values_list(
                "due_at", flat=True
            ),
        ]
        if not due:
            break
        run(max(min(due), opened + timedelta(seconds=max(ticks))))
    pages = list(Page.objects.filter(incident=incident))
    outbox = sent()[before:]
    assert len(outbox) == sum(p.status == "sent" for p in pages)  # at most once
    if ack_after is not None:
        ack_at = opened + timedelta(seconds=ack_after)
        for page in pages:
            if page.status == "sent":
                assert page.due_at <= ack_at  # nothing due after the ack went out
        assert all(p.status in ("sent", "cancelled") for p in pages)
    else:
        # Never acknowledged: every step of every round paged, every page sent.
        assert {(p.step, p.repeat) for p in pages} == {
            (s, r) for s in range(len(policy_steps)) for r in range(repeat + 1)
        }
        assert all(p.status == "sent" for p in pages)


def _chunked(data, ids: list[int], duplicates: int) -> list[list[int]]:
    """``ids`` (each up to ``duplicates`` times) shuffled into random chunks: how
    the sweep's and the commit hooks' tasks may reach the workers."""
    offered = data.draw(st.permutations(ids * duplicates))
    chunks: list[list[int]] = []
    while offered:
        size = data.draw(st.integers(1, len(offered)))
        chunks.append(offered[:size])
        offered = offered[size:]
    return chunks


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    policy_steps=steps,
    repeat=st.integers(0, 1),
    acks=st.lists(st.one_of(st.none(), st.integers(0, 1800)), min_size=1, max_size=4),
    ticks=st.lists(st.integers(0, 1800), min_size=1, max_size=12),
    duplicates=st.integers(1, 2),
    data=st.data(),
)
def test_batches_in_any_chunking_page_each_once_and_none_after_an_ack(
    team,
    rotation,
    integration,
    alice,
    policy_steps,
    repeat,
    acks,
    ticks,
    duplicates,
    data,
):
    from alerts.escalation.engine import escalations_advance
    from alerts.paging.send import pages_send

    django_settings.STORM_MAX_PAGES = 0
    Escalation.objects.update(state="stopped", next_action_at=None)
    Page.objects.filter(status="queued").update(status="cancelled")
    team.escalation_policies.all().delete()
    policy_create(
        team,
        *policy_steps,
        repeat=repeat,
        repeat_after=timedelta(seconds=60),
        team_default=True,
    )
    before = len(sent())
    opened = timezone.now()
    incidents = [open_incident(integration, at=opened) for _ in acks]
    ack_at = {
        i.pk: None if a is None else opened + timedelta(seconds=a)
        for i, a in zip(incidents, acks, strict=True)
    }
    acked: set[int] = set()

    def ack_due(until) -> None:
        for incident in incidents:
            at = ack_at[incident.pk]
            if at is not None and incident.pk not in acked and at <= until:
                incident_acknowledge(incident=incident, by=alice, at=at)
                acked.add(incident.pk)

    def run(now) -> None:
        for chunk in _chunked(
            data, [pk for pk, _ in escalations_claim(now=now, limit=100)], duplicates
        ):
            escalations_advance(incident_ids=chunk, now=now)
        for chunk in _chunked(
            data, [pk for pk, _ in pages_claim(now=now, limit=100)], duplicates
        ):
            pages_send(page_ids=chunk, now=now)

    for tick in sorted(set(ticks)):
        now = opened + timedelta(seconds=tick)
        ack_due(now)
        run(now)
    ack_due(opened + timedelta(days=1))
    for _ in range(60):
        due = [
            *Escalation.objects.filter(
                pk__in=[i.pk for i in incidents], state="active"
            ).values_list("next_action_at", flat=True),
            *Page.objects.filter(incident__in=incidents, status="queued").values_list(
                "due_at", flat=True
            ),
        ]
        if not due:
            break
        run(max(min(due), opened + timedelta(seconds=max(ticks))))

    pages = list(Page.objects.filter(incident__in=incidents))
    outbox = sent()[before:]
    assert len(outbox) == sum(p.status == "sent" for p in pages)  # at most once
    for incident in incidents:
        own = [p for p in pages if p.incident_id == incident.pk]
        at = ack_at[incident.pk]
        if at is not None:
            assert all(p.due_at <= at for p in own if p.status == "sent")
            assert all(p.status in ("sent", "cancelled") for p in own)
        else:
            assert {(p.step, p.repeat) for p in own} == {
                (s, r) for s in range(len(policy_steps)) for r in range(repeat + 1)
            }
            assert all(p.status == "sent" for p in own)
