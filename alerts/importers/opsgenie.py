"""Import from Opsgenie's REST API v2 (``https://api.opsgenie.com``, in the EU
``https://api.eu.opsgenie.com``).

What is read: users with their contact methods, teams with their members,
schedules with their rotations, the schedules' overrides, escalations,
integrations and the teams' routing rules.
What is built: one :mod:`alerts.configfile` document (teams, members,
rotations, escalation policies, integrations with their routes: see
:mod:`alerts.importers.opsgenie_routing`), applied through ``config_apply`` -- the path
``manage.py oncall_apply`` takes -- plus the future overrides, in the same
transaction; the pieces every importer shares (the report and override plan,
:mod:`alerts.importers.report`; applying, :mod:`alerts.importers.apply`; the
paired/follow detection, :mod:`alerts.importers.pairing`) are reused.

Our team has one effective schedule with a primary and a secondary.  An
Opsgenie team's is read off its escalation (the one named ``<team>_escalation``,
as Opsgenie names the one it makes, else the first the team owns): the schedule
its first schedule rule notifies is the team's primary, the next other schedule
a rule notifies (if any) the secondary.  Two schedules of one rotation each that
together are a paired or follow rotation become that one rotation; otherwise
each rotation of the primary becomes a primary-only rotation, first listed on
top.  Opsgenie notifies everyone on call in *all* of a schedule's rotations;
ours, the top layer: the same wherever the rotations' restricted windows do not
overlap (follow-the-sun), and the faithfulness check shows where they do.

Source ids are kept in the slugs (``og-<id>``) and in the overrides' reason
(``opsgenie:<alias>``), so a second run finds everything and writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from alerts.importers import opsgenie_mapping as og
from alerts.importers import opsgenie_routing as routing
from alerts.importers.apply import import_apply
from alerts.importers.client import SourceClient, SourceError
from alerts.importers.members import with_existing
from alerts.importers.opsgenie_check import opsgenie_check
from alerts.importers.pairing import paired_or_follow
from alerts.importers.report import ImportFailed, ImportReport, OverridePlan, TeamPlan
from alerts.importers.values import answers_in_shape, team_slug
from scheduling import plan

SOURCE = og.SOURCE
# How far ahead what our model cannot hold is written as overrides: the check's
# 8 weeks, and a day for the hour it starts late.
HORIZON = dt.timedelta(weeks=8, days=1)
MAX_PAGES = 1000  # a paging.next that never ends is the source's bug, not a loop


def opsgenie_client(*, url: str, token: str) -> SourceClient:
    return SourceClient(
        base_url=url, name=SOURCE, headers={"Authorization": f"GenieKey {token}"}
    )


def _pages(
    client: SourceClient, path: str, params: dict[str, Any] | None = None
) -> Iterator[dict[str, Any]]:
    """The items of ``data``, following ``paging.next`` where the endpoint pages
    (only its offset and limit are taken: the key never goes to another host)."""
    query = dict(params or {})
    for _ in range(MAX_PAGES):
        body = client.get(path, query)
        items = body.get("data")
        if not isinstance(items, list):
            raise SourceError(f"{SOURCE}: {path} has no list 'data'")
        for item in items:
            if not isinstance(item, dict):
                raise SourceError(f"{SOURCE}: {path}: an item is not an object")
            yield item
        following = (body.get("paging") or {}).get("next")
        if not following or not items:
            return
        parts = urlsplit(following)
        if not parts.path.endswith(path):
            raise SourceError(f"{SOURCE}: {path}: paging.next points elsewhere")
        query.update(
            {k: v for k, v in parse_qsl(parts.query) if k in ("offset", "limit")}
        )
    raise SourceError(f"{SOURCE}: {path}: more than {MAX_PAGES} pages")


def _data(
    client: SourceClient, path: str, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    data = client.get(path, params).get("data")
    if not isinstance(data, dict):
        raise SourceError(f"{SOURCE}: {path} has no object 'data'")
    return data


@dataclass
class _Reading:
    """What planning gathers as it goes."""

    now: dt.datetime
    team_slug: dict[str, str]  # Opsgenie team id -> our slug
    usernames: dict[str, str] = field(default_factory=dict)
    schedules: dict[str, dict[str, Any]] = field(default_factory=dict)
    admins: dict[str, list[str]] = field(default_factory=dict)  # team id -> users
    problems: list[str] = field(default_factory=list)
    rotations: list[dict[str, Any]] = field(default_factory=list)
    policies: list[dict[str, Any]] = field(default_factory=list)
    teams: list[TeamPlan] = field(default_factory=list)
    overrides: list[OverridePlan] = field(default_factory=list)
    used_schedules: set[str] = field(default_factory=set)
    member_teams: dict[str, set[str]] = field(default_factory=dict)
    team_zone: dict[str, str] = field(default_factory=dict)


def opsgenie_read(
    *,
    client: SourceClient,
    team: str | None = None,
    now: dt.datetime,
) -> ImportReport:
    """Read the source and plan the import; nothing is written."""
    with answers_in_shape(SOURCE):
        return _read(client=client, team=team, now=now)


def _read(*, client: SourceClient, team: str | None, now: dt.datetime) -> ImportReport:
    users = list(_pages(client, "/v2/users", {"limit": 100}))
    teams = {og.ident(t, "team"): t for t in _pages(client, "/v2/teams")}
    schedules = list(_pages(client, "/v2/schedules", {"expand": "rotation"}))
    escalations = list(_pages(client, "/v2/escalations"))
    wanted = [
        tid
        for tid, t in teams.items()
        if team is None or team in (tid, t.get("name"), team_slug(str(t.get("name"))))
    ]
    if team is not None and not wanted:
        raise ImportFailed(f"{SOURCE} has no team {team!r}")
    r = _Reading(
        now=now,
        team_slug={
            tid: team_slug(str(teams[tid].get("name") or tid)) for tid in wanted
        },
        schedules={og.ident(s, "schedule"): s for s in schedules},
    )
    user_by_id = _read_users(client, users, r)
    for tid in wanted:
        detail = _data(client, f"/v2/teams/{tid}", {"identifierType": "id"})
        for member in detail.get("members") or []:
            uid = og.ident(member.get("user"), "team member")
            if uid in r.usernames:
                r.member_teams.setdefault(r.usernames[uid], set()).add(r.team_slug[tid])
            if member.get("role") == "admin":
                r.admins.setdefault(tid, []).append(uid)
    for tid in wanted:
        _plan_team(client, tid, teams[tid], escalations, r)
    _report_leftovers(escalations, r, only_team=team is not None)
    integrations = _plan_integrations(client, r, only_team=team is not None)
    document = {
        "teams": [
            {
                "slug": s,
                "name": teams[t].get("name") or s,
                "time_zone": r.team_zone.get(s, "UTC"),
            }
            for t, s in r.team_slug.items()
        ],
        "members": _plan_members(user_by_id, r),
        "rotations": r.rotations,
        "escalation_policies": r.policies,
        "integrations": integrations,
    }
    return ImportReport(
        document,
        r.overrides,
        r.teams,
        r.problems,
        usernames=r.usernames,
        override_reason="opsgenie",
    )


def _read_users(
    client: SourceClient, users: list[dict[str, Any]], r: _Reading
) -> dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]:
    found = {}
    for user in users:
        uid = og.ident(user, "user")
        who = str(user.get("username") or uid)
        contacts = list(_pages(client, f"/v2/users/{uid}/contacts"))
        numbers = og.phones(contacts, who, r.problems)
        if numbers:
            numbers = _notification_order(client, uid, who, numbers, r)
        if not numbers:
            r.problems.append(
                f"user {who}: no SMS or voice contact (ours pages by phone); "
                "not imported"
            )
            continue
        username = og.username_of(user)
        if username in r.usernames.values():  # same local part, other domain
            username = f"{username}-{uid.lower()[:8]}"
        r.usernames[uid] = username
        found[uid] = (user, numbers)
    return found


def _notification_order(
    client: SourceClient,
    uid: str,
    who: str,
    numbers: list[dict[str, Any]],
    r: _Reading,
) -> list[dict[str, Any]]:
    """The numbers in the order and with the channels of the person's new-alert
    notification rule (the first by order that applies to every alert); other
    new-alert rules are reported (ours: one list of numbers for every alert)."""
    path = f"/v2/users/{uid}/notification-rules"
    rules = sorted(_pages(client, path), key=lambda x: int(x.get("order") or 0))
    # The list may leave criteria and steps out: each new-alert rule is read.
    new_alert = [
        _data(client, f"{path}/{og.ident(x, 'notification rule')}")
        for x in rules
        if x.get("actionType") == "create-alert" and x.get("enabled") is not False
    ]
    general = next((x for x in new_alert if og.applies_to_every_alert(x)), None)
    for rule in new_alert:
        if rule is not general:
            r.problems.append(
                f"user {who}: notification rule {rule.get('name')!r} applies to "
                "some alerts or at some times only (ours: one list of numbers "
                "for every alert); not imported"
            )
    if general is None:
        return numbers
    return og.notification_phones(numbers, general, who, r.problems)


def _escalation_of(
    tid: str, name: str, escalations: list[dict[str, Any]]
) -> dict[str, Any] | None:
    owned = [e for e in escalations if (e.get("ownerTeam") or {}).get("id") == tid]
    named = [e for e in owned if e.get("name") == f"{name}_escalation"]
    return next(iter(named or owned), None)


def _plan_team(
    client: SourceClient,
    tid: str,
    source_team: dict[str, Any],
    escalations: list[dict[str, Any]],
    r: _Reading,
) -> None:
    slug = r.team_slug[tid]
    default = _escalation_of(tid, str(source_team.get("name")), escalations)
    role_of: dict[str, str] = {}
    if default is None:
        r.problems.append(
            f"team {slug}: owns no escalation; no schedule read as its primary "
            "(ours: the team's schedule is what its escalation pages)"
        )
    else:
        role_of = _plan_schedules(client, tid, default, r)
    for escalation in escalations:
        if (escalation.get("ownerTeam") or {}).get("id") == tid:
            r.policies.append(
                _policy(escalation, tid, escalation is default, role_of, r)
            )


def _schedule_rules(escalation: dict[str, Any]) -> list[str]:
    """The schedules the escalation notifies (their on-call users), in order."""
    found: list[str] = []
    for rule in sorted(escalation.get("rules") or [], key=og.delay_minutes):
        recipient = rule.get("recipient") or {}
        if (
            recipient.get("type") == "schedule"
            and rule.get("notifyType", "default") == "default"
            and recipient.get("id") not in found
        ):
            found.append(recipient["id"])
    return found


def _plan_schedules(
    client: SourceClient, tid: str, escalation: dict[str, Any], r: _Reading
) -> dict[str, str]:
    """The team's rotations from its escalation's first two schedules; the role
    each imported schedule holds."""
    slug = r.team_slug[tid]
    ids = [s for s in _schedule_rules(escalation) if s in r.schedules]
    if not ids:
        r.problems.append(
            f"team {slug}: its escalation {escalation.get('name')!r} notifies no "
            "schedule's on-call users; no rotation imported"
        )
        return {}
    primary = r.schedules[ids[0]]
    secondary = r.schedules[ids[1]] if len(ids) > 1 else None
    made, slug_of = _schedule_rotations(primary, slug, r)
    role_of = {ids[0]: plan.PRIMARY}
    combined = False
    r.used_schedules.add(ids[0])
    if secondary is not None:
        r.used_schedules.add(secondary["id"])
        s_made, s_slug_of = _schedule_rotations(secondary, slug, r, report=False)
        both = _pair(primary, secondary, made, s_made)
        if both is not None:
            made, combined = [both], True
            slug_of = dict.fromkeys({**slug_of, **s_slug_of}, [both["slug"]])
            role_of[secondary["id"]] = plan.SECONDARY
        if not combined:
            r.problems.append(
                f"schedule {secondary['name']!r} (team {slug}'s secondary): not a "
                "paired or follow partner of the primary schedule (ours: the "
                "secondary comes from the primary's rotation); not imported, nor "
                "is the escalation's rule to it"
            )
    elif _follow_rule(escalation, primary, made):
        # "Notify the previous on-call user" of the primary schedule: the one
        # whose turn was before, which is our follow scheme's secondary.
        made[0]["scheme"] = plan.FOLLOW
        role_of[f"{primary['id']}:previous"] = plan.SECONDARY
    r.rotations.extend(made)
    r.team_zone[slug] = primary["timezone"]
    for rotation in made:
        for username in rotation["participants"]:
            r.member_teams.setdefault(username, set()).add(slug)
    r.teams.append(
        TeamPlan(
            slug,
            og.ident(escalation, "escalation"),
            ids[0],
            secondary["id"] if secondary else None,
            combined,
        )
    )
    for schedule_id, role in role_of.items():
        if schedule_id in r.schedules:  # not "<id>:previous"
            r.overrides += _overrides(
                client, r.schedules[schedule_id], role, slug_of, r
            )
    return role_of


def _pair(
    primary: dict[str, Any],
    secondary: dict[str, Any],
    made: list[dict[str, Any]],
    s_made: list[dict[str, Any]],
) -> dict[str, Any] | None:
    """The one paired or follow rotation two one-rotation schedules are."""
    if not (
        len(made) == len(s_made) == 1
        and len(primary.get("rotations") or [])
        == len(secondary.get("rotations") or [])
        == 1
    ):
        return None
    return paired_or_follow(
        made[0],
        s_made[0],
        slug=og.sid(primary["id"]),
        name=f"{primary['name']} + {secondary['name']}",
    )


def _follow_rule(
    escalation: dict[str, Any], primary: dict[str, Any], made: list[dict[str, Any]]
) -> bool:
    """Whether a rule notifies the primary schedule's previous on-call user and
    the primary is one rotation our follow scheme can carry."""
    sources = primary.get("rotations") or []
    people = (
        [p.get("id") for p in (sources[0].get("participants") or [])] if sources else []
    )
    return (
        any(
            (rule.get("recipient") or {}).get("id") == primary["id"]
            and rule.get("notifyType") == "previous"
            for rule in escalation.get("rules") or []
        )
        and len(sources) == len(made) == 1
        and len(set(people)) == len(people)
        and plan.scheme_problem(plan.FOLLOW, len(made[0]["participants"])) is None
    )


def _schedule_rotations(
    schedule: dict[str, Any], team: str, r: _Reading, *, report: bool = True
) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """Each rotation of the schedule as ours (first listed on top), and the
    slugs each imported Opsgenie rotation id became."""
    if schedule.get("enabled") is False:
        r.problems.append(f"schedule {schedule['name']!r}: disabled; not imported")
        return [], {}
    sources = schedule.get("rotations") or []
    made, slug_of = [], {}
    for index, source in enumerate(sources):
        rotations = og.rotation(
            schedule=schedule,
            source=source,
            layer=len(sources) - index,
            team=team,
            usernames=r.usernames,
            now=r.now,
        )
        if isinstance(rotations, str):
            if report:
                r.problems.append(
                    f"schedule {schedule['name']!r} rotation "
                    f"{source.get('name')!r}: {rotations}; not imported"
                )
            continue
        made += rotations
        slug_of[source["id"]] = [rotation["slug"] for rotation in rotations]
        fixes = og.turn_fixes(
            schedule=schedule,
            source=source,
            made=rotations,
            usernames=r.usernames,
            since=r.now,
            until=r.now + HORIZON,
        )
        if fixes and report:
            _plan_turn_fixes(schedule, source, rotations, fixes, r)
        elif fixes:
            made = []  # not a partner of the primary: see _plan_schedules
    return made, slug_of


def _plan_turn_fixes(
    schedule: dict[str, Any],
    source: dict[str, Any],
    rotations: list[dict[str, Any]],
    fixes: list[tuple[int, dt.datetime, dt.datetime, str]],
    r: _Reading,
) -> None:
    r.problems.append(
        f"schedule {schedule['name']!r} rotation {source.get('name')!r}: someone "
        "twice in the order (ours: each person once); imported in first-appearance "
        f"order, with {len(fixes)} overrides making the next "
        f"{HORIZON.days // 7} weeks exact: import again before they run out"
    )
    slugs = [rotation["slug"] for rotation in rotations]
    for k, start, end, username in fixes:
        r.overrides.append(
            OverridePlan(
                f"{source['id']}-turn-{k}",
                slugs,
                plan.PRIMARY,
                username,
                max(start, r.now),
                end,
                start < r.now,
            )
        )


def _overrides(
    client: SourceClient,
    schedule: dict[str, Any],
    role: str,
    slug_of: dict[str, list[str]],
    r: _Reading,
) -> list[OverridePlan]:
    """The schedule's overrides that end after now.  One naming rotations goes
    on those; one naming none on every rotation of the schedule."""
    found = []
    path = f"/v2/schedules/{schedule['id']}/overrides"
    for item in _pages(client, path, {"scheduleIdentifierType": "id"}):
        alias = str(item["alias"])
        start = og.instant(item.get("startDate"), "override startDate")
        end = og.instant(item.get("endDate"), "override endDate")
        if end <= r.now:
            continue
        user = item.get("user") or {}
        if user.get("type") != "user" or user.get("id") not in r.usernames:
            r.problems.append(
                f"override {alias} on {schedule['name']!r}: its "
                f"{user.get('type')} {user.get('username') or user.get('id')} "
                "could not be imported (ours: a person covers); not imported"
            )
            continue
        named = [og.ident(x, "override rotation") for x in item.get("rotations") or []]
        slugs = sorted(
            {slug for x in (named or slug_of) for slug in slug_of.get(x, [])}
        )
        if not slugs:
            r.problems.append(
                f"override {alias} on {schedule['name']!r}: none of its rotations "
                "was imported; not imported"
            )
            continue
        found.append(
            OverridePlan(
                alias,
                slugs,
                role,
                r.usernames[user["id"]],
                max(start, r.now),
                end,
                start < r.now,
            )
        )
    return found


def _schedule_step(
    rid: str, notify: str, role_of: dict[str, str]
) -> list[dict[str, Any]] | str:
    if f"{rid}:{notify}" in role_of:  # the previous on-call: our follow secondary
        return [{"target": role_of[f"{rid}:{notify}"]}]
    if notify != "default":
        return (
            f"notifyType {notify!r} of a schedule (the next or previous person on "
            "call; ours pages who is on call, and the previous one only as a "
            "follow rotation's secondary)"
        )
    if rid in role_of:
        return [{"target": role_of[rid]}]
    return "a schedule that is not the team's primary or secondary"


def _recipient_steps(
    rule: dict[str, Any],
    tid: str,
    role_of: dict[str, str],
    r: _Reading,
) -> list[dict[str, Any]] | str:
    """Our steps for one rule's recipient, or why there are none."""
    recipient = rule.get("recipient") or {}
    kind, rid = recipient.get("type"), recipient.get("id")
    notify = rule.get("notifyType", "default")
    slug = r.team_slug[tid]
    if kind == "schedule":
        return _schedule_step(str(rid), notify, role_of)
    if kind == "user":
        if rid not in r.usernames:
            return "a user who could not be imported"
        r.member_teams.setdefault(r.usernames[rid], set()).add(slug)
        return [{"target": "member", "member": r.usernames[rid]}]
    if kind == "team" and rid == tid and notify in ("all", "users"):
        return [{"target": "team"}]
    if kind == "team" and rid in r.team_slug and notify == "admins":
        admins = [r.usernames[u] for u in r.admins.get(rid, []) if u in r.usernames]
        if not admins:
            return "the team's admins, none of whom could be imported"
        for username in admins:
            r.member_teams.setdefault(username, set()).add(slug)
        return [{"target": "member", "member": u} for u in admins]
    return (
        f"recipient {kind} {recipient.get('name') or rid} with notifyType "
        f"{notify!r} (ours: the on-call primary or secondary, a person, or this "
        "whole team)"
    )


