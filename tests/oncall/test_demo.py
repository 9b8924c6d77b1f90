from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from scheduling.models import Member, Team


@pytest.fixture(autouse=True)
def debug_on(settings):
    # pytest-django runs tests with DEBUG off; the demo only runs with it on.
    settings.DEBUG = True


@pytest.mark.django_db
def test_demo_loads_the_payments_team_and_its_six_people():
    call_command("oncall_demo")
    team = Team.objects.get(slug="payments")
    assert team.time_zone == "Africa/Nairobi"
    assert sorted(m.username for m in team.members.all()) == [
        "alice",
        "bob",
        "charlie",
        "david",
        "eve",
        "frank",
    ]
    for member in Member.objects.all():
        member.full_clean()  # phones are valid E.164


@pytest.mark.django_db
def test_demo_is_idempotent():
    call_command("oncall_demo")
    counts = (
        Team.objects.count(),
        Member.objects.count(),
        get_user_model().objects.count(),
    )
    call_command("oncall_demo")
    assert (
        Team.objects.count(),
        Member.objects.count(),
        get_user_model().objects.count(),
    ) == counts


@pytest.mark.django_db
def test_demo_admin_can_log_in_to_the_admin(client):
    call_command("oncall_demo")
    assert client.get("/admin/login/").status_code == 200
    assert client.login(username="admin", password="admin")
    response = client.get("/admin/")
    assert response.status_code == 200
    assert b"Teams" in response.content


@pytest.mark.django_db
def test_demo_refuses_to_run_without_debug(settings):
    from django.core.management.base import CommandError

    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("oncall_demo")


@pytest.mark.django_db
def test_demo_pays_500_and_250_dollars_a_week(client):
    import datetime as dt
    from zoneinfo import ZoneInfo

    from scheduling.models import StipendRate
    from scheduling.pay.statements import team_pay

    call_command("oncall_demo")
    call_command("oncall_demo")  # idempotent: no second set of rates
    team = Team.objects.get(slug="payments")
    assert sorted(
        StipendRate.objects.values_list("role", "amount", "currency", "unit")
    ) == [
        ("primary", 500, "USD", "week"),
        ("secondary", 250, "USD", "week"),
    ]
    nairobi = ZoneInfo("Africa/Nairobi")
    report = team_pay(
        team=team,
        start=dt.datetime(2026, 1, 5, 9, tzinfo=nairobi),
        end=dt.datetime(2026, 2, 16, 9, tzinfo=nairobi),
    )
    people = ("alice", "bob", "charlie", "david", "eve", "frank")
    assert {(report.username(m), str(a)) for m, _, a in report.totals()} == {
        (name, "750.00") for name in people
    }
    # A new user finds the pay report from the team page.
    assert client.login(username="admin", password="admin")
    page = client.get(f"/admin/scheduling/team/{team.pk}/change/")
    report_url = f"/admin/scheduling/paymonth/report/{team.pk}/"
    assert report_url in page.content.decode()
    assert client.get(report_url).status_code == 200
