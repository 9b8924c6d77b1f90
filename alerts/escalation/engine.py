"""The escalation engine: start, advance and stop an incident's chain of steps.

The database is the timer.  Each open incident's :class:`~alerts.models.Escalation`
row says which step is next and when (``next_action_at``).  Nothing waits in the
broker: the sweep (``alerts.tasks.escalation_sweep``) claims due rows
(``escalation/claims.py``) and publishes short tasks for them; the first step is
published the moment the incident commits.  Work goes in batches: a task carries up
to ``ESCALATION_TASK_BATCH`` incident ids and :func:`escalations_advance` fires all
their due steps in one transaction with a fixed handful of queries (a burst of a
thousand new incidents is ten tasks, not a thousand); one incident is the
one-element case.

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
from typing import cast

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from alerts import queue
from alerts.bulk_update import update_grouped
from alerts.escalation.policies import (
    BUILTIN_POLICY,
    BusinessHours,
    StepTargets,
    pages_for,
    policies_for_incidents,
    policy_for_incident,
    policy_snapshot,
    step_describe,
    step_targets,
)
from alerts.models import (
    ContactRule,
    Escalation,
    Incident,
    MaintenanceWindow,
    Page,
    TimelineEntry,
)
from alerts.selectors import maintenance_active_for
from alerts.timeline import timeline_add

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
        queue.publish_ids_on_commit(queue.ESCALATION_ADVANCE, [incident.pk])
    return escalation


def escalations_start_new(*, incidents: list[Incident]) -> list[Escalation]:
    """:func:`escalation_start` for a burst of brand-new incidents, in a fixed
    handful of queries whatever their number (the bulk intake path)."""
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
    queue.publish_ids_on_commit(queue.ESCALATION_ADVANCE, due_now)
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
    # Low urgency: member name -> when their SMS goes out, when it waits for their
    # business hours.
    held: dict[str, datetime] = field(default_factory=dict)


def _hold_chain(fired: _Fired, now: datetime) -> None:
    """A step whose low-urgency SMS wait for business hours holds the chain: the
    next step is due its delay after the last of them goes out, not in the night
    (which would only queue more SMS for the morning, to more people)."""
    escalation = fired.escalation
    # An active escalation has its next step's time (_plan_steps just set it).
    due = escalation.next_action_at
    if (
        not fired.held
        or escalation.state != Escalation.State.ACTIVE
        or due is None
        or (escalation.last_step, escalation.last_round) != (fired.step, fired.round_)
    ):
        return
    wait = max(fired.held.values()) - now
    escalation.next_action_at = due + wait


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
    commits (the escalation task sends them itself instead: see
    :func:`escalations_fire` and ``alerts.tasks``).
    """
    results, to_send = escalations_fire(incident_ids=incident_ids, now=now)
    queue.publish_ids_on_commit(queue.PAGE_SEND, [page.pk for page in to_send])
    return results


def escalations_fire(
    *, incident_ids: Iterable[int], now: datetime | None = None
) -> tuple[dict[int, str], list[Page]]:
    """:func:`escalations_advance` without publishing: (what happened to each
    incident, the pages due at once, their incidents attached), for a caller
    that sends those pages itself once this has committed."""
    now = now or timezone.now()
    ids = sorted(set(incident_ids))
    results = dict.fromkeys(ids, "not due")
    to_send: list[Page] = []
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
        firing = _still_firing(escalations, now, results)
        plan = _plan_steps(firing, now)
        entries = _write_pages(plan, now)
        counts: dict[int, list[int]] = {e.pk: [0, 0] for e in firing}
        for fired in plan:
            due_now = [p for p in fired.pages if p.due_at <= now]
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


def _still_firing(
    escalations: list[Escalation], now: datetime, results: dict[int, str]
) -> list[Escalation]:
    """The claimed escalations whose step fires now, their incidents attached.

    The others are stopped (the incident is no longer triggered, or was opened in
    maintenance) or paused (a maintenance window covers it now), with the outcome
    in ``results``.
    """
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
    return [e for e in firing if e.pk not in windows]


