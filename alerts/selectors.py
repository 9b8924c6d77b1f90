"""Reads: routes as plain rules, maintenance windows, incident lists, the numbers
to reach a member on."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce

from alerts.models import (
    ContactMethod,
    Incident,
    IncidentAlert,
    MaintenanceWindow,
    Route,
)
from alerts.routing import Matcher, RouteRule
from scheduling.models import Member


def route_rules(*, integration_id: int) -> list[RouteRule]:
    """The integration's routes in order, with their matchers: two queries."""
    routes = Route.objects.filter(integration_id=integration_id).prefetch_related(
        "matchers"
    )
    return [
        RouteRule(
            id=route.pk,
            number=number,
            name=route.name,
            team_id=route.team_id,
            urgency=route.urgency,
            matchers=tuple(
                Matcher(m.label, m.op, m.value) for m in route.matchers.all()
            ),
        )
        for number, route in enumerate(routes, start=1)
    ]


def maintenance_active(
    *, integration_id: int, team_id: int, at: datetime
) -> MaintenanceWindow | None:
    """The window (of the integration or of the team) covering ``at``, if any."""
    return (
        MaintenanceWindow.objects.filter(
            Q(integration_id=integration_id) | Q(team_id=team_id),
            starts_at__lte=at,
            ends_at__gt=at,
        )
        .order_by("-ends_at")
        .first()
    )


def maintenance_active_for(
    *, incidents: Iterable[Incident], at: datetime
) -> dict[int, MaintenanceWindow]:
    """:func:`maintenance_active` for many incidents in one query: incident id ->
    the covering window (the one ending last), for those that have one."""
    incidents = list(incidents)
    if not incidents:
        return {}
    windows = list(
        MaintenanceWindow.objects.filter(
            Q(integration_id__in={i.integration_id for i in incidents})
            | Q(team_id__in={i.team_id for i in incidents}),
            starts_at__lte=at,
            ends_at__gt=at,
        ).order_by("-ends_at")
    )
    found: dict[int, MaintenanceWindow] = {}
    if not windows:
        return found
    for incident in incidents:
        for window in windows:
            if (
                window.integration_id is not None
                and window.integration_id == incident.integration_id
            ) or (window.team_id is not None and window.team_id == incident.team_id):
                found[incident.pk] = window
                break
    return found


def maintenance_upcoming(
    *, team_id: int, start: datetime, end: datetime
) -> QuerySet[MaintenanceWindow]:
    """Windows of the team or of its integrations overlapping [start, end): what a
    handoff note lists."""
    return MaintenanceWindow.objects.filter(
        Q(team_id=team_id) | Q(integration__team_id=team_id),
        starts_at__lt=end,
        ends_at__gt=start,
    ).order_by("starts_at")


def _alert_count(**filters: str) -> Coalesce:
    counted = (
        IncidentAlert.objects.filter(incident=OuterRef("pk"), **filters)
        .order_by()
        .values("incident")
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(counted), 0)


INCIDENT_LIST_COLUMNS = (
    *(field.name for field in Incident._meta.concrete_fields),
    "team__slug",
    "integration__name",
    "acknowledged_by__user__username",
    "resolved_by__user__username",
    "escalation__state",
    "escalation__next_step",
    "escalation__next_round",
    "escalation__next_action_at",
)


def incident_list(
    *,
    team_slug: str | None = None,
    statuses: list[str] | None = None,
    since: datetime | None = None,
) -> QuerySet[Incident]:
    qs = (
        Incident.objects.select_related(
            "team",
            "integration",
            "acknowledged_by__user",
            "resolved_by__user",
            "escalation",
        )
        # The related rows' columns that the API shows, not whole rows: building
        # full users, members and policy snapshots for 50 incidents was half of
        # the list's CPU (bench/api_incidents.py).
        .only(*INCIDENT_LIST_COLUMNS)
        .annotate(
            escalation_policy_name=KeyTextTransform("name", "escalation__snapshot")
        )
    ).annotate(
        # Correlated subqueries, not COUNT ... GROUP BY: the database counts the
        # alerts of the page's rows only, instead of aggregating every incident
        # of the team before it can sort and cut a page (100,000 incidents: the
        # first page went from hundreds of milliseconds to a few).
        alerts_total=_alert_count(),
        alerts_firing=_alert_count(status="firing"),
    )
    if team_slug:
        qs = qs.filter(team__slug=team_slug)
    if statuses:
        qs = qs.filter(status__in=statuses)
    if since:
        # Active at some point since then: opened since, resolved since, or still open.
        qs = qs.filter(
            Q(opened_at__gte=since)
            | Q(resolved_at__gte=since)
            | Q(resolved_at__isnull=True)
        )
    return qs.order_by("-opened_at", "-id")


def member_numbers(
    *, member: Member, channel: str, methods: list[ContactMethod] | None = None
) -> list[tuple[ContactMethod | None, str]]:
    """The numbers to try for ``channel``, in order, broken ones left out.

    A member without contact methods is reached on ``Member.phone``.  ``methods``:
    the member's contact methods when the caller read them already (a batch).
    """
    if methods is None:
        methods = list(member.contact_methods.all())
    if not methods:
        return [(None, member.phone)] if member.phone else []
    return [
        (method, method.phone)
        for method in methods
        if method.broken_at is None and getattr(method, channel)
    ]


def member_sms_number(member: Member) -> str | None:
    """The number a text for ``member`` goes to (reminders, notices, handoff
    notes): their first SMS contact method that is not broken, or
    ``Member.phone`` when they have no contact methods; ``None`` when there is
    none (imported people may have no number at all)."""
    numbers = member_numbers(member=member, channel="sms")
    return numbers[0][1] if numbers else None
