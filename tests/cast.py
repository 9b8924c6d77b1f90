"""The one cast of the tests: the people, team, rotation, integration and policy of
DESIGN.md §5 and §7, as plain functions.

pytest's fixtures in ``tests/conftest.py`` are built on these (a test asks for
``alice``, ``team``, ``rotation``, ``integration``, ``policy``); scripts that run
outside pytest's fixtures (benchmarks, child processes) call them directly.
Nothing here writes to the database at import.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence

# The six engineers of DESIGN.md §7, in the order the paired scheme pairs them:
# week 1 alice/bob, week 2 charlie/david, week 3 eve/frank, week 4 bob/alice, ...
PEOPLE = ("alice", "bob", "charlie", "david", "eve", "frank")
PHONES = {name: f"+2547000000{n:02d}" for n, name in enumerate(PEOPLE, start=1)}
# The Alertmanager integration's token (the recorded payloads' headers carry it).
TOKEN = "payments-alertmanager-token-0123456789abcdef"

_extra_phones = itertools.count(1)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def member_create(username: str, *, time_zone: str = "UTC", active: bool = True):
    """A member with a user; the cast's people get their phone from :data:`PHONES`,
    anyone else a unique made-up one."""
    from django.contrib.auth import get_user_model

    from scheduling.models import Member

    user = get_user_model().objects.create_user(
        username=username, first_name=username.title()
    )
    phone = PHONES.get(username) or f"+2547100{next(_extra_phones):05d}"
    return Member.objects.create(
        user=user, phone=phone, time_zone=time_zone, active=active
    )


def member_join(team, username: str):
    """``username`` (created unless they exist) as a member of ``team``."""
    from scheduling.models import Member

    member = Member.objects.filter(user__username=username).first()
    member = member or member_create(username)
    team.members.add(member)
    return member


def team_create(
    slug: str = "payments",
    *,
    time_zone: str = "Africa/Nairobi",
    people: Iterable[str] = (),
):
    """A team (the demo's ``payments`` in Nairobi by default) with ``people``."""
    from scheduling.models import Team

    team = Team.objects.create(slug=slug, name=slug.title(), time_zone=time_zone)
    for username in people:
        member_join(team, username)
    return team


def rotation_create(
    team,
    members: Sequence,
    *,
    name: str = "weekly",
    now: dt.datetime | None = None,
    materialize: bool = True,
    **fields,
):
    """A rotation of ``members`` in that order (the paired scheme, weekly, from
    Monday 5 January 2026 09:00 team time unless ``fields`` say otherwise), its
    shifts materialized as seen at ``now``."""
    from scheduling.materialize import rotation_materialize
    from scheduling.models import Rotation, RotationParticipant

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


def rotation_starting_now(team, members: Sequence, *, name: str = "weekly"):
    """The paired weekly rotation of ``members`` whose first week began today at
    00:00 UTC: the first two are the primary and the secondary right now."""
    from django.utils import timezone

    today = timezone.now().astimezone(dt.UTC).date()
    return rotation_create(
        team,
        members,
        name=name,
        scheme="paired",
        shift_length=1,
        shift_unit="weeks",
        start_date=today,
        handoff_time=dt.time(0, 0),
        handoff_weekday=today.weekday(),
        time_zone="UTC",
    )


def integration_create(team, *, token: str = TOKEN):
    """The team's Alertmanager integration."""
    from alerts.intake.integrations import integration_create as create

    return create(team=team, name="prod", token=token).integration


def policy_create(team, *steps: dict, name: str = "standard", **fields):
    """An escalation policy of ``steps`` (``EscalationStep`` fields), in order."""
    from alerts.models import EscalationPolicy, EscalationStep

    policy = EscalationPolicy.objects.create(team=team, name=name, **fields)
    for position, step in enumerate(steps):
        EscalationStep.objects.create(policy=policy, position=position, **step)
    return policy


def who(team, at: dt.datetime) -> tuple[str | None, str | None]:
    """(primary, secondary) usernames on call for ``team`` at ``at``."""
    from scheduling.selectors import oncall_at

    answer = oncall_at(team=team, at=at)
    return (
        answer.primary and answer.primary.username,
        answer.secondary and answer.secondary.username,
    )


def paired_team():
    """Team ``payments`` (UTC) with alice and bob on a paired weekly rotation that
    began today: alice is the primary now, bob the secondary.  Returns
    (team, [alice, bob]).  For scripts outside pytest (benchmarks, child
    processes)."""
    team = team_create(time_zone="UTC", people=["alice", "bob"])
    members = list(team.members.order_by("user__username"))
    rotation_starting_now(team, members)
    return team, members
