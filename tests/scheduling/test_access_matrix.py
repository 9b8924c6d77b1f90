"""The permission matrix: every API endpoint × method × role, cell by cell.

The endpoints come from the URL conf itself, so a new endpoint (or a new method on
one) without a row in ``RULES`` fails ``test_every_endpoint_has_a_rule`` and its
own cells: nobody can add an endpoint and forget to decide who may use it.

Roles: ``anonymous``; ``outsider`` (a member of another team); ``member`` (alice,
a member of payments, the team every object below belongs to); ``member_read``
(alice with a read-only token); ``staff``.  Everyone signed in calls with an API
token (``Authorization: Bearer``), as scripts do.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient
from rest_framework.views import APIView

from alerts.handoff.actions import handoff_submit
from alerts.handoff.draft import handoffs_draft_for
from alerts.incidents.state import IncidentSpec, incident_open, incident_resolve
from alerts.intake.integrations import integration_create, route_add
from alerts.models import (
    SLO,
    ActionItem,
    ContactMethod,
    EscalationPolicy,
    HandoffNote,
    Incident,
    Integration,
    MaintenanceWindow,
    Postmortem,
    Route,
)
from alerts.postmortems.draft import postmortem_for_incident, postmortem_link_incident
from alerts.postmortems.items import action_item_add
from alerts.slos.setup import service_create, slo_create
from scheduling.feeds import feed_create
from scheduling.models import (
    ApiToken,
    FeedToken,
    Member,
    Override,
    Rotation,
    Team,
    TeamMembership,
)
from scheduling.overrides import override_create
from scheduling.pay.closing import month_close
from scheduling.tokens import api_token_create
from tests.api_client import bearer_client
from tests.cast import policy_create, utc

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "outsider", "member", "member_read", "staff")
API_PREFIX = "api/v1/"


def _walk(patterns: list, prefix: str = "") -> list[tuple[str, Any, str]]:
    found = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found += _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            found.append((route, pattern.callback, pattern.name))
    return found


def _methods(callback: Any) -> list[str]:
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view_class is None:
        # A plain function view: the webhooks, which only take POST.
        return ["post"]
    assert issubclass(view_class, APIView), view_class
    return [
        m
        for m in view_class.http_method_names
        if m not in ("options", "head") and hasattr(view_class, m)
    ]


def api_endpoints() -> list[tuple[str, str]]:
    """(route name, method) of every API operation in the URL conf."""
    return sorted(
        (name, method)
        for route, callback, name in _walk(get_resolver().url_patterns)
        if route.startswith(API_PREFIX)
        for method in _methods(callback)
    )


def cells(
    *,
    anonymous: int = 401,
    outsider: int = 404,
    member: int,
    member_read: int | None = None,
    staff: int,
) -> dict[str, int]:
    """``member_read`` defaults to what a read-only token gets: the member's answer
    for reads, 403 for writes (it may see, not change)."""
    return {
        "anonymous": anonymous,
        "outsider": outsider,
        "member": member,
        "member_read": member if member_read is None else member_read,
        "staff": staff,
    }


READ = cells(member=200, staff=200)
ACT = cells(member=200, member_read=403, staff=200)
CREATE = cells(member=201, member_read=403, staff=201)
DELETE = cells(member=204, member_read=403, staff=204)
# Tokens: everyone signed in manages their own; another's token is a 404.
OWN_TOKENS_LIST = cells(outsider=200, member=200, staff=200)
OWN_TOKENS_CREATE = cells(outsider=201, member=201, member_read=403, staff=201)
# The webhooks authenticate the sender by the integration's token, never by a
# user: a session or API token of any role changes nothing.
WEBHOOK_HEADER = dict.fromkeys(ROLES, 401)
WEBHOOK_PATH = dict.fromkeys(ROLES, 404)

# Filtering by a team the caller may not read is answered exactly like filtering
# by a team that does not exist: a 400 naming the filter.
LIST_BY_TEAM = {**READ, "outsider": 400}
# Configuration (teams, members, rotations, ...): staff change it; a member may
# read it but not change it (403); another team's member does not see it (404).
CONFIG_CHANGE = cells(member=403, staff=200)
CONFIG_DELETE = cells(member=403, staff=204)
# Creating where no team's object is looked up first: 403 for everyone not staff.
STAFF_CREATE = cells(outsider=403, member=403, staff=201)
# Lists scoped to what the caller may read: an outsider gets their own (200).
OWN_LIST = cells(outsider=200, member=200, staff=200)

RULES: dict[tuple[str, str], dict[str, int]] = {
    ("team-oncall", "get"): READ,
    ("team-schedule", "get"): READ,
    ("team-conflicts", "get"): READ,
    ("team-overrides", "get"): READ,
    ("team-overrides", "post"): CREATE,
    ("override-detail", "delete"): DELETE,
    ("incident-list", "get"): LIST_BY_TEAM,
    ("incident-detail", "get"): READ,
    ("incident-alerts", "get"): READ,
    ("incident-timeline", "get"): READ,
    ("incident-pages", "get"): READ,
    ("incident-ack", "post"): ACT,
    ("incident-resolve", "post"): ACT,
    ("incident-escalate", "post"): ACT,
    ("token-list", "get"): OWN_TOKENS_LIST,
    ("token-list", "post"): OWN_TOKENS_CREATE,
    ("token-detail", "delete"): DELETE,
    ("team-list", "get"): OWN_LIST,
    ("team-list", "post"): STAFF_CREATE,
    ("team-detail", "get"): READ,
    ("team-detail", "put"): CONFIG_CHANGE,
    ("team-detail", "patch"): CONFIG_CHANGE,
    ("team-members", "get"): READ,
    ("team-members", "post"): cells(member=403, staff=201),
    ("team-member-detail", "delete"): CONFIG_DELETE,
    ("member-list", "get"): OWN_LIST,
    ("member-list", "post"): STAFF_CREATE,
    ("member-detail", "get"): READ,
    ("member-detail", "put"): CONFIG_CHANGE,
    # alice changes her own phone; a read-only token may not.
    ("member-detail", "patch"): cells(member=200, member_read=403, staff=200),
    ("rotation-list", "get"): LIST_BY_TEAM,
    ("rotation-list", "post"): STAFF_CREATE,
    ("rotation-detail", "get"): READ,
    ("rotation-detail", "put"): CONFIG_CHANGE,
    ("rotation-detail", "patch"): CONFIG_CHANGE,
    ("rotation-detail", "delete"): CONFIG_DELETE,
    # A preview saves nothing, but it is a POST: a read-only token may not.
    ("rotation-preview", "post"): cells(
        outsider=400, member=200, member_read=403, staff=200
    ),
    ("shift-list", "get"): LIST_BY_TEAM,
    # alice's own numbers: she manages them (a teammate would get a 403).
    ("member-contact-methods", "get"): READ,
    ("member-contact-methods", "post"): CREATE,
    ("contact-method-detail", "get"): READ,
    ("contact-method-detail", "put"): ACT,
    ("contact-method-detail", "patch"): ACT,
    ("contact-method-detail", "delete"): DELETE,
    ("integration-list", "get"): OWN_LIST,
    ("integration-list", "post"): STAFF_CREATE,
    ("integration-detail", "get"): READ,
    ("integration-rotate", "post"): CONFIG_CHANGE,
    ("integration-detail", "put"): CONFIG_CHANGE,
    ("integration-detail", "patch"): CONFIG_CHANGE,
    ("integration-detail", "delete"): CONFIG_DELETE,
    ("route-list", "get"): LIST_BY_TEAM,
    ("route-list", "post"): STAFF_CREATE,
    ("route-detail", "get"): READ,
    ("route-detail", "put"): CONFIG_CHANGE,
    ("route-detail", "patch"): CONFIG_CHANGE,
    ("route-detail", "delete"): CONFIG_DELETE,
    ("escalation-policy-list", "get"): LIST_BY_TEAM,
    ("escalation-policy-list", "post"): STAFF_CREATE,
    ("escalation-policy-detail", "get"): READ,
    ("escalation-policy-detail", "put"): CONFIG_CHANGE,
    ("escalation-policy-detail", "patch"): CONFIG_CHANGE,
    ("escalation-policy-detail", "delete"): CONFIG_DELETE,
    ("maintenance-window-list", "get"): LIST_BY_TEAM,
    ("maintenance-window-list", "post"): STAFF_CREATE,
    ("maintenance-window-detail", "get"): READ,
    ("maintenance-window-detail", "put"): CONFIG_CHANGE,
    ("maintenance-window-detail", "patch"): CONFIG_CHANGE,
    ("maintenance-window-detail", "delete"): CONFIG_DELETE,
    # Feeds: everyone lists their own; a team's feed needs the team (another
    # team is the 400 of an unknown one); another's feed is a 404.
    ("feed-list", "get"): OWN_TOKENS_LIST,
    ("feed-list", "post"): {**CREATE, "outsider": 400},
    ("feed-detail", "delete"): DELETE,
    ("feed-rotate", "post"): ACT,
    # Reports: scoped to the teams the caller reads; another team's is the 400
    # of an unknown one, like the incident list's filter.
    ("report-page-load", "get"): LIST_BY_TEAM,
    ("report-incidents", "get"): LIST_BY_TEAM,
    ("report-alert-quality", "get"): LIST_BY_TEAM,
    # The thresholds those reports judge by: read by the team, changed by staff.
    ("team-insight-settings", "get"): READ,
    ("team-insight-settings", "put"): CONFIG_CHANGE,
    ("team-insight-settings", "patch"): CONFIG_CHANGE,
    # Handoff notes: read by the team; alice edits and submits the note she
    # writes (charlie's), acknowledges the one addressed to her (frank's).
    # Postmortems: drafted from a resolved incident (201), read by the team, action
    # items added by its members; the overdue list is filtered by team.
    ("incident-postmortem", "post"): CREATE,
    ("postmortem-detail", "get"): READ,
    ("postmortem-detail", "patch"): ACT,
    ("action-item-detail", "patch"): ACT,
    ("postmortem-action-items", "post"): CREATE,
    ("postmortem-overdue", "get"): LIST_BY_TEAM,
    # The list is filtered by team like the incident list; linking takes a
    # resolved incident of the team (world.resolved), unlinking one linked
    # beside the incident the postmortem was drafted from (world.linked).
    ("postmortem-list", "get"): LIST_BY_TEAM,
    ("postmortem-incidents", "post"): CREATE,
    ("postmortem-incident-detail", "delete"): DELETE,
    ("handoff-list-api", "get"): LIST_BY_TEAM,
    ("handoff-detail", "get"): READ,
    ("handoff-detail", "patch"): ACT,
    ("handoff-submit", "post"): ACT,
    ("handoff-acknowledge", "post"): ACT,
    # SLOs: the gate is read by the team (and by a deploy-gate token:
    # tests/alerts/api/test_slos_api.py); recording a deploy is a write.
    ("service-deploy-gate", "get"): READ,
    ("service-deploys", "post"): CREATE,
    ("slo-list", "get"): OWN_LIST,
    ("slo-rules", "get"): OWN_LIST,
    # Services and SLOs: the owning team's members change them (with a write
    # token), like staff; naming a team or service one cannot read is a 400.
    ("service-list", "get"): OWN_LIST,
    ("service-list", "post"): {**CREATE, "outsider": 400},
    ("service-detail", "get"): READ,
    ("service-detail", "put"): ACT,
    ("service-detail", "patch"): ACT,
    ("service-detail", "delete"): DELETE,
    ("slo-list", "post"): {**CREATE, "outsider": 400},
    ("slo-detail", "get"): READ,
    ("slo-detail", "put"): ACT,
    ("slo-detail", "patch"): ACT,
    ("slo-detail", "delete"): DELETE,
    ("slo-openslo-export", "get"): OWN_LIST,
    ("slo-openslo-import", "post"): {**ACT, "outsider": 400},
    ("alertmanager-webhook", "post"): WEBHOOK_HEADER,
    ("alertmanager-webhook-token", "post"): WEBHOOK_PATH,
    # Pay: a member reads the team's report and statements (their own lines
    # only: tests/scheduling/pay/test_pay_api.py); closing and reopening a month
    # are staff's, refused before any team is looked up.
    ("report-stipends", "get"): READ,
    ("report-stipend-statements", "get"): READ,
    ("report-stipends-close", "post"): cells(outsider=403, member=403, staff=201),
    ("report-stipends-reopen", "post"): cells(outsider=403, member=403, staff=200),
}


@dataclass
class World:
    team: Team
    incident: Incident
    override: Override
    rotation: Rotation
    future_rotation: Rotation  # no history: staff may delete it
    contact_method: ContactMethod  # alice's
    spare_token: ApiToken  # alice's, for the revoke cells
    feed: FeedToken  # alice's, for the revoke and rotate cells
    route: Route  # a matcher route of the integration (deletable)
    policy: EscalationPolicy
    window: MaintenanceWindow
    spare_integration: Integration  # no incidents: staff may delete it
    note_from_alice: HandoffNote  # a draft, alice -> charlie
    note_to_alice: HandoffNote  # submitted, frank -> alice
    resolved: Incident  # resolved, no postmortem yet
    postmortem: Postmortem  # of another resolved incident
    action_item: ActionItem  # of that postmortem
    linked: Incident  # resolved, linked to that postmortem beside its own
    slo: SLO  # of payments-api, never evaluated (the gate fails open)
    clients: dict[str, APIClient]


@pytest.fixture
def world(payments, make_rotation, make_member, published) -> World:
    team, people = payments
    rotation = make_rotation(team, people, now=utc(2026, 1, 1))
    override = override_create(
        rotation=rotation,
        role="primary",
        member=people[4],
        starts_at=utc(2026, 1, 6, 6),
        ends_at=utc(2026, 1, 7, 6),
        reason="dentist",
        created_by=None,
    )
    integration: Integration = integration_create(team=team, name="prod").integration
    with transaction.atomic():
        incident = incident_open(
            integration=integration,
            spec=IncidentSpec(
                group_key='{}:{alertname="HighErrorRate"}',
                title="HighErrorRate",
                team_id=team.pk,
                route_id=integration.routes.first().pk,
                routing="test",
                urgency="high",
                group_labels={"alertname": "HighErrorRate"},
                common_labels={"alertname": "HighErrorRate"},
                common_annotations={},
            ),
        )
    future = make_rotation(
        team, people[:2], name="future", start_date=dt.date(2099, 1, 5)
    )
    # In payments but on no rotation: staff may take gus out of the team.
    TeamMembership.objects.create(team=team, member=make_member("gus"))
    contact = ContactMethod.objects.create(member=people[0], phone="+254700000501")
    checkout = Team.objects.create(slug="checkout", name="Checkout")
    zoe: Member = make_member("zoe")
    TeamMembership.objects.create(team=checkout, member=zoe)
    staff = get_user_model().objects.create_user("ops", is_staff=True)
    alice = people[0].user
    clients = {
        "anonymous": APIClient(),
        "outsider": bearer_client(zoe.user),
        "member": bearer_client(alice),
        "member_read": bearer_client(alice, scopes=("read",)),
        "staff": bearer_client(staff),
    }
    spare_token = api_token_create(
        user=alice, name="spare", scopes=["read"], created_by=alice, now=utc(2026, 1, 1)
    ).token
    feed = feed_create(subject=people[0], owner=alice, created_by=alice).feed
    route = route_add(
        integration=integration, team=team, matchers=['severity="critical"']
    )
    policy = policy_create(team, {"target": "primary", "channel": "sms"})
    window = MaintenanceWindow.objects.create(
        team=team,
        starts_at=utc(2026, 3, 1),
        ends_at=utc(2026, 3, 2),
        reason="upgrade",
    )
    spare = integration_create(team=team, name="spare").integration
    # A closed month, for the reopen cells.
    month_close(team=team, year=2025, month=12, now=utc(2026, 1, 2))
    [from_alice, _] = handoffs_draft_for(
        team=team, start=utc(2026, 1, 12), end=utc(2026, 1, 12, 7)
    )
    [_, to_alice] = handoffs_draft_for(
        team=team, start=utc(2026, 1, 26), end=utc(2026, 1, 26, 7)
    )
    assert (from_alice.outgoing, to_alice.incoming) == (people[0], people[0])
    to_alice = handoff_submit(note=to_alice, now=utc(2026, 1, 26, 7))
    resolved = []
    for name in ("DiskFull", "QueueBacklog", "Linked"):
        with transaction.atomic():
            opened = incident_open(
                integration=integration,
                spec=IncidentSpec(
                    group_key=f'{{}}:{{alertname="{name}"}}',
                    title=name,
                    team_id=team.pk,
                    route_id=integration.routes.first().pk,
                    routing="test",
                    urgency="high",
                    group_labels={"alertname": name},
                    common_labels={"alertname": name},
                    common_annotations={},
                ),
            )
        resolved.append(incident_resolve(incident=opened, by=people[0]))
    postmortem, _ = postmortem_for_incident(incident=resolved[1])
    postmortem_link_incident(postmortem=postmortem, incident=resolved[2])
    action_item = action_item_add(
        postmortem=postmortem,
        text="Alert on queue depth",
        owner=people[1],
        priority="P1",
        due=dt.date(2026, 2, 1),
    )
    # An SLO never evaluated: the gate fails open (allows), so the deploy cells
    # are about access alone.
    service = service_create(
        slug="payments-api",
        name="Payments API",
        team=team,
        match_labels={"service": "payments-api"},
    )
    slo = slo_create(service=service, name="availability", objective="99.9")
    return World(
        team=team,
        incident=incident,
        override=override,
        rotation=rotation,
        future_rotation=future,
        contact_method=contact,
        spare_token=spare_token,
        feed=feed,
        route=route,
        policy=policy,
        window=window,
        spare_integration=spare,
        note_from_alice=from_alice,
        note_to_alice=to_alice,
        resolved=resolved[0],
        postmortem=postmortem,
        action_item=action_item,
        linked=resolved[2],
        slo=slo,
        clients=clients,
    )


REPORT_QUERY = "team=payments&from=2026-01-01&to=2026-01-31"
SERVICE_BODY = {
    "slug": "payments-api",
    "name": "Payments API",
    "team": "payments",
    "match_labels": {"service": "payments-api"},
}
SLO_BODY = {"service": "payments-api", "name": "availability", "objective": "99.9"}
OPENSLO = """\
apiVersion: openslo/v1
kind: SLO
metadata: {name: requests}
spec:
  service: payments-api
  indicator:
    metadata: {name: requests}
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource:
            type: Prometheus
            spec: {query: 'http_requests_total{code!~"5.."}'}
        total:
          metricSource: {type: Prometheus, spec: {query: http_requests_total}}
  timeWindow: [{duration: 30d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.999}]
