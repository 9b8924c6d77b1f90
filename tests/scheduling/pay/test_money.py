"""Minor units from CLDR (babel), rounding half-up once, to the currency's digits."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from scheduling.pay.money import CurrencyError, minor_digits, round_amount


def test_minor_units_come_from_cldr():
    assert (minor_digits("USD"), minor_digits("JPY"), minor_digits("KWD")) == (2, 0, 3)


def test_an_unknown_currency_is_refused():
    with pytest.raises(CurrencyError, match="XYZ"):
        minor_digits("XYZ")


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        (Fraction(1000, 7), "USD", "142.86"),
        (Fraction(5, 1000), "USD", "0.01"),  # the half goes up
        (Fraction(4999, 1000000), "USD", "0.00"),
        (Fraction(-5, 1000), "USD", "-0.01"),  # away from zero
        (Fraction(20000, 7), "JPY", "2857"),
        (Fraction(1, 2), "JPY", "1"),
        (Fraction(50000, 7), "JPY", "7143"),
        (Fraction(200, 7), "KWD", "28.571"),
        (Fraction(500, 7), "KWD", "71.429"),
        (Fraction(5, 10000), "KWD", "0.001"),
        (Fraction(1000), "JPY", "1000"),
        (Fraction(500), "USD", "500.00"),
    ],
)
def test_rounding_is_half_up_to_the_minor_unit(value, currency, expected):
    rounded = round_amount(value, currency)
    assert str(rounded) == expected
    assert rounded == Decimal(expected)
