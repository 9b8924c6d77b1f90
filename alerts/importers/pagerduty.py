"""Import from PagerDuty's REST API v2 (``https://api.pagerduty.com``).

What is read: users (with their contact methods), teams, schedules with their
layers and restrictions, overrides, escalation policies and services.  What is
built: one :mod:`alerts.configfile` document (teams, members, rotations,
escalation policies, integrations), applied through ``config_apply`` -- the path
``manage.py oncall_apply`` takes -- plus the future overrides, through
:mod:`scheduling.overrides`, in the same transaction.

Our model gives a team one effective schedule with a primary and a secondary.
A PagerDuty team's schedule is therefore read off its first escalation policy:
the schedule its first rule targets is the team's primary, the schedule its
second rule targets (if any) the secondary.  A primary and a secondary schedule
of one layer each that together are a paired or follow rotation become that one
rotation; otherwise each layer of the primary becomes a primary-only rotation.
Anything else is listed in the report with the reason, never dropped silently.

Source ids are kept on our side in the slugs (``pd-<id>``) and in the overrides'
reason (``pagerduty:<id>``), so a second run finds everything and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from alerts.importers.apply import import_apply
from alerts.importers.client import SourceClient, SourceError
from alerts.importers.members import with_existing
from alerts.importers.pairing import paired_or_follow
from alerts.importers.report import (
    CHECK_HOURS,
    DAY,
    HOUR,
    WEEK,
    Check,
    ImportFailed,
    ImportReport,
    OverridePlan,
    TeamPlan,
)
from alerts.importers.values import (
    answers_in_shape,
    source_id,
    source_instant,
    team_slug,
)
from scheduling import plan
from scheduling.models import Member, Team
from scheduling.selectors import team_schedule

SOURCE = "PagerDuty"


def pagerduty_client(*, url: str, token: str) -> SourceClient:
    return SourceClient(
        base_url=url,
        name=SOURCE,
        headers={
            "Authorization": f"Token token={token}",
            "Accept": "application/vnd.pagerduty+json;version=2",
        },
    )


def _sid(prefix: str, source_id: str) -> str:
    return f"{prefix}-{source_id.lower()}"


def _instant(value: Any, what: str) -> dt.datetime:
    return source_instant(SOURCE, value, what)


def _ref(obj: Any, what: str) -> str:
    return source_id(SOURCE, obj, what)


# --- reading --------------------------------------------------------------------


def _username(user: dict[str, Any]) -> str:
    email = user.get("email") or ""
    local = email.split("@")[0].lower()
    return re.sub(r"[^a-z0-9._-]+", "-", local) or _sid("pd", user["id"])


def _phones(user: dict[str, Any]) -> list[dict[str, Any]]:
    """Phone and SMS contact methods as ours: one per number, SMS and/or voice."""
    by_number: dict[str, dict[str, Any]] = {}
    for method in user.get("contact_methods") or []:
        kind = method.get("type", "")
        if kind not in ("phone_contact_method", "sms_contact_method"):
            continue
        number = f"+{method.get('country_code', '')}{method.get('address', '')}"
        entry = by_number.setdefault(
            number,
            {
                "phone": number,
                "label": method.get("label", ""),
                "sms": False,
                "voice": False,
            },
        )
        entry["sms" if kind == "sms_contact_method" else "voice"] = True
    return list(by_number.values())


def _turn(seconds: int) -> tuple[int, str] | None:
    for size, unit in ((WEEK, plan.WEEKS), (DAY, plan.DAYS), (HOUR, plan.HOURS)):
        if seconds % size == 0 and seconds // size <= 32767:
            return seconds // size, unit
    return None


def _restriction(
    restrictions: list[dict[str, Any]],
) -> tuple[str, dt.time | None, dt.time | None] | str:
    """(weekdays, start, end) for restrictions our one-window rule can hold, or
    the reason it cannot."""
    if not restrictions:
        return "", None, None
    starts = {r.get("start_time_of_day") for r in restrictions}
    lengths = {r.get("duration_seconds") for r in restrictions}
    if len(starts) != 1 or len(lengths) != 1:
        return "restrictions with different times or lengths (ours: one window)"
    length = lengths.pop()
    if not isinstance(length, int) or not 0 < length < DAY:
        return "a restriction of a day or longer (ours: a window within a day)"
    start = dt.time.fromisoformat(str(starts.pop()))
    end = (
        dt.datetime.combine(dt.date(2000, 1, 3), start) + dt.timedelta(seconds=length)
    ).time()
    kinds = {r.get("type") for r in restrictions}
    if kinds == {"daily_restriction"}:
        return "", start, end
    if kinds == {"weekly_restriction"}:
        days = sorted({int(r["start_day_of_week"]) - 1 for r in restrictions})
        return "".join(str(d) for d in days), start, end
    return "daily and weekly restrictions mixed (ours: one window)"


def _layer_rotation(
    *,
    schedule: dict[str, Any],
    layer: dict[str, Any],
    number: int,
    team: str,
    usernames: dict[str, str],
    now: dt.datetime,
) -> dict[str, Any] | str:
    """A primary-only rotation for one layer, or why it cannot be one."""
    tz = zoneinfo.ZoneInfo(schedule["time_zone"])
    turn = _turn(int(layer.get("rotation_turn_length_seconds") or 0))
    if turn is None:
        return "a turn length that is not whole hours"
    restricted = _restriction(layer.get("restrictions") or [])
    if isinstance(restricted, str):
        return restricted
    begins = _instant(layer.get("start"), "layer start")
    if begins > now:
        return f"it starts later, at {begins:%Y-%m-%d %H:%M}Z (ours: from the start)"
    end = layer.get("end")
    if end and _instant(end, "layer end") <= now:
        return "it has ended"
    if end:
        return "it ends at a set time (ours: rotations do not end)"
    virtual = _instant(layer["rotation_virtual_start"], "rotation_virtual_start")
    local = virtual.astimezone(tz)
    users = [_ref(u.get("user"), "layer user") for u in layer.get("users") or []]
    if not users or any(u not in usernames for u in users):
        return "a user who could not be imported"
    weekdays, start, finish = restricted
    return {
        "slug": _sid("pd", f"{schedule['id']}-{layer['id']}"),
        "team": team,
        "name": f"{schedule['name']} / {layer.get('name') or layer['id']}",
        "scheme": plan.PRIMARY_ONLY,
        "participants": [usernames[u] for u in users],
        "shift_length": turn[0],
        "shift_unit": turn[1],
        "start_date": local.date().isoformat(),
        "handoff_time": local.time().isoformat(),
        "handoff_weekday": local.weekday() if turn[1] == plan.WEEKS else None,
        "time_zone": schedule["time_zone"],
        "layer": number,
        "restrict_weekdays": weekdays,
        "restrict_start": None if start is None else start.isoformat(),
        "restrict_end": None if finish is None else finish.isoformat(),
    }


@dataclass
class _Reading:
    """What planning gathers as it goes."""

    now: dt.datetime
    horizon: dt.timedelta
    team_slug: dict[str, str]
    usernames: dict[str, str]
    schedules: dict[str, dict[str, Any]]
    problems: list[str] = field(default_factory=list)
    rotations: list[dict[str, Any]] = field(default_factory=list)
    policies: list[dict[str, Any]] = field(default_factory=list)
    teams: list[TeamPlan] = field(default_factory=list)
    overrides: list[OverridePlan] = field(default_factory=list)
    used_schedules: set[str] = field(default_factory=set)
    member_teams: dict[str, set[str]] = field(default_factory=dict)
    team_zone: dict[str, str] = field(default_factory=dict)
    policy_team: dict[str, str] = field(default_factory=dict)


def pagerduty_read(
    *,
    client: SourceClient,
    team: str | None = None,
    now: dt.datetime,
    horizon: dt.timedelta = dt.timedelta(weeks=8),
) -> ImportReport:
    """Read the source and plan the import; nothing is written."""
    with answers_in_shape(SOURCE):
        return _read(client=client, team=team, now=now, horizon=horizon)


def _read(
    *,
    client: SourceClient,
    team: str | None,
    now: dt.datetime,
    horizon: dt.timedelta,
) -> ImportReport:
    users = list(
        client.offset_pages("/users", "users", {"include[]": "contact_methods"})
    )
    teams = {_ref(t, "team"): t for t in client.offset_pages("/teams", "teams")}
    policies = list(client.offset_pages("/escalation_policies", "escalation_policies"))
    services = list(client.offset_pages("/services", "services"))
    schedule_ids = [
        _ref(s, "schedule") for s in client.offset_pages("/schedules", "schedules")
    ]
    wanted = [
        tid
        for tid, t in teams.items()
        if team is None or team in (tid, t.get("name"), team_slug(str(t.get("name"))))
    ]
    if team is not None and not wanted:
        raise ImportFailed(f"{SOURCE} has no team {team!r}")
    r = _Reading(
        now=now,
        horizon=horizon,
        team_slug={
            tid: team_slug(str(teams[tid].get("name") or tid)) for tid in wanted
        },
        usernames={},
        schedules={sid: _schedule(client, sid) for sid in schedule_ids},
    )
    user_by_id = _read_users(users, r)
    for policy in policies:
        _plan_policy(client, policy, r, only_team=team is not None)
    _report_unused_schedules(r, only_team=team is not None)
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
        "integrations": _plan_integrations(services, r),
    }
    return ImportReport(
        document, r.overrides, r.teams, r.problems, usernames=r.usernames
    )


def _schedule(client: SourceClient, sid: str) -> dict[str, Any]:
    schedule = client.get(f"/schedules/{sid}").get("schedule")
    if not isinstance(schedule, dict) or not isinstance(
        schedule.get("schedule_layers"), list
    ):
        raise SourceError(f"{SOURCE}: /schedules/{sid} has no schedule_layers")
    return schedule


def _read_users(users: list[dict[str, Any]], r: _Reading) -> dict[str, dict]:
    user_by_id = {}
    for user in users:
        uid = _ref(user, "user")
        if not _phones(user):
            r.problems.append(
                f"user {user.get('email') or uid}: no phone or SMS contact method "
                "(ours pages by phone); not imported"
            )
            continue
        username = _username(user)
        if username in r.usernames.values():  # same local part, other domain
            username = f"{username}-{uid.lower()}"
        r.usernames[uid] = username
        user_by_id[uid] = user
    return user_by_id


def _plan_policy(
    client: SourceClient, policy: dict[str, Any], r: _Reading, *, only_team: bool
) -> None:
    pid = _ref(policy, "escalation policy")
    owners = [_ref(t, "policy team") for t in policy.get("teams") or []]
    owner = next((t for t in owners if t in r.team_slug), None)
    if owner is None:
        if not only_team:
            r.problems.append(
                f"escalation policy {policy.get('name')!r}: belongs to no team "
                "(ours: every policy belongs to a team); not imported"
            )
        return
    slug = r.team_slug[owner]
    r.policy_team[pid] = slug
    first_of_team = all(tp.slug != slug for tp in r.teams)
    role_of: dict[str, str] = {}
    if first_of_team:
        role_of = _plan_team_schedule(client, policy, slug, r)
    r.policies.append(
        _policy(
            policy,
            slug,
            first_of_team,
            role_of,
            r.usernames,
            r.problems,
            r.member_teams,
        )
    )


def _plan_team_schedule(
    client: SourceClient, policy: dict[str, Any], slug: str, r: _Reading
) -> dict[str, str]:
    """The team's rotations from its first policy's first two rules; the role
    each imported schedule holds."""
    level = [
        [
            t["id"]
            for t in rule.get("targets") or []
            if t.get("type") == "schedule_reference"
        ]
        for rule in (policy.get("escalation_rules") or [])[:2]
    ]
    primary_id = level[0][0] if level and level[0] else None
    secondary_id = level[1][0] if len(level) > 1 and level[1] else None
    if primary_id is None:
        r.problems.append(
            f"team {slug}: its first escalation policy's first rule targets "
            "no schedule; no rotation imported"
        )
        return {}
    role_of = {primary_id: plan.PRIMARY}
    made, combined = _team_rotations(
        slug=slug,
        primary=r.schedules[primary_id],
        secondary=r.schedules.get(secondary_id or ""),
        usernames=r.usernames,
        now=r.now,
        problems=r.problems,
    )
    r.rotations.extend(made)
    r.used_schedules.add(primary_id)
    if secondary_id:
        r.used_schedules.add(secondary_id)
        if combined:
            role_of[secondary_id] = plan.SECONDARY
    r.team_zone[slug] = r.schedules[primary_id]["time_zone"]
    for rotation in made:
        for username in rotation["participants"]:
            r.member_teams.setdefault(username, set()).add(slug)
    r.teams.append(
        TeamPlan(slug, _ref(policy, "policy"), primary_id, secondary_id, combined)
    )
    slugs = [rotation["slug"] for rotation in made]
    for sid, role in role_of.items():
        r.overrides += _overrides(
            client,
            r.schedules[sid],
            role,
            slugs,
            r.usernames,
            r.now,
            r.now + r.horizon,
            r.problems,
        )
    return role_of


def _report_unused_schedules(r: _Reading, *, only_team: bool) -> None:
    for sid, schedule in r.schedules.items():
        if sid in r.used_schedules:
            continue
        owners = {_ref(t, "schedule team") for t in schedule.get("teams") or []}
        if only_team and not owners & set(r.team_slug):
            continue
        r.problems.append(
            f"schedule {schedule.get('name')!r}: not the primary or secondary of a "
            "team's first escalation policy (ours: one schedule per team); "
            "not imported"
        )


def _plan_integrations(
    services: list[dict[str, Any]], r: _Reading
) -> list[dict[str, Any]]:
    integrations = []
    for service in services:
        pid = _ref(service.get("escalation_policy"), "service escalation policy")
        if pid not in r.policy_team:
            continue
        service_slug = _sid("pd", _ref(service, "service"))
        team = r.policy_team[pid]
        disabled = service.get("status") == "disabled"
        integrations.append(
            {
                "slug": service_slug,
                "team": team,
                "name": service.get("name") or service["id"],
                "enabled": not disabled,
                "routes": [
                    {
                        "slug": f"{service_slug}-catch-all",
                        "team": team,
                        "escalation_policy": _sid("pd", pid),
                        "matchers": [],
                    }
                ],
            }
        )
        if disabled:
            r.problems.append(
                f"service {service.get('name')!r}: disabled there, imported disabled"
            )
    return integrations


def _plan_members(
    user_by_id: dict[str, dict[str, Any]], r: _Reading
) -> list[dict[str, Any]]:
    for uid, username in r.usernames.items():
        for team_ref in user_by_id[uid].get("teams") or []:
            if team_ref.get("id") in r.team_slug:
                r.member_teams.setdefault(username, set()).add(
                    r.team_slug[team_ref["id"]]
                )
    members = []
    for uid, username in sorted(r.usernames.items(), key=lambda kv: kv[1]):
        if username not in r.member_teams:
            continue  # in no imported team
        user = user_by_id[uid]
        teams, phones, _ = with_existing(
            username, r.member_teams[username], _phones(user)
        )
        members.append(
            {
                "username": username,
                "name": user.get("name") or username,
                "phone": phones[0]["phone"],
                "time_zone": user.get("time_zone") or "UTC",
                "teams": sorted(teams),
                "contact_methods": phones,
            }
        )
    return members


def _team_rotations(
    *,
    slug: str,
    primary: dict[str, Any],
    secondary: dict[str, Any] | None,
    usernames: dict[str, str],
    now: dt.datetime,
    problems: list[str],
) -> tuple[list[dict[str, Any]], bool]:
    layers = primary["schedule_layers"]
    # The API lists the layers top first (the layer that wins is first).
    made: list[dict[str, Any]] = []
    for index, layer in enumerate(layers):
        rotation = _layer_rotation(
            schedule=primary,
            layer=layer,
            number=len(layers) - index,
            team=slug,
            usernames=usernames,
            now=now,
        )
        if isinstance(rotation, str):
            problems.append(
                f"schedule {primary['name']!r} layer {layer.get('name')!r}: "
                f"{rotation}; not imported"
            )
        else:
            made.append(rotation)
    if secondary is None:
        return made, False
    s_layers = secondary["schedule_layers"]
    if len(layers) == 1 == len(s_layers) and len(made) == 1:
        s_rotation = _layer_rotation(
            schedule=secondary,
            layer=s_layers[0],
            number=1,
            team=slug,
            usernames=usernames,
            now=now,
        )
        if isinstance(s_rotation, dict):
            combined = paired_or_follow(
                made[0],
                s_rotation,
                slug=_sid("pd", primary["id"]),
                name=f"{primary['name']} + {secondary['name']}",
            )
            if combined is not None:
                return [combined], True
    problems.append(
        f"schedule {secondary['name']!r} (team {slug}'s secondary): not a paired or "
        "follow partner of the primary schedule (ours: the secondary comes from the "
        "primary's rotation); not imported, nor is the policy's step to it"
    )
    return made, False


def _overrides(
    client: SourceClient,
    schedule: dict[str, Any],
    role: str,
    slugs: list[str],
    usernames: dict[str, str],
    since: dt.datetime,
    until: dt.datetime,
    problems: list[str],
) -> list[OverridePlan]:
    body = client.get(
        f"/schedules/{schedule['id']}/overrides",
        {"since": since.isoformat(), "until": until.isoformat()},
    )
    items = body.get("overrides")
    if not isinstance(items, list):
        raise SourceError(
            f"{SOURCE}: /schedules/{schedule['id']}/overrides has no list"
        )
    found = []
    for item in items:
        oid = _ref(item, "override")
        uid = _ref(item.get("user"), "override user")
        start = _instant(item.get("start"), "override start")
        end = _instant(item.get("end"), "override end")
        if end <= since:
            continue
        if uid not in usernames:
            problems.append(f"override {oid}: its user could not be imported")
            continue
        found.append(
            OverridePlan(
                oid, slugs, role, usernames[uid], max(start, since), end, start < since
            )
        )
    return found


def _policy(
    policy: dict[str, Any],
    team: str,
    default: bool,
    role_of: dict[str, str],
    usernames: dict[str, str],
    problems: list[str],
    member_teams: dict[str, set[str]],
) -> dict[str, Any]:
    steps = []
    previous = 0
    rules = policy.get("escalation_rules") or []
    for n, rule in enumerate(rules, start=1):
        delay = previous
        for target in rule.get("targets") or []:
            kind, tid = target.get("type"), target.get("id")
            if kind == "schedule_reference" and tid in role_of:
                step = {"target": role_of[tid]}
            elif kind == "user_reference" and tid in usernames:
                step = {"target": "member", "member": usernames[tid]}
                member_teams.setdefault(usernames[tid], set()).add(team)
            else:
                problems.append(
                    f"escalation policy {policy.get('name')!r} rule {n}: target "
                    f"{kind} {tid} has no equivalent here; step not imported"
                )
                continue
            steps.append({**step, "delay_seconds": delay * 60})
            delay = 0  # the rule's other targets are paged at the same time
        previous = int(rule.get("escalation_delay_in_minutes") or 0)
    return {
        "slug": _sid("pd", policy["id"]),
        "team": team,
        "name": policy.get("name") or policy["id"],
        "description": policy.get("description") or "",
        "team_default": default,
        "repeat": int(policy.get("num_loops") or 0),
        "repeat_after_seconds": previous * 60,
        "steps": steps,
    }


# --- writing ------------------------------------------------------------------------


def pagerduty_apply(
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
        check=lambda: pagerduty_check(report=report, client=client, now=now),
        dry_run=dry_run,
    )


def _holders(
    entries: Iterable[dict[str, Any]], schedule: str, at: dt.datetime
) -> set[str]:
    found = set()
    for entry in entries:
        if (entry.get("schedule") or {}).get("id") != schedule:
            continue
        start, end = entry.get("start"), entry.get("end")
        if start and _instant(start, "oncall start") > at:
            continue
        if end and _instant(end, "oncall end") <= at:
            continue
        found.add(_ref(entry.get("user"), "oncall user"))
    return found


def pagerduty_check(
    *, report: ImportReport, client: SourceClient, now: dt.datetime
) -> list[Check]:
    """Who is on call in the source (``/oncalls``) against ours (the one
    effective-schedule resolver, through ``team_schedule``), at every hour of the
    next 8 weeks."""
    start = now.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    start += dt.timedelta(hours=1)
    until = start + dt.timedelta(hours=CHECK_HOURS)
    checks = []
    for tp in report.teams:
        entries = list(
            client.offset_pages(
                "/oncalls",
                "oncalls",
                {
                    "escalation_policy_ids[]": tp.policy_id,
                    "since": start.isoformat(),
                    "until": until.isoformat(),
                },
            )
        )
        schedule = team_schedule(
            team=Team.objects.get(slug=tp.slug), start=start, end=until
        )
        segments = schedule.effective  # in order, tiling what is covered

        def username(
            holder: Any, members: dict[int, Member] = schedule.members
        ) -> set[str]:
            return set() if holder is None else {members[holder.member_id].username}

        agree, bad, n = 0, [], 0
        compare_secondary = bool(tp.secondary_schedule and tp.secondary_in_rotation)
        for h in range(CHECK_HOURS):
            at = start + dt.timedelta(hours=h)
            while n < len(segments) and segments[n].ends_at <= at:
                n += 1
            here = (
                segments[n]
                if n < len(segments) and segments[n].starts_at <= at
                else None
            )
            ours_p = username(here.resolution.primary) if here else set()
            ours_s = username(here.resolution.secondary) if here else set()
            theirs_p = {
                report.usernames.get(u, u)
                for u in _holders(entries, tp.primary_schedule, at)
            }
            theirs_s: set[str] = set()
            if compare_secondary and tp.secondary_schedule:
                theirs_s = {
                    report.usernames.get(u, u)
                    for u in _holders(entries, tp.secondary_schedule, at)
                }
            else:
                ours_s = set()
            if (theirs_p, theirs_s) == (ours_p, ours_s):
                agree += 1
            else:
                bad.append(
                    f"{at:%Y-%m-%d %H:%M}Z: {SOURCE} {sorted(theirs_p)}/"
                    f"{sorted(theirs_s)}, ours {sorted(ours_p)}/{sorted(ours_s)}"
                )
        note = "" if compare_secondary else "primary only compared"
        checks.append(Check(tp.slug, agree, CHECK_HOURS, bad, note))
    return checks
