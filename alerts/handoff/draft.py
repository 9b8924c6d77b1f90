"""Drafting handoff notes at shift boundaries, pre-filled from what we know.

:func:`handoffs_draft_due` is what the periodic task calls: every boundary of every
team's rotations in the last ``HANDOFF_LOOKBACK_HOURS`` gets its note.  Idempotent
by construction: a note is one row under a unique constraint on (rotation, role,
boundary), so a second run, a late run or two workers racing insert nothing more.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import Counter
from collections.abc import Iterable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from alerts import queue
from alerts.handoff.boundaries import Boundary, boundaries_between
from alerts.handoff.silences import silences_expiring
from alerts.models import (
    HandoffNote,
    HandoffSettings,
    Incident,
    IncidentAlert,
    MaintenanceWindow,
    Page,
)
from scheduling.models import Member, Override, Team

# Pages between 22:00 and 08:00 in the paged member's time zone woke someone up.
SLEEP_START_HOUR = 22
SLEEP_END_HOUR = 8
NOISIEST = 3


def team_handoff_settings(team: Team) -> HandoffSettings:
    """The team's settings (unsaved defaults when it has none)."""
    found = HandoffSettings.objects.filter(team=team).first()
    return found or HandoffSettings(team=team)


def incidents_open_at(*, team: Team, at: dt.datetime) -> list[dict]:
    """The team's incidents open at ``at``, as they stood then (oldest first)."""
    rows = (
        Incident.objects.filter(team=team, opened_at__lte=at)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gt=at))
        .select_related("acknowledged_by__user")
        .order_by("opened_at", "id")
    )
    found = []
    for incident in rows:
        acked = incident.acknowledged_at is not None and incident.acknowledged_at <= at
        found.append(
            {
                "id": incident.pk,
                "title": incident.title,
                "urgency": incident.urgency,
                "status": "acknowledged" if acked else "triggered",
                "opened_at": incident.opened_at.isoformat(),
                "age_seconds": int((at - incident.opened_at).total_seconds()),
                "acknowledged_by": (
                    incident.acknowledged_by.username
                    if acked and incident.acknowledged_by
                    else None
                ),
            }
        )
    return found


def _sleep_hour(at: dt.datetime, tz: zoneinfo.ZoneInfo) -> bool:
    hour = at.astimezone(tz).hour
    return hour >= SLEEP_START_HOUR or hour < SLEEP_END_HOUR


NO_ALERTNAME = "(no alertname)"


def _alertnames(incidents: Iterable[Incident]) -> dict[int, list[str]]:
    """The ``alertname`` of each incident: its common label when all its alerts
    share one (Alertmanager's usual ``group_by``), else the distinct names of its
    alerts; a page of an incident grouping several counts once for each."""
    found: dict[int, set[str]] = {}
    mixed = []
    for incident in incidents:
        name = incident.common_labels.get("alertname")
        if isinstance(name, str) and name:
            found[incident.pk] = {name}
        else:
            mixed.append(incident.pk)
    rows = IncidentAlert.objects.filter(incident_id__in=mixed).values_list(
        "incident_id", "alert__labels__alertname"
    )
    for incident_id, name in rows:
        if isinstance(name, str) and name:
            found.setdefault(incident_id, set()).add(name)
    return {pk: sorted(names) for pk, names in found.items()}


def pages_in_shift(
    *, team: Team, member: Member, start: dt.datetime, end: dt.datetime
) -> dict:
    """What paged ``member`` for ``team``'s incidents in [start, end): how many
    pages, how many in sleep hours (22:00-08:00 in the member's zone), the noisiest
    alerts (pages counted by the ``alertname`` label of the incident's alerts, not
    by incident title: one flapping alert opens many incidents), and which
    paged incidents were still open at ``end``."""
    # By ``due_at`` (when the engine sent it out, on the engine's clock; ``sent_at``
    # is the provider round trip's wall clock); cancelled pages never reached a phone.
    pages = list(
        Page.objects.filter(
            member=member,
            incident__team=team,
            due_at__gte=start,
            due_at__lt=end,
        )
        .exclude(status=Page.Status.CANCELLED)
        .select_related("incident")
        .order_by("due_at", "id")
    )
    tz = zoneinfo.ZoneInfo(member.time_zone)
    names = _alertnames({p.incident_id: p.incident for p in pages}.values())
    noisy: Counter[str] = Counter()
    for p in pages:
        noisy.update(names.get(p.incident_id) or [NO_ALERTNAME])
    still_open = sorted(
        {
            p.incident_id
            for p in pages
            if p.incident.resolved_at is None or p.incident.resolved_at > end
        }
    )
    return {
        "count": len(pages),
        "sleep_hours": sum(1 for p in pages if _sleep_hour(p.due_at, tz)),
        "noisiest": [
            {"alertname": name, "pages": n}
            for name, n in sorted(noisy.items(), key=lambda kv: (-kv[1], kv[0]))[
                :NOISIEST
            ]
        ],
        "still_open": still_open,
    }


