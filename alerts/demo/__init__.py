"""The demo organisation's alerting: an Alertmanager integration with routes, an
escalation policy, and the written records (a handoff note of the last shift
change, a postmortem draft of a past incident).  Called by ``manage.py
oncall_demo``; never modifies what exists.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from alerts.handoff.boundaries import boundaries_between
from alerts.handoff.draft import handoff_draft
from alerts.incidents.state import (
    IncidentSpec,
    incident_acknowledge,
    incident_open,
    incident_resolve,
)
from alerts.intake.integrations import (
    integration_create,
    integration_set_token,
    route_add,
    token_matches,
    webhook_url,
)
from alerts.models import EscalationPolicy, EscalationStep, Incident, Integration
from alerts.postmortems.draft import postmortem_for_incident
from scheduling.models import Team
from scheduling.selectors import oncall_at

DEMO_INTEGRATION = "alertmanager"


def demo_alerts_load(*, team: Team) -> tuple[list[str], list[str]]:
    """Create (or keep) the demo integration; returns (created, notes to print).

    Its token is ``$ONCALL_DEMO_TOKEN`` when set, else random; a random token can
    only be printed when it is made (only its hash is stored).
    """
    created: list[str] = []
    wanted = settings.ONCALL_DEMO_TOKEN
    integration = Integration.objects.filter(team=team, name=DEMO_INTEGRATION).first()
    token: str | None = None
    if integration is None:
        made = integration_create(
            team=team, name=DEMO_INTEGRATION, token=wanted or None
        )
        integration, token = made.integration, made.token
        # Made just now, so this sets up, it changes nothing of the operator's:
        # what no route pages for (warnings, info) must not wake anybody.
        integration.routes.filter(matchers__isnull=True).update(urgency="low")
        route_add(
            integration=integration,
            team=team,
            matchers=['severity=~"critical|page"'],
            name="page for critical",
            urgency="high",
        )
        # The routes made just now are the demo's own: they follow the demo
        # policy.  Routes that already existed are the operator's, left alone.
        policy, _ = demo_policy(team=team)
        integration.routes.update(escalation_policy=policy)
        created.append(f"integration {team.slug}/{DEMO_INTEGRATION}")
    elif wanted:
        if not token_matches(integration, wanted):
            integration_set_token(integration=integration, token=wanted)
        token = wanted

    if token:
        notes = [
            f"Alertmanager webhook: {webhook_url(token)}",
            f"  (or {webhook_url()} with 'Authorization: Bearer {token}')",
        ]
    else:
        notes = [
            f"Alertmanager integration {team.slug}/{DEMO_INTEGRATION} exists; its "
            "token was printed when it was made. Set ONCALL_DEMO_TOKEN to choose "
            "one, or rotate it in the admin."
        ]
    return created, notes


DEMO_POLICY = "primary, secondary, team"


DEMO_STEPS = [
    {"target": "primary", "channel": "sms_then_voice", "delay": timedelta(0)},
    {"target": "secondary", "channel": "sms_then_voice", "delay": timedelta(minutes=5)},
    {"target": "team", "channel": "sms", "delay": timedelta(minutes=10)},
]


def demo_policy(*, team: Team) -> tuple[EscalationPolicy, bool]:
    """The demo escalation policy, made with its steps if missing; (policy, made)."""
    policy, made = EscalationPolicy.objects.get_or_create(
        team=team,
        name=DEMO_POLICY,
        defaults={
            "team_default": not team.escalation_policies.filter(
                team_default=True
            ).exists(),
            "repeat": 1,
            "description": "Demo: SMS the primary (a call 2 minutes later if not "
            "acknowledged), then the secondary after 5 minutes, then the whole "
            "team after 10; once more if nobody acknowledges.",
        },
    )
    if made:
        for position, step in enumerate(DEMO_STEPS):
            EscalationStep.objects.create(policy=policy, position=position, **step)
    return policy, made


def demo_escalation_load(*, team: Team) -> list[str]:
    """Make the demo policy if it is missing.  Never gives it to existing routes:
    a route without a policy may be the operator's, and the demo loader creates
    what is missing, never modifies what exists."""
    policy, made = demo_policy(team=team)
    return [f"escalation policy {policy}"] if made else []


DEMO_INCIDENT_GROUP = '{}:{alertname="LedgerSyncStalled"}#demo'


def demo_records_load(*, team: Team, now: datetime | None = None) -> list[str]:
    """The demo's written records: the handoff notes of the rotation's last shift
    change, and a postmortem draft of a resolved demo incident from three days
    ago.  Creates what is missing, never changes what exists (the notes and the
    postmortem are one per boundary and per incident by construction)."""
    now = now or timezone.now()
    created: list[str] = []
    integration = Integration.objects.filter(team=team, name=DEMO_INTEGRATION).first()
    if integration is not None:
        incident = Incident.objects.filter(
            integration=integration, group_key=DEMO_INCIDENT_GROUP
        ).first()
        if incident is None:
            incident = _demo_incident(integration=integration, now=now)
            created.append(f"incident #{incident.pk} (resolved)")
        _, made = postmortem_for_incident(incident=incident)
        if made:
            created.append(f"postmortem draft of incident #{incident.pk}")

    found = boundaries_between(team=team, start=now - timedelta(days=8), end=now)
    if found:
        last = max(b.at for b in found)
        for boundary in (b for b in found if b.at == last):
            # History: nobody is texted about a note of days ago.
            note = handoff_draft(boundary=boundary, role=boundary.role, quiet=True)
            if note is not None:
                created.append(f"handoff note {note}")
    return created


def _demo_incident(*, integration: Integration, now: datetime) -> Incident:
    """A high-urgency incident that opened three days ago at 02:13 team time,
    acknowledged 4 minutes later by the primary of that moment, resolved 47
    minutes after it opened.  No page goes out: it is acknowledged before the
    transaction commits, which stops its escalation."""
    local = (now - timedelta(days=3)).astimezone(integration.team.tz)
    opened = local.replace(hour=2, minute=13, second=0, microsecond=0)
    labels = {
        "alertname": "LedgerSyncStalled",
        "service": "payments-api",
        "severity": "critical",
    }
    route = integration.routes.order_by("position", "pk").first()
    who = oncall_at(team=integration.team, at=opened).primary
    with transaction.atomic():
        incident = incident_open(
            integration=integration,
            spec=IncidentSpec(
                group_key=DEMO_INCIDENT_GROUP,
                title="LedgerSyncStalled: ledger sync stalled for 10 minutes",
                team_id=integration.team_id,
                route_id=route.pk if route else None,
                routing="demo",
                urgency="high",
                group_labels={"alertname": labels["alertname"]},
                common_labels=labels,
                common_annotations={"summary": "ledger sync stalled for 10 minutes"},
            ),
            at=opened,
        )
        incident_acknowledge(
            incident=incident, by=who, via="demo", at=opened + timedelta(minutes=4)
        )
        return incident_resolve(
            incident=incident,
            by=who,
            how="manual",
            text="resolved (demo): rolled back the deploy",
            at=opened + timedelta(minutes=47),
        )
