"""Import from Grafana OnCall's public REST API (``<API_URL>/api/v1/``).

What is read: users and their personal notification rules, teams, schedules
and their on-call shifts (rotations, recurrent events and overrides),
escalation chains and their escalation policies (the steps), integrations and
their routes.  What is built: one :mod:`alerts.configfile` document, applied
through ``config_apply`` -- the path ``manage.py oncall_apply`` takes -- plus
the future overrides, in the same transaction (the pieces every importer shares:
:mod:`alerts.importers.apply`, `pairing` and `report`).

Our model gives a team one effective schedule with a primary and a secondary.
A Grafana team's schedules are read off its escalation chain (the one its
integrations' default routes use, else its first): the schedule of the first
"notify on-call from schedule" step is the team's primary, the next different
one its secondary.  Each rolling-users or recurrent shift of the primary
becomes a primary-only rotation, its ``level`` the layer; a one-shift primary
and a one-shift secondary that together are a paired or follow rotation
become that one rotation.  A secondary schedule that is no such partner
becomes rotation(s) of its own on the layer(s) below the primary's -- our
resolver makes a lower layer's on-call the secondary -- when the primary is one
rotation around the clock (else a lower primary layer or a gap would come first:
reported, not imported).  Anything else (a monthly shift, two people on call
at once in one layer, a jinja2 route we cannot read as label matchers...) is
listed in the report with the reason, never dropped silently; on a team's
schedule, its next 8 weeks then arrive as overrides from the source's final
shifts where that is faithful (:mod:`alerts.importers.grafana_oncall_final`).

A primary schedule none of whose shifts is a rotation of ours -- an iCal
schedule, whose events live in a calendar outside Grafana OnCall, or a
calendar of monthly events only -- gets a *carrier* rotation: the people of
its final shifts over the horizon, taking weekly turns, on call around the
clock.  Overrides from the final shifts then say who holds it at every hour,
so who is on call is exactly the source's until the horizon ends; the report
says until when, and re-running the import before then carries it on (the
overrides of the new horizon are added, the participants follow the feed).
Overrides change who, never coverage: hours where the source has nobody or
several people on call are listed by the check, not papered over.

Grafana OnCall's public user object has no phone number: people arrive without
one unless ``phones`` (email -> E.164, from ``--phones FILE.csv``) names it;
the report lists each of them (a page to them fails with "no phone number").

Source ids are kept on our side in the slugs (``go-<id>``) and in the
overrides' reason (``grafana-oncall:<id>``), so a second run finds everything
and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

from django.core.exceptions import ValidationError

from alerts.importers.apply import import_apply
from alerts.importers.client import SourceClient, SourceError
from alerts.importers.members import with_existing
from alerts.importers.pairing import paired_or_follow
from alerts.importers.report import (
    DAY,
    HOUR,
    WEEK,
    Check,
    ImportFailed,
    ImportReport,
    OverridePlan,
    TeamPlan,
)
from alerts.importers.values import answers_in_shape, team_slug
from alerts.models import ContactRule
from scheduling import plan
from scheduling.models import Member
from scheduling.validators import validate_e164

SOURCE = "Grafana OnCall"
REASON = "grafana-oncall"  # overrides' reason: grafana-oncall:<shift id>
FREQUENCIES = {
    "hourly": (HOUR, plan.HOURS),
    "daily": (DAY, plan.DAYS),
    "weekly": (WEEK, plan.WEEKS),
}
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")  # index = Python weekday
HOUR_DELTA = dt.timedelta(hours=1)
# A carrier rotation's first turn: a fixed Monday, so that a later run with the
# same people writes nothing.
CARRIER_START = dt.date(2024, 1, 1)
MAX_PAGES = 1000  # a source whose "next" never ends is reported, not followed


def grafana_oncall_client(*, url: str, token: str) -> SourceClient:
    """``url`` is the OnCall API URL (with or without ``/api/v1``); the token
    goes in ``Authorization`` as is (Grafana OnCall's scheme: no "Bearer")."""
    base = url.rstrip("/")
    if not base.endswith("/api/v1"):
        base += "/api/v1"
    return SourceClient(base_url=base, name=SOURCE, headers={"Authorization": token})


def _pages(
    client: SourceClient, path: str, params: dict[str, Any] | None = None
) -> Iterator[dict[str, Any]]:
    """Items of a Grafana OnCall collection: ``results``, then the page ``next``
    names.  Only the page number of ``next`` is used, asked of our own base URL:
    the token is never sent to a host the answer names."""
    query = dict(params or {})
    for _ in range(MAX_PAGES):
        body = client.get(path, query)
        items = body.get("results")
        if not isinstance(items, list):
            raise SourceError(f"{SOURCE}: {path} has no list 'results'")
        for item in items:
            if not isinstance(item, dict):
                raise SourceError(f"{SOURCE}: {path}: an item is not an object")
            yield item
        following = body.get("next")
        if not following:
            return
        if not isinstance(following, str):
            raise SourceError(f"{SOURCE}: {path}: 'next' is not a URL")
        page = parse_qs(urlparse(following).query).get("page")
        if not page:
            raise SourceError(f"{SOURCE}: {path}: 'next' names no page")
        query["page"] = page[0]
    raise SourceError(f"{SOURCE}: {path} has more than {MAX_PAGES} pages")


def _sid(source_id: str) -> str:
    return f"go-{source_id.lower()}"


def _local(value: Any, tz: zoneinfo.ZoneInfo, what: str) -> dt.datetime:
    """A shift's ``start``/``until``: local wall-clock time in the shift's zone
    (``yyyy-MM-ddTHH:mm:ss``), or an instant with an offset; naive local out."""
    if not isinstance(value, str):
        raise SourceError(f"{SOURCE}: {what} is not a date-time: {value!r}")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise SourceError(f"{SOURCE}: {what} is not a date-time: {value!r}") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(tz).replace(tzinfo=None)
    return parsed


def _instant(local: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    return plan.wall_to_utc(local, tz)


@dataclass
class GrafanaImportReport(ImportReport):
    """:class:`ImportReport` and, per team, the slugs of the primary-only
    rotations below the primary's that hold a secondary schedule which is not a
    paired or follow partner of the primary (their overrides are on *their*
    primary role, which is the team's secondary)."""

    secondary_slugs: dict[str, list[str]] = field(default_factory=dict)
    # (username, channel, seconds): the people's notification rules, as our
    # contact rules; how many were written or changed.
    contact_rules: list[tuple[str, str, int]] = field(default_factory=list)
    contact_rules_written: int = 0


# --- reading --------------------------------------------------------------------


@dataclass
class _Reading:
    now: dt.datetime
    horizon: dt.timedelta
    phones: dict[str, str]
    team_slug: dict[str, str]
    usernames: dict[str, str] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    schedules: dict[str, dict[str, Any]] = field(default_factory=dict)
    shifts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    rotations: list[dict[str, Any]] = field(default_factory=list)
    policies: list[dict[str, Any]] = field(default_factory=list)
    teams: list[TeamPlan] = field(default_factory=list)
    overrides: list[OverridePlan] = field(default_factory=list)
    used_schedules: set[str] = field(default_factory=set)
    member_teams: dict[str, set[str]] = field(default_factory=dict)
    team_zone: dict[str, str] = field(default_factory=dict)
    chain_team: dict[str, str] = field(default_factory=dict)
    role_of: dict[str, dict[str, str]] = field(default_factory=dict)  # team -> sid
    no_phone: list[str] = field(default_factory=list)
    client: SourceClient | None = None  # for the final shifts of carriers
    # team -> slugs of the rotations that hold its separate secondary schedule
    secondary_slugs: dict[str, list[str]] = field(default_factory=dict)
    contact_rules: list[tuple[str, str, int]] = field(default_factory=list)


def grafana_oncall_read(
    *,
    client: SourceClient,
    team: str | None = None,
    now: dt.datetime,
    horizon: dt.timedelta = dt.timedelta(weeks=8),
    phones: dict[str, str] | None = None,
) -> ImportReport:
    """Read the source and plan the import; nothing is written.  ``phones``:
    email (lower case) -> E.164 number, for the people the source has none for."""
    with answers_in_shape(SOURCE):
        return _read(
            client=client, team=team, now=now, horizon=horizon, phones=phones or {}
        )


def _read(
    *,
    client: SourceClient,
    team: str | None,
    now: dt.datetime,
    horizon: dt.timedelta,
    phones: dict[str, str],
) -> ImportReport:
    users = list(_pages(client, "/users/"))
    teams = {str(t["id"]): t for t in _pages(client, "/teams/")}
    schedules = list(_pages(client, "/schedules/"))
    chains = list(_pages(client, "/escalation_chains/"))
    steps = list(_pages(client, "/escalation_policies/"))
    integrations = list(_pages(client, "/integrations/"))
    routes = list(_pages(client, "/routes/"))
    rules = list(_pages(client, "/personal_notification_rules/"))
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
        phones=phones,
        team_slug={
            tid: team_slug(str(teams[tid].get("name") or tid)) for tid in wanted
        },
        client=client,
    )
    _read_users(users, r)
    for schedule in schedules:
        sid = str(schedule["id"])
        r.schedules[sid] = schedule
        if schedule.get("type") != "ical":
            r.shifts[sid] = list(
                _pages(client, "/on_call_shifts/", {"schedule_id": sid})
            )
    steps_of: dict[str, list[dict[str, Any]]] = {}
    for step in steps:
        steps_of.setdefault(str(step["escalation_chain_id"]), []).append(step)
    for chain_steps in steps_of.values():
        chain_steps.sort(key=lambda s: int(s.get("position") or 0))
    first_chain = _first_chains(chains, integrations, r)
    for chain in chains:
        _plan_chain(chain, steps_of.get(str(chain["id"]), []), first_chain, r)
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
        "members": _plan_members(rules, r),
        "rotations": r.rotations,
        "escalation_policies": r.policies,
        "integrations": _plan_integrations(integrations, routes, r),
    }
    for username in r.no_phone:
        r.problems.append(
            f"person {username}: no phone number (Grafana OnCall's API has none); "
            "imported without one: pages to them fail until one is set "
            "(--phones FILE.csv, the admin or the API)"
        )
    report = GrafanaImportReport(
        document,
        r.overrides,
        r.teams,
        r.problems,
        usernames=r.usernames,
        secondary_slugs=r.secondary_slugs,
        contact_rules=r.contact_rules,
    )
    report.override_reason = REASON
    return report


