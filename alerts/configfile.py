"""Configuration as code: a whole organisation's configuration as one document
(``manage.py oncall_export``), and applying such a document (``oncall_apply``).

What it holds: teams; members with their teams and contact methods; rotations;
escalation policies with their steps; integrations (never a token) with their
routes and matchers; maintenance windows.  Incidents, pages, shifts and tokens
are not configuration and are left alone.

Applying goes through the same services as the API's ``PUT`` (and the admin):
``scheduling.teams``, ``members``, ``rotations``; ``alerts.paging.contacts``,
``alerts.escalation.policies``, ``alerts.intake.integrations`` and ``routes``,
``alerts.incidents.maintenance``.  Each entry is the whole object, as a ``PUT``
body: a field left out takes its default, and a service that finds nothing to
change writes nothing -- so applying the same document twice changes nothing
the second time.  Lists inside an object (a member's contact methods, a
policy's steps, an integration's routes) become exactly the document's; objects
the document does not name (a team, a member...) are left as they are.

Objects are found by their natural key: teams by slug, members by username,
rotations, policies, integrations and routes by slug (without one, rotations,
policies and integrations by team and name),
maintenance windows by their team or integration and start.  The whole apply is
one transaction: a problem anywhere (reported with the path in the document,
``ConfigError``) leaves the database exactly as it was.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from alerts.escalation.policies import (
    StepSpec,
    policy_create,
    policy_delete,
    policy_steps,
    policy_update,
)
from alerts.incidents.maintenance import (
    maintenance_create,
    maintenance_delete,
    maintenance_update,
)
from alerts.intake.integrations import (
    integration_create,
    integration_delete,
    integration_update,
)
from alerts.intake.routes import (
    matchers_parse,
    route_create,
    route_delete,
    route_update,
)
from alerts.models import (
    ContactMethod,
    EscalationPolicy,
    Integration,
    MaintenanceWindow,
    Route,
)
from alerts.paging.contacts import (
    contact_method_create,
    contact_method_delete,
    contact_method_update,
)
from scheduling.members import member_create, member_update, membership_set
from scheduling.models import Member, Rotation, Team
from scheduling.rotations import rotation_create, rotation_delete, rotation_update
from scheduling.teams import team_create, team_put
from scheduling.timeparse import InstantError, parse_instant

Path = tuple[str | int, ...]
SECTIONS = (
    "teams",
    "members",
    "rotations",
    "escalation_policies",
    "integrations",
    "maintenance_windows",
)


class ConfigError(Exception):
    """What is wrong, and where in the document (a path of keys and indexes)."""

    def __init__(self, path: Path, message: str, *, key: bool = False) -> None:
        super().__init__(message)
        self.path = path
        self.message = message
        self.key = key  # about the last key itself (a typo), not its value

    def where(self) -> str:
        return path_text(self.path)


def path_text(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".") or "(document)"


# --- export --------------------------------------------------------------------


def _seconds(value: dt.timedelta) -> int:
    return int(value.total_seconds())


def _time(value: dt.time | None) -> str | None:
    return None if value is None else value.isoformat()


def config_export() -> dict[str, list[dict[str, Any]]]:
    """The whole configuration as plain data, in a stable order (a diff of two
    exports shows what changed)."""
    members = Member.objects.select_related("user").prefetch_related(
        "teams", "contact_methods"
    )
    rotations = Rotation.objects.select_related("team").prefetch_related(
        "rotationparticipant_set__member__user"
    )
    return {
        "teams": [
            {"slug": t.slug, "name": t.name, "time_zone": t.time_zone}
            for t in Team.objects.order_by("slug")
        ],
        "members": [_member_export(m) for m in members.order_by("user__username")],
        "rotations": [
            _rotation_export(r) for r in rotations.order_by("team__slug", "name")
        ],
        "escalation_policies": [
            _policy_export(p)
            for p in EscalationPolicy.objects.select_related("team").order_by("slug")
        ],
        "integrations": [
            _integration_export(i)
            for i in Integration.objects.select_related("team").order_by("slug")
        ],
        "maintenance_windows": [
            {
                "team": w.team.slug if w.team else None,
                "integration": w.integration.slug if w.integration else None,
                "starts_at": w.starts_at.isoformat(),
                "ends_at": w.ends_at.isoformat(),
                "reason": w.reason,
            }
            for w in MaintenanceWindow.objects.select_related(
                "team", "integration"
            ).order_by("starts_at", "id")
        ],
    }


def _member_export(member: Member) -> dict[str, Any]:
    methods = sorted(member.contact_methods.all(), key=lambda c: (c.position, c.pk))
    return {
        "username": member.username,
        "name": member.display_name,
        "phone": member.phone,
        "time_zone": member.time_zone,
        "active": member.active,
        "teams": sorted(t.slug for t in member.teams.all()),
        "contact_methods": [
            {"phone": c.phone, "label": c.label, "sms": c.sms, "voice": c.voice}
            for c in methods
        ],
    }


def _rotation_export(rotation: Rotation) -> dict[str, Any]:
    roster = sorted(
        rotation.rotationparticipant_set.all(), key=lambda p: (p.position, p.pk)
    )
    return {
        "slug": rotation.slug,
        "team": rotation.team.slug,
        "name": rotation.name,
        "scheme": rotation.scheme,
        "participants": [p.member.username for p in roster],
        "shift_length": rotation.shift_length,
        "shift_unit": rotation.shift_unit,
        "start_date": rotation.start_date.isoformat(),
        "handoff_time": _time(rotation.handoff_time),
        "handoff_weekday": rotation.handoff_weekday,
        "time_zone": rotation.time_zone,
        "layer": rotation.layer,
        "restrict_weekdays": rotation.restrict_weekdays,
        "restrict_start": _time(rotation.restrict_start),
        "restrict_end": _time(rotation.restrict_end),
        "active": rotation.active,
    }


def _policy_export(policy: EscalationPolicy) -> dict[str, Any]:
    return {
        "slug": policy.slug,
        "team": policy.team.slug,
        "name": policy.name,
        "description": policy.description,
        "team_default": policy.team_default,
        "repeat": policy.repeat,
        "repeat_until_acknowledged": policy.repeat_until_acknowledged,
        "repeat_after_seconds": _seconds(policy.repeat_after),
        "business_start": _time(policy.business_start),
        "business_end": _time(policy.business_end),
        "business_weekdays": policy.business_weekdays,
        "steps": [
            {
                "delay_seconds": _seconds(s.delay),
                "target": s.target,
                "member": s.member.username if s.member else None,
                "channel": s.channel,
                "voice_after_seconds": _seconds(s.voice_after),
            }
            for s in policy_steps(policy)
        ],
    }


def _integration_export(integration: Integration) -> dict[str, Any]:
    routes = (
        Route.objects.filter(integration=integration)
        .select_related("team", "escalation_policy")
        .prefetch_related("matchers")
        .order_by("position", "id")
    )
    return {
        "slug": integration.slug,
        "team": integration.team.slug,
        "name": integration.name,
        "enabled": integration.enabled,
        "reopen_window": integration.reopen_window,
        "heartbeat_alertname": integration.heartbeat_alertname,
        "heartbeat_interval": integration.heartbeat_interval,
        "routes": [
            {
                "slug": r.slug,
                "name": r.name,
                "position": r.position,
                "team": r.team.slug,
                "urgency": r.urgency,
                "escalation_policy": (
                    r.escalation_policy.slug if r.escalation_policy else None
                ),
                "matchers": [
                    str(m) for m in sorted(r.matchers.all(), key=lambda m: m.pk)
                ],
            }
            for r in routes
        ],
    }


# --- reading a document ------------------------------------------------------------

_MISSING: Any = object()


class Entry:
    """One mapping of the document with its path: typed reads that say where a
    value is missing or of the wrong type, and refuse unknown keys (a typo)."""

    def __init__(self, value: Any, path: Path, known: Sequence[str]) -> None:
        if not isinstance(value, dict):
            raise ConfigError(path, "expected a mapping of fields")
        unknown = [k for k in value if k not in known]
        if unknown:
            raise ConfigError(
                (*path, str(unknown[0])),
                f"unknown field; the fields are {', '.join(known)}",
                key=True,
            )
        self.value = value
        self.path = path

    def at(self, key: str) -> Path:
        return (*self.path, key)

    def _get(self, key: str, default: Any) -> Any:
        if key in self.value:
            return self.value[key]
        if default is _MISSING:
            raise ConfigError(self.at(key), "required")
        return default

    def text(self, key: str, default: Any = _MISSING, *, null: bool = False) -> Any:
        value = self._get(key, default)
        if value is None and (null or default is None):
            return None
        if not isinstance(value, str):
            raise ConfigError(self.at(key), f"expected text, not {value!r}")
        return value

    def number(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is None and default is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(self.at(key), f"expected a whole number, not {value!r}")
        if not 0 <= value <= 2**31 - 1:
            raise ConfigError(self.at(key), f"{value} is out of range")
        return value

    def flag(self, key: str, default: Any = _MISSING) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise ConfigError(self.at(key), f"expected true or false, not {value!r}")
        return value

    def items(self, key: str, default: Any = _MISSING) -> list:
        value = self._get(key, default)
        if not isinstance(value, list):
            raise ConfigError(self.at(key), "expected a list")
        return value

    def texts(self, key: str, default: Any = _MISSING) -> list[str]:
        values = self.items(key, default)
        for n, value in enumerate(values):
            if not isinstance(value, str):
                raise ConfigError((*self.at(key), n), f"expected text, not {value!r}")
        return values

    def local_time(self, key: str, default: Any = _MISSING) -> dt.time | None:
        value = self._get(key, default)
        if value is None and default is None:
            return None
        if isinstance(value, dt.time):
            return value
        if isinstance(value, str):
            try:
                return dt.time.fromisoformat(value)
            except ValueError:
                pass
        raise ConfigError(
            self.at(key),
            f'expected a local time in quotes, like "09:00", not {value!r}',
        )

    def day(self, key: str) -> dt.date:
        value = self._get(key, _MISSING)
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise ConfigError(
            self.at(key), f"expected a date like 2026-01-05, not {value!r}"
        )

    def instant(self, key: str) -> dt.datetime:
        value = self._get(key, _MISSING)
        if isinstance(value, dt.datetime):
            if value.tzinfo is None or value.utcoffset() is None:
                raise ConfigError(
                    self.at(key),
                    f"{value.isoformat()} has no UTC offset; add one (e.g. +03:00) "
                    "or Z, so the instant is unambiguous",
                )
            return value.astimezone(dt.UTC)
        if isinstance(value, str):
            try:
                return parse_instant(value)
            except InstantError as exc:
                raise ConfigError(self.at(key), str(exc)) from None
        raise ConfigError(self.at(key), f"expected an ISO 8601 instant, not {value!r}")

    def duration(self, key: str, default: int) -> dt.timedelta:
        return dt.timedelta(seconds=self.number(key, default))


def _entries(document: dict, section: str, known: Sequence[str]) -> Iterator[Entry]:
    items = document.get(section) or []
    if not isinstance(items, list):
        raise ConfigError((section,), "expected a list")
    for index, item in enumerate(items):
        yield Entry(item, (section, index), known)


@contextmanager
def _service(path: Path) -> Iterator[None]:
    """A service's ``ValidationError`` as a ``ConfigError`` at the field it names."""
    try:
        yield
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            name, errors = next(iter(exc.message_dict.items()))
            where = path if name in ("__all__", "non_field_errors") else (*path, name)
            raise ConfigError(where, "; ".join(errors)) from None
        raise ConfigError(path, "; ".join(exc.messages)) from None