def _policy(
    escalation: dict[str, Any],
    tid: str,
    default: bool,
    role_of: dict[str, str],
    r: _Reading,
) -> dict[str, Any]:
    """Opsgenie counts each rule's delay from the alert's creation; ours, from
    the previous step: the difference, from the last step imported."""
    name = escalation.get("name") or escalation["id"]
    steps: list[dict[str, Any]] = []
    previous = 0
    rules = sorted(escalation.get("rules") or [], key=og.delay_minutes)
    for n, rule in enumerate(rules, start=1):
        at = og.delay_minutes(rule)
        made = _recipient_steps(rule, tid, role_of, r)
        if isinstance(made, str):
            r.problems.append(
                f"escalation {name!r} rule {n}: {made}; step not imported"
            )
            continue
        if rule.get("condition", "if-not-acked") != "if-not-acked":
            r.problems.append(
                f"escalation {name!r} rule {n}: condition "
                f"{rule.get('condition')!r} imported as if-not-acked (ours: an "
                "acknowledged incident pages no one)"
            )
        for k, step in enumerate(made):
            delay = (at - previous) * 60 if k == 0 else 0
            steps.append({**step, "delay_seconds": delay})
        previous = at
    repeat = escalation.get("repeat") or {}
    count = int(repeat.get("count") or 0)
    if repeat.get("closeAlertAfterAll"):
        r.problems.append(
            f"escalation {name!r}: closes the alert after its last repeat (ours: "
            "the incident stays open); imported without that"
        )
    return {
        "slug": og.sid(escalation["id"]),
        "team": r.team_slug[tid],
        "name": name,
        "description": escalation.get("description") or "",
        "team_default": default,
        "repeat": count,
        "repeat_after_seconds": int(repeat.get("waitInterval") or 5) * 60,
        "steps": steps,
    }


