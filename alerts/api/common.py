"""What the alerts app's configuration resources share: naming a team, an
integration or a policy in a body or a filter (one the caller may not read is
answered like one that does not exist: a 400 naming the field), instants that
refuse naive times, and filter sets that know who asks.

(The instant fields and ``CallerFilterSet`` come from ``scheduling.access.api_fields``,
shared with the scheduling side's resources.)
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from rest_framework import serializers

from alerts.models import EscalationPolicy, Integration
from scheduling.access import scoped_to_teams, teams_visible
from scheduling.access.api_fields import CallerFilterSet as CallerFilterSet
from scheduling.access.api_fields import InstantField as InstantField
from scheduling.access.api_fields import InstantFilter as InstantFilter
from scheduling.models import Team

User = AbstractBaseUser | AnonymousUser | None


def team_named(user: User, slug: str, *, field: str = "team") -> Team:
    team = teams_visible(user).filter(slug=slug).first()
    if team is None:
        raise serializers.ValidationError({field: [f"no team with slug {slug!r}"]})
    return team


def integration_named(
    user: User, slug: str, *, field: str = "integration"
) -> Integration:
    found = (
        scoped_to_teams(Integration.objects.select_related("team"), user=user)
        .filter(slug=slug)
        .first()
    )
    if found is None:
        raise serializers.ValidationError(
            {field: [f"no integration with slug {slug!r}"]}
        )
    return found


def policy_named(
    user: User, slug: str, *, field: str = "escalation_policy"
) -> EscalationPolicy:
    found = (
        scoped_to_teams(EscalationPolicy.objects.select_related("team"), user=user)
        .filter(slug=slug)
        .first()
    )
    if found is None:
        raise serializers.ValidationError({field: [f"no policy with slug {slug!r}"]})
    return found


def seconds(value: dt.timedelta) -> int:
    return int(value.total_seconds())
