"""Sloth and Pyrra burn-rate tiers of one SLO arriving in the SAME Alertmanager
group (alerts/routing.py ``group_burn_tier``, alerts/incidents/tiers.py).

Sloth gives an SLO's page and ticket alerts one ``alertname``, and Pyrra all of
its windows ``ErrorBudgetBurn``: ``group_by: [alertname]`` (or ``[alertname,
severity]``) puts several tiers of one SLO in one notification, whose common
labels lack the labels that tell the tiers apart.  The incident's tier is read
from its firing alerts instead: the fastest of them.

Payloads are the recorded ones (three alerts firing in one group, one of three
resolved) with their labels changed, and what Alertmanager derives from labels
(common labels, group labels and key, fingerprints) changed to match; a second
route's group has the group key of the recorded child route.  Each scenario
runs through the bulk path (what the task does) and the one-by-one path."""

from __future__ import annotations

import copy
import hashlib
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts.models import Incident, TimelineEntry
from alerts.routing import group_burn_tier, urgency_from_labels
from tests.alerts.conftest import Webhook, drive, later, pages, recorded_json
from tests.alerts.intake.test_burn_tiers import (
    PYRRA_FAST,
    PYRRA_MEDIUM,
    PYRRA_SLOW,
    SLOTH_PAGE,
    SLOTH_TICKET,
    fire,
    paged_for,
    resolve,
)

pytestmark = pytest.mark.django_db

PYRRA_SLOWEST = {**PYRRA_SLOW, "long": "4d", "short": "6h"}
FIRING, RESOLVED = "firing", "resolved"


def _group(
    alerts: list[tuple[dict[str, str], str]],
    group_by: tuple[str, ...],
    route: str = "{}",
) -> bytes:
    """A notification of one group holding these (labels, status) alerts, in
    the recorded shape: a firing alert as in ``b_group_of_three_firing``, a
    resolved one as in ``c_group_partial_resolve``."""
    payload = recorded_json("b_group_of_three_firing")
    firing = payload["alerts"][0]
    resolved = recorded_json("c_group_partial_resolve")["alerts"][1]
    assert resolved["status"] == RESOLVED
    payload["alerts"] = []
    for labels, status in alerts:
        alert = copy.deepcopy(firing if status == FIRING else resolved)
        alert["labels"] = labels
        alert["fingerprint"] = hashlib.sha256(
            json.dumps(labels, sort_keys=True).encode()
        ).hexdigest()[:16]
        payload["alerts"].append(alert)
    every = [labels for labels, _ in alerts]
    common = {k: v for k, v in every[0].items() if all(x.get(k) == v for x in every)}
    group = {k: common[k] for k in group_by}
    payload["commonLabels"] = common
    payload["groupLabels"] = group
    inside = ", ".join(f'{k}="{v}"' for k, v in sorted(group.items()))
    payload["groupKey"] = f"{route}:{{{inside}}}"
    payload["status"] = FIRING if any(s == FIRING for _, s in alerts) else RESOLVED
    return json.dumps(payload).encode()


@pytest.fixture(params=["bulk", "one by one"])
def send(request, client):
    """POST a group like Alertmanager and process it (in a batch, as the task
    does, or alone); returns the group's incident (the newest of its key)."""
    batch = request.param == "bulk"

    def post(alerts, group_by, route="{}") -> Incident:
        body = _group(alerts, group_by, route)
        Webhook(client).send_body(body, batch=batch)
        key = json.loads(body)["groupKey"]
        return Incident.objects.filter(group_key=key).order_by("-pk").first()

    return post


def _notes(incident: Incident) -> list[str]:
    return list(
        incident.timeline.filter(kind=TimelineEntry.Kind.NOTE).values_list(
            "text", flat=True
        )
    )


def _fresh(incident: Incident) -> Incident:
    incident.refresh_from_db()
    return incident


