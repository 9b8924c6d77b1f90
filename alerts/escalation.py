"""The escalation engine: start, advance, stop, escalate now, and the sweep.

The database is the timer.  Each open incident's :class:`~alerts.models.Escalation`
row says which step is next and when (``next_action_at``).  Nothing waits in the
broker: the beat runs :func:`escalation_sweep` every few seconds, which enqueues
short tasks for the due rows; the first step is enqueued the moment the incident
commits.  Work goes in batches: a task carries up to ``ESCALATION_TASK_BATCH``
incident ids and :func:`escalations_advance` fires all their due steps in one
transaction with a fixed handful of queries (a burst of a thousand new incidents
is ten tasks, not a thousand); one incident is the one-element case.

Exactly once, whatever the broker does:

* :func:`escalations_advance` begins by locking the due rows
  (``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL: a row another transaction
  holds is left to it; SQLite's transactions here are IMMEDIATE and hold the
  database's write lock), so a second task for the same row finds it held or no
  longer due and does nothing.
* The step's pages are written in the same transaction that moves the position,
  with a unique key (incident, cycle, step, repeat, member, channel): a fired step
  always has its pages, and no page can exist twice.
* Sending is :mod:`alerts.paging`'s job, with its own claim on each page.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from alerts.bulk import update_grouped
from alerts.incidents import IncidentStateError, timeline_add
from alerts.models import (
    ContactRule,
    Escalation,
    Incident,
    MaintenanceWindow,
    Page,
    TimelineEntry,
)
from alerts.policies import (
    BUILTIN_POLICY,
    StepTargets,
    channels_for,
    policy_for_incident,
    policy_snapshot,
    step_describe,
    step_targets,
)
from alerts.selectors import maintenance_active_for
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


def id_chunks(ids: Iterable[int]) -> list[list[int]]:
    """``ids`` in lists of at most ``ESCALATION_TASK_BATCH``: what one task gets."""
    ids = list(ids)
    size = max(settings.ESCALATION_TASK_BATCH, 1)
    return [ids[n : n + size] for n in range(0, len(ids), size)]


def _enqueue_advance(incident_ids: int | Iterable[int]) -> None:
    from alerts.tasks import escalation_advance_task
    from oncall.celery import enqueue_on_commit

    if isinstance(incident_ids, int):
        incident_ids = [incident_ids]
    for chunk in id_chunks(incident_ids):
        enqueue_on_commit(escalation_advance_task, chunk)


def _enqueue_pages(page_ids: Iterable[int]) -> None:
    from alerts.tasks import page_send_task
    from oncall.celery import enqueue_on_commit

    for chunk in id_chunks(page_ids):
        enqueue_on_commit(page_send_task, chunk)


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
    due_now: list[int] = []
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
            due_now.append(incident.pk)
    Escalation.objects.bulk_create(escalations)
    TimelineEntry.objects.bulk_create(entries)
    # A few tasks of many incidents each, not one per incident.
    _enqueue_advance(due_now)
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
    """Fire the due step of one incident, if it is still due; say what happened.

    The one-element case of :func:`escalations_advance`."""
    return escalations_advance(incident_ids=[incident_id], now=now)[incident_id]


@dataclass
class _Fired:
    """One step fired for one incident in a batch, before its pages are written."""

    incident: Incident
    escalation: Escalation
    step: int
    round_: int
    step_due_at: datetime
    targets: StepTargets
    pages: list[Page] = field(default_factory=list)


def escalations_advance(
    *, incident_ids: Iterable[int], now: datetime | None = None
) -> dict[int, str]:
    """Fire the due step of each of many incidents, in one transaction and a fixed
    handful of queries for the whole batch; returns what happened to each.

    A burst of new incidents is a thousand first steps due at once: claimed
    together, the incidents and maintenance windows read together, who is on call
    asked once per team, the pages and timeline entries inserted together.  The
    rules are those of one incident (this *is* the one-incident path too):

    * the claim locks the due rows; on PostgreSQL ``SKIP LOCKED`` leaves a row some
      other transaction holds (a concurrent batch firing it, an acknowledgement
      stopping it, the sweep leasing it, each of which publishes or ends it) to
      that transaction, so concurrent workers fire disjoint sets; on SQLite the
      transaction holds the database's write lock from its start;
    * a row not due (any more) is "not due", and nothing is written for it.

    The pages due at once are published for a paging task when the transaction
    commits (see :func:`escalations_advance_and_send` for the worker's way).
    """
    results, to_send = _advance(incident_ids, now)
    _enqueue_pages(to_send)
    return results


def escalations_advance_and_send(
    *, incident_ids: Iterable[int], now: datetime | None = None
) -> tuple[dict[int, str], dict[int, str]]:
    """What the escalation task runs: :func:`escalations_advance`, then, once that
    committed, the pages due at once are sent by this same task
    (:func:`alerts.paging.pages_send`) rather than by another one published for
    them: no broker round trip and no second task between a step firing and its
    SMS.  A worker lost in between leaves them ``queued`` and due: the sweep sends
    them within one interval, as when a published task is lost.

    Returns what happened to each incident, and to each page sent.
    """
    from alerts.paging import pages_send

    if transaction.get_connection().in_atomic_block:
        # Inside someone's transaction nothing is committed yet: publish instead.
        return escalations_advance(incident_ids=incident_ids, now=now), {}
    results, to_send = _advance(incident_ids, now)
    return results, pages_send(page_ids=to_send)


def _advance(
    incident_ids: Iterable[int], now: datetime | None
) -> tuple[dict[int, str], list[int]]:
    """The body of :func:`escalations_advance`: (what happened to each incident,
    ids of the pages due at once)."""
    now = now or timezone.now()
    ids = sorted(set(incident_ids))
    results = dict.fromkeys(ids, "not due")
    to_send: list[int] = []
    if not ids:
        return results, to_send
    with transaction.atomic():
        escalations = list(
            Escalation.objects.select_for_update(skip_locked=True)
            .filter(pk__in=ids, state=Escalation.State.ACTIVE, next_action_at__lte=now)
            .order_by("pk")
        )
        if not escalations:
            return results, to_send
        incidents = Incident.objects.select_related("team").in_bulk(
            [e.pk for e in escalations]
        )
        firing: list[Escalation] = []
        for escalation in escalations:
            incident = incidents[escalation.pk]
            escalation.incident = incident
            if incident.status != Incident.Status.TRIGGERED or incident.in_maintenance:
                escalation_stop(incident=incident, reason=f"incident {incident.status}")
                results[incident.pk] = "stopped"
            else:
                firing.append(escalation)
        windows = maintenance_active_for(incidents=[e.incident for e in firing], at=now)
        for escalation in firing:
            window = windows.get(escalation.pk)
            if window is not None:
                escalation_pause_for_maintenance(
                    incident=escalation.incident, window=window, now=now
                )
                results[escalation.pk] = "paused: maintenance window"
        firing = [e for e in firing if e.pk not in windows]
        plan = _plan_steps(firing, now)
        entries = _write_pages(plan, now)
        counts: dict[int, list[int]] = {e.pk: [0, 0] for e in firing}
        for fired in plan:
            due_now = [p.pk for p in fired.pages if p.due_at <= now]
            to_send += due_now
            counts[fired.incident.pk][0] += 1
            counts[fired.incident.pk][1] += len(due_now)
        for escalation in firing:
            if escalation.state == Escalation.State.EXHAUSTED:
                entries.append(
                    TimelineEntry(
                        incident=escalation.incident,
                        kind=TimelineEntry.Kind.ESCALATION,
                        text="escalation policy exhausted: every step and repeat "
                        "ran without an acknowledgement",
                        at=now,
                    )
                )
            steps, paged = counts[escalation.pk]
            results[escalation.pk] = (
                f"fired {steps} step(s), {paged} page(s) to send now"
            )
        entries.sort(key=lambda e: e.incident.pk)  # stable: each one's own order
        TimelineEntry.objects.bulk_create(entries)
        if firing:
            update_grouped(
                Escalation.objects,
                firing,
                [
                    "state",
                    "next_step",
                    "next_round",
                    "next_action_at",
                    "last_step",
                    "last_round",
                    "enqueued_until",
                    "stopped_at",
                    "stopped_reason",
                ],
            )
    return results, to_send


def _plan_steps(firing: list[Escalation], now: datetime) -> list[_Fired]:
    """Decide which steps fire for each escalation (moving its position in
    memory); who each step pages is asked once per (team, target)."""
    cache: dict = {}
    plan: list[_Fired] = []
    for escalation in firing:
        incident = escalation.incident
        snapshot = escalation.snapshot
        step, round_ = escalation.next_step, escalation.next_round
        step_due_at = escalation.next_action_at
        fired = 0
        escalation.enqueued_until = None
        while True:
            targets = step_targets(
                incident=incident,
                step=snapshot["steps"][step],
                at=now,
                cache=cache,
            )
            plan.append(
                _Fired(incident, escalation, step, round_, step_due_at, targets)
            )
            skipped = not targets.members
            fired += 1
            fired_step, fired_round = step, round_
            following = _position_after(snapshot, step, round_)
            if following is None:
                escalation.state = Escalation.State.EXHAUSTED
                escalation.next_action_at = None
                escalation.last_step, escalation.last_round = step, round_
                escalation.stopped_at = now
                escalation.stopped_reason = "every step ran"
                break
            step, round_ = following
            if skipped and round_ == fired_round and fired < MAX_EMPTY_STEPS:
                # Nobody to page at this step: the next one fires at once rather
                # than after a wait that would page no one.  (A new round still
                # waits its repeat delay: it would page the same people again.)
                step_due_at = now
                continue
            escalation.next_step, escalation.next_round = step, round_
            escalation.next_action_at = now + _delay_before(snapshot, step, round_)
            escalation.last_step, escalation.last_round = fired_step, fired_round
            break
    return plan


def _write_pages(plan: list[_Fired], now: datetime) -> list[TimelineEntry]:
    """Insert the pages of every fired step (one INSERT, one SELECT back for their
    ids) and return the steps' timeline entries, in firing order."""
    members = {m.pk for fired in plan for m in fired.targets.members}
    rules: dict[int, list] = {}
    if members:
        for rule in ContactRule.objects.filter(member_id__in=members):
            rules.setdefault(rule.member_id, []).append(rule)
    new: list[Page] = []
    for fired in plan:
        spec = fired.escalation.snapshot["steps"][fired.step]
        new += [
            Page(
                incident=fired.incident,
                cycle=fired.escalation.cycle,
                step=fired.step,
                repeat=fired.round_,
                member=member,
                channel=channel,
                step_due_at=fired.step_due_at,
                due_at=now + delay,
                created_at=now,
            )
            for member in fired.targets.members
            for channel, delay in channels_for(member=member, step=spec, rules=rules)
        ]
    written: dict[tuple[int, int, int, int], list[Page]] = {}
    if new:
        # The unique key makes a second insert of the same page a no-op; the claim
        # in escalations_advance already prevents it, this is the belt to those
        # braces.
        Page.objects.bulk_create(new, ignore_conflicts=True)
        keys = {(p.incident_id, p.cycle, p.step, p.repeat) for p in new}
        for page in (
            Page.objects.filter(
                incident_id__in={k[0] for k in keys},
                step__in={k[2] for k in keys},
                repeat__in={k[3] for k in keys},
            )
            .select_related("member__user")
            .order_by("pk")
        ):
            key = (page.incident_id, page.cycle, page.step, page.repeat)
            if key in keys:
                written.setdefault(key, []).append(page)
    entries: list[TimelineEntry] = []
    for fired in plan:
        spec = fired.escalation.snapshot["steps"][fired.step]
        label = f"step {fired.step + 1}" + (
            f" (repeat {fired.round_})" if fired.round_ else ""
        )
        if not fired.targets.members:
            text = f"{label} skipped: {fired.targets.why_empty}"
        else:
            key = (
                fired.incident.pk,
                fired.escalation.cycle,
                fired.step,
                fired.round_,
            )
            fired.pages = written.get(key, [])
            for page in fired.pages:
                page.incident = fired.incident
            names = ", ".join(sorted({p.member.display_name for p in fired.pages}))
            text = f"{label}: paging {names} ({step_describe(spec)})"
        entries.append(
            TimelineEntry(
                incident=fired.incident,
                kind=TimelineEntry.Kind.ESCALATION,
                text=text,
                at=now,
            )
        )
    return entries


def escalation_pause_for_maintenance(
    *, incident: Incident, window: MaintenanceWindow, now: datetime
) -> None:
    """A maintenance window that began after the incident opened stops its chain
    too; the maintenance sweep starts it again when the window ends (as for an
    incident opened during the window)."""
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


def escalations_due_in(
    *, incident_ids: Iterable[int], now: datetime | None = None
) -> dict[int, float]:
    """Seconds until each active escalation's next step (absent: none)."""
    now = now or timezone.now()
    return {
        pk: (due - now).total_seconds()
        for pk, due in Escalation.objects.filter(
            pk__in=list(incident_ids),
            state=Escalation.State.ACTIVE,
            next_action_at__isnull=False,
        ).values_list("pk", "next_action_at")
    }


# Rows falling due within this much of each other share a task, published with
# an ETA of the last one's due time: a burst's thousand steps (or pages) due in
# the same second become a few tasks, at the price of a row firing at most this
# much after its due time.
ETA_SPREAD = timedelta(milliseconds=100)


def escalation_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """The periodic task's body: enqueue what is due (steps, pages, bundles), and
    what falls due before the next sweep with an ETA of its due time.  Rows due
    together go out together, in tasks of up to ``ESCALATION_TASK_BATCH`` ids."""
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
    counts = {"steps": 0, "pages": 0, "bundles": 0, "tasks": 0}
    steps = escalations_claim(now=now, limit=limit, ahead=ahead)
    for ids, eta in due_chunks(steps, now=now):
        _publish(escalation_advance_task, ids, eta=eta, now=now)
        counts["tasks"] += 1
    counts["steps"] = len(steps)
    pages = pages_claim(now=now, limit=limit, ahead=ahead)
    for ids, eta in due_chunks(pages, now=now):
        _publish(page_send_task, ids, eta=eta, now=now)
        counts["tasks"] += 1
    counts["pages"] = len(pages)
    for bundle_id in bundles_due(now=now, limit=limit):
        _publish(bundle_send_task, bundle_id)
        counts["bundles"] += 1
        counts["tasks"] += 1
    return counts


def due_chunks(
    rows: list[tuple[int, datetime]], *, now: datetime
) -> list[tuple[list[int], datetime]]:
    """(ids, ETA) for claimed (id, due at) rows: what is due already in chunks of
    ``ESCALATION_TASK_BATCH``; what falls due later grouped with whatever falls due
    within :data:`ETA_SPREAD` of it, the ETA being the last due time in the group
    (so no row runs before it is due)."""
    size = max(settings.ESCALATION_TASK_BATCH, 1)
    chunks: list[tuple[list[int], datetime]] = []
    ids: list[int] = []
    anchor = last = now
    for pk, due in sorted(rows, key=lambda row: (row[1], row[0])):
        due = max(due, now)
        if ids and (len(ids) >= size or due - anchor > ETA_SPREAD):
            chunks.append((ids, last))
            ids = []
        if not ids:
            anchor = due
        ids.append(pk)
        last = due
    if ids:
        chunks.append((ids, last))
    return chunks


def _publish(task, *args, eta: datetime | None = None, now=None) -> None:  # noqa: ANN001
    options = {}
    if eta is not None and now is not None and eta > now:
        # At most one sweep interval ahead: far below Redis' visibility timeout.
        options["countdown"] = min((eta - now).total_seconds(), 60)
    try:
        task.apply_async(args=args, **options)
    except Exception:  # broker down: the lease runs out, a later sweep retries
        logger.warning("could not enqueue %s%s", task.name, args)
