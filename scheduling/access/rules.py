"""The access rules, as plain functions of a user and an object.

Every rule starts from two facts: is the user staff, and which teams is the user
a member of (``TeamMembership`` through their ``Member`` profile).  Objects of
the ``alerts`` app (incidents) are judged by their ``team_id`` alone, so this
module never imports ``alerts``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, TypeVar

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Model, Q, QuerySet

from scheduling.models import (
    ApiToken,
    FeedToken,
    Member,
    Rotation,
    Team,
    TeamMembership,
)

if TYPE_CHECKING:
    from typing_extensions import TypeIs

User = AbstractBaseUser | AnonymousUser
M = TypeVar("M", bound=Model)


class TeamOwned(Protocol):
    """Anything that belongs to one team: an incident, a rotation, ..."""

    team_id: int


def user_is_staff(user: User | None) -> bool:
    """Staff may see and do everything.  Superusers count as staff."""
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and (getattr(user, "is_staff", False) or getattr(user, "is_superuser", False))
    )


def _signed_in(user: User | None) -> TypeIs[AbstractBaseUser]:
    return bool(user is not None and user.is_authenticated and user.is_active)


def _memberships(user: AbstractBaseUser) -> QuerySet[TeamMembership]:
    return TeamMembership.objects.filter(member__user_id=user.pk)


def teams_visible(user: User | None) -> QuerySet[Team]:
    """The teams whose schedules, incidents, pages and reports ``user`` may read."""
    if user_is_staff(user):
        return Team.objects.all()
    if not _signed_in(user):
        return Team.objects.none()
    return Team.objects.filter(pk__in=_memberships(user).values("team_id"))


def scoped_to_teams(
    queryset: QuerySet[M], *, user: User | None, field: str = "team"
) -> QuerySet[M]:
    """``queryset`` narrowed to rows of the teams ``user`` may read; ``field`` is
    the lookup path from the row to its team (e.g. ``"rotation__team"``)."""
    if user_is_staff(user):
        return queryset
    if not _signed_in(user):
        return queryset.none()
    return queryset.filter(**{f"{field}__in": _memberships(user).values("team_id")})


def team_can_read(user: User | None, team: Team) -> bool:
    """Read the team's schedule, who is on call, overrides, incidents, pages."""
    if user_is_staff(user):
        return True
    if not _signed_in(user):
        return False
    return _memberships(user).filter(team_id=team.pk).exists()


def team_can_edit_schedule(user: User | None, team: Team) -> bool:
    """Create and delete overrides and swaps on the team's rotations."""
    return team_can_read(user, team)


def team_can_manage_slos(user: User | None, team: Team) -> bool:
    """Create, change and delete the team's services and SLOs (and import them
    as OpenSLO): staff, or a member of the team.  An API token also needs the
    ``write`` scope (``permissions.SignedInWithScope``)."""
    return team_can_read(user, team)


def _team_id_readable(user: User | None, team_id: int) -> bool:
    if user_is_staff(user):
        return True
    if not _signed_in(user):
        return False
    return _memberships(user).filter(team_id=team_id).exists()


def incident_can_read(user: User | None, incident: TeamOwned) -> bool:
    """Read an incident, its alerts, pages and timeline."""
    return _team_id_readable(user, incident.team_id)


def incident_can_act(user: User | None, incident: TeamOwned) -> bool:
    """Acknowledge, resolve or escalate an incident."""
    return _team_id_readable(user, incident.team_id)


def members_visible(user: User | None) -> QuerySet[Member]:
    """Members ``user`` may read: themself and everyone sharing a team with them
    (a teammate's phone is what who-is-on-call shows anyway)."""
    if user_is_staff(user):
        return Member.objects.all()
    if not _signed_in(user):
        return Member.objects.none()
    return Member.objects.filter(
        Q(user_id=user.pk)
        | Q(
            pk__in=TeamMembership.objects.filter(
                team_id__in=_memberships(user).values("team_id")
            ).values("member_id")
        )
    ).distinct()


def member_can_read(user: User | None, member: Member) -> bool:
    return members_visible(user).filter(pk=member.pk).exists()


def member_can_manage(user: User | None, member: Member) -> bool:
    """Change a member's profile and contact methods: staff, or the member."""
    if user_is_staff(user):
        return True
    return _signed_in(user) and member.user_id == user.pk


def tokens_visible(user: User | None) -> QuerySet[ApiToken]:
    """API tokens ``user`` may list and revoke: their own and those they made
    (staff making service tokens); staff may revoke any."""
    if user_is_staff(user):
        return ApiToken.objects.all()
    if not _signed_in(user):
        return ApiToken.objects.none()
    return ApiToken.objects.filter(Q(user_id=user.pk) | Q(created_by_id=user.pk))


def token_can_issue_for(user: User | None, owner: AbstractBaseUser) -> bool:
    """Make a token for ``owner``: anyone for themself, staff for anyone."""
    if user_is_staff(user):
        return True
    return _signed_in(user) and owner.pk == user.pk


def team_can_configure(user: User | None, team: Team | None = None) -> bool:
    """Create or change configuration: teams, members and their teams, rotations,
    and (in ``alerts``) integrations, routes, escalation policies and maintenance
    windows.  Staff only: a member reads their team's configuration, and changes
    who is on call through overrides."""
    return user_is_staff(user)


# What a member may change on their own profile; the rest (name, active, teams)
# is staff's, because it decides who gets paged for what.
MEMBER_SELF_FIELDS = frozenset(
    {"phone", "time_zone", "feed_busy", "feed_alarm_minutes"}
)


def member_can_change(user: User | None, member: Member, fields: set[str]) -> bool:
    """Change ``fields`` of ``member``'s profile: staff anything, the member
    their own phone, time zone and feed options."""
    if user_is_staff(user):
        return True
    return member_can_manage(user, member) and fields <= MEMBER_SELF_FIELDS


def feeds_visible(user: User | None) -> QuerySet[FeedToken]:
    """Live iCal feeds ``user`` may list, revoke and rotate: their own (staff:
    every feed)."""
    live = FeedToken.objects.filter(revoked_at__isnull=True)
    if user_is_staff(user):
        return live
    if not _signed_in(user):
        return live.none()
    return live.filter(owner_id=user.pk)


def feed_can_create(user: User | None, subject: Member | Team | Rotation) -> bool:
    """Make a feed of ``subject``: a member's own (staff: anyone's), a team's or
    a rotation's for a member of that team."""
    if user_is_staff(user):
        return True
    if not _signed_in(user):
        return False
    if isinstance(subject, Member):
        return subject.user_id == user.pk
    team_id = subject.pk if isinstance(subject, Team) else subject.team_id
    return _team_id_readable(user, team_id)
