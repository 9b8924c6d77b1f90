"""The escalation engine: start, advance, stop, escalate now, and the sweep.

The database is the timer.  Each open incident's :class:`~alerts.models.Escalation`
row says which step is next and when (``next_action_at``).  Nothing waits in the
broker: the beat runs :func:`escalation_sweep` every few seconds, which enqueues a
short task for each due row; the first step is enqueued the moment the incident
commits.

Exactly once, whatever the broker does:

* :func:`escalation_advance` begins with a conditional ``UPDATE`` on the due row.
  It takes the row's write lock (PostgreSQL) or the database's (SQLite, whose
  transactions here are IMMEDIATE), so a second task for the same row waits, then
  finds it no longer due and does nothing.
* The step's pages are written in the same transaction that moves the position,
  with a unique key (incident, cycle, step, repeat, member, channel): a fired step
  always has its pages, and no page can exist twice.
* Sending is :mod:`alerts.paging`'s job, with its own claim on each page.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from alerts.incidents import IncidentStateError, timeline_add
from alerts.models import (
    ContactRule,
    Escalation,
    Incident,
    Page,
    TimelineEntry,
)
from alerts.policies import (
    BUILTIN_POLICY,
    channels_for,
    policy_for_incident,
    policy_snapshot,
    step_describe,
    step_targets,
)
from alerts.selectors import maintenance_active
from scheduling.models import Member

logger = logging.getLogger(__name__)

LIVE_PAGE_STATUSES = (
    Page.Status.QUEUED,
    Page.Status.SENDING,
    Page.Status.SENT,
    Page.Status.DELIVERED,
    Page.Status.ANSWERED,
    Page.Status.HELD,
    Page.Status.BUNDLED,
)
# A step that resolves to nobody moves on at once; this bounds the loop when a
# whole policy resolves to nobody round after round.
MAX_EMPTY_STEPS = 50


def _enqueue_advance(incident_id: int) -> None:
    from alerts.tasks import escalation_advance_task
    from oncall.celery import enqueue_on_commit

    enqueue_on_commit(escalation_advance_task, incident_id)


def _enqueue_pages(page_ids: list[int]) -> None:
    from alerts.tasks import page_send_task
    from oncall.celery import enqueue_on_commit

    for page_id in page_ids:
        enqueue_on_commit(page_send_task, page_id)


# --- start and stop (called from the incident hooks, inside their transaction) ----


def escalation_start(*, incident: Incident, at: datetime | None = None) -> Escalation:
    """Snapshot the policy and make the first step due (at once, normally).

    Called when an incident opens, reopens, or leaves maintenance.  A restart
    begins a new *cycle*, whose pages have keys of their own.
    """
    policy = policy_for_incident(incident)
    snapshot = policy_snapshot(policy) if policy is not None else BUILTIN_POLICY
    steps = snapshot["steps"]
    state = Escalation.State.ACTIVE if steps else Escalation.State.EXHAUSTED
    # A restart (reopen, end of maintenance) updates the existing row; a new
    # incident has none, and its chain is timed from when it opened.
    restarted = Escalation.objects.filter(pk=incident.pk).update(
        policy=policy,
        snapshot=snapshot,
        state=state,
        cycle=F("cycle") + 1,
        next_step=0,
        next_round=0,
        next_action_at=None,
        last_step=None,
        last_round=None,
        enqueued_until=None,
        stopped_at=None,
        stopped_reason="",
    )
    at = at or (timezone.now() if restarted else incident.opened_at)
    first_due = at + timedelta(seconds=steps[0]["delay"]) if steps else None
    if restarted:
        Escalation.objects.filter(pk=incident.pk).update(
            next_action_at=first_due, started_at=at
        )
        escalation = Escalation.objects.get(pk=incident.pk)
    else:
        escalation = Escalation.objects.create(
            incident=incident,
            policy=policy,
            snapshot=snapshot,
            state=state,
            next_action_at=first_due,
            started_at=at,
        )
    timeline_add(
        incident=incident,
        kind=TimelineEntry.Kind.ESCALATION,
        text=_policy_text(snapshot),
        at=at,
    )
    if first_due is not None and first_due <= timezone.now():
        _enqueue_advance(incident.pk)
    return escalation


def escalations_start_new(*, incidents: list[Incident]) -> list[Escalation]:
    """:func:`escalation_start` for a burst of brand-new incidents, in a fixed
    handful of queries whatever their number (the bulk intake path)."""
    from alerts.policies import policies_for_incidents

    fresh = [i for i in incidents if not i.in_maintenance]
    if not fresh:
        return []
    snapshots = policies_for_incidents(fresh)
    now = timezone.now()
    escalations = []
    entries = []
    for incident in fresh:
        policy_id, snapshot = snapshots[incident.pk]
        steps = snapshot["steps"]
        first_due = (
            incident.opened_at + timedelta(seconds=steps[0]["delay"]) if steps else None
        )
        escalations.append(
            Escalation(
                incident=incident,
                policy_id=policy_id,
                snapshot=snapshot,
                state=Escalation.State.ACTIVE if steps else Escalation.State.EXHAUSTED,
                next_action_at=first_due,
                started_at=incident.opened_at,
            )
        )
        entries.append(
            TimelineEntry(
                incident=incident,
                at=incident.opened_at,
                kind=TimelineEntry.Kind.ESCALATION,
                text=_policy_text(snapshot),
            )
        )
        if first_due is not None and first_due <= now:
            _enqueue_advance(incident.pk)
    Escalation.objects.bulk_create(escalations)
    TimelineEntry.objects.bulk_create(entries)
    return escalations


def _policy_text(snapshot: dict) -> str:
    steps = snapshot["steps"]
    if not steps:
        return f"escalation policy {snapshot['name']!r} has no steps: nobody paged"
    text = f"escalation policy {snapshot['name']!r}: " + "; then ".join(
        step_describe(step) for step in steps
    )
    if snapshot["rounds"] > 1:
        text += f" (up to {snapshot['rounds']} rounds)"
    return text


def escalation_stop(
    *, incident: Incident, reason: str, at: datetime | None = None
) -> int:
    """Stop the chain and cancel pages not yet sent; returns pages cancelled.

    Runs in the acknowledging/resolving transaction: once it commits, no sweep or
    task can find anything due for this incident.
    """
    at = at or timezone.now()
    Escalation.objects.filter(pk=incident.pk, state=Escalation.State.ACTIVE).update(
        state=Escalation.State.STOPPED,
        next_action_at=None,
        enqueued_until=None,
        stopped_at=at,
        stopped_reason=reason[:200],
    )
    return Page.objects.filter(
        incident=incident, status__in=[Page.Status.QUEUED, Page.Status.HELD]
    ).update(status=Page.Status.CANCELLED, finished_at=at, claimed_until=None)


# --- advancing ----------------------------------------------------------------


def _position_after(snapshot: dict, step: int, round_: int) -> tuple[int, int] | None:
    if step + 1 < len(snapshot["steps"]):
        return step + 1, round_
    if round_ + 1 < snapshot["rounds"]:
        return 0, round_ + 1
    return None


def _delay_before(snapshot: dict, step: int, round_: int) -> timedelta:
    delay = timedelta(seconds=snapshot["steps"][step]["delay"])
    if step == 0 and round_ > 0:
        delay += timedelta(seconds=snapshot["repeat_after"])
    return delay


def escalation_advance(*, incident_id: int, now: datetime | None = None) -> str:
    """Fire the due step of one incident, if it is still due; say what happened."""
    now = now or timezone.now()
    new_pages: list[int] = []
    with transaction.atomic():
        # The claim comes first: it locks the row (or, on SQLite, the database) for
        # the rest of the transaction, so a concurrent duplicate waits and then
        # finds nothing due.
        claimed = Escalation.objects.filter(
            pk=incident_id,
            state=Escalation.State.ACTIVE,
            next_action_at__lte=now,
        ).update(enqueued_until=None)
        if not claimed:
            return "not due"
        escalation = Escalation.objects.select_for_update().get(pk=incident_id)
        incident = Incident.objects.select_related("team").get(pk=incident_id)
        if incident.status != Incident.Status.TRIGGERED or incident.in_maintenance:
            escalation_stop(incident=incident, reason=f"incident {incident.status}")
            return "stopped"
        if escalation_pause_for_maintenance(incident, now):
            return "paused: maintenance window"
        snapshot = escalation.snapshot
        step, round_ = escalation.next_step, escalation.next_round
        step_due_at = escalation.next_action_at
        fired = 0
        while True:
            pages, skipped = _fire_step(
                incident=incident,
                escalation=escalation,
                step=step,
                round_=round_,
                step_due_at=step_due_at,
                now=now,
            )
            new_pages += [p.pk for p in pages if p.due_at <= now]
            fired += 1
            fired_step, fired_round = step, round_
            following = _position_after(snapshot, step, round_)
            if following is None:
                Escalation.objects.filter(pk=incident_id).update(
                    state=Escalation.State.EXHAUSTED,
                    next_action_at=None,
                    last_step=step,
                    last_round=round_,
                    stopped_at=now,
                    stopped_reason="every step ran",
                )
                timeline_add(
                    incident=incident,
                    kind=TimelineEntry.Kind.ESCALATION,
                    text="escalation policy exhausted: every step and repeat ran "
                    "without an acknowledgement",
                    at=now,
                )
                break
            step, round_ = following
            if skipped and round_ == fired_round and fired < MAX_EMPTY_STEPS:
                # Nobody to page at this step: the next one fires at once rather
                # than after a wait that would page no one.  (A new round still
                # waits its repeat delay: it would page the same people again.)
                step_due_at = now
                continue
            Escalation.objects.filter(pk=incident_id).update(
                next_step=step,
                next_round=round_,
                next_action_at=now + _delay_before(snapshot, step, round_),
                last_step=fired_step,
                last_round=fired_round,
            )
            break
        _enqueue_pages(new_pages)
    return f"fired {fired} step(s), {len(new_pages)} page(s) to send now"


def _fire_step(
    *,
    incident: Incident,
    escalation: Escalation,
    step: int,
    round_: int,
    step_due_at: datetime,
    now: datetime,
) -> tuple[list[Page], bool]:
    """Write the pages of one step; returns (pages written, skipped?)."""
    spec = escalation.snapshot["steps"][step]
    label = f"step {step + 1}" + (f" (repeat {round_})" if round_ else "")
    targets = step_targets(incident=incident, step=spec, at=now)
    if not targets.members:
        timeline_add(
            incident=incident,
            kind=TimelineEntry.Kind.ESCALATION,
            text=f"{label} skipped: {targets.why_empty}",
            at=now,
        )
        return [], True
    rules: dict[int, list] = {}
    for rule in ContactRule.objects.filter(member__in=targets.members):
        rules.setdefault(rule.member_id, []).append(rule)
    pages = [
        Page(
            incident=incident,
            cycle=escalation.cycle,
            step=step,
            repeat=round_,
            member=member,
            channel=channel,
            step_due_at=step_due_at,
            due_at=now + delay,
            created_at=now,
        )
        for member in targets.members
        for channel, delay in channels_for(member=member, step=spec, rules=rules)
    ]
    # The unique key makes a second insert of the same page a no-op; the claim in
    # escalation_advance already prevents it, this is the belt to those braces.
    Page.objects.bulk_create(pages, ignore_conflicts=True)
    written = list(
        Page.objects.filter(
            incident=incident, cycle=escalation.cycle, step=step, repeat=round_
        ).select_related("member__user")
    )
    names = ", ".join(sorted({p.member.display_name for p in written}))
    timeline_add(
        incident=incident,
        kind=TimelineEntry.Kind.ESCALATION,
        text=f"{label}: paging {names} ({step_describe(spec)})",
        at=now,
    )
    return written, False


def escalation_pause_for_maintenance(incident: Incident, now: datetime) -> bool:
    """A maintenance window that began after the incident opened stops its chain
    too; the maintenance sweep starts it again when the window ends (as for an
    incident opened during the window)."""
    window = maintenance_active(
        integration_id=incident.integration_id, team_id=incident.team_id, at=now
    )
    if window is None:
        return False
    Incident.objects.filter(pk=incident.pk).update(in_maintenance=True)
    incident.in_maintenance = True
    escalation_stop(incident=incident, reason="maintenance window", at=now)
    timeline_add(
        incident=incident,
        kind=TimelineEntry.Kind.MAINTENANCE,
        text=f"maintenance window ({window.reason}) until "
        f"{window.ends_at:%Y-%m-%d %H:%M} UTC: escalation paused until it ends",
        at=now,
    )
    return True


# --- people acting on the chain ------------------------------------------------------


def incident_escalate(
    *,
    incident: Incident,
    by: Member | None,
    via: str = "",
    at: datetime | None = None,
) -> Escalation:
    """ "Escalate now": the next step fires at once; this step's pending pages
    (the call after the SMS) are cancelled."""
    at = at or timezone.now()
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.status != Incident.Status.TRIGGERED:
            raise IncidentStateError(
                f"incident #{incident.pk} is {incident.status}: only a triggered "
                "incident can be escalated"
            )
        escalation = Escalation.objects.filter(pk=incident.pk).first()
        if escalation is None or escalation.state != Escalation.State.ACTIVE:
            state = escalation.state if escalation else "not started"
            raise IncidentStateError(
                f"incident #{incident.pk} has no further escalation step ({state})"
            )
        Escalation.objects.filter(pk=incident.pk).update(
            next_action_at=at, enqueued_until=None
        )
        Page.objects.filter(incident=incident, status=Page.Status.QUEUED).update(
            status=Page.Status.CANCELLED, finished_at=at
        )
        who = by.display_name if by else "someone"
        timeline_add(
            incident=incident,
            kind=TimelineEntry.Kind.ESCALATED,
            text=f"escalated by {who}" + (f" via {via}" if via else ""),
            at=at,
            actor=by,
        )
        _enqueue_advance(incident.pk)
    escalation.refresh_from_db()
    return escalation


def escalation_step_unanswered(*, page: Page, now: datetime | None = None) -> str:
    """A page failed or went unanswered: fall through to the next channel, or, when
    nobody of its step can still answer, to the next step at once."""
    now = now or timezone.now()
    later = Page.objects.filter(
        incident_id=page.incident_id,
        cycle=page.cycle,
        step=page.step,
        repeat=page.repeat,
        member_id=page.member_id,
        status=Page.Status.QUEUED,
        due_at__gt=now,
    )
    pulled = list(later.values_list("pk", flat=True))
    if pulled:
        later.update(due_at=now, claimed_until=None)
        _enqueue_pages(pulled)
        return "next channel now"
    still_live = Page.objects.filter(
        incident_id=page.incident_id,
        cycle=page.cycle,
        step=page.step,
        repeat=page.repeat,
        status__in=[
            Page.Status.QUEUED,
            Page.Status.SENDING,
            Page.Status.SENT,
            Page.Status.DELIVERED,
            Page.Status.HELD,
            Page.Status.BUNDLED,
        ],
    ).exists()
    if still_live:
        return "others of the step may still answer"
    moved = Escalation.objects.filter(
        pk=page.incident_id,
        state=Escalation.State.ACTIVE,
        cycle=page.cycle,
        last_step=page.step,
        last_round=page.repeat,
        next_action_at__gt=now,
    ).update(next_action_at=now, enqueued_until=None)
    if moved:
        timeline_add(
            incident=page.incident,
            kind=TimelineEntry.Kind.ESCALATION,
            text=f"nobody answered step {page.step + 1}: next step now",
            at=now,
        )
        _enqueue_advance(page.incident_id)
        return "next step now"
    return "nothing to move"


# --- the sweep ------------------------------------------------------------------


def escalations_due(*, now: datetime, limit: int) -> list[int]:
    """Incident ids whose step is due at ``now``, claimed for enqueueing."""
    return [pk for pk, _ in escalations_claim(now=now, limit=limit)]


def escalations_claim(
    *, now: datetime, limit: int, ahead: timedelta = timedelta(0)
) -> list[tuple[int, datetime]]:
    """Claim escalations due by ``now + ahead`` for enqueueing: (id, due at).

    The lease (``enqueued_until``) keeps the next sweeps from enqueueing the same
    row while its task waits in the broker; if the task is lost, the lease runs out
    and a later sweep enqueues it again.  Looking ahead by one sweep interval lets
    the sweep publish each task with an ETA of exactly its due time (never more
    than a few seconds away), so steps fire on time rather than up to one interval
    late.
    """
    lease = timedelta(seconds=settings.ESCALATION_ENQUEUE_LEASE_SECONDS)
    due = Q(state=Escalation.State.ACTIVE, next_action_at__lte=now + ahead) & (
        Q(enqueued_until__isnull=True) | Q(enqueued_until__lte=now)
    )
    with transaction.atomic():
        rows = list(
            Escalation.objects.select_for_update(skip_locked=True)
            .filter(due)
            .order_by("next_action_at")
            .values_list("pk", "next_action_at")[:limit]
        )
        if rows:
            ids = [pk for pk, _ in rows]
            claimed = Escalation.objects.filter(due, pk__in=ids)
            claimed.filter(next_action_at__lte=now).update(enqueued_until=now + lease)
            claimed.filter(next_action_at__gt=now).update(
                enqueued_until=F("next_action_at") + lease
            )
    return rows


def escalation_due_in(*, incident_id: int, now: datetime | None = None):
    """Seconds until the escalation's next step (None if it has none)."""
    now = now or timezone.now()
    due = (
        Escalation.objects.filter(pk=incident_id, state=Escalation.State.ACTIVE)
        .values_list("next_action_at", flat=True)
        .first()
    )
    return None if due is None else (due - now).total_seconds()


