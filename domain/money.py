"""Money and percentages as integers.

Amounts are integer minor units (grosze) everywhere inside the gateway; the API speaks exact
decimal strings. Rounding is half-up to the minor unit, in this one function.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

MINOR_PER_MAJOR = 100
BASIS_POINTS_PER_PERCENT = 100
# 10 million in major units: far beyond any wallet or bill, far below any integer limit.
MAX_AMOUNT_MINOR = 10_000_000 * MINOR_PER_MAJOR


def to_minor(amount: Decimal) -> int | None:
    """Exact minor units, or None when the amount is not finite or has more than 2 decimals."""
    try:
        if not amount.is_finite():
            return None
        scaled = amount * MINOR_PER_MAJOR
        if scaled != scaled.to_integral_value():
            return None
        return int(scaled)
    except InvalidOperation:
        return None


def to_decimal(minor: int) -> Decimal:
    return (Decimal(minor) / MINOR_PER_MAJOR).quantize(Decimal("0.01"))


def round_half_up(value: Decimal) -> int:
    """Round a (possibly fractional) amount of minor units to a whole minor unit, half up."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def percent_to_basis_points(percent: Decimal) -> int | None:
    """Basis points for a percentage with at most 2 decimals, or None when it has more."""
    try:
        if not percent.is_finite():
            return None
        scaled = percent * BASIS_POINTS_PER_PERCENT
        if scaled != scaled.to_integral_value():
            return None
        return int(scaled)
    except InvalidOperation:
        return None


def basis_points_to_percent(bp: int) -> Decimal:
    return (Decimal(bp) / BASIS_POINTS_PER_PERCENT).quantize(Decimal("0.01"))
