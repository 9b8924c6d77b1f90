"""A realistic PagerDuty organisation for the fake: two teams; Payments runs a
primary/secondary weekly rotation in Europe/London (a DST zone) as two
schedules; Platform runs a follow-the-sun schedule (a weekday daytime layer
restricted to 08:00-20:00 Berlin time over a 24/7 weekly layer); overrides on
both; a three-step escalation policy per team; one service each; and things our
model cannot hold (a weekend layer of 48 hours, a policy on it)."""

from __future__ import annotations

import datetime as dt

from tests.alerts.importers.fake_pagerduty import FakePagerDuty

PAYMENTS = ["alice", "bob", "charlie", "david", "eve", "frank"]
PLATFORM = ["grace", "heidi", "ivan", "judy"]


def uid(name: str) -> str:
    return "PU" + name.upper()[:4]


def ref(kind: str, id_: str) -> dict[str, str]:
    return {"id": id_, "type": f"{kind}_reference"}


def _user(name: str, n: int, team: str) -> dict:
    methods = [
        {
            "id": f"PC{n}A",
            "type": "phone_contact_method",
            "label": "Mobile",
            "country_code": 44,
            "address": f"7700900{n:03d}",
        },
        {
            "id": f"PC{n}B",
            "type": "sms_contact_method",
            "label": "Mobile",
            "country_code": 44,
            "address": f"7700900{n:03d}",
        },
        {
            "id": f"PC{n}C",
            "type": "email_contact_method",
            "label": "Work",
            "address": f"{name}@example.com",
        },
    ]
    return {
        "id": uid(name),
        "type": "user",
        "name": name.title() + " Example",
        "email": f"{name}@example.com",
        "time_zone": "Europe/London",
        "teams": [ref("team", team)],
        "contact_methods": methods,
    }


def _layer(
    id_: str,
    name: str,
    virtual: str,
    turn: int,
    users: list[str],
    restrictions: list | None = None,
) -> dict:
    return {
        "id": id_,
        "name": name,
        "start": virtual,
        "end": None,
        "rotation_virtual_start": virtual,
        "rotation_turn_length_seconds": turn,
        "users": [{"user": ref("user", uid(u))} for u in users],
        "restrictions": restrictions or [],
    }


WEEK, DAY = 604800, 86400


