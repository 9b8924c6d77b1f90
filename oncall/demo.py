"""The demo organisation of DESIGN.md §5, loaded by ``manage.py oncall_demo``.

Idempotent: running it again finds what exists and changes nothing that is already
right.  Each issue that adds a part of the product adds its part here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction

from scheduling.materialize import rotation_materialize
from scheduling.models import (
    Member,
    PayPolicy,
    Rotation,
    RotationParticipant,
    StipendRate,
    Team,
    TeamMembership,
)

DEMO_TEAM = {"slug": "payments", "name": "Payments", "time_zone": "Africa/Nairobi"}

# (username, first name, phone): the six people of DESIGN.md §7, in rotation order.
# Made-up numbers: with the console transport (the default) nothing is sent.
DEMO_PEOPLE = [
    ("alice", "Alice", "+254700000001"),
    ("bob", "Bob", "+254700000002"),
    ("charlie", "Charlie", "+254700000003"),
    ("david", "David", "+254700000004"),
    ("eve", "Eve", "+254700000005"),
    ("frank", "Frank", "+254700000006"),
]

# DESIGN.md §7: weekly, paired, handoff Mondays 09:00 Nairobi time from 2026-01-05.
DEMO_ROTATION = {
    "name": "Weekly primary/secondary",
    "scheme": "paired",
    "shift_length": 1,
    "shift_unit": "weeks",
    "start_date": dt.date(2026, 1, 5),
    "handoff_time": dt.time(9, 0),
    "handoff_weekday": 0,
}


@dataclass
class DemoResult:
    team: Team
    members: list[Member]
    created: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# DESIGN.md §5: the demo rotation pays 500 USD a week primary, 250 secondary;
# Kenyan public holidays (the team is in Nairobi).
DEMO_RATES = [("primary", Decimal("500")), ("secondary", Decimal("250"))]


def _demo_pay(team: Team, rotation: Rotation) -> list[str]:
    created = []
    for role, amount in DEMO_RATES:
        _, made = StipendRate.objects.get_or_create(
            team=team,
            rotation=rotation,
            role=role,
            effective_from=rotation.start_date,
            defaults={"amount": amount, "currency": "USD", "unit": StipendRate.WEEK},
        )
        if made:
            created.append(f"{role} rate {amount} USD per week")
    _, made = PayPolicy.objects.get_or_create(
        team=team, defaults={"holiday_country": "KE"}
    )
    if made:
        created.append("pay policy (Kenyan public holidays)")
    return created


@transaction.atomic
def demo_load() -> DemoResult:
    User = get_user_model()
    created: list[str] = []

    admin_user, made = User.objects.get_or_create(
        username="admin", defaults={"is_staff": True, "is_superuser": True}
    )
    if made:
        admin_user.set_password("admin")
        admin_user.save()
        created.append("user admin")

    team, made = Team.objects.get_or_create(
        slug=DEMO_TEAM["slug"],
        defaults={"name": DEMO_TEAM["name"], "time_zone": DEMO_TEAM["time_zone"]},
    )
    if made:
        created.append(f"team {team.slug}")

    members = []
    for username, first_name, phone in DEMO_PEOPLE:
        user, made = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first_name, "email": f"{username}@example.com"},
        )
        if made:
            user.set_unusable_password()
            user.save()
        member, made = Member.objects.get_or_create(
            user=user, defaults={"phone": phone, "time_zone": team.time_zone}
        )
        if made:
            created.append(f"member {username}")
        TeamMembership.objects.get_or_create(team=team, member=member)
        members.append(member)

    rotation, made = Rotation.objects.get_or_create(
        team=team,
        name=DEMO_ROTATION["name"],
        defaults={k: v for k, v in DEMO_ROTATION.items() if k != "name"},
    )
    if made:
        for position, member in enumerate(members):
            RotationParticipant.objects.create(
                rotation=rotation, member=member, position=position
            )
        created.append(f"rotation {rotation.name}")
    # Cheap when already generated: only extends to the horizon.
    rotation_materialize(rotation=rotation)
    created += _demo_pay(team, rotation)

    from alerts.demo import demo_alerts_load

    alerts_created, notes = demo_alerts_load(team=team)
    created += alerts_created

    from alerts.demo import demo_escalation_load

    created += demo_escalation_load(team=team)

    from alerts.demo import demo_records_load

    created += demo_records_load(team=team)

    from alerts.demo.history import demo_history_load

    created += demo_history_load(team=team)

    # After the history: the SLO's first evaluation counts its incidents.
    from alerts.demo.slos import demo_slos_load

    created += demo_slos_load(team=team)

    return DemoResult(team=team, members=members, created=created, notes=notes)
