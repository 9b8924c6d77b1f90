"""What the alerts app's configuration resources share: naming a team, an
integration or a policy in a body or a filter (one the caller may not read is
answered like one that does not exist: a 400 naming the field), instants that
refuse naive times, and filter sets that know who asks.

(``scheduling.resources.common`` has the scheduling side's twins; this app may
not import that package -- see the import contracts.)
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
from django import forms
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from alerts.models import EscalationPolicy, Integration
from scheduling.access import scoped_to_teams, teams_visible
from scheduling.models import Team
from scheduling.timeparse import InstantError, parse_instant

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


@extend_schema_field(OpenApiTypes.DATETIME)
class InstantField(serializers.Field):
    """An ISO 8601 instant with a UTC offset; naive or malformed input is a 400
    naming the problem (``scheduling.timeparse``)."""

    default_error_messages = {"invalid": "{message}"}

    def to_internal_value(self, data: object) -> dt.datetime:
        if not isinstance(data, str):
            self.fail("invalid", message="expected an ISO 8601 string")
        try:
            return parse_instant(data)
        except InstantError as exc:
            self.fail("invalid", message=str(exc))

    def to_representation(self, value: dt.datetime) -> str:
        return serializers.DateTimeField().to_representation(value)


class InstantFormField(forms.Field):
    def to_python(self, value: Any) -> dt.datetime | None:
        if value in (None, ""):
            return None
        try:
            return parse_instant(str(value))
        except InstantError as exc:
            # As a parameter, a "%" in the quoted input is text (django-filter
            # formats messages with their params: "%00" was a 500).
            raise forms.ValidationError(
                "%(problem)s", params={"problem": str(exc)}
            ) from None


class InstantFilter(django_filters.Filter):
    field_class = InstantFormField


class CallerFilterSet(django_filters.FilterSet):
    @property
    def caller(self) -> User:
        return None if self.request is None else self.request.user


def seconds(value: dt.timedelta) -> int:
    return int(value.total_seconds())
