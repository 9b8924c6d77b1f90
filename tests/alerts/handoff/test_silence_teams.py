"""Which team a silence concerns, decided from the routes (no Alertmanager
needed: the matchers as parsed from its API)."""

from __future__ import annotations

from alerts.handoff.silence_teams import (
    IntegrationRoutes,
    silence_matchers,
    silence_reaches_team,
)
from alerts.routing import RouteRule, parse_matcher

PAYMENTS, CHECKOUT, SEARCH = 1, 2, 3


def rule(n: int, team: int, *matchers: str) -> RouteRule:
    return RouteRule(
        id=n,
        number=n,
        name="",
        team_id=team,
        urgency="",
        matchers=tuple(parse_matcher(t) for t in matchers),
    )


# One integration of payments: critical checkout alerts to checkout, search's
# service to search, the rest (catch-all) to payments.
ROUTES = [
    IntegrationRoutes(
        team_id=PAYMENTS,
        rules=[
            rule(1, CHECKOUT, 'service="checkout-api"', 'severity="critical"'),
            rule(2, SEARCH, 'service=~"search-.*"'),
            rule(3, PAYMENTS),
        ],
    )
]


def teams_of(*matchers: str, slugs=None) -> set[int]:
    parsed = [parse_matcher(t) for t in matchers]
    slugs = slugs or {PAYMENTS: "payments", CHECKOUT: "checkout", SEARCH: "search"}
    return {
        team
        for team, slug in slugs.items()
        if silence_reaches_team(
            parsed, team_id=team, team_slug=slug, integrations=ROUTES
        )
    }


def test_a_surely_matching_route_takes_the_alerts_from_later_routes():
    assert teams_of('service="search-api"') == {SEARCH}
    # checkout's route needs severity too: a silence that does not fix it might
    # mute warnings, which fall through to the catch-all.
    assert teams_of('service="checkout-api"') == {CHECKOUT, PAYMENTS}
    assert teams_of('service="checkout-api"', 'severity="critical"') == {CHECKOUT}


def test_regexes_and_negations_decide_only_where_a_route_pins_a_value():
    # checkout's route pins service="checkout-api": the silence's regex is
    # decided against that value.
    assert teams_of('service=~"pay.*"') == {SEARCH, PAYMENTS}  # not checkout
    assert teams_of('service!="checkout-api"') == {SEARCH, PAYMENTS}
    assert teams_of('service=~"search-a.*"') == {SEARCH, PAYMENTS}
    # Regex against regex is not decided: "might match", so shown (the cost of
    # a silence too many in a note is a glance).
    assert teams_of('service=~"checkout-.*"') == {CHECKOUT, SEARCH, PAYMENTS}


def test_a_team_label_decides_alone():
    assert teams_of('team="checkout"', 'service="search-api"') == {CHECKOUT}
    assert teams_of('team=~"pay.*|search"') == {PAYMENTS, SEARCH}


def test_alerts_no_route_takes_go_to_the_integrations_team():
    routes = [IntegrationRoutes(team_id=SEARCH, rules=[rule(1, CHECKOUT, 'a="1"')])]
    parsed = [parse_matcher('a="2"')]
    assert silence_reaches_team(
        parsed, team_id=SEARCH, team_slug="search", integrations=routes
    )
    assert not silence_reaches_team(
        parsed, team_id=CHECKOUT, team_slug="checkout", integrations=routes
    )


def test_alertmanager_matchers_are_read_with_their_operators():
    raw = [
        {"name": "a", "value": "1", "isRegex": False, "isEqual": True},
        {"name": "b", "value": "1", "isRegex": False, "isEqual": False},
        {"name": "c", "value": "x.*", "isRegex": True, "isEqual": True},
        {"name": "d", "value": "x.*", "isRegex": True, "isEqual": False},
    ]
    assert [str(m) for m in silence_matchers(raw)] == [
        'a="1"',
        'b!="1"',
        'c=~"x.*"',
        'd!~"x.*"',
    ]
    assert silence_matchers([{"name": "not a label", "value": "1"}]) is None
