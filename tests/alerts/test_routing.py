"""Label routing with Alertmanager's matcher semantics."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from alerts.intake.integrations import route_add
from alerts.models import RouteMatcher
from alerts.routing import (
    Matcher,
    MatcherError,
    RouteRule,
    choose_route,
    matches,
    parse_matcher,
    urgency_from_severity,
)
from tests.alerts.conftest import only_incident


def m(text: str) -> Matcher:
    return parse_matcher(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('severity="critical"', Matcher("severity", "=", "critical")),
        ("severity=critical", Matcher("severity", "=", "critical")),
        ('severity=~"critical|page"', Matcher("severity", "=~", "critical|page")),
        ('env != "prod"', Matcher("env", "!=", "prod")),
        ('team!~"pay.*"', Matcher("team", "!~", "pay.*")),
        ('team=""', Matcher("team", "=", "")),
        (r'msg="say \"hi\""', Matcher("msg", "=", 'say "hi"')),
    ],
)
def test_it_parses_alertmanager_matcher_syntax(text, expected):
    assert parse_matcher(text) == expected


@pytest.mark.parametrize(
    "text", ['severity=~"(unclosed"', "1abc=x", "severity", 'sev==="x"', ""]
)
def test_a_bad_matcher_is_refused_with_a_reason(text):
    with pytest.raises(MatcherError):
        parse_matcher(text)


def test_regexes_are_anchored_like_alertmanager():
    assert not matches(m('severity=~"crit"'), {"severity": "critical"})
    assert matches(m('severity=~"crit.*"'), {"severity": "critical"})
    assert not matches(m('severity=~"page"'), {"severity": "no-page-here"})


def test_an_absent_label_is_the_empty_string():
    assert matches(m('team=""'), {"alertname": "X"})
    assert matches(m('team!~".+"'), {})
    assert not matches(m('team=~".+"'), {})
    assert matches(m('team!="payments"'), {})


labels = st.dictionaries(
    st.sampled_from(["severity", "team", "env", "service"]),
    st.text(alphabet="abcxyz-.|*", max_size=6),
    max_size=4,
)
values = st.text(alphabet="abcxyz-.", max_size=6)


@given(labels=labels, value=values)
def test_negated_operators_are_exact_complements(labels, value):
    for op, neg in (("=", "!="), ("=~", "!~")):
        pattern = re.escape(value) if "~" in op else value
        positive = matches(Matcher("severity", op, pattern), labels)
        negative = matches(Matcher("severity", neg, pattern), labels)
        assert positive != negative


@given(labels=labels, value=values)
def test_a_regex_of_an_escaped_value_matches_exactly_like_equality(labels, value):
    assert matches(Matcher("team", "=~", re.escape(value)), labels) == matches(
        Matcher("team", "=", value), labels
    )


def rule(number, matchers, *, team_id=1, urgency="", name=""):
    return RouteRule(
        id=number,
        number=number,
        name=name,
        team_id=team_id,
        urgency=urgency,
        matchers=tuple(m(t) for t in matchers),
    )


def test_the_first_matching_route_wins_and_the_decision_says_why():
    rules = [
        rule(1, ['env="staging"'], team_id=9, urgency="low"),
        rule(2, ['severity=~"critical|page"'], team_id=2),
        rule(3, ['severity=~"critical|page"'], team_id=3),
        rule(4, [], team_id=1, name="catch-all"),
    ]
    choice = choose_route(rules, {"severity": "page", "env": "prod"}, default_team_id=1)
    assert (choice.route_id, choice.team_id, choice.urgency) == (2, 2, "high")
    assert choice.decision == (
        'matched route 2: severity=~"critical|page"; urgency high (from severity)'
    )
    staging = choose_route(rules, {"env": "staging"}, default_team_id=1)
    assert (staging.team_id, staging.urgency) == (9, "low")
    other = choose_route(rules, {"severity": "warning"}, default_team_id=1)
    assert other.decision.startswith('matched route 4 "catch-all": catch-all')
    assert other.urgency == "low"


def test_without_a_catch_all_the_integration_team_gets_it_and_it_is_said():
    choice = choose_route([rule(1, ['env="x"'])], {}, default_team_id=7)
    assert choice.route_id is None and choice.team_id == 7
    assert "no route matched" in choice.decision


@pytest.mark.parametrize(
    ("severity", "urgency"),
    [
        ("critical", "high"),
        ("page", "high"),
        ("warning", "low"),
        ("info", "low"),
        ("Warning", "low"),
        (None, "high"),
        ("whatever", "high"),
    ],
)
def test_urgency_defaults_from_severity(severity, urgency):
    labels = {} if severity is None else {"severity": severity}
    assert urgency_from_severity(labels) == urgency


@pytest.mark.django_db
def test_an_invalid_regex_is_a_validation_error_at_save_time(integration, team):
    with pytest.raises(ValidationError):
        route_add(integration=integration, team=team, matchers=['sev=~"(x"'])
    matcher = RouteMatcher(
        route=integration.routes.get(), label="severity", op="=~", value="[z-a]"
    )
    with pytest.raises(ValidationError) as excinfo:
        matcher.full_clean()
    assert "value" in excinfo.value.message_dict


@pytest.mark.django_db
def test_incidents_are_routed_by_the_groups_common_labels(
    webhook, integration, other_team
):
    route_add(
        integration=integration,
        team=other_team,
        matchers=['service="checkout"', 'severity=~"warning|critical"'],
        name="checkout",
        urgency="high",
    )
    webhook.send("b_group_of_three_firing")  # severity=warning, service=checkout

    incident = only_incident()
    assert incident.team == other_team
    assert incident.urgency == "high"  # the route's, not the severity's
    assert incident.route.name == "checkout"
    assert incident.routing == (
        'matched route 1 "checkout": service="checkout", '
        'severity=~"warning|critical"; urgency high'
    )
    assert incident.timeline.get(kind="routed").text == incident.routing


@pytest.mark.django_db
def test_an_unmatched_group_falls_to_the_catch_all(webhook, integration, other_team):
    route_add(integration=integration, team=other_team, matchers=['service="checkout"'])
    webhook.send("a_single_firing")  # service=payments
    incident = only_incident()
    assert incident.team == integration.team
    assert incident.routing.startswith('matched route 2 "catch-all"')
