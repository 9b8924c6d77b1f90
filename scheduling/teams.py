"""Team services: the writes on a team that carry a rule.

The admin and any API call these, so a team changed either way ends in the same
state.  The rule today: handoffs are local times, so a new time zone moves every
future handoff of the team's rotations, and their future shifts are regenerated.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction

from scheduling.materialize import MaterializeReport, rotations_materialize
from scheduling.models import Team


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
    team.save()
    if stored is None or stored == team.time_zone:
        return TeamUpdated(team=team, time_zone_changed=False)
    report = rotations_materialize(rotations=team.rotations.all(), now=now)
    return TeamUpdated(team=team, time_zone_changed=True, materialized=report)