def _username(user: dict[str, Any]) -> str:
    name = str(user.get("username") or "").lower()
    if not name:
        name = str(user.get("email") or "").split("@")[0].lower()
    return re.sub(r"[^a-z0-9._-]+", "-", name) or _sid(str(user["id"]))


def _read_users(users: list[dict[str, Any]], r: _Reading) -> None:
    for user in users:
        uid = str(user["id"])
        username = _username(user)
        if username in r.usernames.values():
            username = f"{username}-{uid.lower()}"
        r.usernames[uid] = username
        r.users[uid] = user
        for tid in user.get("teams") or []:
            if str(tid) in r.team_slug:
                r.member_teams.setdefault(username, set()).add(r.team_slug[str(tid)])


def _first_chains(
    chains: list[dict[str, Any]], integrations: list[dict[str, Any]], r: _Reading
) -> dict[str, str]:
    """Per team, the chain that decides its schedule: the one its integrations'
    default routes use, else its first."""
    team_of = {str(c["id"]): c.get("team_id") for c in chains}
    first: dict[str, str] = {}
    for integration in integrations:
        chain = (integration.get("default_route") or {}).get("escalation_chain_id")
        tid = team_of.get(str(chain)) if chain else None
        if tid is not None and str(tid) in r.team_slug:
            first.setdefault(str(tid), str(chain))
    for chain in chains:
        tid = chain.get("team_id")
        if tid is not None and str(tid) in r.team_slug:
            first.setdefault(str(tid), str(chain["id"]))
    return first


