"""Burn-rate alerts that Sloth and Pyrra generate, arriving through Alertmanager:
page tier → high urgency, ticket tier → low, and a slower tier of an SLO is
recorded but not escalated while a faster tier of the same SLO is open
(alerts/routing.py ``burn_tier``, alerts/incidents/tiers.py).

Payloads are the recorded ones (a single firing alert, a single resolved one)
with their labels changed, and what Alertmanager derives from labels (group key,
fingerprint) changed to match: nothing else is written by hand."""

from __future__ import annotations

import hashlib
import json

import pytest

from alerts.models import Incident, TimelineEntry
from alerts.routing import burn_tier
from tests.alerts.conftest import Webhook, drive, later, pages, recorded_json, sent

pytestmark = pytest.mark.django_db

# Labels as Sloth's generated rules set them (its example spec: the page alert
# carries severity "pageteam", the ticket alert severity "slack").
SLOTH_PAGE = {
    "alertname": "PaymentsAvailabilityBurn",
    "sloth_id": "payments-api-requests-availability",
    "sloth_service": "payments-api",
    "sloth_slo": "requests-availability",
    "sloth_severity": "page",
    "severity": "pageteam",
}
SLOTH_TICKET = {**SLOTH_PAGE, "sloth_severity": "ticket", "severity": "slack"}
# Labels as Pyrra's generated ErrorBudgetBurn rules set them (default severities:
# critical for the 1h/5m and 6h/30m windows, warning for 1d/2h and 4d/6h).
PYRRA_FAST = {
    "alertname": "ErrorBudgetBurn",
    "slo": "payments-api-errors",
    "long": "1h",
    "short": "5m",
    "severity": "critical",
}
PYRRA_MEDIUM = {**PYRRA_FAST, "long": "6h", "short": "30m"}
PYRRA_SLOW = {**PYRRA_FAST, "long": "1d", "short": "2h", "severity": "warning"}


def _relabelled(name: str, labels: dict[str, str], group_by: tuple[str, ...]) -> bytes:
    payload = recorded_json(name)
    [alert] = payload["alerts"]
    alert["labels"] = labels
    alert["fingerprint"] = hashlib.sha256(
        json.dumps(labels, sort_keys=True).encode()
    ).hexdigest()[:16]
    group = {k: labels[k] for k in group_by}
    payload["groupLabels"] = group
    payload["commonLabels"] = labels
    inside = ", ".join(f'{k}="{v}"' for k, v in sorted(group.items()))
    payload["groupKey"] = "{}:{" + inside + "}"
    return json.dumps(payload).encode()


def fire(client, labels, group_by=("alertname", "sloth_severity")) -> Incident:
    Webhook(client).send_body(_relabelled("a_single_firing", labels, group_by))
    return Incident.objects.order_by("-pk").first()


def resolve(client, labels, group_by=("alertname", "sloth_severity")) -> None:
    body = _relabelled("k_resolved_without_annotations", labels, group_by)
    Webhook(client).send_body(body)


def paged_for() -> set[int]:
    """The incidents whose SMS went out so far (taken from the phones harness)."""
    return {int(m.body.split("#", 1)[1].split()[0]) for m in sent()}


def _notes(incident: Incident) -> list[str]:
    return list(
        incident.timeline.filter(kind=TimelineEntry.Kind.NOTE).values_list(
            "text", flat=True
        )
    )


@pytest.mark.parametrize(
    ("labels", "tier", "urgency"),
    [
        (SLOTH_PAGE, "page", "high"),
        (SLOTH_TICKET, "ticket", "low"),
        (PYRRA_FAST, "page", "high"),
        (PYRRA_MEDIUM, "page", "high"),
        (PYRRA_SLOW, "ticket", "low"),
        ({**PYRRA_SLOW, "severity": "ticket"}, "ticket", "low"),
    ],
)
def test_sloth_and_pyrra_tiers_are_recognised(labels, tier, urgency):
    found = burn_tier(labels)
    assert found is not None
    assert (found.tier, found.urgency) == (tier, urgency)