# --- applying a document ------------------------------------------------------------


@dataclass
class ApplyReport:
    created: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    # Tokens of the integrations this apply created: shown once, never stored.
    tokens: dict[str, str] = field(default_factory=dict)
    # What the document named, by section (primary keys): what pruning keeps.
    named: dict[str, set[int]] = field(default_factory=dict)
    # Members' exact teams, set once the rotations no longer need the old ones.
    teams: list[tuple[Member, list[Team], Path]] = field(default_factory=list)

    def name(self, section: str, pk: int) -> None:
        self.named.setdefault(section, set()).add(pk)


def config_apply(document: Any, *, prune: bool = False) -> ApplyReport:
    """Make the database hold ``document``'s configuration; all or nothing.

    With ``prune``, the rotations, escalation policies, integrations (with their
    routes) and maintenance windows that a section present in the document does
    not name are deleted, through the same services as the API's ``DELETE``
    (which refuse, e.g., an integration that has incidents: the whole apply is
    then refused).  Teams and members are never pruned: incidents, pages and pay
    statements refer to them."""
    if not isinstance(document, dict):
        raise ConfigError((), "expected a mapping with " + ", ".join(SECTIONS))
    unknown = [k for k in document if k not in SECTIONS]
    if unknown:
        raise ConfigError(
            (str(unknown[0]),),
            f"unknown section; they are {', '.join(SECTIONS)}",
            key=True,
        )
    report = ApplyReport()
    with transaction.atomic():
        _apply_teams(document, report)
        _apply_members(document, report)
        _apply_rotations(document, report)
        _apply_memberships(report)
        _apply_policies(document, report)
        _apply_integrations(document, report)
        _apply_windows(document, report)
        if prune:
            _prune(document, report)
    return report


