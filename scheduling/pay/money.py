"""Money: exact amounts, a currency's minor unit, rounding once per line.

Amounts are carried as :class:`fractions.Fraction` while they accrue -- a weekly
rate paid pro rata to the second is ``amount / 7 * seconds / day_seconds``, which
no fixed number of decimal places holds -- and become a :class:`~decimal.Decimal`
exactly once, when a statement line is rounded half-up to the currency's minor
unit.  The minor units come from CLDR through babel, not from a table of ours.
"""

from __future__ import annotations

import decimal
import functools
from decimal import Decimal
from fractions import Fraction

from babel.numbers import get_currency_precision, list_currencies

# Digits kept when an exact amount is shown unrounded (the "why" and the rounding
# difference): enough that a reader sees what rounding did, not a claim of
# exactness -- the exact value is the Fraction.
SHOWN_DIGITS = 6


class CurrencyError(ValueError):
    pass


@functools.lru_cache(maxsize=512)
def minor_digits(currency: str) -> int:
    """Decimal places of ``currency``'s minor unit: USD 2, JPY 0, KWD 3.  Cached:
    babel rebuilds its set of currencies on every call, and a month of 1,000
    rotations asks for it tens of thousands of times."""
    if currency not in list_currencies():
        raise CurrencyError(f"{currency!r} is not an ISO 4217 currency code")
    return int(get_currency_precision(currency))


def _half_up(value: Fraction, digits: int) -> Decimal:
    # In integers (no Fraction arithmetic): |n| * 10**digits / d, half away
    # from zero.
    n, d = value.numerator, value.denominator
    whole, rest = divmod(abs(n) * 10**digits, d)
    if 2 * rest >= d:
        whole += 1
    # scaleb on an integer gives exactly ``digits`` decimals ("0.00" too).
    return Decimal(-whole if n < 0 else whole).scaleb(-digits)


def round_amount(value: Fraction, currency: str) -> Decimal:
    """``value`` rounded half-up (away from zero at the half) to the minor unit,
    with exactly that many decimals (``Decimal("500.00")``, ``Decimal("1000")``)."""
    return _half_up(value, minor_digits(currency))


def shown_ratio(numerator: int, denominator: int) -> Decimal:
    """``numerator / denominator`` shown like :func:`shown`, in integers."""
    whole, rest = divmod(abs(numerator) * 10**SHOWN_DIGITS, denominator)
    if 2 * rest >= denominator:
        whole += 1
    sign = -1 if numerator < 0 else 1
    return (
        Decimal(sign * whole)
        .scaleb(-SHOWN_DIGITS)
        .quantize(Decimal(1).scaleb(-SHOWN_DIGITS))
    )


def shown(value: Fraction) -> Decimal:
    """An exact amount shown to :data:`SHOWN_DIGITS` places (for reading only)."""
    return _half_up(value, SHOWN_DIGITS)


def exact(value: Decimal | int | str) -> Fraction:
    """A stored Decimal (a rate, a multiplier) as an exact Fraction."""
    try:
        return Fraction(Decimal(value))
    except (decimal.InvalidOperation, ValueError) as exc:
        raise ValueError(f"{value!r} is not a number") from exc


def amount_text(value: Decimal) -> str:
    """A rounded amount as a plain decimal string (no exponent, no grouping)."""
    return format(value, "f")
