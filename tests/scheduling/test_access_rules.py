"""scheduling.access: the rules as functions of a user and an object."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from scheduling import access
from scheduling.models import Member, TeamMembership

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast(make_team, make_member):
    payments, (alice, bob, *_) = make_team("payments", people=["alice", "bob"])
    checkout, (zoe,) = make_team("checkout", people=["zoe"])
    User = get_user_model()
    return SimpleNamespace(
        payments=payments,
        checkout=checkout,
        alice=alice,
        bob=bob,
        zoe=zoe,
        staff=User.objects.create_user("ops", is_staff=True),
        root=User.objects.create_superuser("root"),
        nobody=User.objects.create_user("nobody"),
    )


def test_staff_and_superusers_see_every_team(cast):
    for user in (cast.staff, cast.root):
        assert set(access.teams_visible(user)) == {cast.payments, cast.checkout}
        assert access.team_can_read(user, cast.checkout)


def test_a_member_sees_only_their_teams(cast):
    alice = cast.alice.user
    assert list(access.teams_visible(alice)) == [cast.payments]
    assert access.team_can_read(alice, cast.payments)
    assert access.team_can_edit_schedule(alice, cast.payments)
    assert not access.team_can_read(alice, cast.checkout)
    assert not access.team_can_edit_schedule(alice, cast.checkout)


def test_joining_a_team_opens_it(cast):
    TeamMembership.objects.create(team=cast.checkout, member=cast.alice)
    assert access.team_can_read(cast.alice.user, cast.checkout)


@pytest.mark.parametrize("who", ["anonymous", "nobody", "deactivated"])
def test_anonymous_profileless_and_deactivated_users_see_nothing(cast, who):
    user = {"anonymous": AnonymousUser(), "nobody": cast.nobody}.get(who)
    if who == "deactivated":
        user = cast.alice.user
        user.is_active = False
        user.save()
    assert not access.teams_visible(user).exists()
    assert not access.team_can_read(user, cast.payments)
    assert not access.members_visible(user).exists()


def test_deactivated_staff_is_not_staff(cast):
    cast.staff.is_active = False
    assert not access.user_is_staff(cast.staff)
    assert not access.teams_visible(cast.staff).exists()


def test_incidents_are_judged_by_their_team(cast):
    theirs = SimpleNamespace(team_id=cast.payments.pk)
    other = SimpleNamespace(team_id=cast.checkout.pk)
    alice = cast.alice.user
    assert access.incident_can_read(alice, theirs)
    assert access.incident_can_act(alice, theirs)
    assert not access.incident_can_read(alice, other)
    assert not access.incident_can_act(alice, other)
    assert access.incident_can_act(cast.staff, other)


def test_scoping_a_queryset_by_a_path_to_the_team(cast):
    members = Member.objects.all()
    alice = cast.alice.user
    scoped = access.scoped_to_teams(members, user=alice, field="teams")
    assert set(scoped) == {cast.alice, cast.bob}
    assert set(access.scoped_to_teams(members, user=cast.staff, field="teams")) == {
        cast.alice,
        cast.bob,
        cast.zoe,
    }
    assert not access.scoped_to_teams(members, user=cast.nobody, field="teams")


def test_members_see_themselves_and_teammates_and_manage_only_themselves(cast):
    alice = cast.alice.user
    assert set(access.members_visible(alice)) == {cast.alice, cast.bob}
    assert access.member_can_read(alice, cast.bob)
    assert not access.member_can_read(alice, cast.zoe)
    assert access.member_can_manage(alice, cast.alice)
    assert not access.member_can_manage(alice, cast.bob)
    assert access.member_can_manage(cast.staff, cast.zoe)


def test_a_key_of_unicode_digits_is_a_404_not_an_id(payments):
    # "²".isdigit() is True but int("²") raises: found by the no-5xx fuzzing.
    from tests.api_client import bearer_client

    staff = get_user_model().objects.create_user("ops-digits", is_staff=True)
    answer = bearer_client(staff).get("/api/v1/teams/%C2%B2/members/")
    assert answer.status_code == 404