def _team(entry: Entry, key: str = "team") -> Team:
    slug = entry.text(key)
    team = Team.objects.filter(slug=slug).first()
    if team is None:
        raise ConfigError(entry.at(key), f"no team with slug {slug!r}")
    return team


def _member(path: Path, username: str) -> Member:
    member = Member.objects.select_related("user").filter(user__username=username)
    found = member.first()
    if found is None:
        raise ConfigError(path, f"no member with username {username!r}")
    return found


def _apply_teams(document: dict, report: ApplyReport) -> None:
    for entry in _entries(document, "teams", ("slug", "name", "time_zone")):
        slug, name = entry.text("slug"), entry.text("name")
        time_zone = entry.text("time_zone", "UTC")
        team = Team.objects.filter(slug=slug).first()
        with _service(entry.path):
            if team is None:
                team_create(slug=slug, name=name, time_zone=time_zone)
                report.created.append(f"team {slug}")
            else:
                team_put(team=team, slug=slug, name=name, time_zone=time_zone)


MEMBER_FIELDS = (
    "username",
    "name",
    "phone",
    "time_zone",
    "active",
    "teams",
    "contact_methods",
)


def _apply_members(document: dict, report: ApplyReport) -> None:
    for entry in _entries(document, "members", MEMBER_FIELDS):
        username = entry.text("username")
        teams = []
        for n, slug in enumerate(entry.texts("teams", [])):
            team = Team.objects.filter(slug=slug).first()
            if team is None:
                raise ConfigError((*entry.at("teams"), n), f"no team {slug!r}")
            teams.append(team)
        fields = {
            "name": entry.text("name"),
            "phone": entry.text("phone"),
            "time_zone": entry.text("time_zone", "UTC"),
            "active": entry.flag("active", True),
            "teams": teams,
        }
        member = Member.objects.select_related("user").filter(user__username=username)
        found = member.first()
        with _service(entry.path):
            if found is None:
                found = member_create(username=username, **fields)
                report.created.append(f"member {username}")
            else:
                # Teams are added now and left after the rotations are applied:
                # the same file may take them off a rotation of a team they leave.
                kept = Team.objects.filter(members=found)
                fields["teams"] = list({t.pk: t for t in [*teams, *kept]}.values())
                member_update(member=found, **fields)
        report.teams.append((found, teams, entry.at("teams")))
        _apply_contacts(found, entry)