def maintenance_between(
    *, team: Team, start: dt.datetime, end: dt.datetime
) -> list[dict]:
    """Maintenance windows of the team (or its integrations) and overrides of its
    rotations that overlap [start, end), in order of start.  (Alertmanager's
    silences come from ``silences.py``.)"""
    items: list[dict] = []
    windows = MaintenanceWindow.objects.filter(
        Q(team=team) | Q(integration__team=team), starts_at__lt=end, ends_at__gt=start
    ).select_related("integration")
    for w in windows:
        scope = f" ({w.integration.name})" if w.integration else ""
        items.append(
            {
                "kind": "maintenance",
                "starts_at": w.starts_at.isoformat(),
                "ends_at": w.ends_at.isoformat(),
                "text": f"Maintenance window{scope}: {w.reason}",
            }
        )
    overrides = Override.objects.filter(
        rotation__team=team, starts_at__lt=end, ends_at__gt=start
    ).select_related("member__user", "rotation")
    for ov in overrides:
        reason = f": {ov.reason}" if ov.reason else ""
        items.append(
            {
                "kind": "override",
                "starts_at": ov.starts_at.isoformat(),
                "ends_at": ov.ends_at.isoformat(),
                "text": f"{ov.member.username} covers {ov.role} of "
                f"{ov.rotation.name}{reason}",
            }
        )
    items.sort(key=lambda item: (item["starts_at"], item["kind"]))
    return items


def carried_over(*, rotation_id: int, role: str, before: dt.datetime) -> list[dict]:
    """The ongoing issues marked *watch* in the previous note of the same rotation
    and role: they carry forward until someone removes them."""
    previous = (
        HandoffNote.objects.filter(
            rotation_id=rotation_id, role=role, boundary__lt=before
        )
        .order_by("-boundary")
        .first()
    )
    if previous is None:
        return []
    return [
        {"text": item["text"], "watch": True}
        for item in previous.ongoing
        if item.get("watch")
    ]


def _merge(boundaries: Iterable[Boundary]) -> list[tuple[str, Boundary]]:
    """One (role, boundary) per rotation and instant: the primary's change, or the
    secondary's where the primary stays."""
    by_key: dict[tuple[int, dt.datetime], Boundary] = {}
    for b in boundaries:
        key = (b.rotation.pk, b.at)
        if key not in by_key or b.role == "primary":
            by_key[key] = b
    return [(HandoffNote.Role.BOTH, b) for b in by_key.values()]


def handoff_draft(
    *, boundary: Boundary, role: str, quiet: bool = False
) -> HandoffNote | None:
    """The note for ``boundary`` (in ``role``), pre-filled; None if it exists
    already (the unique constraint said so).  The outgoing engineer is told on
    commit, unless ``quiet`` (a note drafted as history, like the demo's)."""
    team = boundary.rotation.team
    note = HandoffNote(
        team=team,
        rotation=boundary.rotation,
        role=role,
        boundary=boundary.at,
        outgoing=boundary.outgoing,
        incoming=boundary.incoming,
        shift_start=boundary.shift_start,
        next_shift_end=boundary.next_shift_end,
        open_incidents=incidents_open_at(team=team, at=boundary.at),
        pages=pages_in_shift(
            team=team,
            member=boundary.outgoing,
            start=boundary.shift_start,
            end=boundary.at,
        ),
        maintenance=maintenance_between(
            team=team, start=boundary.at, end=boundary.next_shift_end
        )
        + silences_expiring(start=boundary.at, end=boundary.next_shift_end, team=team),
        ongoing=carried_over(
            rotation_id=boundary.rotation.pk, role=role, before=boundary.at
        ),
    )
    if quiet:
        note.outgoing_notified_at = note.drafted_at
    try:
        with transaction.atomic():
            note.save()
    except IntegrityError:
        return None  # drafted already, by an earlier or a concurrent run
    if not quiet:
        queue.publish_on_commit(queue.HANDOFF_NOTIFY, note.pk)
    return note


def handoffs_draft_for(
    *, team: Team, start: dt.datetime, end: dt.datetime
) -> list[HandoffNote]:
    """Draft the notes of ``team``'s boundaries in (start, end]; the new ones."""
    found = boundaries_between(team=team, start=start, end=end)
    if team_handoff_settings(team).merge_roles:
        todo = _merge(found)
    else:
        todo = [(b.role, b) for b in found]
    created = []
    for role, boundary in todo:
        if HandoffNote.objects.filter(
            rotation=boundary.rotation, role=role, boundary=boundary.at
        ).exists():
            continue  # a cheap skip only: the constraint is what guarantees one
        note = handoff_draft(boundary=boundary, role=role)
        if note is not None:
            created.append(note)
    return created


def lookback_start(now: dt.datetime) -> dt.datetime:
    """The periodic work (drafting, auto-submitting, reminding, catching up on
    notifications) looks at boundaries after this; older notes are history."""
    return now - dt.timedelta(hours=settings.HANDOFF_LOOKBACK_HOURS)


def handoffs_draft_due(*, now: dt.datetime) -> list[HandoffNote]:
    """Every team's notes for boundaries in the last ``HANDOFF_LOOKBACK_HOURS``."""
    start = lookback_start(now)
    if start >= now:
        return []
    created: list[HandoffNote] = []
    for team in Team.objects.filter(rotations__isnull=False).distinct():
        created += handoffs_draft_for(team=team, start=start, end=now)
    return created
