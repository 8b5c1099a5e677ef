"""Money and percentages as integers.

Amounts are integer minor units everywhere inside the gateway; the API speaks exact decimal
strings. How many minor units a major unit has depends on the currency (ISO 4217: JPY 0,
PLN 2, KWD 3 decimal places); callers pass that number. Rounding is half-up to the minor unit,
in this one function (`half_up`), in integers, so that no decimal context can round first.

Decimals from clients are read digit by digit (`Decimal.as_tuple`), never scaled by arithmetic
first: `Decimal("1e999999999")` is a valid Decimal whose scaling would overflow, and arithmetic
under the default context silently rounds past 28 digits.
"""

from __future__ import annotations

from decimal import Decimal

PERCENT_PLACES = 2
# 10 million in major units, whatever the currency: far beyond any wallet or bill, far below
# any integer limit (10**10 minor units with 3 decimal places).
MAX_AMOUNT_MAJOR = 10_000_000
# Beyond this many integer digits an amount is refused without being scaled.
_MAX_INTEGER_DIGITS = len(str(MAX_AMOUNT_MAJOR))


def max_amount_minor(minor_units: int) -> int:
    return MAX_AMOUNT_MAJOR * int(10**minor_units)


def decimal_places(amount: Decimal) -> int | None:
    """How many decimal places `amount` needs (trailing zeros do not count: "1.50" needs 1),
    or None when it is not finite."""
    _sign, digits, exponent = amount.as_tuple()
    if not isinstance(exponent, int):
        return None
    packed = bytes(digits)  # one byte per digit: the zeros are stripped at C speed
    trailing_zeros = len(packed) - len(packed.rstrip(b"\x00"))
    if trailing_zeros == len(digits):  # zero
        return 0
    return max(0, -(exponent + trailing_zeros))


def integer_digits(amount: Decimal) -> int:
    """How many digits `amount` has before the decimal point (at least 1); `amount` is finite."""
    return max(1, amount.adjusted() + 1)


def _scaled(amount: Decimal, places: int) -> int | None:
    """`amount` × 10**places as an exact integer, or None when it is not finite, needs more
    than `places` decimals or has more than the maximum's integer digits."""
    needed = decimal_places(amount)
    if needed is None or needed > places or integer_digits(amount) > _MAX_INTEGER_DIGITS:
        return None
    sign, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)
    shift = exponent + places
    # Both cases are bounded: at most the maximum's digits plus `places` remain significant.
    significant = digits if shift >= 0 else digits[: len(digits) + shift]
    value = int("".join(map(str, significant)) or "0") * int(10 ** max(shift, 0))
    return -value if sign else value


def to_minor(amount: Decimal, minor_units: int) -> int | None:
    """Exact minor units, or None when the amount is not finite, has more decimal places than
    `minor_units`, or has more integer digits than the maximum amount."""
    return _scaled(amount, minor_units)


def to_decimal(minor: int, minor_units: int) -> Decimal:
    """Minor units as a Decimal with exactly `minor_units` places ("50.00" for PLN 5000)."""
    return Decimal(minor).scaleb(-minor_units)


def money_text(minor: int, minor_units: int) -> str:
    """Minor units as a message writes them ("50.00" for PLN 5000)."""
    return str(to_decimal(minor, minor_units))


def half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half-up, exactly, for a numerator ≥ 0 and a positive
    denominator: the one rounding rule of the gateway (a line's subtotal, a percentage off)."""
    return (2 * numerator + denominator) // (2 * denominator)


def percent_to_basis_points(percent: Decimal) -> int | None:
    """Basis points for a percentage with at most 2 decimals, or None when it has more, is not
    finite or is out of any sensible range."""
    return _scaled(percent, PERCENT_PLACES)


def basis_points_to_percent(bp: int) -> Decimal:
    return to_decimal(bp, PERCENT_PLACES)
