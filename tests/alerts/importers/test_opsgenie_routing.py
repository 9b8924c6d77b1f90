"""Opsgenie's integrations and team routing rules: the mapping of conditions to
Alertmanager matchers, what the import writes, and -- the point -- that recorded
Alertmanager payloads (labels changed only) sent through our intake land on the
team, policy and urgency the fake's own evaluation of the rules picks."""

from __future__ import annotations

import hashlib
import json

import pytest

from alerts.escalation.policies import policy_for_incident
from alerts.importers.opsgenie_routing import condition_matcher, rule_matchers
from alerts.intake.drain import delivery_process
from alerts.models import Incident, Integration, Route
from tests.alerts.conftest import recorded_json
from tests.alerts.importers.opsgenie_org import oid, organisation
from tests.alerts.importers.test_opsgenie import NOW, run_import

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake():
    fake = organisation(NOW)
    server = fake.serve()
    yield fake
    server.shutdown()
    server.server_close()


def cond(key, operation, value="", negate=False):
    return {
        "field": "extra-properties",
        "key": key,
        "operation": operation,
        "expectedValue": value,
        "not": negate,
    }


@pytest.mark.parametrize(
    ("condition", "matcher"),
    [
        (cond("severity", "equals", "critical"), 'severity="critical"'),
        (cond("severity", "equals", "critical", True), 'severity!="critical"'),
        (cond("job", "matches", "api|web"), 'job=~"api|web"'),
        (cond("job", "matches", "api|web", True), 'job!~"api|web"'),
        (cond("service", "starts-with", "pay."), 'service=~"pay\\\\..*"'),
        (cond("service", "ends-with", "-db"), 'service=~".*\\\\-db"'),
        (cond("instance", "contains", "a+b", True), 'instance!~".*a\\\\+b.*"'),
        (cond("cluster", "is-empty"), 'cluster=""'),
        (cond("cluster", "is-empty", negate=True), 'cluster!=""'),
    ],
)
def test_conditions_on_extra_properties_become_label_matchers(condition, matcher):
    assert condition_matcher(condition) == matcher


@pytest.mark.parametrize(
    ("condition", "reason"),
    [
        (cond("replicas", "greater-than", "5"), "operation 'greater-than'"),
        (cond("a", "equals-ignore-whitespace", "x"), "equals-ignore-whitespace"),
        (cond("not-a-label", "equals", "x"), "is not a label name"),
        (cond("job", "matches", "(unclosed"), "invalid regular expression"),
        ({"field": "message", "operation": "contains"}, "condition on 'message'"),
        ({"field": "tags", "operation": "contains"}, "condition on 'tags'"),
        ({"field": "priority", "operation": "equals"}, "condition on 'priority'"),
    ],
)
def test_what_has_no_matcher_says_why(condition, reason):
    with pytest.raises(ValueError, match=reason):
        condition_matcher(condition)


def test_a_rule_is_one_route_per_any_condition_and_one_for_all_conditions():
    two = [cond("env", "equals", "staging"), cond("team", "equals", "pay")]
    assert rule_matchers({"criteria": {"type": "match-all"}}) == [()]
    assert rule_matchers(
        {"criteria": {"type": "match-all-conditions", "conditions": two}}
    ) == [('env="staging"', 'team="pay"')]
    assert rule_matchers(
        {"criteria": {"type": "match-any-condition", "conditions": two}}
    ) == [('env="staging"',), ('team="pay"',)]
    # One condition without an equivalent: the whole rule is reported.
    bad = [*two, cond("n", "less-than", "3")]
    with pytest.raises(ValueError, match="less-than"):
        rule_matchers({"criteria": {"type": "match-any-condition", "conditions": bad}})


def test_integrations_and_routes_are_imported_in_the_rules_order(fake, waits):
    report = run_import(fake)
    prometheus = Integration.objects.get(
        slug=f"og-{oid('integration Payments Prometheus')}"
    )
    platform_api = Integration.objects.get(slug=f"og-{oid('integration Platform API')}")
    assert (prometheus.team.slug, prometheus.enabled) == ("payments", True)
    assert platform_api.team.slug == "platform"
    assert Integration.objects.count() == 2
    assert set(report.tokens) == {prometheus.slug, platform_api.slug}

    def policy(name):
        return f"og-{oid(name)}"

    routes = [
        (
            r.name,
            [str(m) for m in r.matchers.order_by("pk")],
            r.escalation_policy and r.escalation_policy.slug,
            r.urgency,
        )
        for r in Route.objects.filter(integration=prometheus).order_by("position")
    ]
    assert routes == [
        (
            "Critical payments",
            ['severity="critical"', 'service=~"pay.*"'],
            policy("Payments_urgent"),
            "",
        ),
        ("Staging is quiet (1)", ['env="staging"'], None, "low"),
        ("Staging is quiet (2)", ['alertname=~"Test[A-Z].*"'], None, "low"),
        (
            "Clustered databases",
            ['service=~".*\\-db"', 'cluster!=""', 'instance!~".*\\.dev\\..*"'],
            policy("Payments_urgent"),
            "",
        ),
        ("Default", [], policy("Payments_escalation"), ""),
    ]
    assert [
        (r.name, r.matchers.count(), r.escalation_policy)
        for r in Route.objects.filter(integration=platform_api)
    ] == [("Default", 0, None)]

    text = "\n".join(report.problems)
    rule = "team payments routing rule"
    assert f"{rule} 'Disks': a condition on 'message'" in text
    assert f"{rule} 'EU office hours': applies at certain times only" in text
    assert f"{rule} 'Many replicas': operation 'greater-than' on 'replicas'" in text
    assert f"{rule} 'Staging is quiet': notifies no one" in text
    assert (
        "team platform routing rule 'Default': notifies the schedule "
        "'Platform_schedule'" in text
    )
    assert "integration 'Payments Datadog': type 'Datadog'" in text
    assert "integration 'Shared API': belongs to no team" in text


