"""The demo organisation of DESIGN.md §5, loaded by ``manage.py oncall_demo``.

Idempotent: running it again finds what exists and changes nothing that is already
right.  Each issue that adds a part of the product adds its part here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction

from scheduling.models import Member, Team, TeamMembership

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


@dataclass
class DemoResult:
    team: Team
    members: list[Member]
    created: list[str] = field(default_factory=list)


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

    return DemoResult(team=team, members=members, created=created)