def _apply_memberships(report: ApplyReport) -> None:
    for member, teams, path in report.teams:
        with _service(path):
            membership_set(member=member, teams=teams)


def _apply_contacts(member: Member, entry: Entry) -> None:
    wanted = []
    for n, item in enumerate(entry.items("contact_methods", [])):
        method = Entry(item, (*entry.at("contact_methods"), n), CONTACT_FIELDS)
        wanted.append(
            (
                method,
                {
                    "phone": method.text("phone"),
                    "label": method.text("label", ""),
                    "sms": method.flag("sms", True),
                    "voice": method.flag("voice", True),
                    "position": n,
                },
            )
        )
    phones = {fields["phone"] for _, fields in wanted}
    for stale in ContactMethod.objects.filter(member=member).exclude(phone__in=phones):
        contact_method_delete(method=stale)
    for method, fields in wanted:
        existing = ContactMethod.objects.filter(
            member=member, phone=fields["phone"]
        ).first()
        with _service(method.path):
            if existing is None:
                contact_method_create(member=member, **fields)
            else:
                contact_method_update(method=existing, **fields)


CONTACT_FIELDS = ("phone", "label", "sms", "voice")

ROTATION_FIELDS = (
    "slug",
    "team",
    "name",
    "scheme",
    "participants",
    "shift_length",
    "shift_unit",
    "start_date",
    "handoff_time",
    "handoff_weekday",
    "time_zone",
    "layer",
    "restrict_weekdays",
    "restrict_start",
    "restrict_end",
    "active",
)


