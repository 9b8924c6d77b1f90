"""Short-notice changes: who must be told by SMS that their on-call time moved.

Calendar apps refresh a subscription every few hours (Google up to a day), so a
change to a shift starting within :data:`NOTICE_WINDOW` is also told directly.
Every change to the schedule runs inside :func:`shift_changes_noticed` --
overrides, swaps, roster and definition changes (layer, active flag), a team's
time zone, from services, the API or the admin alike: it reads each member's
effective on-call time in the next 24 hours before and after the change -- from
:func:`scheduling.selectors.team_schedule`, the one resolver -- and records a
:class:`ShiftChangeNotice` for every member whose time differs, in the same
transaction as the change.

The seam with ``alerts`` (which ``scheduling`` never imports): the notices are
rows; once the change commits, the work is published by task name
(:data:`SEND_TASK`, implemented in ``alerts/tasks.py``), and the paging side
claims and sends them through its transports.  A periodic run of the same task
sends whatever a lost publish left behind.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

from celery import current_app
from django.db import transaction
from django.utils import timezone

from scheduling.models import Member, ShiftChangeNotice, Team
from scheduling.plan import PRIMARY, SECONDARY
from scheduling.selectors import team_schedule

logger = logging.getLogger(__name__)

NOTICE_WINDOW = dt.timedelta(hours=24)
# Implemented by alerts (alerts/tasks.py); a contract like every task name.
SEND_TASK = "alerts.tasks.send_shift_notices"

Span = tuple[dt.datetime, dt.datetime]
Holdings = dict[int, dict[str, list[Span]]]  # member id -> role -> spans


def holdings(*, team: Team, start: dt.datetime, end: dt.datetime) -> Holdings:
    """Each member's effective on-call spans per role in [start, end)."""
    held: Holdings = defaultdict(lambda: defaultdict(list))
    for seg in team_schedule(team=team, start=start, end=end).effective:
        for role in (PRIMARY, SECONDARY):
            holder = getattr(seg.resolution, role)
            if holder is None:
                continue
            spans = held[holder.member_id][role]
            if spans and spans[-1][1] == seg.starts_at:
                spans[-1] = (spans[-1][0], seg.ends_at)
            else:
                spans.append((seg.starts_at, seg.ends_at))
    return {m: dict(roles) for m, roles in held.items()}


def _minus(spans: list[Span], others: list[Span]) -> list[Span]:
    """The parts of ``spans`` outside ``others`` (both sorted, disjoint)."""
    out: list[Span] = []
    for a, b in spans:
        pieces = [(a, b)]
        for c, d in others:
            pieces = [
                part
                for x, y in pieces
                for part in ((x, min(y, c)), (max(x, d), y))
                if part[0] < part[1]
            ]
        out += pieces
    return out


def _when(span: Span, tz: dt.tzinfo) -> str:
    a, b = (t.astimezone(tz) for t in span)
    end = f"{b:%H:%M}" if a.date() == b.date() else f"{b:%a %d %b %H:%M}"
    return f"{a:%a %d %b %H:%M}-{end} {b.tzname()}"


def notice_text(
    *, team: Team, member: Member, before: dict[str, list[Span]], after: dict
) -> str:
    """What changed for ``member``: the time they now cover and the time they
    no longer cover, per role, in their own time zone."""
    tz = member.tz
    parts: list[str] = []
    for role in (PRIMARY, SECONDARY):
        old, new = before.get(role, []), after.get(role, [])
        gained = [_when(s, tz) for s in _minus(new, old)]
        lost = [_when(s, tz) for s in _minus(old, new)]
        if gained:
            parts.append(f"you are now {role} {', '.join(gained)}")
        if lost:
            parts.append(f"you are no longer {role} {', '.join(lost)}")
    return f"{team.name} on-call change: " + "; ".join(parts) + "."


def _publish() -> None:
    try:
        current_app.send_task(SEND_TASK)
    except Exception:  # broker down: the periodic run sends them
        logger.warning("could not publish %s; the periodic run will", SEND_TASK)


# The teams whose change is being noticed in this thread, by an outer
# :func:`shift_changes_noticed`: an inner one (a service called by another
# service, or by the admin's whole save) adds nothing.
_noticing = threading.local()


@contextmanager
def shift_changes_noticed(
    *, team: Team, now: dt.datetime | None = None
) -> Iterator[None]:
    """Run a schedule change of ``team`` inside this (and inside a transaction):
    every member whose effective on-call time in the next 24 hours it moves gets
    a :class:`ShiftChangeNotice`, sent once the transaction commits.

    The one place the "before" is read: enter it before the first write of the
    change -- a rotation's layer or active flag and a team's time zone are read
    live by the resolver, so a "before" read after saving them would already be
    the "after".  Services enter it (overrides, rotations, teams), and so does
    the admin's save of a rotation, around the form's own writes.  Nested uses
    for the same team (a service calling another) are one change: the outermost
    reads before and after, the inner ones do nothing."""
    active: set[int] = getattr(_noticing, "teams", None) or set()
    if team.pk in active:
        yield
        return
    now = now or timezone.now()
    end = now + NOTICE_WINDOW
    before = holdings(team=team, start=now, end=end)
    _noticing.teams = active | {team.pk}
    try:
        yield
    finally:
        _noticing.teams = active
    after = holdings(team=team, start=now, end=end)
    changed = sorted(
        m for m in before.keys() | after.keys() if before.get(m) != after.get(m)
    )
    if not changed:
        return
    members = Member.objects.select_related("user").in_bulk(changed)
    ShiftChangeNotice.objects.bulk_create(
        ShiftChangeNotice(
            member=members[m],
            team=team,
            text=notice_text(
                team=team,
                member=members[m],
                before=before.get(m, {}),
                after=after.get(m, {}),
            )[:600],
            created_at=now,
        )
        for m in changed
        if m in members
    )
    transaction.on_commit(_publish)
