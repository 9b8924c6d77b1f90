"""The deploy gate: may this service ship now?  And recording deploys.

The answer comes from the stored evaluations (no SLI query per call), the
service's open incidents and who is on call:

* the worst SLO's budget decides ``allow`` / ``limited`` / ``freeze``
  (``budget.Policy``);
* an open high-urgency incident of the service freezes, whatever the budget;
* ``limited`` allows ``limited_deploys_per_day`` deploys a day (the team's time
  zone); once they are used, ``deploy_allowed`` is false until the next day;
* an evaluation older than ``SLO_STALE_AFTER_SECONDS`` (or marked stale) is
  *stale*: the gate answers from it with a warning (fail-open, the default), or
  freezes when ``SLO_GATE_FAIL_CLOSED`` is set.  A service never evaluated is
  treated the same way.

Staff may record a deploy the gate refuses ("break glass") with a reason; it is
logged, and written on the timeline of the service's open incidents.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from alerts.models import Deploy, Service, SLOEvaluation, TimelineEntry
from alerts.slos.budget import ALLOW, FREEZE, LIMITED
from alerts.slos.evaluate import oncall_fields, service_open_incidents
from alerts.slos.gate_facts import EvaluationFacts, GateFacts, SLOFacts, gate_facts
from alerts.slos.oncall import OnCallFacts, oncall_facts
from scheduling.access import user_is_staff
from scheduling.models import Team

logger = logging.getLogger(__name__)


def stale_after() -> dt.timedelta:
    return dt.timedelta(seconds=getattr(settings, "SLO_STALE_AFTER_SECONDS", 300))


def fail_closed() -> bool:
    return bool(getattr(settings, "SLO_GATE_FAIL_CLOSED", False))


@dataclass(frozen=True)
class OnCall:
    primary: str | None
    in_sleep_hours: bool | None


@dataclass(frozen=True)
class Gate:
    service: Service
    decision: str
    deploy_allowed: bool
    budget_remaining: float | None
    burn_1h: float | None
    burn_6h: float | None
    open_incidents: int
    oncall: OnCall
    slo: str | None
    reason: str
    next_allowed_at: dt.datetime | None
    evaluated_at: dt.datetime | None
    stale: bool
    warning: str
    deploys_today: int


def _worst(facts: GateFacts) -> SLOFacts | None:
    """The SLO with the least budget left; an SLO never evaluated counts as the
    worst (nothing is known about it).  Ties: the oldest SLO."""
    if not facts.slos:
        return None
    never = [slo for slo in facts.slos if slo.latest is None]
    if never:
        return never[0]
    return min(facts.slos, key=lambda s: (s.latest.budget_remaining, s.pk))  # type: ignore[union-attr]


def _oncall(
    facts: GateFacts, latest: EvaluationFacts | None, now: dt.datetime
) -> OnCall:
    """Who would be paged, from the facts stored with the evaluation ``latest``
    while they hold (same schedule version, ``now`` before the next handoff or
    sleep edge); otherwise resolved once and stored again for the calls that
    follow."""
    stored = None
    if latest is not None and latest.oncall_since and latest.oncall_until:
        stored = OnCallFacts(
            primary=latest.oncall_primary,
            in_sleep_hours=latest.oncall_in_sleep_hours,
            since=latest.oncall_since,
            until=latest.oncall_until,
            version=latest.oncall_version or 0,
        )
    if stored is None or not stored.holds_at(now, facts.schedule_version):
        team = Team.objects.get(pk=facts.service.team_id)
        stored = oncall_facts(team=team, at=now)
        if latest is not None:
            SLOEvaluation.objects.filter(pk=latest.pk).update(**oncall_fields(stored))
    return OnCall(primary=stored.primary, in_sleep_hours=stored.in_sleep_hours)


def deploy_gate(*, service: Service, now: dt.datetime | None = None) -> Gate:
    """The gate's answer for ``service`` at ``now``."""
    now = now or timezone.now()
    facts = gate_facts(now=now, service_id=service.pk)
    if facts is None:
        raise Service.DoesNotExist(f"no service {service.pk}")
    return _decide(facts, now)


def deploy_gate_for(
    *, slug: str, user: AbstractBaseUser, now: dt.datetime | None = None
) -> Gate | None:
    """The gate's answer for the service ``slug`` if ``user`` may read it (the
    teams they belong to, all for staff), else ``None``: one statement in the
    usual case (``gate_facts``)."""
    now = now or timezone.now()
    facts = gate_facts(
        now=now,
        slug=slug,
        user_id=user.pk,
        staff=user_is_staff(user),
    )
    return None if facts is None else _decide(facts, now)