"""
TEAM_BODY = {"slug": "payments", "name": "Payments", "time_zone": "Africa/Nairobi"}
WINDOW_BODY = {
    "team": "payments",
    "starts_at": "2026-03-01T00:00:00Z",
    "ends_at": "2026-03-02T00:00:00+03:00",
    "reason": "upgrade",
}
ROTATION_BODY = {
    "team": "payments",
    "name": "weekly",
    "participants": ["alice", "bob", "charlie", "david", "eve", "frank"],
    "start_date": "2026-01-05",
}


def _request(name: str, method: str, world: World) -> tuple[str, dict | None]:
    """The path and body of one call of the operation, on payments' objects."""
    incident = world.incident.pk
    paths = {
        "team-oncall": "/api/v1/teams/payments/oncall/",
        "team-schedule": "/api/v1/teams/payments/schedule/",
        "team-conflicts": "/api/v1/teams/payments/conflicts/",
        "team-overrides": "/api/v1/teams/payments/overrides/",
        "override-detail": f"/api/v1/overrides/{world.override.pk}/",
        "incident-list": "/api/v1/incidents/?team=payments",
        "token-list": "/api/v1/tokens/",
        "token-detail": f"/api/v1/tokens/{world.spare_token.pk}/",
        "team-list": "/api/v1/teams/",
        "team-detail": "/api/v1/teams/payments/",
        "team-members": "/api/v1/teams/payments/members/",
        "team-member-detail": "/api/v1/teams/payments/members/gus/",
        "member-list": "/api/v1/members/",
        "member-detail": "/api/v1/members/alice/",
        "rotation-list": "/api/v1/rotations/?team=payments",
        "rotation-detail": f"/api/v1/rotations/{world.rotation.pk}/",
        "rotation-preview": "/api/v1/rotations/preview/",
        "shift-list": "/api/v1/shifts/?team=payments",
        "member-contact-methods": "/api/v1/members/alice/contact-methods/",
        "integration-list": "/api/v1/integrations/",
        "integration-detail": f"/api/v1/integrations/{world.incident.integration_id}/",
        "integration-rotate": (
            f"/api/v1/integrations/{world.incident.integration_id}/rotate/"
        ),
        "contact-method-detail": f"/api/v1/contact-methods/{world.contact_method.pk}/",
        "feed-list": "/api/v1/feeds/",
        "feed-detail": f"/api/v1/feeds/{world.feed.pk}/",
        "feed-rotate": f"/api/v1/feeds/{world.feed.pk}/rotate/",
        "route-list": "/api/v1/routes/?team=payments",
        "route-detail": f"/api/v1/routes/{world.route.slug}/",
        "escalation-policy-list": "/api/v1/escalation-policies/?team=payments",
        "escalation-policy-detail": (
            f"/api/v1/escalation-policies/{world.policy.slug}/"
        ),
        "maintenance-window-list": "/api/v1/maintenance-windows/?team=payments",
        "maintenance-window-detail": f"/api/v1/maintenance-windows/{world.window.pk}/",
        "report-page-load": f"/api/v1/reports/page-load/?{REPORT_QUERY}",
        "report-incidents": f"/api/v1/reports/incidents/?{REPORT_QUERY}",
        "report-alert-quality": f"/api/v1/reports/alert-quality/?{REPORT_QUERY}",
        "team-insight-settings": "/api/v1/teams/payments/insight-settings/",
        "postmortem-detail": f"/api/v1/postmortems/{world.postmortem.pk}/",
        "postmortem-action-items": (
            f"/api/v1/postmortems/{world.postmortem.pk}/action-items/"
        ),
        "postmortem-overdue": "/api/v1/postmortems/overdue/?team=payments",
        "postmortem-list": "/api/v1/postmortems/?team=payments",
        "postmortem-incidents": f"/api/v1/postmortems/{world.postmortem.pk}/incidents/",
        "postmortem-incident-detail": (
            f"/api/v1/postmortems/{world.postmortem.pk}/incidents/{world.linked.pk}/"
        ),
        "action-item-detail": (
            f"/api/v1/postmortems/action-items/{world.action_item.pk}/"
        ),
        "handoff-list-api": "/api/v1/handoffs/?team=payments",
        "handoff-detail": f"/api/v1/handoffs/{world.note_from_alice.pk}/",
        "handoff-submit": f"/api/v1/handoffs/{world.note_from_alice.pk}/submit/",
        "handoff-acknowledge": (
            f"/api/v1/handoffs/{world.note_to_alice.pk}/acknowledge/"
        ),
        "service-deploy-gate": "/api/v1/services/payments-api/deploy-gate",
        "service-deploys": "/api/v1/services/payments-api/deploys/",
        "slo-list": "/api/v1/slos/",
        "slo-rules": "/api/v1/slos/rules.yaml",
        "service-list": "/api/v1/services/",
        "service-detail": "/api/v1/services/payments-api/",
        "slo-detail": f"/api/v1/slos/{world.slo.pk}/",
        "slo-openslo-export": "/api/v1/slos/openslo.yaml",
        "slo-openslo-import": "/api/v1/slos/openslo/",
        "alertmanager-webhook": "/api/v1/alertmanager/",
        "alertmanager-webhook-token": "/api/v1/alertmanager/not-a-token/",
        "report-stipends": (
            "/api/v1/reports/stipends/?team=payments&from=2026-01-01&to=2026-02-01"
        ),
        "report-stipend-statements": (
            "/api/v1/reports/stipends/statements/?team=payments&month=2026-01"
        ),
        "report-stipends-close": "/api/v1/reports/stipends/close/",
        "report-stipends-reopen": "/api/v1/reports/stipends/reopen/",
    }
    if (name, method) in {("integration-detail", m) for m in ("put", "patch")}:
        paths[name] = f"/api/v1/integrations/{world.incident.integration.slug}/"
    if (name, method) == ("integration-detail", "delete"):
        paths[name] = f"/api/v1/integrations/{world.spare_integration.slug}/"
    if (name, method) == ("rotation-detail", "delete"):
        paths[name] = f"/api/v1/rotations/{world.future_rotation.pk}/"
    if name.startswith("incident-") and name != "incident-list":
        action = name.removeprefix("incident-")
        suffix = "" if action == "detail" else f"{action}/"
        paths[name] = f"/api/v1/incidents/{incident}/{suffix}"
    if name == "incident-postmortem":
        paths[name] = f"/api/v1/incidents/{world.resolved.pk}/postmortem/"
    bodies = {
        ("team-overrides", "post"): {
            "rotation": "weekly",
            "role": "secondary",
            "member": "eve",
            "start": "2026-01-08T09:00:00+03:00",
            "end": "2026-01-09T09:00:00+03:00",
        },
        ("token-list", "post"): {"name": "ci", "scopes": ["read"]},
        ("team-list", "post"): {
            "slug": "search",
            "name": "Search",
            "time_zone": "Europe/Berlin",
        },
        ("team-detail", "put"): TEAM_BODY,
        ("team-detail", "patch"): {"name": "Payments"},
        ("team-members", "post"): {"member": "zoe"},
        ("member-list", "post"): {
            "username": "hana",
            "name": "Hana Okafor",
            "phone": "+254700000777",
            "teams": ["payments"],
        },
        ("member-detail", "put"): {
            "name": "Alice",
            "phone": "+254700000001",
            "time_zone": "UTC",
            "active": True,
            "teams": ["payments"],
        },
        ("member-detail", "patch"): {"phone": "+254700000001"},
        ("rotation-list", "post"): {**ROTATION_BODY, "name": "another"},
        ("rotation-detail", "put"): ROTATION_BODY,
        ("rotation-detail", "patch"): {"layer": 1},
        ("rotation-preview", "post"): {**ROTATION_BODY, "name": "draft"},
        ("member-contact-methods", "post"): {"phone": "+254700000502"},
        ("integration-list", "post"): {"team": "payments", "name": "staging"},
        ("contact-method-detail", "put"): {"phone": "+254700000503", "label": "work"},
        ("contact-method-detail", "patch"): {"sms": False},
        ("feed-list", "post"): {"team": "payments"},
        ("integration-detail", "put"): {"team": "payments", "name": "prod"},
        ("integration-detail", "patch"): {"enabled": True},
        ("route-list", "post"): {
            "integration": "payments-prod",
            "team": "payments",
            "matchers": ['severity="warning"'],
        },
        ("route-detail", "put"): {
            "integration": "payments-prod",
            "team": "payments",
            "name": "critical",
            "matchers": ['severity="critical"'],
        },
        ("route-detail", "patch"): {"urgency": "high"},
        ("escalation-policy-list", "post"): {
            "team": "payments",
            "name": "night",
            "steps": [{"target": "primary", "channel": "voice"}],
        },
        ("escalation-policy-detail", "put"): {
            "team": "payments",
            "name": "standard",
            "steps": [{"target": "primary", "channel": "sms"}],
        },
        ("escalation-policy-detail", "patch"): {"repeat": 1},
        ("maintenance-window-list", "post"): WINDOW_BODY,
        ("maintenance-window-detail", "put"): WINDOW_BODY,
        ("maintenance-window-detail", "patch"): {"reason": "longer upgrade"},
        ("report-stipends-close", "post"): {"team": "payments", "month": "2026-01"},
        ("report-stipends-reopen", "post"): {
            "team": "payments",
            "month": "2025-12",
            "note": "a rate was wrong",
        },
        ("handoff-detail", "patch"): {"tips": "watch the queue"},
        ("postmortem-detail", "patch"): {"root_cause": "a pool too small"},
        ("action-item-detail", "patch"): {"status": "done"},
        ("postmortem-action-items", "post"): {
            "text": "Alert on queue depth",
            "owner": "bob",
            "priority": "P1",
            "due": "2026-02-01",
        },
        ("postmortem-incidents", "post"): {"incident": world.resolved.pk},
        ("service-deploys", "post"): {"ref": "v1.2.3"},
        ("team-insight-settings", "put"): {
            "business_start": "08:00",
            "business_end": "18:00",
            "business_weekdays": "12345",
            "sleep_start": "22:00",
            "sleep_end": "08:00",
            "max_pages_per_week": 8,
            "max_sleep_interruptions_per_week": 2,
            "flap_window_seconds": 600,
        },
        ("team-insight-settings", "patch"): {"max_pages_per_week": 12},
        ("service-list", "post"): {**SERVICE_BODY, "slug": "payments-web"},
        ("service-detail", "put"): SERVICE_BODY,
        ("service-detail", "patch"): {"name": "Payments"},
        ("slo-list", "post"): {**SLO_BODY, "name": "latency"},
        ("slo-detail", "put"): SLO_BODY,
        ("slo-detail", "patch"): {"objective": "99.5"},
        ("slo-openslo-import", "post"): {"team": "payments", "yaml": OPENSLO},
        ("alertmanager-webhook", "post"): {"alerts": []},
        ("alertmanager-webhook-token", "post"): {"alerts": []},
    }
    return paths[name], bodies.get((name, method))