def _report_leftovers(
    escalations: list[dict[str, Any]], r: _Reading, *, only_team: bool
) -> None:
    for escalation in escalations:
        owner = (escalation.get("ownerTeam") or {}).get("id")
        if owner is None and not only_team:
            r.problems.append(
                f"escalation {escalation.get('name')!r}: belongs to no team "
                "(ours: every policy belongs to a team); not imported"
            )
    for schedule_id, schedule in r.schedules.items():
        owner = (schedule.get("ownerTeam") or {}).get("id")
        if schedule_id in r.used_schedules or (only_team and owner not in r.team_slug):
            continue
        r.problems.append(
            f"schedule {schedule.get('name')!r}: not the primary or secondary of a "
            "team's escalation (ours: one schedule per team); not imported"
        )


def _plan_members(
    found: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]], r: _Reading
) -> list[dict[str, Any]]:
    members = []
    for uid, username in sorted(r.usernames.items(), key=lambda kv: kv[1]):
        if username not in r.member_teams:
            continue  # in no imported team
        user, numbers = found[uid]
        teams, numbers, _ = with_existing(username, r.member_teams[username], numbers)
        members.append(
            {
                "username": username,
                "name": user.get("fullName") or username,
                "phone": numbers[0]["phone"],
                "time_zone": user.get("timeZone") or "UTC",
                "teams": sorted(teams),
                "contact_methods": numbers,
            }
        )
    return members