def escalation_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """The periodic task's body: enqueue what is due (steps, pages, bundles), and
    what falls due before the next sweep with an ETA of its due time."""
    from alerts.paging import pages_claim
    from alerts.storm import bundles_due
    from alerts.tasks import (
        bundle_send_task,
        escalation_advance_task,
        page_send_task,
    )

    now = now or timezone.now()
    ahead = timedelta(seconds=settings.ESCALATION_SWEEP_SECONDS)
    limit = settings.ESCALATION_SWEEP_BATCH
    counts = {"steps": 0, "pages": 0, "bundles": 0}
    for incident_id, due_at in escalations_claim(now=now, limit=limit, ahead=ahead):
        _publish(escalation_advance_task, incident_id, eta=due_at, now=now)
        counts["steps"] += 1
    for page_id, due_at in pages_claim(now=now, limit=limit, ahead=ahead):
        _publish(page_send_task, page_id, eta=due_at, now=now)
        counts["pages"] += 1
    for bundle_id in bundles_due(now=now, limit=limit):
        _publish(bundle_send_task, bundle_id)
        counts["bundles"] += 1
    return counts


def _publish(task, *args, eta: datetime | None = None, now=None) -> None:  # noqa: ANN001
    options = {}
    if eta is not None and now is not None and eta > now:
        # At most one sweep interval ahead: far below Redis' visibility timeout.
        options["countdown"] = min((eta - now).total_seconds(), 60)
    try:
        task.apply_async(args=args, **options)
    except Exception:  # broker down: the lease runs out, a later sweep retries
        logger.warning("could not enqueue %s%s", task.name, args)