def _decide(facts: GateFacts, now: dt.datetime) -> Gate:
    slo = _worst(facts)
    evaluation = slo.latest if slo is not None else None
    today = facts.deploys_today

    warning = ""
    stale = False
    if slo is None:
        decision, reason = ALLOW, "the service has no SLO: nothing limits deploys"
    elif evaluation is None:
        stale = True
        decision, reason = _unknown(f"SLO {slo.name!r} has not been evaluated yet")
        warning = reason
    else:
        decision = evaluation.decision
        reason = (
            f"SLO {slo.name!r}: {evaluation.budget_remaining:.1%} of the error "
            f"budget left ({decision})"
        )
        if evaluation.stale or evaluation.evaluated_at < now - stale_after():
            stale = True
            warning = (
                f"the last evaluation of SLO {slo.name!r} is from "
                f"{evaluation.evaluated_at:%Y-%m-%d %H:%M:%S} UTC"
                + (f" ({evaluation.error})" if evaluation.error else "")
            )
            if fail_closed():
                decision, reason = FREEZE, f"stale evaluation, failing closed: {reason}"
    if facts.open_high:
        high = facts.open_high
        decision = FREEZE
        reason = (
            f"{len(high)} open high-urgency incident(s) of the service "
            f"(#{', #'.join(str(pk) for pk in high)}): freeze until resolved"
        )

    allowed = decision == ALLOW
    next_allowed_at = None
    if decision == LIMITED and slo is not None:
        per_day = slo.limited_deploys_per_day
        allowed = today < per_day
        if allowed:
            reason += f"; {per_day - today} of {per_day} deploy(s) left today"
        else:
            reason += f"; today's {per_day} deploy(s) used"
            next_allowed_at = facts.day_end
    return Gate(
        service=facts.service,
        decision=decision,
        deploy_allowed=allowed,
        budget_remaining=evaluation.budget_remaining if evaluation else None,
        burn_1h=evaluation.burn_1h if evaluation else None,
        burn_6h=evaluation.burn_6h if evaluation else None,
        open_incidents=facts.open_incidents,
        oncall=_oncall(facts, evaluation, now),
        slo=slo.name if slo else None,
        reason=reason,
        next_allowed_at=next_allowed_at,
        evaluated_at=evaluation.evaluated_at if evaluation else None,
        stale=stale,
        warning=warning,
        deploys_today=today,
    )


def _unknown(why: str) -> tuple[str, str]:
    if fail_closed():
        return FREEZE, f"{why}: failing closed (SLO_GATE_FAIL_CLOSED)"
    return ALLOW, f"{why}: failing open"


class DeployRefused(Exception):
    def __init__(self, gate: Gate) -> None:
        super().__init__(gate.reason)
        self.gate = gate


@transaction.atomic
def deploy_record(
    *,
    service: Service,
    by: AbstractBaseUser | None,
    ref: str = "",
    break_glass: bool = False,
    reason: str = "",
    now: dt.datetime | None = None,
) -> Deploy:
    """Record a deploy of ``service`` if the gate allows it now; else raise
    :class:`DeployRefused`.  ``break_glass`` (the caller checked it is staff's)
    records it anyway, with ``reason``, logged and on the open incidents'
    timelines."""
    now = now or timezone.now()
    if break_glass and not reason.strip():
        raise ValidationError({"reason": ["breaking glass needs a reason"]})
    # Serialises deploys of one service: two racing CI jobs cannot both take the
    # last deploy of a limited day.
    Service.objects.select_for_update().filter(pk=service.pk).first()
    gate = deploy_gate(service=service, now=now)
    if not gate.deploy_allowed and not break_glass:
        raise DeployRefused(gate)
    deploy = Deploy.objects.create(
        service=service,
        at=now,
        ref=ref,
        by=by,  # type: ignore[misc]  # the custom-user-agnostic base class
        decision=gate.decision,
        break_glass=break_glass and not gate.deploy_allowed,
        reason=reason.strip(),
    )
    if deploy.break_glass:
        who = getattr(by, "username", "?")
        text = (
            f"break glass: {who} deployed {service.slug}"
            + (f" {ref}" if ref else "")
            + f" against the gate ({gate.decision}: {gate.reason}); reason: "
            + deploy.reason
        )
        logger.warning("%s", text)
        note = TimelineEntry.Kind.NOTE
        open_ids = service_open_incidents(service=service).values_list("pk", flat=True)
        TimelineEntry.objects.bulk_create(
            TimelineEntry(incident_id=pk, at=now, kind=note, text=text)
            for pk in open_ids
        )
    return deploy
