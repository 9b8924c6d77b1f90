"""API fields and filters both apps' resources share: instants that refuse naive
times (``scheduling.timeparse``) as a serializer field, a form field and a filter,
and filter sets that know who asks.

Here, beside the one detail view (``scheduling/access/views.py``), because the
alerts app may import ``scheduling.access`` but not ``scheduling.resources`` or
``scheduling.serializers`` (see the import contracts).
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

from scheduling.timeparse import InstantError, parse_instant


@extend_schema_field(OpenApiTypes.DATETIME)
class InstantField(serializers.Field):
    """An ISO 8601 instant with a UTC offset; naive or malformed input is a 400
    naming the problem (see ``scheduling.timeparse``)."""

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
    """An ISO 8601 instant with an offset; naive input is refused, saying so."""

    def to_python(self, value: Any) -> dt.datetime | None:
        if value in (None, ""):
            return None
        try:
            return parse_instant(str(value))
        except InstantError as exc:
            # The message quotes the input; as a parameter, a "%" in it is text
            # (django-filter formats messages with their params: "%00" was a 500).
            raise forms.ValidationError(
                "%(problem)s", params={"problem": str(exc)}
            ) from None


class InstantFilter(django_filters.Filter):
    field_class = InstantFormField


class CallerFilterSet(django_filters.FilterSet):
    """A filter set whose filters depend on who asks."""

    @property
    def caller(self) -> AbstractBaseUser | AnonymousUser | None:
        # DRF's DjangoFilterBackend always passes the request; a filter set made
        # without one is asked by nobody, and the access rules show nobody's teams.
        return None if self.request is None else self.request.user