def _apply_rotations(document: dict, report: ApplyReport) -> None:
    for entry in _entries(document, "rotations", ROTATION_FIELDS):
        team = _team(entry)
        participants = [
            _member((*entry.at("participants"), n), username)
            for n, username in enumerate(entry.texts("participants"))
        ]
        # The whole definition, as a PUT: left out = the default.
        definition = {
            "name": entry.text("name"),
            "scheme": entry.text("scheme", "paired"),
            "shift_length": entry.number("shift_length", 1),
            "shift_unit": entry.text("shift_unit", "weeks"),
            "start_date": entry.day("start_date"),
            "handoff_time": entry.local_time("handoff_time", dt.time(9, 0)),
            "handoff_weekday": entry.number("handoff_weekday", None),
            "time_zone": entry.text("time_zone", ""),
            "layer": entry.number("layer", 1),
            "restrict_weekdays": entry.text("restrict_weekdays", ""),
            "restrict_start": entry.local_time("restrict_start", None),
            "restrict_end": entry.local_time("restrict_end", None),
            "active": entry.flag("active", True),
        }
        slug = entry.text("slug", "")
        if slug:
            definition["slug"] = slug
        rotation = (
            Rotation.objects.filter(slug=slug).first()
            if slug
            else Rotation.objects.filter(team=team, name=definition["name"]).first()
        )
        if rotation is not None and rotation.team_id != team.pk:
            raise ConfigError(
                entry.at("team"), "a rotation cannot move to another team"
            )
        with _service(entry.path):
            if rotation is None:
                rotation = rotation_create(
                    team=team, participants=participants, **definition
                ).rotation
                report.created.append(f"rotation {team.slug}/{definition['name']}")
            else:
                rotation_update(
                    rotation=rotation, participants=participants, **definition
                )
        report.name("rotations", rotation.pk)


POLICY_FIELDS = (
    "slug",
    "team",
    "name",
    "description",
    "team_default",
    "repeat",
    "repeat_until_acknowledged",
    "repeat_after_seconds",
    "business_start",
    "business_end",
    "business_weekdays",
    "steps",
)
STEP_FIELDS = ("delay_seconds", "target", "member", "channel", "voice_after_seconds")


