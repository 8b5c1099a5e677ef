"""A recorded sale and its refund, as services and the API read them, and how a sale's lines and
discounts are kept as JSON and read back: the one place that maps the recorded sale both ways.

The checkouts repository (`models.checkouts`) returns these values, so that the services never
hold a checkout's row; `CheckoutCriteria` is what the location's history may be filtered by.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.bill import SalesChannel
from domain.pricing import AppliedDiscount, DiscountKind, QuoteLine

COMMITTED = "COMMITTED"
PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"  # some of it refunded, some left
REFUNDED = "REFUNDED"  # all of it refunded
LIMITED_CHANNELS = ("POS", "KIOSK")  # the channels whose group discounts count against the limit


@dataclass(frozen=True)
class CheckoutView:
    id: UUID
    channel: SalesChannel
    customer_id: UUID | None
    status: str  # "COMMITTED" | "PARTIALLY_REFUNDED" | "REFUNDED"
    lines: tuple[QuoteLine, ...]
    subtotal: int
    discounts: tuple[AppliedDiscount, ...]
    discount_total: int
    total: int
    credits_used: int
    cashback_granted: int
    created_at: datetime
    refunded_at: datetime | None  # when the last of it was refunded


@dataclass(frozen=True)
class RefundView:
    """What one refund gave back and took back."""

    id: UUID
    checkout_id: UUID
    lines: tuple[QuoteLine, ...]
    credits_returned: int
    cashback_reversed: int  # off the balance, or cancelled while held
    cashback_owed: int  # what the balance could not cover: owed by the customer
    created_at: datetime


@dataclass(frozen=True)
class CheckoutCriteria:
    """Which of a location's checkouts a history page holds: those matching every criterion
    given (`created_to` exclusive; `api_key_id`: committed by that key)."""

    api_key_id: UUID | None = None
    customer_id: UUID | None = None
    status: str | None = None
    channel: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


def line_json(line: QuoteLine) -> dict[str, Any]:
    return {
        "product_id": line.product_id,
        "name": line.name,
        "category_id": line.category_id,
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        "subtotal": line.subtotal,
        "discount": line.discount,
        "total": line.total,
    }


def discount_json(discount: AppliedDiscount) -> dict[str, Any]:
    return {
        "id": discount.id,
        "kind": discount.kind.value,
        "name": discount.name,
        "amount": discount.amount,
        "reference": discount.reference,
        "removable": discount.removable,
    }


def lines_of(stored: Iterable[Mapping[str, Any]]) -> tuple[QuoteLine, ...]:
    """The lines of a sale as `line_json` kept them."""
    return tuple(QuoteLine(**line) for line in stored)


def discounts_of(stored: Iterable[Mapping[str, Any]]) -> tuple[AppliedDiscount, ...]:
    """The applied discounts of a sale as `discount_json` kept them."""
    return tuple(AppliedDiscount(**{**d, "kind": DiscountKind(d["kind"])}) for d in stored)
