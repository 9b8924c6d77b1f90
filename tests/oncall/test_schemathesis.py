"""Schemathesis against the live OpenAPI schema (``/api/schema/``), every operation.

The service runs in-process as its WSGI application on the test database, seeded
with the demo organisation (team ``payments``), an incident, an override, a
maintenance window, a route and a policy, and a second team ``checkout`` whose
member ``zoe`` is the outsider.  Each generated request is sent three times --
with a staff token, with alice's (a member of payments) and with zoe's -- and
each answer must:

* not be a 5xx;
* have a status code, content type and body the schema documents for that
  operation (every error response is documented, in the one error shape);
* for zoe, never carry payments' data: a 2xx answer to her mentions neither the
  team nor its people's phones.

Each call runs in a transaction rolled back afterwards, so every example starts
from the same seed.  Path parameters are drawn from the seeded objects' keys as
well as at random, so the fuzzing reaches real objects, not only 404s.  The
number of examples per operation is bounded (``EXAMPLES``): minutes, not an hour.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from alerts.incidents.maintenance import maintenance_create
from alerts.incidents.state import IncidentSpec, incident_open
from alerts.intake.integrations import integration_create, route_add
from alerts.models import ContactMethod, EscalationPolicy, Integration, Route
from oncall.demo import demo_load
from scheduling.models import Member, Override, Rotation, Team, TeamMembership
from scheduling.overrides import override_create
from tests.api_client import token_for
from tests.cast import member_create, policy_create, utc

pytestmark = [pytest.mark.django_db(transaction=False)]

EXAMPLES = 12
PAYMENTS_PHONES = [f"+25470000000{n}" for n in range(1, 7)]


def _seed() -> dict[str, str]:
    """The seeded world; returns the bearer token of each role."""
    demo_load()
    team = Team.objects.get(slug="payments")
    rotation = Rotation.objects.get(team=team)
    people = {m.username: m for m in Member.objects.select_related("user")}
    override_create(
        rotation=rotation,
        role="primary",
        member=people["eve"],
        starts_at=utc(2026, 1, 6, 6),
        ends_at=utc(2026, 1, 7, 6),
        reason="dentist",
        created_by=None,
    )
    integration = Integration.objects.filter(team=team).first()
    assert integration is not None
    with transaction.atomic():
        incident_open(
            integration=integration,
            spec=IncidentSpec(
                group_key='{}:{alertname="HighErrorRate"}',
                title="HighErrorRate",
                team_id=team.pk,
                route_id=integration.routes.first().pk,
                routing="test",
                urgency="high",
                group_labels={"alertname": "HighErrorRate"},
                common_labels={"alertname": "HighErrorRate"},
                common_annotations={},
            ),
            in_maintenance=True,  # nobody is paged while the fuzzer runs
        )
    if not EscalationPolicy.objects.filter(team=team).exists():
        policy_create(team, {"target": "primary", "channel": "sms"})
    route_add(integration=integration, team=team, matchers=['env="prod"'])
    maintenance_create(
        team=team,
        starts_at=utc(2026, 3, 1),
        ends_at=utc(2026, 3, 2),
        reason="upgrade",
    )
    ContactMethod.objects.create(member=people["alice"], phone="+254700000501")
    checkout = Team.objects.create(slug="checkout", name="Checkout")
    zoe = member_create("zoe")
    TeamMembership.objects.create(team=checkout, member=zoe)
    integration_create(team=checkout, name="shop")
    staff = get_user_model().objects.get(username="admin")
    return {
        "staff": token_for(staff),
        "member": token_for(people["alice"].user),
        "outsider": token_for(zoe.user),
    }


def _keys() -> dict[str, list]:
    """Path parameter values that name seeded objects (and a few that do not)."""
    ids: list[int] = [1, 2, 3]
    for model in (Rotation, Override, Integration, Route, EscalationPolicy):
        ids += list(model.objects.values_list("pk", flat=True))
    slugs = (
        list(Team.objects.values_list("slug", flat=True))
        + list(Integration.objects.values_list("slug", flat=True))
        + list(Route.objects.values_list("slug", flat=True))
        + list(EscalationPolicy.objects.values_list("slug", flat=True))
    )
    return {
        "pk": sorted(set(ids)),
        "key": [*slugs, "alice", "zoe", *map(str, ids[:6])],
        "slug": ["payments", "checkout"],
        "username": ["alice", "gus", "zoe"],
    }


@pytest.fixture
def roles(settings) -> dict[str, str]:
    # The rate limit is not what is fuzzed here: thousands of requests a minute
    # on three tokens would turn into 429s (and, counted in the per-process
    # cache, throttle the tests that run after this one).
    settings.API_THROTTLE_RATE = ""
    return _seed()


@pytest.fixture
def wsgi_app():
    """The WSGI application on the test database.  Like Django's test client, it
    must not close the connection at the end of each request (that would close
    the test's transaction)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(roles, wsgi_app):
    return schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _leaks(text: str) -> list[str]:
    return [s for s in ("payments", "Payments", *PAYMENTS_PHONES) if s in text]


def _exercise(case, roles: dict[str, str]) -> None:
    for role, token in roles.items():
        with transaction.atomic():
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            transaction.set_rollback(True)
        case.validate_response(response, checks=CHECKS)
        if role == "outsider" and 200 <= response.status_code < 300:
            leaked = _leaks(response.text)
            assert not leaked, (
                f"zoe's token read payments' data {leaked}: {response.text[:300]}"
            )


def _fuzz(operation, mode, roles, keys) -> None:
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    def run(case, data) -> None:
        # Half the time, name seeded objects in the path instead of random ones.
        for name in list(case.path_parameters or {}):
            if name in keys and data.draw(st.booleans(), label=f"pin {name}"):
                case.path_parameters[name] = data.draw(st.sampled_from(keys[name]))
        _exercise(case, roles)

    run()


def test_the_api_answers_as_its_schema_says(api_schema, roles):
    keys = _keys()
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 60  # every operation of the API, not a handful
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, mode, roles, keys)
            except (Exception, BaseExceptionGroup) as exc:  # reported below
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)


