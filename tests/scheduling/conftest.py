from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model

from scheduling.materialize import rotation_materialize
from scheduling.models import (
    Member,
    Rotation,
    RotationParticipant,
    Team,
    TeamMembership,
)

CAST = ["alice", "bob", "charlie", "david", "eve", "frank"]


@pytest.fixture
def make_member():
    User = get_user_model()

    def make(username: str, *, time_zone: str = "UTC", active: bool = True) -> Member:
        user = User.objects.create(username=username, first_name=username.title())
        return Member.objects.create(
            user=user,
            phone=f"+25470000{len(username):02d}{user.pk:02d}",
            time_zone=time_zone,
            active=active,
        )

    return make


@pytest.fixture
def make_team(make_member):
    def make(slug: str = "payments", *, time_zone: str = "Africa/Nairobi", people=CAST):
        team = Team.objects.create(slug=slug, name=slug.title(), time_zone=time_zone)
        members = []
        for username in people:
            member = Member.objects.filter(user__username=username).first()
            member = member or make_member(username)
            TeamMembership.objects.create(team=team, member=member)
            members.append(member)
        return team, members

    return make


@pytest.fixture
def make_rotation():
    def make(
        team: Team,
        members,
        *,
        name: str = "weekly",
        now: dt.datetime | None = None,
        materialize: bool = True,
        **fields,
    ) -> Rotation:
        fields.setdefault("start_date", dt.date(2026, 1, 5))
        rotation = Rotation.objects.create(team=team, name=name, **fields)
        for position, member in enumerate(members):
            RotationParticipant.objects.create(
                rotation=rotation, member=member, position=position
            )
        if materialize:
            rotation_materialize(rotation=rotation, now=now)
            rotation.refresh_from_db()
        return rotation

    return make


@pytest.fixture
def payments(make_team):
    """The demo's team: payments in Africa/Nairobi with alice..frank."""
    return make_team()


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)