def _plan_integrations(
    client: SourceClient, r: _Reading, *, only_team: bool
) -> list[dict[str, Any]]:
    """Each API or Prometheus integration of an imported team as one of ours,
    routed by its team's routing rules (read once per team)."""
    found = []
    team_routes: dict[str, list[routing.RoutePlan]] = {}
    for item in _pages(client, "/v2/integrations"):
        iid = og.ident(item, "integration")
        name = str(item.get("name") or iid)
        if item.get("type") not in routing.ALERTMANAGER_TYPES:
            if item.get("teamId") in (None, "", *r.team_slug) or not only_team:
                r.problems.append(
                    f"integration {name!r}: type {item.get('type')!r} (ours "
                    "receives Alertmanager webhooks, which Opsgenie takes through "
                    "an API or Prometheus integration); not imported"
                )
            continue
        detail = _data(client, f"/v2/integrations/{iid}")
        owner = (detail.get("ownerTeam") or {}).get("id") or item.get("teamId")
        if owner not in r.team_slug:
            if not owner and not only_team:
                r.problems.append(
                    f"integration {name!r}: belongs to no team (ours: every "
                    "integration belongs to a team); not imported"
                )
            continue
        if owner not in team_routes:
            team_routes[owner] = _team_routes(client, owner, r)
        found.append(
            routing.integration_entry(
                slug=og.sid(iid),
                team=r.team_slug[owner],
                name=name,
                enabled=detail.get("enabled", item.get("enabled")) is not False,
                routes=team_routes[owner],
            )
        )
        if detail.get("enabled", item.get("enabled")) is False:
            r.problems.append(
                f"integration {name!r}: disabled there, imported disabled"
            )
    return found


def _team_routes(
    client: SourceClient, tid: str, r: _Reading
) -> list[routing.RoutePlan]:
    slug = r.team_slug[tid]
    rules = list(
        _pages(client, f"/v2/teams/{tid}/routing-rules", {"teamIdentifierType": "id"})
    )
    policies = {
        str(p["slug"]).removeprefix("og-"): p["slug"]
        for p in r.policies
        if p["team"] == slug
    }
    primary = next((t.primary_schedule for t in r.teams if t.slug == slug), None)
    return routing.team_routes(
        rules=rules,
        team=slug,
        policies=policies,
        primary_schedule=primary,
        problems=r.problems,
    )


# --- writing and checking -------------------------------------------------------------


def opsgenie_apply(
    *,
    report: ImportReport,
    client: SourceClient,
    now: dt.datetime,
    dry_run: bool = False,
) -> ImportReport:
    """Apply the plan (one transaction), then compare who is on call with the
    source at every hour of the next 8 weeks.  ``dry_run``: the same, rolled back."""
    return import_apply(
        report,
        check=lambda: opsgenie_check(report=report, client=client, now=now),
        dry_run=dry_run,
    )
