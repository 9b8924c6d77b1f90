"""The demo rotation (DESIGN.md §7) from Monday 5 January 2026 09:00 Nairobi
(06:00 UTC): alice/bob in week 1, charlie/david in week 2, eve/frank in week 3.
The first shift change is Monday 12 January 06:00 UTC."""

from __future__ import annotations

import pytest

from tests import cast
from tests.cast import utc

FIRST_CHANGE = utc(2026, 1, 12, 6)
SECOND_CHANGE = utc(2026, 1, 19, 6)


@pytest.fixture
def demo(payments, make_rotation, integration):
    team, people = payments
    rotation = make_rotation(team, people, now=utc(2026, 1, 1))
    policy = cast.policy_create(
        team, {"target": "primary", "channel": "sms"}, team_default=True
    )
    return team, rotation, integration, policy
