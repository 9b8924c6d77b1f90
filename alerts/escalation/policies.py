"""Escalation policies: which policy an incident follows, whom each step pages, and
by which channels at which time given the incident's urgency.

Urgency is decided here, where the pages are planned, so that nothing downstream
can wake anybody for a low-urgency incident:

* **high**: the step's channels (or the member's own contact rules) as written;
* **low**: one SMS per member and never a call.  It is due at once inside the
  member's business hours (the policy's ``business_*`` fields, 09:00-18:00
  Monday to Friday by default, read in the *member's* time zone), else at their
  next business-hours start: a page row whose ``due_at`` is then (the database is
  the timer; no long countdown anywhere).  The engine holds the rest of the
  chain with it (``engine.py``).
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction

from alerts.models import EscalationPolicy, EscalationStep, Incident
from scheduling.models import Member, Team
from scheduling.selectors import oncall_at

# Low urgency pages inside these unless the policy says otherwise.
DEFAULT_BUSINESS_HOURS = {"start": "09:00:00", "end": "18:00:00", "weekdays": "12345"}


# Used when neither the route nor the team names a policy: paging nobody is the one
# outcome an on-call tool must never produce silently.
BUILTIN_POLICY: dict[str, Any] = {
    "policy": None,
    "name": "built-in default (on-call primary, then secondary)",
    "rounds": 3,
    "repeat_after": 300,
    "business_hours": DEFAULT_BUSINESS_HOURS,
    "steps": [
        {
            "delay": 0,
            "target": "primary",
            "member": None,
            "channel": "sms_then_voice",
            "voice_after": 120,
        },
        {
            "delay": 300,
            "target": "secondary",
            "member": None,
            "channel": "sms_then_voice",
            "voice_after": 120,
        },
    ],
}


def policy_snapshot(
    policy: EscalationPolicy, steps: list[EscalationStep] | None = None
) -> dict:
    """The policy as plain data, frozen onto an incident when it opens."""
    if steps is None:
        steps = list(policy.steps.order_by("position", "id"))
    rounds = (
        settings.ESCALATION_MAX_ROUNDS
        if policy.repeat_until_acknowledged
        else min(policy.repeat + 1, settings.ESCALATION_MAX_ROUNDS)
    )
    return {
        "policy": policy.pk,
        "name": policy.name,
        "rounds": max(rounds, 1),
        "repeat_after": policy.repeat_after.total_seconds(),
        "business_hours": {
            "start": policy.business_start.isoformat(),
            "end": policy.business_end.isoformat(),
            "weekdays": policy.business_weekdays,
        },
        "steps": [_step_snapshot(step) for step in steps],
    }


def _step_snapshot(step: EscalationStep) -> dict:
    return {
        "delay": step.delay.total_seconds(),
        "target": step.target,
        "member": step.member_id,
        "channel": step.channel,
        "voice_after": step.voice_after.total_seconds(),
    }


def policy_for_incident(incident: Incident) -> EscalationPolicy | None:
    """The route's policy, else the team's default; None means the built-in one."""
    if incident.route_id is not None:
        route_policy = EscalationPolicy.objects.filter(
            routes__pk=incident.route_id
        ).first()
        if route_policy is not None:
            return route_policy
    return EscalationPolicy.objects.filter(
        team_id=incident.team_id, team_default=True
    ).first()


def policies_for_incidents(incidents: list[Incident]) -> dict[int, tuple]:
    """incident id → (policy id or None, snapshot), in three queries for any
    number of incidents: route policies, team defaults, their steps."""
    route_ids = {i.route_id for i in incidents if i.route_id is not None}
    # Keyed by route id; an incident without a route (None) finds nothing here.
    by_route: dict[int | None, EscalationPolicy] = {}
    if route_ids:
        for route_policy in EscalationPolicy.objects.filter(
            routes__pk__in=route_ids
        ).annotate(route_pk=models.F("routes__pk")):
            by_route[route_policy.route_pk] = route_policy
    team_ids = {i.team_id for i in incidents if by_route.get(i.route_id) is None}
    by_team = {
        p.team_id: p
        for p in EscalationPolicy.objects.filter(
            team_id__in=team_ids, team_default=True
        )
    }
    chosen = {p.pk: p for p in [*by_route.values(), *by_team.values()]}
    steps: dict[int, list[EscalationStep]] = {}
    for step in EscalationStep.objects.filter(policy_id__in=chosen).order_by(
        "position", "id"
    ):
        steps.setdefault(step.policy_id, []).append(step)
    result: dict[int, tuple] = {}
    for incident in incidents:
        policy = by_route.get(incident.route_id) or by_team.get(incident.team_id)
        if policy is None:
            result[incident.pk] = (None, BUILTIN_POLICY)
        else:
            result[incident.pk] = (
                policy.pk,
                policy_snapshot(policy, steps=steps.get(policy.pk, [])),
            )
    return result


@dataclass(frozen=True)
class StepTargets:
    members: list[Member]
    why_empty: str  # set when members is empty: recorded in the timeline


def step_describe(step: dict) -> str:
    target = {
        "primary": "the on-call primary",
        "secondary": "the on-call secondary",
        "member": "a named member",
        "team": "the whole team",
    }.get(step["target"], step["target"])
    channel = {
        "sms": "SMS",
        "voice": "a call",
        "sms_then_voice": (
            f"SMS, then a call after {_human(step.get('voice_after', 0))}"
        ),
    }.get(step["channel"], step["channel"])
    return f"{target} by {channel}"


def _human(seconds: float) -> str:
    seconds = int(seconds)
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def step_targets(
    *, incident: Incident, step: dict, at: datetime, cache: dict | None = None
) -> StepTargets:
    """Who the step pages at ``at``.

    ``cache`` (a dict the caller keeps for one ``at``) lets a batch of incidents
    ask who is on call once per team rather than once per incident: in a burst of
    a thousand incidents of one team the answer is the same a thousand times.
    """
    if cache is None:
        return _step_targets(incident=incident, step=step, at=at, oncall={})
    key = (incident.team_id, step["target"], step.get("member"))
    if key not in cache:
        oncall = cache.setdefault("oncall", {})
        cache[key] = _step_targets(incident=incident, step=step, at=at, oncall=oncall)
    return cache[key]


def _step_targets(
    *, incident: Incident, step: dict, at: datetime, oncall: dict
) -> StepTargets:
    target = step["target"]
    if target in ("primary", "secondary"):
        if incident.team_id not in oncall:
            oncall[incident.team_id] = oncall_at(team=incident.team, at=at)
        now_on_call = oncall[incident.team_id]
        member = getattr(now_on_call, target)
        if member is None:
            return StepTargets([], f"nobody is on call as {target}")
        if not member.active:
            return StepTargets([], f"the on-call {target} ({member}) is inactive")
        return StepTargets([member], "")
    if target == "member":
        member = Member.objects.select_related("user").filter(pk=step["member"]).first()
        if member is None:
            return StepTargets([], "the named member no longer exists")
        if not member.active:
            return StepTargets([], f"{member} is inactive")
        return StepTargets([member], "")
    if target == "team":
        members = list(
            Member.objects.select_related("user")
            .filter(teams=incident.team, active=True)
            .order_by("user__username")
        )
        if not members:
            return StepTargets([], "the team has no active members")
        return StepTargets(members, "")
    return StepTargets([], f"unknown target {target!r}")


def channels_for(
    *, member: Member, step: dict, rules: dict[int, list] | None = None
) -> list[tuple[str, timedelta]]:
    """(channel, delay after the step fires) for one member.

    The member's own contact rules, when they have any, replace the step's channel
    (someone who sleeps through SMS asks to be called at once).
    """
    own = (
        rules.get(member.pk, [])
        if rules is not None
        else list(member.contact_rules.all())
    )
    if own:
        return [(rule.channel, rule.delay) for rule in own]
    channel = step["channel"]
    if channel == "sms_then_voice":
        return [
            ("sms", timedelta(0)),
            ("voice", timedelta(seconds=step.get("voice_after", 120))),
        ]
    return [(channel, timedelta(0))]


WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class BusinessHours:
    """When a low-urgency page may reach a member, in the member's own time zone."""

    start: time
    end: time
    weekdays: frozenset[int]  # ISO: 1 = Monday

    @classmethod
    def of(cls, snapshot: dict) -> BusinessHours:
        """From a policy snapshot (one taken before business hours existed gets
        the defaults)."""
        hours = snapshot.get("business_hours") or DEFAULT_BUSINESS_HOURS
        return cls(
            start=time.fromisoformat(hours["start"]),
            end=time.fromisoformat(hours["end"]),
            weekdays=frozenset(int(d) for d in hours["weekdays"]) or frozenset({1}),
        )

    def __str__(self) -> str:
        days = ",".join(WEEKDAY_NAMES[d - 1] for d in sorted(self.weekdays))
        return f"{self.start:%H:%M}-{self.end:%H:%M} {days}"

    def contains(self, *, at: datetime, zone: zoneinfo.ZoneInfo) -> bool:
        local = at.astimezone(zone)
        return (
            local.isoweekday() in self.weekdays
            and self.start <= local.time() < self.end
        )

    def next_open(self, *, at: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
        """``at`` if inside business hours, else the next business-hours start (UTC).

        A start the clocks skip that night (spring forward) is read as the
        instant the gap ends, as ``zoneinfo`` does."""
        if self.contains(at=at, zone=zone):
            return at
        day: date = at.astimezone(zone).date()
        for _ in range(8):
            if day.isoweekday() in self.weekdays:
                start = datetime.combine(day, self.start, tzinfo=zone).astimezone(UTC)
                if start > at:
                    return start
            day += timedelta(days=1)
        raise AssertionError("a week always has a business day")  # weekdays non-empty


def member_zone(member: Member) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(member.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")  # validated on save; never page nobody


@dataclass(frozen=True)
class PlannedPage:
    """One page a step will write for one member."""

    channel: str
    due_at: datetime
    held: bool  # a low-urgency SMS waiting for the member's business hours

    def due_text(self, *, member: Member, now: datetime) -> str:
        if not self.held:
            if self.due_at <= now:
                return "at once"
            return f"after {_human((self.due_at - now).total_seconds())}"
        local = self.due_at.astimezone(member_zone(member))
        return f"held until {local:%a %Y-%m-%d %H:%M} ({member_zone(member).key})"


def pages_for(
    *,
    member: Member,
    step: dict,
    urgency: str,
    hours: BusinessHours,
    now: datetime,
    rules: dict[int, list] | None = None,
) -> list[PlannedPage]:
    """The pages one step writes for one member: channels and when each is due."""
    channels = channels_for(member=member, step=step, rules=rules)
    if urgency != "low":
        return [PlannedPage(channel, now + delay, False) for channel, delay in channels]
    # Low urgency: one SMS (at the delay of the step's SMS, else of its call),
    # inside the member's business hours.
    sms = [delay for channel, delay in channels if channel == "sms"]
    wanted = now + min(sms or [delay for _, delay in channels])
    due = hours.next_open(at=wanted, zone=member_zone(member))
    return [PlannedPage("sms", due, due > wanted)]


@dataclass(frozen=True)
class StepPreview:
    """What one step of a policy would do, for the admin's "test labels" tool."""

    number: int
    after: timedelta  # after the incident opens, if nobody acknowledges
    text: str
    pages: list[tuple[Member, PlannedPage, str]]
    why_empty: str


def escalation_preview(
    *, incident: Incident, at: datetime
) -> tuple[str, BusinessHours, list[StepPreview]]:
    """(policy name, its business hours, its steps) for an incident opening at
    ``at`` (an unsaved one will do: team, route and urgency are what count),
    paging whoever is on call at ``at``."""
    policy = policy_for_incident(incident)
    snapshot = policy_snapshot(policy) if policy is not None else BUILTIN_POLICY
    hours = BusinessHours.of(snapshot)
    previews: list[StepPreview] = []
    after = timedelta(0)
    for number, step in enumerate(snapshot["steps"], start=1):
        after += timedelta(seconds=step["delay"])
        targets = step_targets(incident=incident, step=step, at=at)
        fires_at = at + after
        pages = [
            (member, page, page.due_text(member=member, now=fires_at))
            for member in targets.members
            for page in pages_for(
                member=member,
                step=step,
                urgency=incident.urgency,
                hours=hours,
                now=fires_at,
            )
        ]
        previews.append(
            StepPreview(number, after, step_describe(step), pages, targets.why_empty)
        )
    return snapshot["name"], hours, previews


# --- writing policies: the admin, the API and configuration files -------------

# What a caller may set on a policy besides its steps.
POLICY_FIELDS = (
    "slug",
    "name",
    "description",
    "team_default",
    "repeat",
    "repeat_until_acknowledged",
    "repeat_after",
    "business_start",
    "business_end",
    "business_weekdays",
)


@dataclass(frozen=True)
class StepSpec:
    """One step as a caller describes it (order is the list's)."""

    target: str = EscalationStep.Target.PRIMARY
    channel: str = EscalationStep.Channel.SMS_THEN_VOICE
    delay: timedelta = timedelta(0)
    member: Member | None = None
    voice_after: timedelta = timedelta(minutes=2)

    def key(self) -> tuple:
        member_id = self.member.pk if self.member is not None else None
        return (self.target, self.channel, self.delay, member_id, self.voice_after)


def _step_key(step: EscalationStep) -> tuple:
    return (step.target, step.channel, step.delay, step.member_id, step.voice_after)


def _check_policy(policy: EscalationPolicy, steps: list[StepSpec]) -> None:
    """The model's rules (one default per team, business hours in order, ISO
    weekdays), a free name and slug, and steps that make sense: a named member
    for a member step, one of the policy's team."""
    errors: dict[str, list[str]] = {}
    try:
        policy.full_clean(exclude=["team"], validate_unique=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    others = EscalationPolicy.objects.exclude(pk=policy.pk)
    if others.filter(team_id=policy.team_id, name=policy.name).exists():
        errors.setdefault("name", []).append(
            f"{policy.team.slug} already has a policy named {policy.name!r}"
        )
    if policy.slug and others.filter(slug=policy.slug).exists():
        errors["slug"] = [f"the slug {policy.slug!r} is taken"]
    if policy.team_default:
        if others.filter(team_id=policy.team_id, team_default=True).exists():
            errors.setdefault("team_default", []).append(
                f"{policy.team.slug} already has a default policy"
            )
    errors_steps = policy_steps_problems(policy, steps)
    if errors_steps:
        errors["steps"] = errors_steps
    if errors:
        raise ValidationError(errors)


def policy_steps_problems(policy: EscalationPolicy, steps: list[StepSpec]) -> list[str]:
    """What is wrong with ``steps`` as the steps of ``policy`` (the admin's inline
    asks before saving)."""
    problems = []
    for number, step in enumerate(steps, start=1):
        problem = _step_problem(policy, step)
        if problem:
            problems.append(f"step {number}: {problem}")
    return problems


def _step_problem(policy: EscalationPolicy, step: StepSpec) -> str | None:
    if step.target not in EscalationStep.Target.values:
        return f"{step.target!r} is not a target"
    if step.channel not in EscalationStep.Channel.values:
        return f"{step.channel!r} is not a channel"
    if step.delay < timedelta(0) or step.voice_after < timedelta(0):
        return "delays cannot be negative"
    if step.target == EscalationStep.Target.MEMBER:
        if step.member is None:
            return "name the member this step pages"
        if not step.member.teams.filter(pk=policy.team_id).exists():
            return f"{step.member.username} is not a member of {policy.team.slug}"
    elif step.member is not None:
        return "only a step whose target is 'member' names a member"
    return None


def _set_steps(policy: EscalationPolicy, steps: list[StepSpec]) -> None:
    EscalationStep.objects.filter(policy=policy).delete()
    EscalationStep.objects.bulk_create(
        [
            EscalationStep(
                policy=policy,
                position=position,
                target=step.target,
                channel=step.channel,
                delay=step.delay,
                member=step.member,
                voice_after=step.voice_after,
            )
            for position, step in enumerate(steps)
        ]
    )


def policy_steps(policy: EscalationPolicy) -> list[EscalationStep]:
    return list(policy.steps.select_related("member__user").order_by("position", "id"))


@transaction.atomic
def policy_create(
    *, team: Team, name: str, steps: list[StepSpec], **fields: Any
) -> EscalationPolicy:
    """A new policy of ``team`` with ``steps`` in order.  ``ValidationError``
    keyed by field."""
    _only_policy(fields)
    policy = EscalationPolicy(team=team, name=name, **fields)
    _check_policy(policy, steps)
    policy.save()
    _set_steps(policy, steps)
    return policy


@transaction.atomic
def policy_update(
    *, policy: EscalationPolicy, steps: list[StepSpec] | None = None, **fields: Any
) -> bool:
    """Change the given fields (and, with ``steps``, make them exactly the
    policy's steps).  Saves nothing when nothing differs; True if anything
    changed.  Incidents already escalating keep their copy of the policy."""
    _only_policy(fields)
    dirty = [f for f, v in fields.items() if getattr(policy, f) != v]
    current = policy_steps(policy)
    same_steps = steps is None or [_step_key(s) for s in current] == [
        s.key() for s in steps
    ]
    if not dirty and same_steps:
        return False
    for field in dirty:
        setattr(policy, field, fields[field])
    wanted = steps if steps is not None else [_spec(s) for s in current]
    _check_policy(policy, wanted)
    if dirty:
        policy.save(update_fields=dirty)
    if not same_steps:
        _set_steps(policy, wanted)
    return True


@transaction.atomic
def policy_save(*, policy: EscalationPolicy, steps: list[StepSpec]) -> None:
    """Check and save ``policy`` as its fields stand, with exactly ``steps`` (the
    admin's form and inline set them)."""
    _check_policy(policy, steps)
    policy.save()
    if [_step_key(s) for s in policy_steps(policy)] != [s.key() for s in steps]:
        _set_steps(policy, steps)


def policy_delete(*, policy: EscalationPolicy) -> None:
    """Delete a policy.  Routes naming it fall back to the team's default (or the
    built-in policy); incidents escalating keep their copy."""
    policy.delete()


def _spec(step: EscalationStep) -> StepSpec:
    return StepSpec(
        target=step.target,
        channel=step.channel,
        delay=step.delay,
        member=step.member,
        voice_after=step.voice_after,
    )


def _only_policy(fields: dict[str, Any]) -> None:
    unknown = set(fields) - set(POLICY_FIELDS)
    if unknown:
        raise TypeError(f"not fields of a policy: {sorted(unknown)}")
