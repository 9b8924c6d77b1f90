"""A plausible month of demo incidents and pages, so the insights page has
something to show after ``make run``.  Demo data, and marked as such: the incidents
belong to an integration named ``demo history (generated)``, their titles start
with ``[demo]`` and their labels carry ``demo="generated"``.

Rows are written directly, not through the escalation engine: a generated past
must never send an SMS (a developer's ``TWILIO_*`` may be set), and the storm
limit would bundle a month of history sent in one second.  The shape follows
what the engine records: the on-call primary (from the effective schedule) gets
an SMS at once and a call 2 minutes later if nobody acknowledged; the secondary
after 5 minutes; acknowledgements and resolutions with their times; and a
timeline.  Idempotent: nothing is generated when the integration exists.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from alerts.demo import demo_policy
from alerts.intake.integrations import integration_create
from alerts.models import (
    Incident,
    Integration,
    Page,
    TimelineEntry,
    hash_group_key,
)
from scheduling.models import Team
from scheduling.selectors import team_schedule

DEMO_HISTORY_INTEGRATION = "demo history (generated)"
DAYS = 28
SEED = 20260105


@dataclass(frozen=True)
class Kind:
    alertname: str
    service: str
    severity: str
    per_day: float
    night: float  # share of its incidents between 22:00 and 08:00 (team zone)
    auto_resolve: float  # resolves by itself before anyone acknowledges
    flap: float  # fires again minutes after resolving
    minutes: tuple[int, int]  # how long it lasts


# Alert names of their own: the end-to-end tests find their incidents by names of
# the recorded payloads (HighErrorRate, ...), which the history must not share.
KINDS = [
    Kind("PaymentsApi5xx", "payments-api", "critical", 0.5, 0.3, 0.1, 0.0, (15, 90)),
    Kind("CheckoutP99Slow", "checkout", "critical", 0.35, 0.25, 0.2, 0.0, (10, 60)),
    Kind("OrdersQueueStuck", "orders", "critical", 0.45, 0.5, 0.7, 0.6, (2, 6)),
    Kind("LedgerDiskAlmostFull", "ledger-db", "warning", 0.2, 0.1, 0.1, 0.0, (60, 240)),
]


class _Schedule:
    """Who was primary and secondary at an instant: the one resolver, read once."""

    def __init__(self, team: Team, start: dt.datetime, end: dt.datetime) -> None:
        schedule = team_schedule(team=team, start=start, end=end)
        self.segments = schedule.effective
        self.starts = [s.starts_at for s in self.segments]

    def at(self, when: dt.datetime) -> tuple[int | None, int | None]:
        i = bisect.bisect_right(self.starts, when) - 1
        if i < 0 or self.segments[i].ends_at <= when:
            return None, None
        primary, secondary = self.segments[i].resolution.roles()
        return (
            primary.member_id if primary else None,
            secondary.member_id if secondary else None,
        )


def _instant(
    rng: random.Random, day: dt.date, tz: dt.tzinfo, night: bool
) -> dt.datetime:
    hour = rng.choice([22, 23, 0, 1, 2, 3, 4, 5, 6, 7]) if night else rng.randint(8, 21)
    local = dt.datetime.combine(day, dt.time(hour, rng.randint(0, 59)), tzinfo=tz)
    return local.astimezone(dt.UTC)


@transaction.atomic
def demo_history_load(*, team: Team, now: dt.datetime | None = None) -> list[str]:
    """Generate the last :data:`DAYS` days of demo incidents and pages for
    ``team``, once; returns what was created."""
    if Integration.objects.filter(team=team, name=DEMO_HISTORY_INTEGRATION).exists():
        return []
    now = now or timezone.now()
    integration = integration_create(
        team=team, name=DEMO_HISTORY_INTEGRATION
    ).integration
    integration.enabled = False  # it takes no webhooks: it only holds the history
    integration.save(update_fields=["enabled"])
    # Its route follows the demo policy, as the demo's own routes do.
    policy, _ = demo_policy(team=team)
    integration.routes.update(escalation_policy=policy)
    route = integration.routes.first()
    route_id = route.pk if route is not None else None
    start = now - dt.timedelta(days=DAYS)
    schedule = _Schedule(team, start, now)
    rng = random.Random(SEED)  # noqa: S311 - plausible, repeatable, not secret
    tz = team.tz
    plans: list[tuple[dt.datetime, Kind, int]] = []
    for n in range(DAYS):
        day = (start + dt.timedelta(days=n)).astimezone(tz).date()
        for kind in KINDS:
            count = int(kind.per_day) + (rng.random() < kind.per_day % 1)
            for _ in range(count):
                plans.append(
                    (_instant(rng, day, tz, rng.random() < kind.night), kind, 0)
                )
    # A rough week: a storm one night ten days ago (a week the page flags).
    storm = (now - dt.timedelta(days=10)).astimezone(tz).date()
    for minute in range(0, 9 * 25, 25):
        at = dt.datetime.combine(storm, dt.time(1, 0), tzinfo=tz) + dt.timedelta(
            minutes=minute
        )
        plans.append((at.astimezone(dt.UTC), KINDS[0], 0))
    plans = sorted(p for p in plans if p[0] < now - dt.timedelta(hours=2))

    made = 0
    group = 0
    for opened_at, kind, _ in plans:
        group += 1
        repeats = 2 if rng.random() < kind.flap else 1
        at = opened_at
        for _ in range(repeats):
            last = _incident(
                rng, integration, route_id, team, schedule, kind, at, group
            )
            made += 1
            at = last + dt.timedelta(minutes=rng.randint(2, 8))  # fires again soon
    return [f"demo history: {made} generated incidents of the last {DAYS} days"]


def _incident(
    rng: random.Random,
    integration: Integration,
    route_id: int | None,
    team: Team,
    schedule: _Schedule,
    kind: Kind,
    at: dt.datetime,
    group: int,
) -> dt.datetime:
    """One generated incident with its pages and timeline; returns its resolution."""
    labels = {
        "alertname": kind.alertname,
        "service": kind.service,
        "severity": kind.severity,
        "demo": "generated",
    }
    group_key = f'{{}}:{{alertname="{kind.alertname}", demo="{group}"}}'
    primary, secondary = schedule.at(at)
    urgency = "high" if kind.severity == "critical" else "low"
    lasts = dt.timedelta(minutes=rng.randint(*kind.minutes))
    auto = rng.random() < kind.auto_resolve
    escalated = not auto and rng.random() < 0.15
    ack_by = secondary if escalated else primary
    ack_at = None
    if not auto and ack_by is not None:
        ack_at = at + (
            dt.timedelta(minutes=5, seconds=rng.randint(30, 300))
            if escalated
            else dt.timedelta(seconds=rng.randint(40, 420))
        )
        lasts = max(lasts, ack_at - at + dt.timedelta(minutes=5))
    resolved_at = at + lasts
    incident = Incident.objects.create(
        integration=integration,
        group_key=group_key,
        group_key_hash=hash_group_key(group_key),
        title=f"[demo] {kind.alertname}: {kind.service}",
        team=team,
        route_id=route_id,
        routing="demo history (generated)",
        urgency=urgency,
        status=Incident.Status.RESOLVED,
        group_labels={"alertname": kind.alertname},
        common_labels=labels,
        opened_at=at,
        acknowledged_at=ack_at,
        acknowledged_by_id=ack_by if ack_at else None,
        resolved_at=resolved_at,
        resolved_by_id=None if auto else ack_by,
        resolved_how="alerts" if auto else "manual",
    )
    pages: list[Page] = []
    answered_by = ack_at or resolved_at

    def page(step: int, member: int | None, channel: str, due: dt.datetime) -> None:
        if member is None or due >= answered_by:
            return
        pages.append(
            Page(
                incident=incident,
                step=step,
                member_id=member,
                channel=channel,
                status=Page.Status.DELIVERED,
                created_at=due,
                step_due_at=due,
                due_at=due,
                sent_at=due + dt.timedelta(seconds=2),
                delivered_at=due + dt.timedelta(seconds=5),
                finished_at=due + dt.timedelta(seconds=5),
            )
        )

    page(0, primary, "sms", at)
    if urgency == "high":
        page(0, primary, "voice", at + dt.timedelta(minutes=2))
    page(1, secondary, "sms", at + dt.timedelta(minutes=5))
    if urgency == "high":
        page(1, secondary, "voice", at + dt.timedelta(minutes=7))
    Page.objects.bulk_create(pages)
    entries = [
        TimelineEntry(
            incident=incident,
            at=at,
            kind=TimelineEntry.Kind.OPENED,
            text="opened (demo history, generated)",
        )
    ]
    if ack_at:
        entries.append(
            TimelineEntry(
                incident=incident,
                at=ack_at,
                kind=TimelineEntry.Kind.ACKNOWLEDGED,
                text="acknowledged (demo history)",
                actor_id=ack_by,
            )
        )
    entries.append(
        TimelineEntry(
            incident=incident,
            at=resolved_at,
            kind=TimelineEntry.Kind.RESOLVED,
            text="resolved: all alerts resolved (demo history)"
            if auto
            else "resolved (demo history)",
        )
    )
    TimelineEntry.objects.bulk_create(entries)
    return resolved_at