def organisation(now: dt.datetime) -> FakePagerDuty:
    fake = FakePagerDuty()
    fake.teams = [
        {"id": "PT1", "type": "team", "name": "Payments"},
        {"id": "PT2", "type": "team", "name": "Platform"},
    ]
    fake.users = [_user(n, i, "PT1") for i, n in enumerate(PAYMENTS)] + [
        _user(n, 10 + i, "PT2") for i, n in enumerate(PLATFORM)
    ]
    # A user with no phone: reported, not imported.
    fake.users.append({**_user("mallory", 99, "PT2"), "contact_methods": []})
    start = "2026-01-05T09:00:00+00:00"  # Monday 09:00 in London (winter)
    fake.schedules = [
        {
            "id": "PSPRI",
            "type": "schedule",
            "name": "Payments primary",
            "time_zone": "Europe/London",
            "teams": [ref("team", "PT1")],
            "schedule_layers": [
                _layer(
                    "PL1",
                    "Weekly",
                    start,
                    WEEK,
                    ["alice", "charlie", "eve", "bob", "david", "frank"],
                )
            ],
        },
        {
            "id": "PSSEC",
            "type": "schedule",
            "name": "Payments secondary",
            "time_zone": "Europe/London",
            "teams": [ref("team", "PT1")],
            "schedule_layers": [
                _layer(
                    "PL2",
                    "Weekly",
                    start,
                    WEEK,
                    ["bob", "david", "frank", "alice", "charlie", "eve"],
                )
            ],
        },
        {
            "id": "PSFTS",
            "type": "schedule",
            "name": "Platform follow-the-sun",
            "time_zone": "Europe/Berlin",
            "teams": [ref("team", "PT2")],
            "schedule_layers": [  # top first
                _layer(
                    "PL3",
                    "Europe daytime",
                    "2026-01-05T08:00:00+01:00",
                    DAY,
                    ["heidi", "ivan"],
                    [
                        {
                            "type": "weekly_restriction",
                            "start_day_of_week": d,
                            "start_time_of_day": "08:00:00",
                            "duration_seconds": 43200,
                        }
                        for d in range(1, 6)
                    ],
                ),
                _layer(
                    "PL4",
                    "Around the clock",
                    "2026-01-05T20:00:00+01:00",
                    WEEK,
                    ["grace", "judy"],
                ),
            ],
        },
        {
            "id": "PSDB",
            "type": "schedule",
            "name": "Platform DB weekend",
            "time_zone": "Europe/Berlin",
            "teams": [ref("team", "PT2")],
            "schedule_layers": [
                _layer(
                    "PL5",
                    "Weekend",
                    "2026-01-10T10:00:00+01:00",
                    WEEK,
                    ["ivan"],
                    [
                        {
                            "type": "weekly_restriction",
                            "start_day_of_week": 6,
                            "start_time_of_day": "10:00:00",
                            "duration_seconds": 2 * DAY,
                        }
                    ],
                )
            ],
        },
    ]
    fake.policies = [
        {
            "id": "PEP1",
            "type": "escalation_policy",
            "name": "Payments",
            "num_loops": 2,
            "teams": [ref("team", "PT1")],
            "escalation_rules": [
                {
                    "id": "R1",
                    "escalation_delay_in_minutes": 10,
                    "targets": [ref("schedule", "PSPRI")],
                },
                {
                    "id": "R2",
                    "escalation_delay_in_minutes": 15,
                    "targets": [ref("schedule", "PSSEC")],
                },
                {
                    "id": "R3",
                    "escalation_delay_in_minutes": 30,
                    "targets": [ref("user", uid("frank"))],
                },
            ],
        },
        {
            "id": "PEP2",
            "type": "escalation_policy",
            "name": "Platform",
            "num_loops": 0,
            "teams": [ref("team", "PT2")],
            "escalation_rules": [
                {
                    "id": "R4",
                    "escalation_delay_in_minutes": 15,
                    "targets": [ref("schedule", "PSFTS")],
                },
                {
                    "id": "R5",
                    "escalation_delay_in_minutes": 10,
                    "targets": [ref("user", uid("heidi"))],
                },
                {
                    "id": "R6",
                    "escalation_delay_in_minutes": 5,
                    "targets": [ref("user", uid("grace")), ref("user", uid("judy"))],
                },
            ],
        },
        {
            "id": "PEP3",
            "type": "escalation_policy",
            "name": "Platform DB",
            "num_loops": 0,
            "teams": [ref("team", "PT2")],
            "escalation_rules": [
                {
                    "id": "R7",
                    "escalation_delay_in_minutes": 5,
                    "targets": [ref("schedule", "PSDB")],
                },
            ],
        },
    ]
    fake.services = [
        {
            "id": "PSV1",
            "type": "service",
            "name": "payments-api",
            "status": "active",
            "escalation_policy": ref("escalation_policy", "PEP1"),
        },
        {
            "id": "PSV2",
            "type": "service",
            "name": "platform-k8s",
            "status": "active",
            "escalation_policy": ref("escalation_policy", "PEP2"),
        },
    ]
    # Overrides: a day of Payments primary by someone not on call then; six
    # hours of Platform's follow-the-sun; one that has already ended.
    t0 = (now + dt.timedelta(days=3)).replace(
        hour=12, minute=0, second=0, microsecond=0
    )
    t1 = t0 + dt.timedelta(days=1)
    busy = {
        fake.who(s, t0 + dt.timedelta(hours=h))
        for s in ("PSPRI", "PSSEC")
        for h in range(24)
    }
    cover = next(uid(n) for n in PAYMENTS if uid(n) not in busy)
    fake.overrides["PSPRI"] = [
        {
            "id": "PO1",
            "start": t0.isoformat(),
            "end": t1.isoformat(),
            "user": ref("user", cover),
        },
        {
            "id": "PO0",
            "start": (now - dt.timedelta(days=3)).isoformat(),
            "end": (now - dt.timedelta(days=2)).isoformat(),
            "user": ref("user", cover),
        },
    ]
    t2 = (now + dt.timedelta(days=10)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    fake.overrides["PSFTS"] = [
        {
            "id": "PO2",
            "start": t2.isoformat(),
            "end": (t2 + dt.timedelta(hours=6)).isoformat(),
            "user": ref("user", uid("judy")),
        },
    ]
    return fake
