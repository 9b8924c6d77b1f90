"""Member services: people (a user with a member profile) and the teams they are in.

The API, the admin and configuration-as-code call these, so the rules hold
everywhere:

* a member is a user account and a profile made together: a username nobody has,
  an E.164 phone, an IANA time zone;
* a team's rotations only hold the team's members, so taking someone out of a team
  whose rotation they are on is refused (take them off the rotation first) --
  otherwise the rotation would keep paging someone outside the team;
* writes that change nothing save nothing (an API ``PUT`` applied twice).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from scheduling.models import Member, RotationParticipant, Team, TeamMembership
from scheduling.version import schedule_changed


@dataclass(frozen=True)
class MemberChanged:
    member: Member
    changed: bool


def _split_name(name: str) -> tuple[str, str]:
    # Django's user keeps first and last name; get_full_name() joins them with a
    # space, so splitting at the first space gives the same name back.
    first, _, last = name.strip().partition(" ")
    return first, last.strip()


def _full_name(member: Member) -> str:
    return member.user.get_full_name()


@transaction.atomic
def member_create(
    *,
    username: str,
    name: str,
    phone: str,
    time_zone: str = "UTC",
    teams: Iterable[Team] = (),
    active: bool = True,
) -> Member:
    """A user account with its member profile, in ``teams``.  ``ValidationError``
    keyed by field (``username``, ``name``, ``phone``, ``time_zone``)."""
    User = get_user_model()
    first, last = _split_name(name)
    user = User(username=username, first_name=first, last_name=last)
    user.set_unusable_password()  # people sign in with API tokens or SSO, not here
    errors: dict[str, list[str]] = {}
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            key = "name" if field in ("first_name", "last_name") else field
            errors.setdefault(key, []).extend(messages)
    member = Member(phone=phone, time_zone=time_zone, active=active)
    try:
        member.full_clean(exclude=["user"])
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    user.save()
    member.user = user
    member.save()
    TeamMembership.objects.bulk_create(
        [TeamMembership(team=team, member=member) for team in _distinct(teams)]
    )
    return member


def _distinct(teams: Iterable[Team]) -> list[Team]:
    seen: dict[int, Team] = {}
    for team in teams:
        seen.setdefault(team.pk, team)
    return list(seen.values())


@transaction.atomic
def member_update(
    *,
    member: Member,
    name: str | None = None,
    phone: str | None = None,
    time_zone: str | None = None,
    active: bool | None = None,
    teams: Iterable[Team] | None = None,
    feed_busy: bool | None = None,
    feed_alarm_minutes: int | None = None,
) -> MemberChanged:
    """Change the given fields (None keeps a field) and, with ``teams``, make them
    exactly the member's teams.  Saves only what differs.  ``feed_alarm_minutes``
    of 0 turns the feed reminder off.

    Names, phones, time zones and feed options are in the iCal feeds, so a
    change bumps the schedule version (:func:`schedule_changed`)."""
    changed = False
    if name is not None and name.strip() != _full_name(member):
        first, last = _split_name(name)
        member.user.first_name, member.user.last_name = first, last
        try:
            member.user.full_clean(exclude=["password"])
        except ValidationError as exc:
            raise ValidationError(
                {"name": sum(exc.message_dict.values(), [])}
            ) from None
        member.user.save(update_fields=["first_name", "last_name"])
        changed = True
    fields = {
        "phone": phone,
        "time_zone": time_zone,
        "active": active,
        "feed_busy": feed_busy,
    }
    wanted: dict[str, object] = {f: v for f, v in fields.items() if v is not None}
    if feed_alarm_minutes is not None:
        wanted["feed_alarm_minutes"] = feed_alarm_minutes or None  # 0: off
    dirty = [f for f, v in wanted.items() if getattr(member, f) != v]
    if dirty:
        for field in dirty:
            setattr(member, field, wanted[field])
        member.full_clean(exclude=["user"])
        member.save(update_fields=dirty)
        changed = True
    if teams is not None:
        changed = membership_set(member=member, teams=teams) or changed
    if changed:
        schedule_changed()
    return MemberChanged(member=member, changed=changed)


def membership_add(*, team: Team, member: Member) -> bool:
    """Put ``member`` in ``team``; False if they already were."""
    _, created = TeamMembership.objects.get_or_create(team=team, member=member)
    if created:
        schedule_changed()  # a member's feed shows their teams
    return created


@transaction.atomic
def membership_remove(*, team: Team, member: Member) -> bool:
    """Take ``member`` out of ``team``; False if they were not in it.  Refused
    (``ValidationError``) while they are on one of the team's rotations."""
    rotations = list(
        RotationParticipant.objects.filter(
            member=member, rotation__team=team
        ).values_list("rotation__name", flat=True)
    )
    if rotations:
        names = ", ".join(repr(n) for n in sorted(rotations))
        raise ValidationError(
            {
                "teams": [
                    f"{member} is on {team.slug}'s rotation(s) {names}; take them "
                    "off the rotation first"
                ]
            }
        )
    deleted, _ = TeamMembership.objects.filter(team=team, member=member).delete()
    if deleted:
        schedule_changed()
    return bool(deleted)


@transaction.atomic
def membership_set(*, member: Member, teams: Iterable[Team]) -> bool:
    """Make ``teams`` exactly the member's teams; True if anything changed."""
    wanted = {team.pk: team for team in teams}
    current = set(
        TeamMembership.objects.filter(member=member).values_list("team_id", flat=True)
    )
    changed = False
    for team in Team.objects.filter(pk__in=current - set(wanted)):
        changed = membership_remove(team=team, member=member) or changed
    for team_id in set(wanted) - current:
        changed = membership_add(team=wanted[team_id], member=member) or changed
    return changed