def _apply_policies(document: dict, report: ApplyReport) -> None:
    for entry in _entries(document, "escalation_policies", POLICY_FIELDS):
        team = _team(entry)
        name = entry.text("name")
        slug = entry.text("slug", "")
        steps = [
            _step(Entry(item, (*entry.at("steps"), n), STEP_FIELDS))
            for n, item in enumerate(entry.items("steps", []))
        ]
        fields = {
            "description": entry.text("description", ""),
            "team_default": entry.flag("team_default", False),
            "repeat": entry.number("repeat", 0),
            "repeat_until_acknowledged": entry.flag("repeat_until_acknowledged", False),
            "repeat_after": entry.duration("repeat_after_seconds", 300),
            "business_start": entry.local_time("business_start", dt.time(9, 0)),
            "business_end": entry.local_time("business_end", dt.time(18, 0)),
            "business_weekdays": entry.text("business_weekdays", "12345"),
        }
        policy = (
            EscalationPolicy.objects.filter(slug=slug).first()
            if slug
            else EscalationPolicy.objects.filter(team=team, name=name).first()
        )
        if policy is not None and policy.team_id != team.pk:
            raise ConfigError(entry.at("team"), "a policy cannot move to another team")
        with _service(entry.path):
            if policy is None:
                policy = policy_create(
                    team=team, name=name, steps=steps, slug=slug, **fields
                )
                report.created.append(f"escalation policy {policy.slug}")
            else:
                extra = {"slug": slug} if slug else {}
                policy_update(policy=policy, steps=steps, name=name, **extra, **fields)
        report.name("escalation_policies", policy.pk)


def _step(entry: Entry) -> StepSpec:
    username = entry.text("member", None)
    return StepSpec(
        target=entry.text("target", "primary"),
        channel=entry.text("channel", "sms_then_voice"),
        delay=entry.duration("delay_seconds", 0),
        member=None if username is None else _member(entry.at("member"), username),
        voice_after=entry.duration("voice_after_seconds", 120),
    )


INTEGRATION_FIELDS = (
    "slug",
    "team",
    "name",
    "enabled",
    "reopen_window",
    "heartbeat_alertname",
    "heartbeat_interval",
    "routes",
)
ROUTE_FIELDS = (
    "slug",
    "name",
    "position",
    "team",
    "urgency",
    "escalation_policy",
    "matchers",
)


def _apply_integrations(document: dict, report: ApplyReport) -> None:
    for entry in _entries(document, "integrations", INTEGRATION_FIELDS):
        team = _team(entry)
        slug = entry.text("slug", "")
        name = entry.text("name")
        fields = {
            "enabled": entry.flag("enabled", True),
            "reopen_window": entry.number("reopen_window", 0),
            "heartbeat_alertname": entry.text("heartbeat_alertname", "Watchdog"),
            "heartbeat_interval": entry.number("heartbeat_interval", None),
        }
        integration = (
            Integration.objects.filter(slug=slug).first()
            if slug
            else Integration.objects.filter(team=team, name=name).first()
        )
        if integration is not None and integration.team_id != team.pk:
            raise ConfigError(
                entry.at("team"), "an integration cannot move to another team"
            )
        with _service(entry.path):
            if integration is None:
                made = integration_create(team=team, name=name, slug=slug, **fields)
                integration = made.integration
                report.created.append(f"integration {integration.slug}")
                report.tokens[integration.slug] = made.token
            else:
                extra = {"slug": slug} if slug else {}
                integration_update(
                    integration=integration, name=name, **extra, **fields
                )
        report.name("integrations", integration.pk)
        if "routes" in entry.value:
            _apply_routes(integration, entry)