BY_SEVERITY = ("alertname", "slo", "severity")  # Pyrra: fast windows / slow ones
CRITICAL = [(PYRRA_FAST, FIRING), (PYRRA_MEDIUM, FIRING)]
WARNING = [(PYRRA_SLOW, FIRING), (PYRRA_SLOWEST, FIRING)]


def test_the_tier_of_a_group_is_the_fastest_of_its_firing_alerts():
    # Their common labels name no tier: a severity or window is not common.
    common = {"alertname": "ErrorBudgetBurn", "slo": "payments-api-errors"}
    assert group_burn_tier(common) is None
    tier = group_burn_tier(common, [PYRRA_SLOW, PYRRA_MEDIUM, PYRRA_SLOWEST])
    assert (tier.tier, tier.speed) == ("page", (0, 6 * 3600))
    sloth = group_burn_tier({}, [SLOTH_TICKET, SLOTH_PAGE])
    assert (sloth.generator, sloth.tier) == ("Sloth", "page")
    # A group that also holds an alert of no tier, or tiers of two SLOs, has
    # no tier of its own.
    other = {"alertname": "HighLatency", "severity": "critical"}
    assert group_burn_tier({}, [PYRRA_FAST, other]) is None
    latency = {**PYRRA_SLOW, "slo": "payments-api-latency"}
    assert group_burn_tier({}, [PYRRA_FAST, latency]) is None


def test_two_sloth_tickets_of_two_slos_in_one_group_are_low_urgency():
    # Grouped by alertname, their common labels keep Sloth's severity
    # ("slack", which is no low severity) but lose the SLO.
    latency = {**SLOTH_TICKET, "sloth_slo": "requests-latency"}
    common = {k: v for k, v in SLOTH_TICKET.items() if latency.get(k) == v}
    assert "sloth_slo" not in common
    assert urgency_from_labels(common)[0] == "high"  # what common labels said
    urgency, why = urgency_from_labels(common, [SLOTH_TICKET, latency])
    assert (urgency, why.startswith("from the Sloth ticket tier")) == ("low", True)


def test_a_sloth_page_and_ticket_in_one_group_open_a_page_tier_incident(
    send, integration, policy
):
    both = send([(SLOTH_PAGE, FIRING), (SLOTH_TICKET, FIRING)], ("alertname",))
    assert "sloth_severity" not in both.common_labels
    assert both.urgency == "high"
    assert "urgency high (from the Sloth page tier" in both.routing
    assert both.alerts.count() == 2
    drive()
    assert paged_for() == {both.pk}


def test_a_group_of_two_slos_tickets_is_low_urgency_and_held_by_neither(
    send, integration, policy
):
    page = send([(SLOTH_PAGE, FIRING)], ("alertname", "sloth_severity"))
    latency = {**SLOTH_TICKET, "sloth_slo": "requests-latency"}
    tickets = send(
        [(SLOTH_TICKET, FIRING), (latency, FIRING)], ("alertname",), '{}/{x="y"}'
    )
    assert "sloth_slo" not in tickets.common_labels
    assert tickets.urgency == "low"
    assert "(from the Sloth ticket tier" in tickets.routing
    # Tiers of two SLOs: the group is no tier of either, so the page of one of
    # them does not hold it back.
    assert tickets.suppressed_by_id is None
    drive()
    assert paged_for() == {page.pk}
    assert [p.status for p in pages(incident=tickets)] == ["queued"]


def test_a_route_urgency_still_wins_over_the_tier(send, integration, policy):
    route = integration.routes.get()
    route.urgency = "low"
    route.save()
    both = send([(SLOTH_PAGE, FIRING), (SLOTH_TICKET, FIRING)], ("alertname",))
    assert both.urgency == "low"


def test_pyrras_warning_group_waits_while_its_critical_group_is_open(
    send, integration, policy
):
    critical = send(CRITICAL, BY_SEVERITY)
    assert critical.urgency == "high"
    warning = send(WARNING, BY_SEVERITY)
    assert warning.urgency == "low"
    assert warning.suppressed_by_id == critical.pk
    assert warning.alerts.count() == 2
    drive(later(60))
    assert not pages(incident=warning)
    assert paged_for() == {critical.pk}
    assert any(f"faster tier, incident #{critical.pk}" in n for n in _notes(warning))


