"""A realistic Opsgenie organisation for the fake: two teams.  Payments runs a
primary/secondary weekly rotation in America/New_York (a DST zone) as two
schedules its escalation notifies one after the other; Platform runs a
follow-the-sun schedule in Europe/Berlin (a weekday daytime rotation restricted
to Monday-Friday 08:00-20:00, and a rotation for the weeknights and the weekend
from Friday 20:00 to Monday 08:00); overrides on
both; a three-rule escalation per team; and things our model cannot hold (a
weekend rotation from Friday evening to Monday morning, a rule to the next
person on call, an escalation of no team, a user with no
phone)."""

from __future__ import annotations

import datetime as dt
import uuid

from tests.alerts.importers.fake_opsgenie import FakeOpsgenie

PAYMENTS = ["alice", "bob", "charlie", "david", "eve", "frank"]
PLATFORM = ["grace", "heidi", "ivan", "judy"]
DAYS_MON_FRI = ["monday", "tuesday", "wednesday", "thursday", "friday"]
NAMESPACE = uuid.UUID("6f0d0f0e-5b7a-4c47-9a55-1f4b2d6c7e10")


def oid(name: str) -> str:
    """Opsgenie's ids are UUIDs."""
    return str(uuid.uuid5(NAMESPACE, name))


def user_ref(name: str) -> dict:
    return {"type": "user", "id": oid(name), "username": f"{name}@example.com"}


def _user(name: str, zone: str) -> dict:
    return {
        "id": oid(name),
        "username": f"{name}@example.com",
        "fullName": name.title() + " Example",
        "role": {"id": "User", "name": "User"},
        "timeZone": zone,
        "locale": "en_US",
        "blocked": False,
        "verified": True,
        "createdAt": "2025-06-01T12:00:00.000Z",
    }


def _contacts(name: str, number: str) -> list[dict]:
    return [
        {"id": oid(f"{name}-email"), "method": "email", "to": f"{name}@example.com"},
        {"id": oid(f"{name}-sms"), "method": "sms", "to": number},
        {"id": oid(f"{name}-voice"), "method": "voice", "to": number},
        {"id": oid(f"{name}-app"), "method": "mobile", "to": "Pixel 8"},
    ]


def _rotation(
    name: str, start: str, kind: str, people: list[str], restriction=None
) -> dict:
    rotation = {
        "id": oid(name),
        "name": name,
        "startDate": start,
        "type": kind,
        "length": 1,
        "participants": [user_ref(p) for p in people],
    }
    if restriction is not None:
        rotation["timeRestriction"] = restriction
    return rotation


def _team(name: str) -> dict:
    return {"id": oid(name), "name": name, "description": f"{name} team"}


def _rule(minutes: int, recipient: dict, notify: str = "default", **extra) -> dict:
    return {
        "condition": "if-not-acked",
        "notifyType": notify,
        "delay": {"timeAmount": minutes, "timeUnit": "minutes"},
        "recipient": recipient,
        **extra,
    }


def _schedule(name: str, zone: str, team: str, rotations: list[dict]) -> dict:
    return {
        "id": oid(name),
        "name": name,
        "description": "",
        "timezone": zone,
        "enabled": True,
        "ownerTeam": {"id": oid(team), "name": team},
        "rotations": rotations,
    }


def _weekdays(start: int, end: int, days: list[str]) -> dict:
    return {
        "type": "weekday-and-time-of-day",
        "restrictions": [
            {
                "startDay": d,
                "startHour": start,
                "startMin": 0,
                "endDay": d,
                "endHour": end,
                "endMin": 0,
            }
            for d in days
        ],
    }


def _step(method: str, to: str, after: int = 0, enabled=True) -> dict:
    return {
        "id": oid(f"step {method} {to} {after}"),
        "sendAfter": {"timeAmount": after, "timeUnit": "minutes"},
        "contact": {"method": method, "to": to},
        "enabled": enabled,
    }


