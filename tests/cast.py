"""A small cast for scripts that run outside pytest's fixtures (benchmarks, child
processes): the payments team with alice and bob on a paired weekly rotation."""

from __future__ import annotations

import datetime as dt


def paired_team():
    """Team ``payments`` (UTC) with alice (+254700000001) and bob (+254700000002)
    on a paired weekly rotation starting today, shifts materialized: alice is the
    primary now, bob the secondary.  Returns (team, [alice, bob])."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from scheduling.materialize import rotation_materialize
    from scheduling.models import Member, Rotation, RotationParticipant, Team

    team = Team.objects.create(slug="payments", name="Payments", time_zone="UTC")
    members = []
    for n, name in enumerate(["alice", "bob"]):
        user = get_user_model().objects.create_user(username=name)
        member = Member.objects.create(user=user, phone=f"+25470000000{n + 1}")
        team.members.add(member)
        members.append(member)
    today = timezone.now().date()
    rotation = Rotation.objects.create(
        team=team,
        name="weekly",
        scheme="paired",
        start_date=today,
        handoff_time=dt.time(0),
        handoff_weekday=today.weekday(),
        time_zone="UTC",
    )
    for position, member in enumerate(members):
        RotationParticipant.objects.create(
            rotation=rotation, member=member, position=position
        )
    rotation_materialize(rotation=rotation)
    return team, members