def _plan_steps(firing: list[Escalation], now: datetime) -> list[_Fired]:
    """Decide which steps fire for each escalation (moving its position in
    memory); who each step pages is asked once per (team, target)."""
    cache: dict = {}
    plan: list[_Fired] = []
    for escalation in firing:
        incident = escalation.incident
        snapshot = escalation.snapshot
        step, round_ = escalation.next_step, escalation.next_round
        # Claimed with next_action_at <= now, so never None here.
        step_due_at = cast(datetime, escalation.next_action_at)
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
    written = _insert_pages(_new_pages(plan, now))
    return [_step_entry(fired, written, now) for fired in plan]


# A step's pages: (incident id, cycle, step, repeat).
_StepKey = tuple[int, int, int, int]


def _new_pages(plan: list[_Fired], now: datetime) -> list[Page]:
    """The (unsaved) pages of every fired step, each member's contact rules asked
    once; a step whose low-urgency SMS wait for business hours holds its chain."""
    members = {m.pk for fired in plan for m in fired.targets.members}
    rules: dict[int, list] = {}
    if members:
        for rule in ContactRule.objects.filter(member_id__in=members):
            rules.setdefault(rule.member_id, []).append(rule)
    new: list[Page] = []
    for fired in plan:
        snapshot = fired.escalation.snapshot
        spec = snapshot["steps"][fired.step]
        hours = BusinessHours.of(snapshot)
        for member in fired.targets.members:
            for planned in pages_for(
                member=member,
                step=spec,
                urgency=fired.incident.urgency,
                hours=hours,
                now=now,
                rules=rules,
            ):
                new.append(
                    Page(
                        incident=fired.incident,
                        cycle=fired.escalation.cycle,
                        step=fired.step,
                        repeat=fired.round_,
                        member=member,
                        channel=planned.channel,
                        step_due_at=fired.step_due_at,
                        due_at=planned.due_at,
                        created_at=now,
                    )
                )
                if planned.held:
                    fired.held[member.display_name] = planned.due_at
        _hold_chain(fired, now)
    return new


def _insert_pages(new: list[Page]) -> dict[_StepKey, list[Page]]:
    """Insert ``new`` and read the pages back with their ids, by step."""
    written: dict[_StepKey, list[Page]] = {}
    if not new:
        return written
    if connection.features.can_return_rows_from_bulk_insert:
        # The common case: no page of these steps exists (the claim in
        # escalations_fire holds their escalations), so a plain insert returns
        # the ids and nothing is read back: the read-back built a page, member
        # and user object for each page again, a fifth of a burst's first step.
        try:
            with transaction.atomic():  # a savepoint: a conflict undoes only this
                Page.objects.bulk_create(new)
        except IntegrityError:
            pass  # some page exists already: the general path below
        else:
            for page in new:
                key = (page.incident_id, page.cycle, page.step, page.repeat)
                written.setdefault(key, []).append(page)
            return written
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
    return written


def _step_entry(
    fired: _Fired, written: dict[_StepKey, list[Page]], now: datetime
) -> TimelineEntry:
    """The timeline entry of a fired step: skipped and why, or whom it pages (its
    pages are attached to ``fired``)."""
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
        if fired.incident.urgency == "low":
            text += "; low urgency: SMS only, in business hours" + "".join(
                f"; {name}'s held until {due:%Y-%m-%d %H:%M} UTC"
                for name, due in sorted(fired.held.items())
            )
    return TimelineEntry(
        incident=fired.incident,
        kind=TimelineEntry.Kind.ESCALATION,
        text=text,
        at=now,
    )


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
        queue.publish_ids_on_commit(queue.PAGE_SEND, pulled)
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
        queue.publish_ids_on_commit(queue.ESCALATION_ADVANCE, [page.incident_id])
        return "next step now"
    return "nothing to move"


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
