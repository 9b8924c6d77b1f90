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


def apply_pruning(path) -> str:
    out = io.StringIO()
    call_command("oncall_apply", str(path), "--prune", stdout=out)
    return out.getvalue()


def test_prune_deletes_what_the_file_no_longer_names(organisation, tmp_path):
    document = yaml.safe_load(export())
    team = Team.objects.get(slug="payments")
    extra = Rotation.objects.create(
        team=team, name="weekend", start_date=utc(2026, 1, 1).date()
    )
    unused = Integration.objects.create(team=team, name="staging", slug="staging")
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))

    assert "deleted" not in apply(path)  # without --prune: left alone
    assert Rotation.objects.filter(pk=extra.pk).exists()

    output = apply_pruning(path)
    assert "deleted rotation" in output and "deleted integration" in output
    assert not Rotation.objects.filter(pk=extra.pk).exists()
    assert not Integration.objects.filter(pk=unused.pk).exists()
    # What the file names is still there, and a second run deletes nothing.
    assert yaml.safe_load(export()) == document
    assert "nothing created" in apply_pruning(path)


def test_prune_leaves_sections_the_file_does_not_have(organisation, tmp_path):
    document = yaml.safe_load(export())
    windows = MaintenanceWindow.objects.count()
    del document["maintenance_windows"]
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    apply_pruning(path)
    assert MaintenanceWindow.objects.count() == windows == 1
    # A section present but empty is the whole truth: no windows.
    document["maintenance_windows"] = []
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    assert "deleted maintenance window" in apply_pruning(path)
    assert not MaintenanceWindow.objects.exists()


def test_prune_refuses_an_integration_with_history_and_writes_nothing(
    organisation, tmp_path
):
    document = yaml.safe_load(export())
    document["integrations"] = []
    document["teams"][1]["name"] = "Renamed"
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    with pytest.raises(CommandError, match="has incidents"):
        apply_pruning(path)
    assert Team.objects.get(slug="payments").name == "Payments"


def test_a_member_leaves_a_team_and_its_rotation_in_one_apply(organisation, tmp_path):
    document = yaml.safe_load(export())
    rotation = next(r for r in document["rotations"] if r["team"] == "payments")
    leaving = rotation["participants"][-2:]  # the paired scheme: a pair
    # They go to checkout and off payments' rotation, in the same file.
    rotation["participants"] = rotation["participants"][:-2]
    for member in document["members"]:
        if member["username"] in leaving:
            member["teams"] = ["checkout"]
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    apply(path)
    for username in leaving:
        who = Member.objects.get(user__username=username)
        teams = Team.objects.filter(members=who).values_list("slug", flat=True)
        assert list(teams) == ["checkout"]
        on_rotation = Rotation.objects.get(slug=rotation["slug"]).participants
        assert not on_rotation.filter(pk=who.pk).exists()
