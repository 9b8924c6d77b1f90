"""Team services: the writes on a team that carry a rule.

The admin and any API call these, so a team changed either way ends in the same
state.  The rules: a team is valid before it is saved (a free slug, a known time zone);
handoffs are local times, so a new time zone moves every future handoff of the
team's rotations, and their future shifts are regenerated.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction

from scheduling.materialize import MaterializeReport, rotations_materialize
from scheduling.models import Team
from scheduling.notices import shift_changes_noticed
from scheduling.version import schedule_changed


@dataclass(frozen=True)
class TeamUpdated:
    team: Team
    time_zone_changed: bool
    # What rematerializing the rotations did; None when the time zone stayed.
    materialized: MaterializeReport | None = None


@transaction.atomic
def team_update(
    *,
    team: Team,
    slug: str | None = None,
    name: str | None = None,
    time_zone: str | None = None,
    now: dt.datetime | None = None,
) -> TeamUpdated:
    """Save ``team`` with the given fields (those left None keep the value already
    on ``team``, so a caller that set them itself, like the admin's form, passes
    none) and, when the time zone differs from the stored one, regenerate the
    future shifts of its rotations.  Shifts under way are unchanged."""
    for field, value in (("slug", slug), ("name", name), ("time_zone", time_zone)):
        if value is not None:
            setattr(team, field, value)
    stored = (
        Team.objects.select_for_update()
        .filter(pk=team.pk)
        .values_list("time_zone", flat=True)
        .first()
    )
    # A new zone moves the handoffs of the next 24 hours too: whoever that moves
    # is told by SMS.
    with shift_changes_noticed(team=team, now=now):
        team.save()
        schedule_changed()  # the name is in feed titles
        if stored is None or stored == team.time_zone:
            return TeamUpdated(team=team, time_zone_changed=False)
        report = rotations_materialize(rotations=team.rotations.all(), now=now)
    return TeamUpdated(team=team, time_zone_changed=True, materialized=report)


@transaction.atomic
def team_create(*, slug: str, name: str, time_zone: str = "UTC") -> Team:
    """A new team (no members, no rotations yet).  ``ValidationError`` keyed by
    field for a slug in use, a bad slug or an unknown time zone."""
    team = Team(slug=slug, name=name, time_zone=time_zone)
    team.full_clean()
    team.save()
    return team


def team_put(
    *,
    team: Team,
    slug: str,
    name: str,
    time_zone: str,
    now: dt.datetime | None = None,
) -> TeamUpdated:
    """Make ``team`` exactly the given definition (an API ``PUT``): validated like
    a new team, saved only when something differs -- so applying the same
    definition twice changes nothing the second time."""
    if (team.slug, team.name, team.time_zone) == (slug, name, time_zone):
        return TeamUpdated(team=team, time_zone_changed=False)
    candidate = Team(pk=team.pk, slug=slug, name=name, time_zone=time_zone)
    candidate._state.adding = False  # the stored team: its own slug is no clash
    candidate.full_clean()
    return team_update(team=team, slug=slug, name=name, time_zone=time_zone, now=now)
