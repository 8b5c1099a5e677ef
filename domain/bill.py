"""The bill a till sends, parsed once into validated values.

`parse_bill` turns what a till sent (`BillInput`) into a `Bill`, naming every problem with its
field path (``input.lines.3.quantity``): at least one line and at most `MAX_LINES`, quantities in
thousandths (`QUANTITY_PLACES`), prices in the currency's minor units, texts within their
limits, and a subtotal within `domain.money.max_amount_minor`. A line's subtotal is quantity ×
unit price, rounded half-up to the minor unit (`domain.money.half_up`). Pricing the bill is
`domain.pricing`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from domain.contacts import clean_text
from domain.errors import ErrorCode, Validator
from domain.money import (
    decimal_places,
    half_up,
    max_amount_minor,
    money_text,
    to_minor,
)
from domain.text import text_problem

MIN_LINES = 1
MAX_LINES = 250
QUANTITY_PLACES = 3
QUANTITY_SCALE = 10**QUANTITY_PLACES
MAX_QUANTITY = 100_000
MAX_PRODUCT_ID_LENGTH = 100
MAX_LINE_NAME_LENGTH = 200
MAX_CATEGORY_ID_LENGTH = 100
MAX_EXCLUDED_IDS = 50
MAX_DISCOUNT_ID_LENGTH = 200


class SalesChannel(StrEnum):
    """Where a bill is sold: a till (POS), a kiosk, or the online store (GoOrder)."""

    POS = "POS"
    ONLINE = "ONLINE"
    KIOSK = "KIOSK"


@dataclass(frozen=True, slots=True)
class LineInput:
    """A bill line as the till sent it."""

    product_id: str
    quantity: Decimal
    unit_price: Decimal
    name: str | None = None
    category_id: str | None = None


@dataclass(frozen=True, slots=True)
class BillInput:
    """A quote request as the till sent it, without the customer (the service resolves that)."""

    channel: SalesChannel
    lines: Sequence[LineInput]
    use_credits: bool = True
    max_credits: Decimal | None = None
    excluded_discount_ids: Sequence[str] | None = None


@dataclass(frozen=True, slots=True)
class Line:
    product_id: str
    name: str | None
    category_id: str | None
    quantity: int  # thousandths
    unit_price: int  # minor units

    @property
    def subtotal(self) -> int:
        return half_up(self.quantity * self.unit_price, QUANTITY_SCALE)


@dataclass(frozen=True, slots=True)
class Bill:
    channel: SalesChannel
    lines: tuple[Line, ...]
    use_credits: bool = True
    max_credits: int | None = None  # minor units; None: as much as fits
    excluded_ids: frozenset[str] = frozenset()


def parse_bill(raw: BillInput, minor_units: int) -> Bill:
    """The whole bill, valid; raises `DomainError` naming every problem (``input.…``)."""
    checks = Validator()
    lines = _lines(checks, raw.lines, minor_units)
    max_credits = None
    if raw.max_credits is not None:
        max_credits = _money(
            checks, "input.maxCredits", "Credits to use", raw.max_credits, minor_units
        )
    excluded = _excluded_ids(checks, raw.excluded_discount_ids)
    checks.check()
    return Bill(raw.channel, lines, raw.use_credits, max_credits, excluded)


def _lines(checks: Validator, raw_lines: Sequence[LineInput], minor_units: int) -> tuple[Line, ...]:
    count = len(raw_lines)
    if count < MIN_LINES:
        checks.add(ErrorCode.INVALID, "input.lines", f"A bill needs at least {MIN_LINES} line.")
        return ()
    if count > MAX_LINES:
        checks.add(ErrorCode.INVALID, "input.lines", f"A bill has at most {MAX_LINES} lines.")
        return ()
    before = len(checks.errors)
    lines = tuple(
        _line(checks, f"input.lines.{index}", raw, minor_units)
        for index, raw in enumerate(raw_lines)
    )
    if len(checks.errors) == before and (
        problem := subtotal_problem(sum(line.subtotal for line in lines), minor_units)
    ):
        checks.add(ErrorCode.INVALID, "input.lines", problem)
    return lines


def _line(checks: Validator, path: str, raw: LineInput, minor_units: int) -> Line:
    product_id = raw.product_id.strip()
    if not product_id:
        checks.add(ErrorCode.INVALID, f"{path}.productId", "Product id must not be empty.")
    elif problem := text_problem(product_id, MAX_PRODUCT_ID_LENGTH):
        checks.add(ErrorCode.INVALID, f"{path}.productId", problem)
    name = _optional_text(checks, f"{path}.name", raw.name, MAX_LINE_NAME_LENGTH)
    category = _optional_text(checks, f"{path}.categoryId", raw.category_id, MAX_CATEGORY_ID_LENGTH)
    quantity = _quantity(checks, f"{path}.quantity", raw.quantity)
    unit_price = _money(checks, f"{path}.unitPrice", "Unit price", raw.unit_price, minor_units)
    return Line(product_id, name, category, quantity, unit_price)


def _optional_text(checks: Validator, path: str, raw: str | None, limit: int) -> str | None:
    value = clean_text(raw)
    if value is not None and (problem := text_problem(value, limit)):
        checks.add(ErrorCode.INVALID, path, problem)
    return value


def _quantity(checks: Validator, path: str, raw: Decimal) -> int:
    """Thousandths of a unit; 0 when invalid (a problem is added then)."""
    places = decimal_places(raw)
    if places is None:
        problem = "Quantity is not a number."
    elif places > QUANTITY_PLACES:
        problem = f"At most {QUANTITY_PLACES} decimal places."
    elif raw.is_zero() or raw.is_signed():
        problem = "Quantity must be greater than 0."
    elif (value := to_minor(raw, QUANTITY_PLACES)) is None or value > MAX_QUANTITY * QUANTITY_SCALE:
        problem = f"Quantity must be at most {MAX_QUANTITY}."
    else:
        return value
    checks.add(ErrorCode.INVALID, path, problem)
    return 0


def _money(checks: Validator, path: str, what: str, raw: Decimal, minor_units: int) -> int:
    """Minor units of an amount that may be zero; 0 when invalid (a problem is added then)."""
    places = decimal_places(raw)
    maximum = max_amount_minor(minor_units)
    if places is None:
        problem = f"{what} is not a number."
    elif places > minor_units:
        problem = _places_problem(what, minor_units)
    elif raw.is_signed() and not raw.is_zero():
        problem = f"{what} must not be negative."
    elif (value := to_minor(raw, minor_units)) is None or value > maximum:
        problem = f"{what} must be at most {money_text(maximum, minor_units)}."
    else:
        return value
    checks.add(ErrorCode.INVALID, path, problem)
    return 0


def _places_problem(what: str, minor_units: int) -> str:
    if minor_units == 0:
        return f"{what} must be a whole number."
    if minor_units == 1:
        return "At most 1 decimal place."
    return f"At most {minor_units} decimal places."


def _excluded_ids(checks: Validator, raw: Sequence[str] | None) -> frozenset[str]:
    if not raw:
        return frozenset()
    path = "input.excludedDiscountIds"
    if len(raw) > MAX_EXCLUDED_IDS:
        checks.add(ErrorCode.INVALID, path, f"At most {MAX_EXCLUDED_IDS} discount ids.")
        return frozenset()
    ids: set[str] = set()
    for index, value in enumerate(raw):
        discount_id = value.strip()
        if not discount_id:
            checks.add(ErrorCode.INVALID, f"{path}.{index}", "Discount id must not be empty.")
        elif problem := text_problem(discount_id, MAX_DISCOUNT_ID_LENGTH):
            checks.add(ErrorCode.INVALID, f"{path}.{index}", problem)
        else:
            ids.add(discount_id)
    return frozenset(ids)


def subtotal_problem(subtotal: int, minor_units: int) -> str | None:
    """Why a bill's subtotal is refused (over the maximum amount), or None."""
    maximum = max_amount_minor(minor_units)
    if subtotal > maximum:
        return f"The bill's subtotal must be at most {money_text(maximum, minor_units)}."
    return None