def test_pyrras_critical_group_opening_stops_the_warning_group_paging(
    send, integration, policy
):
    warning = send(WARNING, BY_SEVERITY)
    drive()
    assert [p.status for p in pages(incident=warning)] == ["queued"]  # low urgency
    critical = send(CRITICAL, BY_SEVERITY)
    warning = _fresh(warning)
    assert warning.suppressed_by_id == critical.pk
    assert warning.escalation.state == "stopped"
    assert [p.status for p in pages(incident=warning)] == ["cancelled"]
    assert critical.suppressed_by_id is None
    drive(later(60))
    assert paged_for() == {critical.pk}


def test_the_warning_group_waits_until_no_critical_window_fires(
    send, integration, policy
):
    critical = send(CRITICAL, BY_SEVERITY)
    warning = send(WARNING, BY_SEVERITY)
    # The 1h window stops; the 6h one, a page tier too, keeps firing.
    still = send([(PYRRA_FAST, RESOLVED), (PYRRA_MEDIUM, FIRING)], BY_SEVERITY)
    assert (still.pk, still.status) == (critical.pk, "triggered")
    assert _fresh(warning).suppressed_by_id == critical.pk
    drive()
    assert not pages(incident=warning)
    assert paged_for() == {critical.pk}
    # Then it stops too: the critical group resolves, the warning one pages.
    send([(PYRRA_MEDIUM, RESOLVED)], BY_SEVERITY)
    assert _fresh(critical).status == "resolved"
    warning = _fresh(warning)
    assert warning.suppressed_by_id is None
    drive()
    assert warning.escalation.state == "active"
    assert [p.status for p in pages(incident=warning)] == ["queued"]
    assert any(
        f"the faster tier, incident #{critical.pk}, resolved" in n
        for n in _notes(warning)
    )


def test_when_a_mixed_groups_page_alert_resolves_a_ticket_elsewhere_escalates(
    send, integration, policy
):
    # The root route groups by alertname (Sloth's page and ticket together); a
    # child route also sends the ticket alert, grouped by its own key.
    mixed = send([(SLOTH_PAGE, FIRING), (SLOTH_TICKET, FIRING)], ("alertname",))
    child = '{}/{sloth_severity="ticket"}'
    ticket = send([(SLOTH_TICKET, FIRING)], ("alertname",), route=child)
    assert ticket.pk != mixed.pk
    assert ticket.suppressed_by_id == mixed.pk
    drive()
    assert paged_for() == {mixed.pk}

    # The page alert stops, the ticket keeps firing in the mixed group: no
    # faster tier fires any more, so the held-back ticket escalates on its
    # own; the mixed incident keeps its urgency and its chain.
    send([(SLOTH_PAGE, RESOLVED), (SLOTH_TICKET, FIRING)], ("alertname",))
    mixed, ticket = _fresh(mixed), _fresh(ticket)
    assert (mixed.status, mixed.urgency, mixed.suppressed_by_id) == (
        "triggered",
        "high",
        None,
    )
    assert ticket.suppressed_by_id is None
    assert any(
        f"incident #{mixed.pk}, now fires only the Sloth ticket tier" in n
        for n in _notes(ticket)
    )
    drive()
    assert ticket.escalation.state == "active"
    assert [p.status for p in pages(incident=ticket)] == ["queued"]  # low urgency
    assert mixed.escalation.state == "active"

    # The page fires again in the mixed group: the ticket waits again, its
    # page not yet sent is cancelled.
    send([(SLOTH_PAGE, FIRING), (SLOTH_TICKET, FIRING)], ("alertname",))
    ticket = _fresh(ticket)
    assert ticket.suppressed_by_id == mixed.pk
    assert [p.status for p in pages(incident=ticket)] == ["cancelled"]