def _notification_rule(user: str, name: str, steps: list[dict], **extra) -> dict:
    """As GET /v2/users/{id}/notification-rules/{ruleId} answers."""
    return {
        "id": oid(f"{user} {name}"),
        "name": name,
        "actionType": extra.get("actionType", "create-alert"),
        "order": extra.get("order", 0),
        "enabled": True,
        "criteria": extra.get("criteria", {"type": "match-all"}),
        "timeRestriction": extra.get("timeRestriction"),
        "notificationTime": [],
        "steps": steps,
        "repeat": {"loopAfter": 0, "enabled": False},
    }


def _notification_rules() -> dict[str, list[dict]]:
    """david: their desk phone called first, then an SMS to their mobile, a call to it
    ten minutes later, an email; a night rule.  charlie: the app and email only.
    Everyone else has none (the contacts' order stands)."""
    nights = {
        "type": "time-of-day",
        "restriction": {"startHour": 22, "startMin": 0, "endHour": 7, "endMin": 0},
    }
    return {
        oid("david"): [
            _notification_rule(
                "david",
                "New Alert",
                [
                    _step("email", "david@example.com"),
                    _step("voice", "1-2125559999"),
                    _step("sms", "1-2125550103"),
                    _step("voice", "1-2125550103", after=10),
                    _step("sms", "1-2125559999", enabled=False),
                ],
            ),
            _notification_rule(
                "david",
                "Nights",
                [_step("voice", "1-2125550103")],
                order=1,
                timeRestriction=nights,
            ),
            _notification_rule(
                "david", "Closed", [], actionType="closed-alert", order=2
            ),
        ],
        oid("charlie"): [
            _notification_rule(
                "charlie",
                "New Alert",
                [_step("mobile", "Pixel 8"), _step("email", "charlie@example.com")],
            )
        ],
    }


def _integration(name: str, kind: str, team: str | None, enabled=True) -> dict:
    """As GET /v2/integrations/{id} answers (the fields the importer reads and a
    few it does not)."""
    return {
        "id": oid(f"integration {name}"),
        "name": name,
        "type": kind,
        "enabled": enabled,
        "ownerTeam": {"id": oid(team), "name": team} if team else None,
        "allowWriteAccess": True,
        "ignoreRespondersFromPayload": False,
        "suppressNotifications": False,
        "responders": [{"type": "team", "id": oid(team)}] if team else [],
    }


def _integrations() -> list[dict]:
    return [
        _integration("Payments Prometheus", "Prometheus", "Payments"),
        _integration("Platform API", "API", "Platform"),
        _integration("Payments Datadog", "Datadog", "Payments"),
        _integration("Shared API", "API", None),
    ]


def _condition(key: str | None, operation: str, value: str = "", negate=False):
    field = {"field": "extra-properties", "key": key} if key else {"field": "message"}
    return {**field, "operation": operation, "expectedValue": value, "not": negate}


def _routing_rule(order: int, name: str, kind: str, conditions, notify, **extra):
    return {
        "id": oid(f"rule {name}"),
        "name": name,
        "isDefault": kind == "match-all" and name == "Default",
        "order": order,
        "criteria": {"type": kind, "conditions": conditions},
        "timezone": "America/New_York",
        "timeRestriction": extra.get("timeRestriction"),
        "notify": notify,
    }


def _routing_rules() -> dict[str, list[dict]]:
    def escalation(name: str) -> dict:
        return {"type": "escalation", "id": oid(name), "name": name}

    business_hours = {
        "type": "time-of-day",
        "restriction": {"startHour": 9, "startMin": 0, "endHour": 17, "endMin": 0},
    }
    payments = [
        _routing_rule(
            0,
            "Critical payments",
            "match-all-conditions",
            [
                _condition("severity", "equals", "critical"),
                _condition("service", "starts-with", "pay"),
            ],
            escalation("Payments_urgent"),
        ),
        _routing_rule(
            1,
            "Staging is quiet",
            "match-any-condition",
            [
                _condition("env", "equals", "staging"),
                _condition("alertname", "matches", "Test[A-Z].*"),
            ],
            {"type": "none"},
        ),
        _routing_rule(
            2,
            "Clustered databases",
            "match-all-conditions",
            [
                _condition("service", "ends-with", "-db"),
                _condition("cluster", "is-empty", negate=True),
                _condition("instance", "contains", ".dev.", negate=True),
            ],
            escalation("Payments_urgent"),
        ),
        _routing_rule(
            3,
            "Disks",
            "match-any-condition",
            [_condition(None, "contains", "Disk")],
            escalation("Payments_urgent"),
        ),
        _routing_rule(
            4,
            "EU office hours",
            "match-all-conditions",
            [_condition("region", "equals", "eu")],
            escalation("Payments_urgent"),
            timeRestriction=business_hours,
        ),
        _routing_rule(
            5,
            "Many replicas",
            "match-all-conditions",
            [_condition("replicas", "greater-than", "5")],
            escalation("Payments_urgent"),
        ),
        _routing_rule(6, "Default", "match-all", [], escalation("Payments_escalation")),
    ]
    platform = [
        _routing_rule(
            0,
            "Default",
            "match-all",
            [],
            {
                "type": "schedule",
                "id": oid("Platform_schedule"),
                "name": "Platform_schedule",
            },
        ),
    ]
    return {oid("Payments"): payments, oid("Platform"): platform}


