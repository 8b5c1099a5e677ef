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
from domain.messages import Message, msg
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
            checks, "input.maxCredits", msg("field.max_credits"), raw.max_credits, minor_units
        )
    excluded = _excluded_ids(checks, raw.excluded_discount_ids)
    checks.check()
    return Bill(raw.channel, lines, raw.use_credits, max_credits, excluded)


def _lines(checks: Validator, raw_lines: Sequence[LineInput], minor_units: int) -> tuple[Line, ...]:
    count = len(raw_lines)
    if count < MIN_LINES:
        checks.add(ErrorCode.INVALID, "input.lines", msg("bill.too_few_lines", count=MIN_LINES))
        return ()
    if count > MAX_LINES:
        checks.add(ErrorCode.INVALID, "input.lines", msg("bill.too_many_lines", count=MAX_LINES))
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
        checks.add(ErrorCode.INVALID, f"{path}.productId", msg("bill.product_id_empty"))
    elif problem := text_problem(product_id, MAX_PRODUCT_ID_LENGTH):
        checks.add(ErrorCode.INVALID, f"{path}.productId", problem)
    name = _optional_text(checks, f"{path}.name", raw.name, MAX_LINE_NAME_LENGTH)
    category = _optional_text(checks, f"{path}.categoryId", raw.category_id, MAX_CATEGORY_ID_LENGTH)
    quantity = parse_quantity(checks, f"{path}.quantity", raw.quantity)
    unit_price = _money(
        checks, f"{path}.unitPrice", msg("field.unit_price"), raw.unit_price, minor_units
    )
    return Line(product_id, name, category, quantity, unit_price)


def _optional_text(checks: Validator, path: str, raw: str | None, limit: int) -> str | None:
    value = clean_text(raw)
    if value is not None and (problem := text_problem(value, limit)):
        checks.add(ErrorCode.INVALID, path, problem)
    return value


def parse_quantity(checks: Validator, path: str, raw: Decimal) -> int:
    """Thousandths of a unit; 0 when invalid (a problem is added then)."""
    places = decimal_places(raw)
    if places is None:
        problem = msg("quantity.not_a_number")
    elif places > QUANTITY_PLACES:
        problem = msg("amount.decimals", count=QUANTITY_PLACES)
    elif raw.is_zero() or raw.is_signed():
        problem = msg("quantity.not_positive")
    elif (value := to_minor(raw, QUANTITY_PLACES)) is None or value > MAX_QUANTITY * QUANTITY_SCALE:
        problem = msg("quantity.too_large", maximum=MAX_QUANTITY)
    else:
        return value
    checks.add(ErrorCode.INVALID, path, problem)
    return 0


def _money(checks: Validator, path: str, what: Message, raw: Decimal, minor_units: int) -> int:
    """Minor units of an amount that may be zero; 0 when invalid (a problem is added then)."""
    places = decimal_places(raw)
    maximum = max_amount_minor(minor_units)
    if places is None:
        problem = msg("money.not_a_number", what=what)
    elif places > minor_units:
        problem = _places_problem(what, minor_units)
    elif raw.is_signed() and not raw.is_zero():
        problem = msg("money.negative", what=what)
    elif (value := to_minor(raw, minor_units)) is None or value > maximum:
        problem = msg("money.too_large", what=what, maximum=money_text(maximum, minor_units))
    else:
        return value
    checks.add(ErrorCode.INVALID, path, problem)
    return 0


def _places_problem(what: Message, minor_units: int) -> Message:
    if minor_units == 0:
        return msg("money.whole", what=what)
    return msg("amount.decimals", count=minor_units)


def _excluded_ids(checks: Validator, raw: Sequence[str] | None) -> frozenset[str]:
    if not raw:
        return frozenset()
    path = "input.excludedDiscountIds"
    if len(raw) > MAX_EXCLUDED_IDS:
        checks.add(ErrorCode.INVALID, path, msg("bill.too_many_excluded", count=MAX_EXCLUDED_IDS))
        return frozenset()
    ids: set[str] = set()
    for index, value in enumerate(raw):
        discount_id = value.strip()
        if not discount_id:
            checks.add(ErrorCode.INVALID, f"{path}.{index}", msg("bill.discount_id_empty"))
        elif problem := text_problem(discount_id, MAX_DISCOUNT_ID_LENGTH):
            checks.add(ErrorCode.INVALID, f"{path}.{index}", problem)
        else:
            ids.add(discount_id)
    return frozenset(ids)


def subtotal_problem(subtotal: int, minor_units: int) -> Message | None:
    """Why a bill's subtotal is refused (over the maximum amount), or None."""
    maximum = max_amount_minor(minor_units)
    if subtotal > maximum:
        return msg("bill.subtotal_too_large", maximum=money_text(maximum, minor_units))
    return None