def test_a_held_back_group_whose_faster_alert_joins_escalates(
    send, integration, policy
):
    page = send([(PYRRA_MEDIUM, FIRING)], ("alertname", "slo", "long"))
    slow = send([(PYRRA_SLOW, FIRING)], ("alertname", "slo"), route='{}/{a="b"}')
    assert slow.suppressed_by_id == page.pk
    # The 1h window fires and joins the slow group: faster than the 6h page.
    send(
        [(PYRRA_SLOW, FIRING), (PYRRA_FAST, FIRING)], ("alertname", "slo"), '{}/{a="b"}'
    )
    slow, page = _fresh(slow), _fresh(page)
    assert slow.suppressed_by_id is None
    assert page.suppressed_by_id == slow.pk
    assert page.escalation.state == "stopped"


def test_a_held_back_group_that_gains_an_alert_of_no_tier_escalates(
    send, integration, policy
):
    critical = send(CRITICAL, BY_SEVERITY)
    child = '{}/{team="payments"}'
    slow = send([(PYRRA_SLOW, FIRING)], ("slo",), route=child)
    assert slow.suppressed_by_id == critical.pk
    # The team's own alert on the same SLO lands in the held-back group: the
    # group is no longer only a slower tier, so nothing holds it back.
    own = {"alertname": "PaymentsErrorsHigh", "slo": "payments-api-errors"}
    send([(PYRRA_SLOW, FIRING), (own, FIRING)], ("slo",), route=child)
    slow = _fresh(slow)
    assert slow.suppressed_by_id is None
    assert any("no longer only burn-rate tiers" in n for n in _notes(slow))
    drive()
    assert slow.escalation.state == "active"
    # Opened as a ticket tier: low urgency, its SMS waits for business hours.
    assert [p.status for p in pages(incident=slow)] == ["queued"]
    assert paged_for() == {critical.pk}


def test_a_ticket_reopened_after_its_holder_resolved_escalates_once(
    client, integration, policy
):
    integration.reopen_window = 3600
    integration.save()
    page = fire(client, SLOTH_PAGE)
    ticket = fire(client, SLOTH_TICKET)
    assert ticket.suppressed_by_id == page.pk
    drive()
    assert paged_for() == {page.pk}
    resolve(client, SLOTH_TICKET)  # resolved while held back
    resolve(client, SLOTH_PAGE)
    again = fire(client, SLOTH_TICKET)
    assert (again.pk, again.status, again.suppressed_by_id) == (
        ticket.pk,
        "triggered",
        None,
    )
    # Started once, as a new incident's chain: one cycle, not a restart of it.
    assert again.escalation.state == "active"
    assert again.escalation.cycle == page.escalation.cycle == 1
    drive()
    assert [p.status for p in pages(incident=again)] == ["queued"]  # low urgency


def _tier_queries(queries: CaptureQueriesContext) -> list[str]:
    """The statements of the tier rule: what a held-back incident is held by,
    and the firing alerts' labels of incidents (tiers.py)."""
    return [
        q["sql"]
        for q in queries.captured_queries
        if '"suppressed_by_id" IN' in q["sql"]
        or ('"alerts_alert"."labels"' in q["sql"] and "incidentalert" in q["sql"])
    ]


def test_groups_without_tier_labels_cost_no_tier_query(send, integration, policy):
    other = [
        ({"alertname": "HighLatency", "instance": f"checkout-{n}"}, FIRING)
        for n in (1, 2)
    ]
    with CaptureQueriesContext(connection) as queries:
        send(other, ("alertname",))
        send([(other[0][0], RESOLVED), other[1]], ("alertname",))  # partial
    assert _tier_queries(queries) == []
    # The same partial resolve of a group of tiers consults the rule.
    send(CRITICAL, BY_SEVERITY)
    with CaptureQueriesContext(connection) as queries:
        send([(PYRRA_FAST, RESOLVED), (PYRRA_MEDIUM, FIRING)], BY_SEVERITY)
    assert len(_tier_queries(queries)) == 2
