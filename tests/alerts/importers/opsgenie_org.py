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


def organisation(now: dt.datetime) -> FakeOpsgenie:
    fake = FakeOpsgenie()
    fake.users = [_user(n, "America/New_York") for n in PAYMENTS] + [
        _user(n, "Europe/Berlin") for n in PLATFORM
    ]
    for i, name in enumerate(PAYMENTS):
        fake.contacts[oid(name)] = _contacts(name, f"1-21255501{i:02d}")
    for i, name in enumerate(PLATFORM):
        fake.contacts[oid(name)] = _contacts(name, f"49-15123456{i:02d}")
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
    ]
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
