"""What the pay models refuse, with a message that says why."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from scheduling.models import PayPolicy, StipendRate
from tests import cast


def rate(team, **fields):
    values = {
        "team": team,
        "role": "primary",
        "amount": Decimal(500),
        "currency": "USD",
        "unit": "week",
        "effective_from": dt.date(2026, 1, 1),
    }
    return StipendRate(**{**values, **fields})


def test_a_currency_must_be_iso_4217(team):
    with pytest.raises(ValidationError, match="ISO 4217"):
        rate(team, currency="USX").full_clean()


def test_a_rate_of_another_teams_rotation_is_refused(team, other_team, people):
    theirs = cast.rotation_create(other_team, people[:2], now=cast.utc(2026, 1, 1))

    with pytest.raises(ValidationError, match="another team"):
        rate(team, rotation=theirs).full_clean()


def test_holiday_country_and_subdivision_are_checked(team):
    with pytest.raises(ValidationError, match="holidays package"):
        PayPolicy(team=team, holiday_country="XX").full_clean()
    with pytest.raises(ValidationError, match="no subdivision"):
        PayPolicy(
            team=team, holiday_country="GB", holiday_subdivision="ZZZ"
        ).full_clean()
    with pytest.raises(ValidationError, match="needs a country"):
        PayPolicy(team=team, holiday_subdivision="ENG").full_clean()
    PayPolicy(team=team, holiday_country="GB", holiday_subdivision="ENG").full_clean()
