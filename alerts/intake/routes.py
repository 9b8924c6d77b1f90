"""Routes and their label matchers: the writes the admin, the API and
configuration files (``oncall_apply``) share.

The rules, checked before anything is saved:

* matchers are Alertmanager's (``=``, ``!=``, ``=~``, ``!~``; a regex that does
  not compile is refused here, not when an alert arrives);
* a route's escalation policy is one of the route's team's (it pages that team's
  people);
* every integration keeps a catch-all route (no matchers), so an alert no route
  matches still reaches someone: the last one cannot get matchers or be deleted;
* a route stays with its integration;
* a write that changes nothing saves nothing (the same ``PUT`` twice).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from alerts.models import Integration, Route, RouteMatcher
from alerts.routing import Matcher, MatcherError, compile_matcher, parse_matcher
from scheduling.models import Team

# What a caller may set on a route besides its matchers.
ROUTE_FIELDS = ("slug", "name", "position", "team", "urgency", "escalation_policy")


def matchers_parse(texts: Sequence[str]) -> list[Matcher]:
    """Matchers in Alertmanager's syntax (``severity=~"critical|page"``);
    ``ValidationError`` under ``matchers`` naming the bad one."""
    try:
        return [parse_matcher(text) for text in texts]
    except MatcherError as exc:
        raise ValidationError({"matchers": [str(exc)]}) from None


def _catch_all_kept(route: Route, *, catch_all: bool) -> bool:
    """Whether the integration still has a catch-all if ``route`` is one or not
    (``catch_all``) -- or is gone (``catch_all=False`` for a delete)."""
    if catch_all:
        return True
    others = Route.objects.filter(
        integration_id=route.integration_id, matchers__isnull=True
    )
    if route.pk is not None:
        others = others.exclude(pk=route.pk)
    return others.exists()


def route_catch_all_problem(route: Route, *, catch_all: bool) -> str | None:
    """Why ``route`` may not become a non-catch-all, or None.  Only a route that
    is the integration's last catch-all has a problem."""
    if route.pk is None or _catch_all_kept(route, catch_all=catch_all):
        return None
    if route.matchers.exists():
        return None  # it was not a catch-all: the integration keeps its own
    return (
        "This is the integration's only catch-all route: add another route for "
        "these matchers instead, so unmatched alerts still reach someone."
    )


def route_policy_problem(route: Route) -> str | None:
    """Why the route's escalation policy does not fit it, or None."""
    policy = route.escalation_policy
    if policy is not None and policy.team_id != route.team_id:
        return (
            f"policy {policy.slug!r} belongs to another team than the route's "
            f"({route.team.slug})"
        )
    return None


def _check(route: Route, matchers: Sequence[Matcher]) -> None:
    errors: dict[str, list[str]] = {}
    try:
        route.full_clean(exclude=["integration", "team", "escalation_policy"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    taken = Route.objects.filter(slug=route.slug).exclude(pk=route.pk).exists()
    if route.slug and taken:
        errors["slug"] = [f"the slug {route.slug!r} is taken"]
    policy_problem = route_policy_problem(route)
    if policy_problem:
        errors["escalation_policy"] = [policy_problem]
    for matcher in matchers:
        try:
            compile_matcher(matcher.label, matcher.op, matcher.value)
        except MatcherError as exc:
            errors.setdefault("matchers", []).append(str(exc))
    problem = route_catch_all_problem(route, catch_all=not matchers)
    if problem:
        errors.setdefault("matchers", []).append(problem)
    if errors:
        raise ValidationError(errors)


def route_matchers(route: Route) -> list[Matcher]:
    """The route's matchers as they are stored, in order."""
    return _current(route)


def _current(route: Route) -> list[Matcher]:
    return [Matcher(m.label, m.op, m.value) for m in route.matchers.order_by("id")]


def _set_matchers(route: Route, matchers: Sequence[Matcher]) -> None:
    RouteMatcher.objects.filter(route=route).delete()
    RouteMatcher.objects.bulk_create(
        [
            RouteMatcher(route=route, label=m.label, op=m.op, value=m.value)
            for m in matchers
        ]
    )


def _next_position(integration: Integration) -> int:
    """After the other matcher routes, before the catch-all."""
    last = (
        integration.routes.filter(matchers__isnull=False)
        .order_by("-position")
        .values_list("position", flat=True)
        .first()
    )
    return (last or 0) + 10


@transaction.atomic
def route_create(
    *,
    integration: Integration,
    team: Team,
    matchers: Sequence[Matcher] = (),
    position: int | None = None,
    **fields: Any,
) -> Route:
    """A new route of ``integration``; without ``position`` it goes after the
    other matcher routes, before the catch-all.  ``ValidationError`` keyed by
    field."""
    _only(fields)
    if position is None:
        position = _next_position(integration)
    route = Route(integration=integration, team=team, position=position, **fields)
    return route_save(route=route, matchers=matchers)


@transaction.atomic
def route_save(*, route: Route, matchers: Sequence[Matcher]) -> Route:
    """Check and save ``route`` as its fields stand, with exactly ``matchers``
    (the admin's form sets the fields; ``route_create``/``route_update`` too)."""
    _check(route, matchers)
    route.save()
    if _current(route) != list(matchers):
        _set_matchers(route, matchers)
    return route


@transaction.atomic
def route_update(
    *, route: Route, matchers: Sequence[Matcher] | None = None, **fields: Any
) -> bool:
    """Change the given fields (and, with ``matchers``, make them exactly the
    route's).  Saves nothing when nothing differs; True if anything changed."""
    _only(fields)
    dirty = [f for f, v in fields.items() if getattr(route, f) != v]
    same_matchers = matchers is None or _current(route) == list(matchers)
    if not dirty and same_matchers:
        return False
    for field in dirty:
        setattr(route, field, fields[field])
    wanted = _current(route) if matchers is None else list(matchers)
    _check(route, wanted)
    if dirty:
        route.save(update_fields=dirty)
    if not same_matchers:
        _set_matchers(route, wanted)
    return True


def route_delete_problem(route: Route) -> str | None:
    """Why ``route`` may not be deleted (the integration's last catch-all)."""
    if not route.matchers.exists() and not _catch_all_kept(route, catch_all=False):
        return (
            "This is the integration's only catch-all route; it stays, so "
            "unmatched alerts still reach someone."
        )
    return None


@transaction.atomic
def route_delete(*, route: Route) -> None:
    """Delete a route; the integration's last catch-all is refused
    (``ValidationError``).  Incidents it routed keep their ``routing`` text."""
    problem = route_delete_problem(route)
    if problem:
        raise ValidationError(problem)
    route.delete()


def _only(fields: dict[str, Any]) -> None:
    unknown = set(fields) - set(ROUTE_FIELDS)
    if unknown:
        raise TypeError(f"not fields of a route: {sorted(unknown)}")
