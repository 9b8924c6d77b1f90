"""manage.py oncall_export / oncall_apply: a whole organisation's configuration
round-trips through the services the API's PUT uses; applying twice writes
nothing the second time; a bad file says where and writes nothing."""

from __future__ import annotations

import io
import textwrap

import pytest
import yaml
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from alerts.demo import DEMO_INTEGRATION
from alerts.incidents.maintenance import maintenance_create
from alerts.intake.integrations import integration_for_token, route_add
from alerts.models import (
    ContactMethod,
    EscalationPolicy,
    Incident,
    Integration,
    MaintenanceWindow,
    Postmortem,
    Route,
    Service,
)
from oncall.demo import demo_load
from scheduling.models import Member, Rotation, Shift, Team
from tests.cast import utc

pytestmark = pytest.mark.django_db


def export() -> str:
    out = io.StringIO()
    call_command("oncall_export", stdout=out)
    return out.getvalue()


def apply(path) -> str:
    out = io.StringIO()
    call_command("oncall_apply", str(path), stdout=out)
    return out.getvalue()


@pytest.fixture
def organisation(settings):
    """The demo organisation plus what it lacks: a matcher route with a policy,
    a contact method, a maintenance window, a second team."""
    settings.ONCALL_DEMO_TOKEN = "config-test-token-0123456789abcdef"
    demo_load()
    team = Team.objects.get(slug="payments")
    integration = Integration.objects.get(team=team, name=DEMO_INTEGRATION)
    route = route_add(integration=integration, team=team, matchers=['env=~"prod|dr"'])
    route.escalation_policy = EscalationPolicy.objects.get(team=team)
    route.save()
    alice = Member.objects.get(user__username="alice")
    ContactMethod.objects.create(member=alice, phone="+254700000501", label="work")
    maintenance_create(
        team=team, starts_at=utc(2026, 3, 1), ends_at=utc(2026, 3, 2), reason="db"
    )
    Team.objects.create(slug="checkout", name="Checkout", time_zone="UTC")


def _empty_the_database() -> None:
    # The demo's history: incidents keep their integration (PROTECT).
    Postmortem.objects.all().delete()
    Incident.objects.all().delete()
    Service.objects.all().delete()  # the demo's SLO service (not configuration)
    MaintenanceWindow.objects.all().delete()
    Route.objects.all().delete()
    Integration.objects.all().delete()
    EscalationPolicy.objects.all().delete()
    Rotation.objects.all().delete()
    get_user_model().objects.filter(member__isnull=False).delete()
    Team.objects.all().delete()


def test_export_then_apply_to_an_empty_database_exports_the_same(
    organisation, tmp_path
):
    first = export()
    document = yaml.safe_load(first)
    assert [t["slug"] for t in document["teams"]] == ["checkout", "payments"]
    assert "token" not in first.lower().replace("token_hint", "")
    path = tmp_path / "org.yaml"
    path.write_text(first)
    _empty_the_database()
    assert not Team.objects.exists()
    output = apply(path)
    assert "created team payments" in output
    # The new integration's token is printed once, and it works.
    token = output.split("shown this once: ")[1].split()[0]
    assert (
        integration_for_token(token)
        == Integration.objects.get(name=DEMO_INTEGRATION).pk
    )
    assert export() == first
    assert Shift.objects.filter(rotation__team__slug="payments").exists()


def test_applying_twice_writes_nothing_the_second_time(organisation, tmp_path, writes):
    path = tmp_path / "org.yaml"
    path.write_text(export())
    changed = yaml.safe_load(path.read_text())
    changed["teams"][1]["name"] = "Payments & Billing"
    changed["members"][0]["contact_methods"] = [{"phone": "+254700000777"}]
    changed["integrations"][0]["routes"][0]["matchers"] = ['env="prod"']
    path.write_text(yaml.safe_dump(changed, sort_keys=False))
    apply(path)  # the changes are written...
    assert Team.objects.get(slug="payments").name == "Payments & Billing"
    assert list(ContactMethod.objects.values_list("phone", flat=True)) == [
        "+254700000777"
    ]
    with writes() as w:
        output = apply(path)  # ...once
    assert w.statements == []
    assert "nothing created" in output
    # Fields left out took their defaults, as a PUT's do.
    changed["members"][0]["contact_methods"][0].update(
        label="", sms=True, voice=True
    )
    assert yaml.safe_load(export()) == changed


def test_a_bad_value_says_where_and_nothing_is_written(organisation, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            teams:
            - slug: search
              name: Search
              time_zone: Europe/Berlin
            rotations:
            - team: payments
              name: weekly
              start_date: 2027-01-04
              participants:
              - alice
              - zed
            """
        )
    )
    with pytest.raises(CommandError) as failed:
        apply(path)
    assert str(failed.value) == (
        f"{path}:11:5: rotations[0].participants[1]: no member with username 'zed'"
    )
    assert not Team.objects.filter(slug="search").exists()  # one transaction


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        (
            "maintenance_windows:\n- team: payments\n  starts_at: 2026-03-05 10:00\n"
            "  ends_at: 2026-03-05T12:00:00Z\n  reason: x\n",
            "3:14: maintenance_windows[0].starts_at",
            "has no UTC offset",
        ),
        ("teams:\n- slug: x\n  nmae: X\n", "3:3: teams[0].nmae", "unknown field"),
        (
            "teams:\n- slug: x\n  name: X\n  time_zone: Mars/Olympus\n",
            "4:14: teams[0].time_zone",
            "Mars/Olympus",
        ),
        ("teams: [\n", "2:1", "not valid YAML"),
        (
            "integrations:\n- team: payments\n  name: p\n  routes:\n"
            "  - team: payments\n    matchers: ['a=~\"(\"']\n",
            "6:15: integrations[0].routes[0].matchers",
            "invalid regular expression",
        ),
    ],
)
def test_bad_input_is_reported_with_its_position(
    organisation, tmp_path, text, where, problem
):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(CommandError) as failed:
        apply(path)
    message = str(failed.value)
    assert message.startswith(f"{path}:{where}"), message
    assert problem in message
