"""What the resource views share."""

from __future__ import annotations

from typing import Any

from rest_framework.filters import OrderingFilter
from rest_framework.request import Request

from scheduling.access.api_fields import CallerFilterSet as CallerFilterSet
from scheduling.access.api_fields import InstantFilter as InstantFilter

# The error shape and service errors live with the one detail view, which the
# alerts app's resources use too (it may not import this package).
from scheduling.access.views import ERROR as ERROR
from scheduling.access.views import Cursor
from scheduling.access.views import service_errors as service_errors


class CursorPage(Cursor):
    """Cursor pagination: a page deep in a large collection costs what the first
    does (no OFFSET, no COUNT), and rows added meanwhile neither repeat nor go
    missing.  ``?cursor=`` from ``next``/``previous``; ``?page_size=`` up to 500."""

    ordering = ("starts_at", "id")


class StableOrdering(OrderingFilter):
    """``?ordering=`` with the id as the tie-breaker, in the same direction: cursor
    pagination needs a total order, and shifts (a primary and a secondary) often
    start at the same instant."""

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> Any:
        ordering = super().get_ordering(request, queryset, view)
        if not ordering or ordering[-1].lstrip("-") == "id":
            return ordering
        return [*ordering, "-id" if ordering[0].startswith("-") else "id"]