@pytest.mark.parametrize(
    "labels",
    [
        {"alertname": "HighErrorRate", "severity": "critical"},
        {**SLOTH_PAGE, "sloth_severity": "urgent"},  # not a Sloth tier
        {**PYRRA_FAST, "long": "soon"},  # not a duration
        {k: v for k, v in PYRRA_FAST.items() if k != "short"},
        {**PYRRA_FAST, "severity": "info"},  # a severity Pyrra's tiers do not use
    ],
)
def test_other_alerts_are_not_burn_tiers(labels):
    assert burn_tier(labels) is None


def test_pyrra_tiers_order_by_their_long_window():
    fast, medium, slow = (burn_tier(x) for x in (PYRRA_FAST, PYRRA_MEDIUM, PYRRA_SLOW))
    assert fast.speed < medium.speed < slow.speed
    assert fast.slo == medium.slo == slow.slo


def test_a_sloth_ticket_is_low_urgency_though_its_severity_says_otherwise(
    client, integration, policy
):
    ticket = fire(client, SLOTH_TICKET)
    assert ticket.urgency == "low"
    assert "from the Sloth ticket tier" in ticket.routing
    page = fire(client, {**SLOTH_PAGE, "sloth_slo": "latency"})
    assert page.urgency == "high"


def test_a_ticket_opened_while_the_page_is_open_is_recorded_not_paged(
    client, integration, policy
):
    page = fire(client, SLOTH_PAGE)
    drive()
    assert paged_for() == {page.pk}

    ticket = fire(client, SLOTH_TICKET)
    assert ticket.pk != page.pk
    assert ticket.suppressed_by_id == page.pk
    assert ticket.alerts.count() == 1  # the alert is attached and kept
    drive(later(30))
    assert {p.incident_id for p in pages()} == {page.pk}
    assert paged_for() == {page.pk}
    assert any(f"faster tier, incident #{page.pk}" in n for n in _notes(ticket))


def test_when_the_faster_tier_resolves_the_slower_escalates_on_its_own(
    client, integration, policy
):
    page = fire(client, SLOTH_PAGE)
    ticket = fire(client, SLOTH_TICKET)
    drive()
    assert not pages(incident=ticket)
    assert paged_for() == {page.pk}

    resolve(client, SLOTH_PAGE)
    page.refresh_from_db()
    ticket.refresh_from_db()
    assert (page.status, ticket.suppressed_by_id) == ("resolved", None)
    drive()
    # Alone, it escalates: low urgency, so its SMS waits for business hours.
    assert ticket.escalation.state == "active"
    assert [p.status for p in pages(incident=ticket)] == ["queued"]
    assert any("escalates on its own" in n for n in _notes(ticket))


def test_a_faster_tier_opening_suppresses_the_slower_one_already_paging(
    client, integration, policy
):
    slow = fire(client, PYRRA_SLOW, group_by=("alertname", "long"))
    assert slow.urgency == "low"
    drive()
    assert [p.status for p in pages(incident=slow)] == ["queued"]  # business hours
    fast = fire(client, PYRRA_FAST, group_by=("alertname", "long"))
    slow.refresh_from_db()
    assert slow.suppressed_by_id == fast.pk
    assert slow.escalation.state == "stopped"
    assert [p.status for p in pages(incident=slow)] == ["cancelled"]
    drive(later(60))
    assert [p.status for p in pages(incident=slow)] == ["cancelled"]
    assert paged_for() == {fast.pk}


def test_tiers_of_another_slo_are_left_alone(client, integration, policy):
    page = fire(client, SLOTH_PAGE)
    other = fire(client, {**SLOTH_TICKET, "sloth_slo": "requests-latency"})
    assert other.suppressed_by_id is None
    drive()
    assert paged_for() == {page.pk}  # the other SLO's ticket waits for business hours
    assert other.escalation.state == "active"
    assert [p.status for p in pages(incident=other)] == ["queued"]  # low urgency
