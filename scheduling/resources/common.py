"""What the resource views share."""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
from django import forms
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request

# The error shape and service errors live with the one detail view, which the
# alerts app's resources use too (it may not import this package).
from scheduling.access.views import ERROR as ERROR
from scheduling.access.views import Cursor
from scheduling.access.views import service_errors as service_errors
from scheduling.timeparse import InstantError, parse_instant


class CursorPage(Cursor):
    """Cursor pagination: a page deep in a large collection costs what the first
    does (no OFFSET, no COUNT), and rows added meanwhile neither repeat nor go
    missing.  ``?cursor=`` from ``next``/``previous``; ``?page_size=`` up to 500."""

    ordering = ("starts_at", "id")


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


class StableOrdering(OrderingFilter):
    """``?ordering=`` with the id as the tie-breaker, in the same direction: cursor
    pagination needs a total order, and shifts (a primary and a secondary) often
    start at the same instant."""

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> Any:
        ordering = super().get_ordering(request, queryset, view)
        if not ordering or ordering[-1].lstrip("-") == "id":
            return ordering
        return [*ordering, "-id" if ordering[0].startswith("-") else "id"]