def test_every_endpoint_has_a_rule():
    endpoints = set(api_endpoints())
    assert endpoints - set(RULES) == set(), "endpoints without a rule in RULES"
    assert set(RULES) - endpoints == set(), "rules for endpoints that are gone"


def test_the_matrix_is_not_empty():
    # Guards the URL-conf walk itself: if it found nothing the matrix would pass.
    names = {name for name, _ in api_endpoints()}
    assert {"incident-list", "team-oncall", "override-detail"} <= names


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "method"), api_endpoints())
def test_cell(world, name, method, role):
    rule = RULES.get((name, method))
    assert rule is not None, f"no rule for {method.upper()} {name}: add one to RULES"
    path, body = _request(name, method, world)
    client = world.clients[role]
    response = getattr(client, method)(path, body, format="json")
    assert response.status_code == rule[role], (
        f"{role} {method.upper()} {path}: {response.status_code} "
        f"{response.content[:300]!r}"
    )
    if response.status_code >= 400:
        assert "error" in response.json()
    if role == "outsider" and response.status_code == 404:
        # Nothing of the team leaks through the refusal.
        assert "payments" not in response.content.decode()


def test_an_outsider_lists_no_incidents_of_other_teams(world):
    body = world.clients["outsider"].get("/api/v1/incidents/").json()
    assert body["results"] == []
    # The open incident and the three resolved ones.
    assert len(world.clients["member"].get("/api/v1/incidents/").json()["results"]) == 4