def test_a_dry_run_writes_no_integration(fake, waits):
    report = run_import(fake, dry_run=True)
    assert any("integration og-" in c for c in report.created)
    assert not Integration.objects.exists() and report.tokens == {}


def test_a_second_run_keeps_the_integrations_their_routes_and_tokens(fake, waits):
    first = run_import(fake)
    before = list(Route.objects.order_by("pk").values_list("pk", "slug", "position"))
    second = run_import(fake)
    assert second.tokens == {} and not any("integration" in c for c in second.created)
    assert list(Route.objects.order_by("pk").values_list("pk", "slug", "position")) == (
        before
    )
    assert set(first.tokens) == set(Integration.objects.values_list("slug", flat=True))


# --- faithfulness: recorded payloads through our intake ------------------------

CASES = [
    # (labels every alert of the group shares, what tells the rules apart)
    {"alertname": "HighLatency", "service": "payments", "severity": "critical"},
    {"alertname": "HighLatency", "service": "checkout", "env": "staging"},
    {"alertname": "TestAlert", "service": "checkout", "severity": "critical"},
    {"alertname": "SlowQueries", "service": "orders-db", "cluster": "c1"},
    {"alertname": "SlowQueries", "service": "orders-db", "severity": "critical"},
    {"alertname": "HighLatency", "service": "checkout", "severity": "warning"},
    {"alertname": "testalert", "service": "payments", "severity": "warning"},
    {"alertname": "HighLatency", "service": "repayments", "severity": "critical"},
    {"alertname": "SlowQueries", "service": "db-proxy", "cluster": "c1"},
]


def payload(labels: dict[str, str]) -> dict:
    """The recorded three-alert group with its labels replaced: each alert keeps
    only its own ``instance``; group and common labels, the group key and the
    fingerprints follow the labels as Alertmanager derives them."""
    body = recorded_json("b_group_of_three_firing")
    for alert in body["alerts"]:
        alert["labels"] = {**labels, "instance": alert["labels"]["instance"]}
        digest = json.dumps(alert["labels"], sort_keys=True).encode()
        alert["fingerprint"] = hashlib.sha256(digest).hexdigest()[:16]
    body["commonLabels"] = dict(labels)
    body["groupLabels"] = dict(labels)
    pairs = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    body["groupKey"] = "{}:{" + pairs + "}"
    return body


def test_recorded_payloads_land_where_the_fakes_rules_send_them(fake, waits, client):
    report = run_import(fake)
    slug = f"og-{oid('integration Payments Prometheus')}"
    token = report.tokens[slug]
    team = oid("Payments")
    default = f"og-{oid('Payments_escalation')}"
    for labels in CASES:
        response = client.post(
            "/api/v1/alertmanager/",
            data=json.dumps(payload(labels)),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        assert response.status_code == 202, response.content
        delivery_process(delivery_id=response.json()["delivery"])
        incident = Incident.objects.latest("pk")

        # Opsgenie's alert from Alertmanager: common labels as details, the
        # default message template ({{ .CommonLabels.alertname }}).
        rule = fake.route(team, {"details": labels, "message": labels["alertname"]})
        notify = rule["notify"]
        expected_policy = (
            f"og-{notify['id']}" if notify["type"] == "escalation" else default
        )
        severity_urgency = "high" if labels.get("severity") != "warning" else "low"
        expected_urgency = "low" if notify["type"] == "none" else severity_urgency
        got = (
            incident.team.slug,
            policy_for_incident(incident).slug,
            incident.urgency,
        )
        assert got == ("payments", expected_policy, expected_urgency), (
            rule["name"],
            labels,
            incident.route and incident.route.name,
        )
        assert incident.route.name.startswith(rule["name"])
    # Every imported rule was reached by some payload.
    reached = set(Incident.objects.values_list("route__name", flat=True))
    assert {
        "Critical payments",
        "Staging is quiet (1)",
        "Staging is quiet (2)",
        "Clustered databases",
        "Default",
    } <= reached


def test_a_rule_on_the_message_is_where_ours_differs_and_it_is_reported(
    fake, waits, client
):
    """An alert only the message rule takes: Opsgenie sends it to the urgent
    escalation, ours to the default -- the difference the report names."""
    report = run_import(fake)
    labels = {"alertname": "DiskFull", "service": "checkout", "severity": "critical"}
    rule = fake.route(oid("Payments"), {"details": labels, "message": "DiskFull"})
    assert rule["name"] == "Disks"
    slug = f"og-{oid('integration Payments Prometheus')}"
    response = client.post(
        "/api/v1/alertmanager/",
        data=json.dumps(payload(labels)),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {report.tokens[slug]}",
    )
    delivery_process(delivery_id=response.json()["delivery"])
    incident = Incident.objects.get()
    assert incident.route.name == "Default"
    assert any(
        "routing rule 'Disks': a condition on 'message'" in p for p in report.problems
    )