def organisation(now: dt.datetime) -> FakeOpsgenie:
    fake = FakeOpsgenie()
    fake.users = [_user(n, "America/New_York") for n in PAYMENTS] + [
        _user(n, "Europe/Berlin") for n in PLATFORM
    ]
    for i, name in enumerate(PAYMENTS):
        fake.contacts[oid(name)] = _contacts(name, f"1-21255501{i:02d}")
    for i, name in enumerate(PLATFORM):
        fake.contacts[oid(name)] = _contacts(name, f"49-15123456{i:02d}")
    fake.notification_rules = _notification_rules()
    fake.contacts[oid("david")].append(
        {"id": oid("david-desk"), "method": "voice", "to": "1-2125559999"}
    )
    # Email only: reported, not imported.
    fake.users.append(_user("mallory", "UTC"))
    fake.contacts[oid("mallory")] = _contacts("mallory", "")[:1]
    fake.teams = [
        {
            **_team("Payments"),
            "members": [
                {"user": user_ref(n), "role": "admin" if n == "alice" else "user"}
                for n in PAYMENTS
            ],
        },
        {
            **_team("Platform"),
            "members": [
                {"user": user_ref(n), "role": "admin" if n == "heidi" else "user"}
                for n in [*PLATFORM, "mallory"]
            ],
        },
    ]
    monday = "2026-01-05T14:00:00Z"  # Monday 09:00 in New York (winter)
    fake.schedules = [
        _schedule(
            "Payments_schedule",
            "America/New_York",
            "Payments",
            [
                _rotation(
                    "Payments weekly",
                    monday,
                    "weekly",
                    ["alice", "charlie", "eve", "bob", "david", "frank"],
                )
            ],
        ),
        _schedule(
            "Payments_secondary",
            "America/New_York",
            "Payments",
            [
                _rotation(
                    "Payments secondary weekly",
                    monday,
                    "weekly",
                    ["bob", "david", "frank", "alice", "charlie", "eve"],
                )
            ],
        ),
        _schedule(
            "Platform_schedule",
            "Europe/Berlin",
            "Platform",
            [
                _rotation(
                    "Europe day",
                    "2026-01-05T07:00:00Z",  # 08:00 in Berlin
                    "daily",
                    ["heidi", "ivan"],
                    _weekdays(8, 20, DAYS_MON_FRI),
                ),
                _rotation(
                    "Night",
                    "2026-01-05T19:00:00Z",  # Monday 20:00 in Berlin
                    "weekly",
                    ["grace", "judy"],
                    {  # weeknights, and the weekend from Friday 20:00
                        "type": "weekday-and-time-of-day",
                        "restrictions": [
                            {
                                "startDay": day,
                                "startHour": 20,
                                "startMin": 0,
                                "endDay": DAYS_MON_FRI[i + 1]
                                if day != "friday"
                                else "monday",
                                "endHour": 8,
                                "endMin": 0,
                            }
                            for i, day in enumerate(DAYS_MON_FRI)
                        ],
                    },
                ),
            ],
        ),
        _schedule(
            "Platform_db_weekend",
            "Europe/Berlin",
            "Platform",
            [
                _rotation(
                    "Weekend",
                    "2026-01-09T16:00:00Z",
                    "weekly",
                    ["ivan"],
                    {
                        "type": "weekday-and-time-of-day",
                        "restrictions": [
                            {
                                "startDay": "friday",
                                "startHour": 17,
                                "startMin": 0,
                                "endDay": "monday",
                                "endHour": 8,
                                "endMin": 0,
                            }
                        ],
                    },
                )
            ],
        ),
    ]
    schedule = lambda name: {"type": "schedule", "id": oid(name), "name": name}  # noqa: E731
    team = lambda name: {"type": "team", "id": oid(name), "name": name}  # noqa: E731
    fake.escalations = [
        {
            "id": oid("Payments_escalation"),
            "name": "Payments_escalation",
            "description": "Payments on call",
            "ownerTeam": {"id": oid("Payments"), "name": "Payments"},
            "rules": [
                _rule(0, schedule("Payments_schedule")),
                _rule(10, schedule("Payments_secondary")),
                _rule(25, user_ref("frank")),
            ],
            "repeat": {
                "waitInterval": 30,
                "count": 2,
                "resetRecipientStates": False,
                "closeAlertAfterAll": False,
            },
        },
        {
            "id": oid("Platform_escalation"),
            "name": "Platform_escalation",
            "description": "",
            "ownerTeam": {"id": oid("Platform"), "name": "Platform"},
            "rules": [
                _rule(0, schedule("Platform_schedule")),
                _rule(15, team("Platform"), "admins"),
                _rule(20, team("Platform"), "all", condition="if-not-closed"),
                _rule(30, schedule("Platform_schedule"), "next"),
            ],
        },
        {
            "id": oid("Platform_db"),
            "name": "Platform_db",
            "ownerTeam": {"id": oid("Platform"), "name": "Platform"},
            "rules": [_rule(5, schedule("Platform_db_weekend"))],
        },
        {
            "id": oid("Everyone"),
            "name": "Everyone",
            "rules": [_rule(0, user_ref("alice"))],
        },
        {
            "id": oid("Payments_urgent"),
            "name": "Payments_urgent",
            "description": "Straight to the primary, then frank",
            "ownerTeam": {"id": oid("Payments"), "name": "Payments"},
            "rules": [
                _rule(0, schedule("Payments_schedule")),
                _rule(5, user_ref("frank")),
            ],
        },
    ]
    fake.integrations = _integrations()
    fake.routing_rules = _routing_rules()
    # Overrides: a day of Payments (the whole schedule) by someone on call in
    # neither schedule then; six weekday hours of Platform's day rotation by
    # judy; one that has ended.
    t0 = (now + dt.timedelta(days=3)).replace(
        hour=12, minute=0, second=0, microsecond=0
    )
    t1 = t0 + dt.timedelta(days=1)
    busy = {
        p
        for s in ("Payments_schedule", "Payments_secondary")
        for h in range(24)
        for p in fake.who(oid(s), t0 + dt.timedelta(hours=h))
    }
    cover = next(n for n in PAYMENTS if oid(n) not in busy)
    fake.overrides[oid("Payments_schedule")] = [
        {
            "alias": "pay-cover-1",
            "user": user_ref(cover),
            "startDate": t0.isoformat(),
            "endDate": t1.isoformat(),
            "rotations": [],
        },
        {
            "alias": "pay-old",
            "user": user_ref(cover),
            "startDate": (now - dt.timedelta(days=3)).isoformat(),
            "endDate": (now - dt.timedelta(days=2)).isoformat(),
            "rotations": [],
        },
    ]
    t2 = (now + dt.timedelta(days=10)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    while t2.weekday() >= 5:
        t2 += dt.timedelta(days=1)
    fake.overrides[oid("Platform_schedule")] = [
        {
            "alias": "plat-judy",
            "user": user_ref("judy"),
            "startDate": t2.isoformat(),
            "endDate": (t2 + dt.timedelta(hours=6)).isoformat(),
            "rotations": [{"id": oid("Europe day"), "name": "Europe day"}],
        },
    ]
    return fake
