from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests import cast


@pytest.fixture
def set_rate(db):
    """``set_rate(team, "primary", "500", "USD", unit="week", ...)``: a
    StipendRate, effective from 2026-01-01 unless told."""
    from scheduling.models import StipendRate

    def make(team, role, amount, currency="USD", **fields):
        fields.setdefault("unit", "week")
        fields.setdefault("effective_from", dt.date(2026, 1, 1))
        return StipendRate.objects.create(
            team=team, role=role, amount=Decimal(amount), currency=currency, **fields
        )

    return make


@pytest.fixture
def reference(team, people, set_rate):
    """DESIGN.md §7: the six on the paired weekly rotation from Monday
    2026-01-05 09:00 Nairobi, 500 USD a week primary and 250 secondary."""
    rotation = cast.rotation_create(
        team, people, now=cast.utc(2026, 1, 1), scheme="paired"
    )
    set_rate(team, "primary", "500")
    set_rate(team, "secondary", "250")
    return rotation