def test_the_seed_is_what_the_fuzzer_needs(roles):
    # Guards the fuzzing above: without objects it would only ever see 404s.
    assert Team.objects.count() == 2
    assert Route.objects.count() >= 3
    keys = _keys()
    assert {"payments", "checkout", "alice"} <= set(keys["key"])
    # And the leak check recognises payments' data when it sees it.
    assert _leaks('{"team": "payments"}') and _leaks("+254700000003")
    assert not _leaks('{"team": "checkout"}')


STATEFUL_EXAMPLES = 20
STATEFUL_STEPS = 6


def test_chained_calls_answer_as_the_schema_says(api_schema, roles):
    """Stateful: schemathesis chains operations through the links it infers from
    the schema (a POST's answer feeds the id or slug of the GET, PUT, PATCH and
    DELETE after it), so the fuzzing reaches objects it created itself.  Staff's
    token makes the calls; every read in the chain is also made with zoe's
    token, which must not see payments' data."""
    machine = api_schema.as_state_machine()
    chained = [
        name
        for name, rule in vars(machine).items()
        # A transition from one operation's answer to the next operation;
        # the RANDOM__ rules are the chains' entry points.
        if hasattr(rule, "hypothesis_stateful_rule") and not name.startswith("RANDOM__")
    ]
    assert len(chained) >= 50, sorted(chained)
    assert any(name.startswith("POST_api_v1_") for name in chained)

    class Chain(machine):  # type: ignore[misc,valid-type]
        def get_call_kwargs(self, case):
            return {"headers": {"Authorization": f"Bearer {roles['staff']}"}}

        def validate_response(self, response, case, **kwargs):
            case.validate_response(response, checks=CHECKS)
            if case.method.upper() == "GET":
                _exercise(case, {"outsider": roles["outsider"]})

    Chain.run(
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