def _apply_routes(integration: Integration, entry: Entry) -> None:
    routes = [
        Entry(item, (*entry.at("routes"), n), ROUTE_FIELDS)
        for n, item in enumerate(entry.items("routes"))
    ]
    kept = [_apply_route(integration, route_entry) for route_entry in routes]
    # Then the routes the document does not name, matcher routes first: the
    # integration keeps a catch-all throughout (the last one is refused).
    stale = Route.objects.filter(integration=integration).exclude(pk__in=kept)
    for route in sorted(stale, key=lambda r: not r.matchers.exists()):
        with _service(entry.at("routes")):
            route_delete(route=route)


def _apply_route(integration: Integration, entry: Entry) -> int:
    slug = entry.text("slug", "")
    policy_slug = entry.text("escalation_policy", None)
    policy = None
    if policy_slug is not None:
        policy = EscalationPolicy.objects.filter(slug=policy_slug).first()
        if policy is None:
            raise ConfigError(
                entry.at("escalation_policy"), f"no policy with slug {policy_slug!r}"
            )
    with _service(entry.at("matchers")):
        matchers = matchers_parse(entry.texts("matchers", []))
    fields: dict[str, Any] = {
        "name": entry.text("name", ""),
        "team": _team(entry),
        "urgency": entry.text("urgency", ""),
        "escalation_policy": policy,
    }
    if "position" in entry.value:
        fields["position"] = entry.number("position")
    route = Route.objects.filter(integration=integration, slug=slug).first()
    with _service(entry.path):
        if route is None:
            extra = {"slug": slug} if slug else {}
            route = route_create(
                integration=integration, matchers=matchers, **extra, **fields
            )
        else:
            route_update(route=route, matchers=matchers, **fields)
    return route.pk


WINDOW_FIELDS = ("team", "integration", "starts_at", "ends_at", "reason")


def _apply_windows(document: dict, report: ApplyReport) -> None:
    for entry in _entries(document, "maintenance_windows", WINDOW_FIELDS):
        team = _team(entry) if entry.text("team", None) is not None else None
        integration = None
        integration_slug = entry.text("integration", None)
        if integration_slug is not None:
            integration = Integration.objects.filter(slug=integration_slug).first()
            if integration is None:
                raise ConfigError(
                    entry.at("integration"),
                    f"no integration with slug {integration_slug!r}",
                )
        starts_at = entry.instant("starts_at")
        ends_at = entry.instant("ends_at")
        reason = entry.text("reason")
        window = MaintenanceWindow.objects.filter(
            team=team, integration=integration, starts_at=starts_at
        ).first()
        with _service(entry.path):
            if window is None:
                window = maintenance_create(
                    team=team,
                    integration=integration,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    reason=reason,
                )
                report.created.append(f"maintenance window {reason!r}")
            else:
                maintenance_update(window=window, ends_at=ends_at, reason=reason)
        report.name("maintenance_windows", window.pk)


def _prune(document: dict, report: ApplyReport) -> None:
    """Delete what the document's sections do not name, dependants first:
    windows and integrations (their routes name policies), then policies, then
    rotations."""
    kinds: list[tuple[str, str, Any, Any]] = [
        (
            "maintenance_windows",
            "maintenance window",
            MaintenanceWindow,
            lambda w: maintenance_delete(window=w),
        ),
        (
            "integrations",
            "integration",
            Integration,
            lambda i: integration_delete(integration=i),
        ),
        (
            "escalation_policies",
            "escalation policy",
            EscalationPolicy,
            lambda p: policy_delete(policy=p),
        ),
        ("rotations", "rotation", Rotation, lambda r: rotation_delete(rotation=r)),
    ]
    for section, noun, model, delete in kinds:
        if section not in document:
            continue  # a file without the section says nothing about it
        stale = model.objects.exclude(pk__in=report.named.get(section, set()))
        for obj in stale.order_by("pk"):
            described = f"{noun} {obj}"
            with _service((section,)):
                delete(obj)
            report.deleted.append(described)
