from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command

from scheduling.models import Rotation, Shift, Team
from scheduling.selectors import oncall_at
from tests.cast import utc

pytestmark = pytest.mark.django_db

DESIGN_TABLE = [
    ("alice", "bob"),
    ("charlie", "david"),
    ("eve", "frank"),
    ("bob", "alice"),
    ("david", "charlie"),
    ("frank", "eve"),
]


@pytest.fixture(autouse=True)
def demo(settings):
    settings.DEBUG = True
    call_command("oncall_demo", stdout=StringIO())


def test_demo_rotation_follows_design_table_week_by_week():
    team = Team.objects.get(slug="payments")
    first_handoff = utc(2026, 1, 5, 6)  # Monday 09:00 in Nairobi (UTC+3)
    for week in range(12):  # two full cycles
        at = first_handoff + dt.timedelta(weeks=week, days=3)
        answer = oncall_at(team=team, at=at)
        expected = DESIGN_TABLE[week % 6]
        assert (answer.primary.username, answer.secondary.username) == expected
        assert answer.shift_start == first_handoff + dt.timedelta(weeks=week)


def test_demo_is_materialized_and_reloading_adds_nothing():
    rotation = Rotation.objects.get(team__slug="payments")
    count = Shift.objects.filter(rotation=rotation).count()
    assert count > 0
    call_command("oncall_demo", stdout=StringIO())
    assert Shift.objects.filter(rotation=rotation).count() == count
    assert Rotation.objects.count() == 1


def test_oncall_now_works_on_demo_data():
    out = StringIO()
    call_command("oncall_now", "payments", "--at", "2026-01-20T09:00+03:00", stdout=out)
    assert "primary:   Eve (eve, +254700000005)" in out.getvalue()


def test_demo_team_shows_its_schedule_picture(admin_client):
    team = Team.objects.get(slug="payments")
    change = admin_client.get(f"/admin/scheduling/team/{team.pk}/change/")
    assert f"/admin/scheduling/team/{team.pk}/schedule/".encode() in change.content
    page = admin_client.get(
        f"/admin/scheduling/team/{team.pk}/schedule/", {"start": "2026-01-05"}
    )
    assert page.status_code == 200
    html = page.content.decode()
    for name in ("Alice", "Bob", "Charlie", "David", "Eve", "Frank"):
        assert f">{name}</div>" in html
    assert "Weekly primary/secondary" in html
