"""The rules of ``rules.py`` as DRF permission classes and view helpers.

``SignedInWithScope`` is the API's default permission class (settings):
anonymous requests get a 401, and a request authenticated by an API token may
only do what the token's scopes allow (``read`` for safe methods, ``write`` for
the rest; a 403 otherwise); a view's ``read_scopes`` adds narrower scopes that
may read it (the deploy gate's ``deploy-gate``).  Views then look objects up
through the scoped helpers here, so an object of a team the caller cannot read
is a 404, and ask the write rules for a 403.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.db.models import Model, QuerySet
from django.http import Http404
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission

from scheduling.access.rules import (
    M,
    scoped_to_teams,
    team_can_configure,
    teams_visible,
    user_is_staff,
)
from scheduling.models import Team

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

READ = "read"
WRITE = "write"


def request_scopes(request: Request) -> frozenset[str] | None:
    """The scopes of the API token behind ``request``; ``None`` when the request
    was not authenticated by a token (a browser session may do what its user may)."""
    scopes = getattr(request.auth, "scopes", None)
    return None if scopes is None else frozenset(scopes)


def _needed_scope(method: str) -> str:
    return READ if method in SAFE_METHODS else WRITE


class SignedInWithScope(BasePermission):
    """Signed in, and the token (if any) carries the method's scope."""

    message = "this token does not have the scope for this request"

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        scopes = request_scopes(request)
        if scopes is None:
            return True
        needed = _needed_scope(request.method or "GET")
        # A view may also accept narrower read scopes (the deploy gate takes
        # "deploy-gate"), never for a write.
        if needed == READ and scopes & frozenset(getattr(view, "read_scopes", ())):
            return True
        if needed not in scopes:
            self.message = f"this token lacks the {needed!r} scope"
            return False
        return True


class StaffOnly(SignedInWithScope):
    """Staff only (creating teams and members); others get a 403."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not super().has_permission(request, view):
            return False
        if not user_is_staff(request.user):
            self.message = "only staff may do this"
            return False
        return True


def visible_team_or_404(request: Request, slug: str) -> Team:
    """The team ``slug`` if the caller may read it; a 404 for a team that does not
    exist and for one the caller may not know exists, alike."""
    team = teams_visible(request.user).filter(slug=slug).first()
    if team is None:
        raise Http404("no such team")
    return team


def scoped_or_404(
    request: Request, queryset: QuerySet[M], *, field: str = "team", **lookup: object
) -> M:
    """The one row of ``queryset`` matching ``lookup`` among the teams the caller
    may read, else a 404."""
    obj = (
        scoped_to_teams(queryset, user=request.user, field=field)
        .filter(**lookup)
        .first()
    )
    if obj is None:
        raise Http404("not found")
    return obj


def require(request: Request, rule: Callable[..., bool], obj: Model) -> None:
    """403 unless ``rule(user, obj)``: the caller may see ``obj`` but not change it."""
    if not rule(request.user, obj):
        raise PermissionDenied("you may see this but not change it")


def by_key_or_404(queryset: QuerySet[M], key: str, *, slug_field: str = "slug") -> M:
    """The row of ``queryset`` (already scoped to what the caller may read) that
    ``key`` names: a slug (or username) first, else an id when ``key`` is all
    digits -- so a team whose slug is "42" stays reachable by its slug.  A 404
    otherwise."""
    obj = queryset.filter(**{slug_field: key}).first()
    # isascii: str.isdigit() is true for "²", which int() refuses.
    if obj is None and key.isascii() and key.isdigit() and len(key) < 19:
        obj = queryset.filter(pk=int(key)).first()
    if obj is None:
        raise Http404("not found")
    return obj


def require_staff_config(request: Request) -> None:
    """403 unless the caller may change configuration (staff)."""
    if not team_can_configure(request.user):
        raise PermissionDenied("only staff may change configuration")