def _plan_chain(
    chain: dict[str, Any],
    steps: list[dict[str, Any]],
    first_chain: dict[str, str],
    r: _Reading,
) -> None:
    cid = str(chain["id"])
    tid = chain.get("team_id")
    if tid is None or str(tid) not in r.team_slug:
        if tid is None:
            r.problems.append(
                f"escalation chain {chain.get('name')!r}: belongs to no team "
                "(ours: every policy belongs to a team); not imported"
            )
        return
    slug = r.team_slug[str(tid)]
    r.chain_team[cid] = slug
    default = first_chain.get(str(tid)) == cid
    if default:
        _plan_team_schedule(cid, steps, slug, r)
    r.policies.append(_policy(chain, steps, slug, default, r))


def _schedule_steps(steps: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []
    for step in steps:
        sid = step.get("notify_on_call_from_schedule")
        if step.get("type") == "notify_on_call_from_schedule" and sid:
            if str(sid) not in found:
                found.append(str(sid))
    return found


def _plan_team_schedule(
    cid: str, steps: list[dict[str, Any]], slug: str, r: _Reading
) -> None:
    targets = _schedule_steps(steps)
    primary_id = targets[0] if targets else None
    secondary_id = targets[1] if len(targets) > 1 else None
    if primary_id is None or primary_id not in r.schedules:
        r.problems.append(
            f"team {slug}: its escalation chain notifies no schedule's on-call; "
            "no rotation imported"
        )
        return
    primary = r.schedules[primary_id]
    r.used_schedules.add(primary_id)
    made = _primary_rotations(primary, slug, r)
    secondary = r.schedules.get(secondary_id or "")
    combined = False
    if secondary is not None:
        r.used_schedules.add(str(secondary["id"]))
        made, combined = _with_secondary(primary, secondary, made, slug, r)
    r.rotations.extend(made)
    r.team_zone[slug] = str(primary.get("time_zone") or "UTC")
    for rotation in made:
        for username in rotation["participants"]:
            r.member_teams.setdefault(username, set()).add(slug)
    r.teams.append(TeamPlan(slug, cid, primary_id, secondary_id, combined))
    roles = {primary_id: plan.PRIMARY}
    if combined and secondary_id:
        roles[secondary_id] = plan.SECONDARY
    r.role_of[slug] = roles
    below = r.secondary_slugs.get(slug, [])
    slugs = [rot["slug"] for rot in made if rot["slug"] not in below]
    r.overrides += _overrides(primary, plan.PRIMARY, slugs, r)
    if combined and secondary is not None:
        # A separate secondary's rotations are primary-only: its overrides are on
        # their (only) role.
        r.overrides += (
            _overrides(secondary, plan.PRIMARY, below, r)
            if below
            else _overrides(secondary, plan.SECONDARY, slugs, r)
        )


def _with_secondary(
    primary: dict[str, Any],
    secondary: dict[str, Any],
    made: list[dict[str, Any]],
    slug: str,
    r: _Reading,
) -> tuple[list[dict[str, Any]], bool]:
    """The team's rotations once its secondary schedule is in, and whether it
    is: one paired or follow rotation with the primary's, else its own layer
    below the primary's where that is faithful (else reported)."""
    s_made = (
        []
        if _is_ical(secondary)
        else _schedule_rotations(secondary, slug, r, quiet=True)
    )
    if len(made) == 1 == len(s_made):
        joined = paired_or_follow(
            made[0],
            s_made[0],
            slug=made[0]["slug"],
            name=f"{primary['name']} + {secondary['name']}",
        )
        if joined is not None:
            return [joined], True
    below = _separate_secondary(made, secondary, slug, r)
    if not below:
        return made, False
    r.secondary_slugs[slug] = [rotation["slug"] for rotation in below]
    return made + below, True


def _separate_secondary(
    made: list[dict[str, Any]], secondary: dict[str, Any], team: str, r: _Reading
) -> list[dict[str, Any]]:
    """The secondary schedule as rotations of its own, layered below the
    primary's: our resolver makes the on-call of a lower layer, displaced by the
    primary's, the team's secondary (:mod:`scheduling.effective`, rule 3).  That
    is the source's secondary only when the primary is one rotation around the
    clock (else a lower primary layer, or a gap in the primary, would come
    first); otherwise it is reported, not imported."""
    name = secondary.get("name")
    around_the_clock = len(made) == 1 and not (
        made[0]["restrict_weekdays"] or made[0]["restrict_start"]
    )
    if not around_the_clock:
        r.problems.append(
            f"schedule {name!r} (team {team}'s secondary): not a paired or follow "
            "partner of the primary schedule, and the primary is not one rotation "
            "around the clock (ours: the secondary comes from the primary's "
            "rotation or from a layer below it); not imported, nor the chain's "
            "step to it"
        )
        return []
    below = [] if _is_ical(secondary) else _schedule_rotations(secondary, team, r)
    below = below or _carrier_rotation(secondary, team, r, role=plan.SECONDARY)
    if not below:
        return []
    top = max(int(rotation["layer"]) for rotation in below)
    made[0]["layer"] = top + 1
    r.problems.append(
        f"schedule {name!r} (team {team}'s secondary): not a paired or follow "
        "partner of the primary schedule; imported as its own rotation(s) "
        f"{', '.join(rotation['slug'] for rotation in below)} on layer(s) below "
        f"the primary's (now layer {top + 1}): ours makes a lower layer's on-call "
        "the secondary"
    )
    return below


def _is_ical(schedule: dict[str, Any]) -> bool:
    return schedule.get("type") == "ical"


def _primary_rotations(
    primary: dict[str, Any], team: str, r: _Reading
) -> list[dict[str, Any]]:
    """The primary schedule's rotations, or its carrier when it has none."""
    made = [] if _is_ical(primary) else _schedule_rotations(primary, team, r)
    return made or _carrier_rotation(primary, team, r)


def _carrier_rotation(
    schedule: dict[str, Any], team: str, r: _Reading, *, role: str = plan.PRIMARY
) -> list[dict[str, Any]]:
    """A primary-only rotation of the people of the schedule's final shifts
    over the horizon, in the order they first come on, one week each from a
    fixed Monday (a later run with the same people changes nothing).  Who it
    names at an hour does not matter: the overrides from the final shifts
    (``final_overrides``) name the source's person at every hour."""
    from alerts.importers.grafana_oncall_final import carrier_shifts

    sid, name = str(schedule["id"]), schedule.get("name")
    kind = (
        "an iCal schedule (its events live in a calendar outside Grafana OnCall)"
        if _is_ical(schedule)
        else "none of its shifts is a rotation here"
    )
    if r.client is None:  # pragma: no cover - _read always sets it
        return []
    shifts, start, until = carrier_shifts(client=r.client, sid=sid, now=r.now)
    people: list[str] = []
    for _, _, uid in sorted(shifts):
        if uid not in r.usernames:
            r.problems.append(
                f"schedule {name!r}: its final shifts name user {uid}, who could "
                "not be imported; those hours are left to the check"
            )
        elif r.usernames[uid] not in people:
            people.append(r.usernames[uid])
    if not people:
        r.problems.append(
            f"schedule {name!r} (team {team}'s {role}): {kind}, and nobody is "
            "on call in its final shifts over the next 8 weeks; no rotation "
            "imported"
        )
        return []
    covered = _covered_hours(shifts, start, until)
    total = (until - start) / HOUR_DELTA
    r.problems.append(
        f"schedule {name!r} (team {team}'s {role}): {kind}; "
        f"imported as rotation {_sid(sid)} of {', '.join(people)} (a carrier: "
        "weekly turns, around the clock) with overrides from its final shifts, "
        f"so who is on call is the source's until {until:%Y-%m-%d %H:%M}Z; "
        "re-run the import before then to carry it on"
    )
    if covered < total:
        r.problems.append(
            f"schedule {name!r}: nobody on call for {total - covered:g} of the "
            f"{total:g} hours; ours has the carrier's person then (overrides "
            "change who, never coverage); the check lists those hours"
        )
    return [
        {
            "slug": _sid(sid),
            "team": team,
            "name": f"{name} (carried from its final shifts)",
            "scheme": plan.PRIMARY_ONLY,
            "participants": people,
            "shift_length": 1,
            "shift_unit": plan.WEEKS,
            "start_date": CARRIER_START.isoformat(),
            "handoff_time": "00:00:00",
            "handoff_weekday": CARRIER_START.weekday(),
            "time_zone": "UTC",
            "layer": 1,
            "restrict_weekdays": "",
            "restrict_start": None,
            "restrict_end": None,
        }
    ]


def _covered_hours(
    shifts: list[tuple[dt.datetime, dt.datetime, str]],
    start: dt.datetime,
    until: dt.datetime,
) -> float:
    """Hours of [start, until) when somebody is on call (overlaps counted once)."""
    covered, reach = dt.timedelta(), start
    for begin, end, _ in sorted(shifts):
        begin, end = max(begin, reach), min(end, until)
        if end > begin:
            covered += end - begin
            reach = end
    return covered / HOUR_DELTA


def _schedule_rotations(
    schedule: dict[str, Any], team: str, r: _Reading, *, quiet: bool = False
) -> list[dict[str, Any]]:
    name = schedule.get("name")
    if schedule.get("type") == "ical":
        r.problems.append(
            f"schedule {name!r}: an iCal schedule (its events live in a calendar "
            "outside Grafana OnCall; ours: rotations); not imported -- its final "
            "shifts are what the check below compares"
        )
        return []
    if schedule.get("ical_url_overrides"):
        r.problems.append(
            f"schedule {name!r}: overrides from an iCal URL are not read (ours: "
            "overrides are entered here); the check below shows where they differ"
        )
    made = []
    for shift in r.shifts.get(str(schedule["id"]), []):
        if shift.get("type") == "override":
            continue
        rotation = _shift_rotation(schedule, shift, team, r)
        if isinstance(rotation, str):
            if not quiet:
                r.problems.append(
                    f"schedule {name!r} shift {shift.get('name')!r}: {rotation}; "
                    "not imported"
                )
        else:
            made.append(rotation)
    return made


def _shift_zone(schedule: dict[str, Any], shift: dict[str, Any]) -> str:
    return str(shift.get("time_zone") or schedule.get("time_zone") or "UTC")


def _shift_people(shift: dict[str, Any], r: _Reading) -> list[str] | str:
    """The source ids of the people taking turns, in order, or why the shift's
    kind, frequency or groups are not a rotation of ours."""
    kind = shift.get("type")
    if kind not in ("rolling_users", "recurrent_event"):
        return f"a {kind} shift (ours: rotations that repeat)"
    frequency = shift.get("frequency")
    if frequency not in FREQUENCIES:
        return f"frequency {frequency!r} (ours: hourly, daily or weekly turns)"
    if shift.get("by_month") or shift.get("by_monthday"):
        return "by_month/by_monthday (ours: weekday restrictions only)"
    if kind == "rolling_users":
        groups = shift.get("rolling_users") or []
    else:
        groups = [shift.get("users") or []]  # the same people every time
    if not groups or any(len(g) != 1 for g in groups):
        return "not one person per turn (ours: one primary per layer at a time)"
    users = [str(g[0]) for g in groups]
    if any(u not in r.usernames for u in users):
        return "a user who could not be imported"
    k = int(shift.get("start_rotation_from_user_index") or 0) % len(users)
    return users[k:] + users[:k]


def _shift_rotation(
    schedule: dict[str, Any], shift: dict[str, Any], team: str, r: _Reading
) -> dict[str, Any] | str:
    """A primary-only rotation for one shift, or why it cannot be one."""
    users = _shift_people(shift, r)
    if isinstance(users, str):
        return users
    frequency = str(shift.get("frequency"))
    zone = _shift_zone(schedule, shift)
    tz = zoneinfo.ZoneInfo(zone)
    interval = int(shift.get("interval") or 1)
    start = _local(shift.get("start"), tz, "shift start")
    local_now = r.now.astimezone(tz).replace(tzinfo=None)
    if start > local_now:
        return f"it starts later, at {start:%Y-%m-%d %H:%M} (ours: from the start)"
    if shift.get("until"):
        if _local(shift["until"], tz, "shift until") <= local_now:
            return "it has ended"
        return "it ends at a set time (ours: rotations do not end)"
    size, unit = FREQUENCIES[frequency]
    turn = size * interval
    duration = int(shift["duration"])
    restricted = _window(shift, start, duration, turn, frequency, interval, users)
    if isinstance(restricted, str):
        return restricted
    weekdays, window_start, window_end = restricted
    return {
        "slug": _sid(str(shift["id"])),
        "team": team,
        "name": f"{schedule.get('name')} / {shift.get('name') or shift['id']}",
        "scheme": plan.PRIMARY_ONLY,
        "participants": [r.usernames[u] for u in users],
        "shift_length": interval,
        "shift_unit": unit,
        "start_date": start.date().isoformat(),
        "handoff_time": start.time().isoformat(),
        "handoff_weekday": start.weekday() if unit == plan.WEEKS else None,
        "time_zone": zone,
        # Grafana's level starts at 0, ours at 1; the higher wins in both.
        "layer": int(shift.get("level") or 0) + 1,
        "restrict_weekdays": weekdays,
        "restrict_start": window_start,
        "restrict_end": window_end,
    }


def _window(
    shift: dict[str, Any],
    start: dt.datetime,
    duration: int,
    turn: int,
    frequency: str,
    interval: int,
    users: list[str],
) -> tuple[str, str | None, str | None] | str:
    """(weekdays, start, end) of the one daily window our rotations hold, or why
    the shift's events are not such a window."""
    by_day = shift.get("by_day") or []
    if not by_day and duration >= turn:
        # Back to back (or overlapping, the later one winning): around the clock.
        return "", None, None
    if not 0 < duration < DAY:
        return (
            "events shorter than their turn but a day or longer (ours: a window "
            "within a day)"
        )
    begin = start.time()
    end = (start + dt.timedelta(seconds=duration)).time()
    if not by_day:
        if frequency == "daily" and interval == 1:
            return "", begin.isoformat(), end.isoformat()
        if frequency == "weekly" and interval == 1:
            return str(start.weekday()), begin.isoformat(), end.isoformat()
        return (
            "events shorter than their turn, every few turns (ours: a window each day)"
        )
    if any(d not in WEEKDAYS for d in by_day):
        return f"by_day {by_day!r} is not iCal weekdays"
    days = "".join(sorted(str(WEEKDAYS.index(d)) for d in set(by_day)))
    if frequency == "weekly" and interval == 1:
        # The turn passes at the start of the week; ours at the handoff: the
        # same when the first event is on the week's first day.
        week_start = shift.get("week_start") or "SU"
        if len(users) > 1 and WEEKDAYS[start.weekday()] != week_start:
            return (
                "by_day events whose turn passes on a week_start other than the "
                "first event's day (ours: at the handoff)"
            )
        return days, begin.isoformat(), end.isoformat()
    if len(users) == 1 and frequency == "daily" and interval == 1:
        return days, begin.isoformat(), end.isoformat()
    return f"by_day with {frequency} turns of several people (ours: weekly turns)"


def _overrides(
    schedule: dict[str, Any], role: str, slugs: list[str], r: _Reading
) -> list[OverridePlan]:
    """The schedule's future override shifts (on top of every level)."""
    found = []
    until = r.now + r.horizon
    for shift in r.shifts.get(str(schedule["id"]), []):
        if shift.get("type") != "override":
            continue
        oid = str(shift["id"])
        tz = zoneinfo.ZoneInfo(_shift_zone(schedule, shift))
        start = _instant(_local(shift.get("start"), tz, "override start"), tz)
        end = start + dt.timedelta(seconds=int(shift["duration"]))
        if end <= r.now or start >= until:
            continue
        people = [str(u) for u in shift.get("users") or []]
        if len(people) != 1 or people[0] not in r.usernames:
            r.problems.append(
                f"override {oid}: not one person who could be imported "
                "(ours: one member covers an override); not imported"
            )
            continue
        found.append(
            OverridePlan(
                oid,
                slugs,
                role,
                r.usernames[people[0]],
                max(start, r.now),
                end,
                start < r.now,
            )
        )
    return found


def _policy(
    chain: dict[str, Any],
    steps: list[dict[str, Any]],
    team: str,
    default: bool,
    r: _Reading,
) -> dict[str, Any]:
    """Grafana's steps run in order; a ``wait`` delays the next one.  Ours: each
    step has its delay after the previous one."""
    name = str(chain.get("name") or chain["id"])
    out: list[dict[str, Any]] = []
    wait = 0
    repeat = 0
    repeat_after = 0
    for n, step in enumerate(steps, start=1):
        kind = step.get("type")
        if kind == "wait":
            wait += int(step.get("duration") or 0)
            continue
        if kind == "repeat_escalation":
            # Grafana repeats the chain from the top, at most 5 times; the
            # steps after this one are never reached.
            repeat, repeat_after = 5, wait
            if len(steps) > n:
                r.problems.append(
                    f"escalation chain {name!r}: {len(steps) - n} step(s) after "
                    "repeat_escalation are never reached there; not imported"
                )
            break
        if step.get("important"):
            r.problems.append(
                f"escalation chain {name!r} step {n}: important (Grafana: the "
                "persons' important notification rules); ours: each person's one "
                "set of contact rules"
            )
        made = _step_targets(step, name, n, team, r)
        for index, entry in enumerate(made):
            out.append({**entry, "delay_seconds": wait if index == 0 else 0})
        if made:
            wait = 0
    return {
        "slug": _sid(str(chain["id"])),
        "team": team,
        "name": name,
        "team_default": default,
        "repeat": repeat,
        "repeat_after_seconds": repeat_after if repeat else 300,
        "steps": out,
    }


def _step_targets(
    step: dict[str, Any], chain: str, n: int, team: str, r: _Reading
) -> list[dict[str, Any]]:
    """Our steps for one Grafana notify step (several for several persons, paged
    at once), or none, reported, when ours has no equivalent."""
    kind = step.get("type")
    if kind == "notify_on_call_from_schedule":
        sid = str(step.get("notify_on_call_from_schedule"))
        roles = r.role_of.get(team, {})
        if sid in roles:
            return [{"target": roles[sid]}]
        r.problems.append(
            f"escalation chain {chain!r} step {n}: the on-call of schedule {sid}, "
            "not this team's primary or secondary here; step not imported"
        )
        return []
    if kind == "notify_team_members":
        return [{"target": "team"}]
    if kind != "notify_persons":
        r.problems.append(
            f"escalation chain {chain!r} step {n}: {kind} has no equivalent here; "
            "step not imported"
        )
        return []
    people = [str(p) for p in step.get("persons_to_notify") or []]
    made = []
    for person in people:
        if person not in r.usernames:
            r.problems.append(
                f"escalation chain {chain!r} step {n}: person {person} could not "
                "be imported; left out"
            )
            continue
        username = r.usernames[person]
        r.member_teams.setdefault(username, set()).add(team)
        made.append({"target": "member", "member": username})
    return made


def _report_unused_schedules(r: _Reading, *, only_team: bool) -> None:
    for sid, schedule in r.schedules.items():
        if sid in r.used_schedules:
            continue
        if only_team and str(schedule.get("team_id")) not in r.team_slug:
            continue
        r.problems.append(
            f"schedule {schedule.get('name')!r}: not the primary or secondary of a "
            "team's escalation chain (ours: one schedule per team); not imported"
        )


def _contact_flags(rules: list[dict[str, Any]], username: str, r: _Reading) -> dict:
    """SMS and voice as the person's (non-important) notification rules say."""
    kinds = {rule.get("type") for rule in rules if not rule.get("important")}
    sms, voice = "notify_by_sms" in kinds, "notify_by_phone_call" in kinds
    if not sms and not voice:
        r.problems.append(
            f"person {username}: their notification rules use neither SMS nor "
            "phone calls; both are on here"
        )
        return {"sms": True, "voice": True}
    return {"sms": sms, "voice": voice}


RULE_CHANNELS = {"notify_by_sms": "sms", "notify_by_phone_call": "voice"}


def _contact_rules(
    rules: list[dict[str, Any]], username: str, r: _Reading
) -> list[tuple[str, str, int]]:
    """(username, channel, seconds after the step fires) from the person's
    default notification rules, in ``position`` order: each ``wait`` delays what
    follows, as in Grafana OnCall.  Ours holds one delay per channel (the first
    SMS, the first call) and no other kinds; the rest is reported.  Their
    ``important`` rules (for important steps) have no separate place here."""
    ordered = sorted(
        (rule for rule in rules if not rule.get("important")),
        key=lambda rule: int(rule.get("position") or 0),
    )
    planned: list[tuple[str, str, int]] = []
    wait = 0
    for rule in ordered:
        kind = str(rule.get("type"))
        if kind == "wait":
            wait += int(rule.get("duration") or 0)
        elif kind not in RULE_CHANNELS:
            r.problems.append(
                f"person {username}: notification rule {kind} has no equivalent "
                "here (ours: SMS and calls); left out"
            )
        elif any(channel == RULE_CHANNELS[kind] for _, channel, _ in planned):
            r.problems.append(
                f"person {username}: a second {kind} after {wait}s (ours: one "
                "delay per channel); left out"
            )
        else:
            planned.append((username, RULE_CHANNELS[kind], wait))
    important = sorted(
        (rule for rule in rules if rule.get("important")),
        key=lambda rule: int(rule.get("position") or 0),
    )
    if important and [x.get("type") for x in important] != [
        x.get("type") for x in ordered
    ]:
        r.problems.append(
            f"person {username}: their important notification rules (for "
            "important steps) differ from their default ones (ours: one set of "
            "contact rules for every step); the default ones are imported"
        )
    return planned


def _plan_members(rules: list[dict[str, Any]], r: _Reading) -> list[dict[str, Any]]:
    rules_of: dict[str, list[dict[str, Any]]] = {}
    for rule in rules:
        rules_of.setdefault(str(rule.get("user_id")), []).append(rule)
    members = []
    for uid, username in sorted(r.usernames.items(), key=lambda kv: kv[1]):
        if username not in r.member_teams:
            continue  # in no imported team
        user = r.users[uid]
        email = str(user.get("email") or "").lower()
        phone = r.phones.get(email, "")
        methods = []
        if phone:
            flags = _contact_flags(rules_of.get(uid, []), username, r)
            methods.append({"phone": phone, "label": "imported", **flags})
        # Someone already here also keeps their phone.
        teams, methods, existing = with_existing(
            username, r.member_teams[username], methods
        )
        if existing is not None:
            phone = phone or existing.phone
        if not phone and not methods:
            r.no_phone.append(username)
        r.contact_rules += _contact_rules(rules_of.get(uid, []), username, r)
        members.append(
            {
                "username": username,
                "name": user.get("name") or user.get("username") or username,
                "phone": phone or (methods[0]["phone"] if methods else ""),
                "time_zone": user.get("timezone") or "UTC",
                "teams": sorted(teams),
                "contact_methods": methods,
            }
        )
    return members


_REGEX_ROUTE = re.compile(r'^"(?P<key>[A-Za-z_][A-Za-z0-9_]*)":\s?"(?P<value>[^"]*)"$')
_JINJA_ROUTE = re.compile(
    r"^\{\{\s*payload\.(?:commonLabels|labels|groupLabels)\.(?P<key>[A-Za-z_]\w*)"
    r"\s*(?P<op>==|!=)\s*[\"'](?P<value>[^\"']*)[\"']\s*\}\}$"
)
_LITERAL = re.compile(r"^[A-Za-z0-9_. -]*$")
_ALTERNATION = re.compile(r"^\((?P<alts>[A-Za-z0-9_. -]+(?:\|[A-Za-z0-9_. -]+)+)\)$")


def route_matchers(routing_type: str, expression: str) -> list[str] | None:
    """Label matchers equal to a Grafana route, when there are: a regex route
    ``"key": "value"`` (or ``"key": "(a|b)"``) searched in the alert's JSON, or a
    jinja2 route ``{{ payload.commonLabels.key == "value" }}`` (or ``!=``)."""
    text = (expression or "").strip()
    if routing_type == "jinja2":
        found = _JINJA_ROUTE.match(text)
        if found is None:
            return None
        op = "=" if found["op"] == "==" else "!="
        return [f'{found["key"]}{op}"{found["value"]}"']
    found = _REGEX_ROUTE.match(text)
    if found is None:
        return None
    value = found["value"]
    if _LITERAL.match(value):
        return [f'{found["key"]}="{value}"']
    alternation = _ALTERNATION.match(value)
    if alternation:
        return [f'{found["key"]}=~"{alternation["alts"]}"']
    return None


def _plan_integrations(
    integrations: list[dict[str, Any]], routes: list[dict[str, Any]], r: _Reading
) -> list[dict[str, Any]]:
    routes_of: dict[str, list[dict[str, Any]]] = {}
    for route in routes:
        routes_of.setdefault(str(route["integration_id"]), []).append(route)
    out = []
    for integration in integrations:
        iid = str(integration["id"])
        name = integration.get("name") or iid
        tid = integration.get("team_id")
        if tid is None or str(tid) not in r.team_slug:
            if tid is None:
                r.problems.append(
                    f"integration {name!r}: belongs to no team (ours: every "
                    "integration belongs to a team); not imported"
                )
            continue
        team = r.team_slug[str(tid)]
        if integration.get("type") not in ("alertmanager", "grafana_alerting"):
            r.problems.append(
                f"integration {name!r}: a {integration.get('type')} integration; "
                "imported as an Alertmanager webhook (ours: the one kind)"
            )
        slug = _sid(iid)
        planned = []
        ordered = sorted(
            routes_of.get(iid, []), key=lambda x: int(x.get("position") or 0)
        )
        for route in ordered:
            if route.get("is_the_last_route"):
                continue
            matchers = route_matchers(
                str(route.get("routing_type") or "regex"),
                str(route.get("routing_regex") or ""),
            )
            if matchers is None:
                r.problems.append(
                    f"integration {name!r} route {route.get('routing_regex')!r} "
                    f"({route.get('routing_type')}): not expressible as label "
                    "matchers; not imported (its alerts go to the next route)"
                )
                continue
            planned.append(
                _route(f"{_sid(str(route['id']))}", route, matchers, team, r)
            )
        default = integration.get("default_route") or {}
        planned.append(
            _route(f"{slug}-default", default, [], team, r, name=f"{name} default")
        )
        out.append(
            {
                "slug": slug,
                "team": team,
                "name": name,
                "routes": [{**p, "position": n} for n, p in enumerate(planned)],
            }
        )
    return out


def _route(
    slug: str,
    route: dict[str, Any],
    matchers: list[str],
    team: str,
    r: _Reading,
    *,
    name: str = "",
) -> dict[str, Any]:
    chain = route.get("escalation_chain_id")
    policy = _sid(str(chain)) if chain and str(chain) in r.chain_team else None
    if chain and policy is None:
        r.problems.append(
            f"route {route.get('id')}: its escalation chain {chain} was not "
            "imported; the team's default policy takes its alerts"
        )
    return {
        "slug": slug,
        "name": name or str(route.get("routing_regex") or "")[:100],
        "team": r.chain_team.get(str(chain), team) if policy else team,
        "escalation_policy": policy,
        "matchers": matchers,
    }


# --- writing ------------------------------------------------------------------------


def grafana_oncall_apply(
    *,
    report: ImportReport,
    client: SourceClient,
    now: dt.datetime,
    dry_run: bool = False,
) -> ImportReport:
    """Apply the plan (one transaction); where the source's final shifts still
    differ from ours and ours has the role then, add overrides from them (what
    our rotations cannot express); then compare who is on call with the source at
    every hour of the next 8 weeks.  ``dry_run``: the same, rolled back."""
    from alerts.importers.grafana_oncall_final import final_overrides

    def also() -> int:
        if isinstance(report, GrafanaImportReport):
            report.contact_rules_written = _apply_contact_rules(report)
        return final_overrides(report=report, client=client, now=now)

    return import_apply(
        report,
        check=lambda: grafana_oncall_check(report=report, client=client, now=now),
        also=also,
        dry_run=dry_run,
    )


def _apply_contact_rules(report: GrafanaImportReport) -> int:
    """Each person's contact rule per channel, created or its delay updated
    (rules of theirs on other channels stay); how many rows changed."""
    written = 0
    for username, channel, seconds in report.contact_rules:
        member = Member.objects.get(user__username=username)
        delay = dt.timedelta(seconds=seconds)
        rule, created = ContactRule.objects.get_or_create(
            member=member, channel=channel, defaults={"delay": delay}
        )
        if not created and rule.delay != delay:
            rule.delay = delay
            rule.save(update_fields=["delay"])
            written += 1
        written += created
    return written


def grafana_oncall_check(
    *, report: ImportReport, client: SourceClient, now: dt.datetime
) -> list[Check]:
    """Who is on call in the source against ours, hour by hour (in
    :mod:`alerts.importers.grafana_oncall_final`)."""
    from alerts.importers.grafana_oncall_final import final_check

    return final_check(report=report, client=client, now=now)


def phones_parse(lines: list[str]) -> dict[str, str]:
    """``email,phone`` lines (a header line ``email,phone`` allowed) ->
    {email: phone}; ``ValueError`` naming the line for anything else."""
    found: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or (number == 1 and text.lower().replace(" ", "") == "email,phone"):
            continue
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 2 or "@" not in parts[0]:
            raise ValueError(f"line {number}: expected email,phone")
        try:
            validate_e164(parts[1])
        except ValidationError:
            raise ValueError(
                f"line {number}: {parts[1]!r} is not an E.164 number (+...)"
            ) from None
        found[parts[0].lower()] = parts[1]
    return found
