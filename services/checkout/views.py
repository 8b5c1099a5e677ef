"""A checkout as the API reads it, and the history: one checkout, and the location's list.

Also how a sale's lines and discounts are kept in its row (`line_json`, `discount_json`) and read
back (`checkout_view`, `refund_view`): the one place that maps the recorded sale both ways.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain import entities
from domain.access import Principal
from domain.errors import ErrorCode, Validator
from domain.ids import parse_id
from domain.paging import (
    newest_first_key,
    page_of,
    page_size_problem,
    parse_newest_first_key,
)
from domain.pricing import AppliedDiscount, DiscountKind, Quote, QuoteLine, SalesChannel
from models.checkout import (
    COMMITTED,
    REFUNDED,
    Checkout,
    CheckoutRefund,
    checkouts_matching,
    newest_first,
)
from models.queries import live_customers

STATUSES = (COMMITTED, REFUNDED)


@dataclass(frozen=True)
class QuoteResult:
    quote: Quote
    customer: entities.Customer | None
    card_code: str | None = None  # the card the customer was found by


@dataclass(frozen=True)
class CheckoutView:
    id: UUID
    channel: SalesChannel
    customer_id: UUID | None
    status: str  # "COMMITTED" | "REFUNDED"
    lines: tuple[QuoteLine, ...]
    subtotal: int
    discounts: tuple[AppliedDiscount, ...]
    discount_total: int
    total: int
    credits_used: int
    cashback_granted: int
    created_at: datetime
    refunded_at: datetime | None


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
class Refunded:
    checkout: CheckoutView
    refund: RefundView


@dataclass(frozen=True)
class CheckoutFilter:
    customer_id: str | None = None
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


def checkout_view(row: Checkout) -> CheckoutView:
    return CheckoutView(
        id=row.id,
        channel=SalesChannel(row.channel),
        customer_id=row.customer_id,
        status=row.status,
        lines=tuple(QuoteLine(**line) for line in row.lines),
        subtotal=row.subtotal,
        discounts=tuple(
            AppliedDiscount(**{**d, "kind": DiscountKind(d["kind"])}) for d in row.discounts
        ),
        discount_total=row.discount_total,
        total=row.total,
        credits_used=row.credits_used,
        cashback_granted=row.cashback_granted,
        created_at=row.created_at,
        refunded_at=row.refunded_at,
    )


def refund_view(row: CheckoutRefund) -> RefundView:
    return RefundView(
        id=row.id,
        checkout_id=row.checkout_id,
        lines=tuple(QuoteLine(**line) for line in row.lines),
        credits_returned=row.credits_returned,
        cashback_reversed=row.cashback_reversed,
        cashback_owed=row.cashback_owed,
        created_at=row.created_at,
    )


def _committed_by(principal: Principal) -> UUID | None:
    """Whose sales the caller reads: a till key its own, an ADMIN key every key's."""
    return None if principal.is_admin else principal.api_key_id


async def get_checkout(principal: Principal, checkout_id: str) -> CheckoutView | None:
    """One checkout of the caller's location; for a till key, only one it committed."""
    uid = parse_id(checkout_id)
    query = Checkout.filter(id=uid, location_id=principal.location_id)
    if (key_id := _committed_by(principal)) is not None:
        query = query.filter(api_key_id=key_id)
    row = await query.first() if uid else None
    return checkout_view(row) if row else None


async def list_checkouts(
    principal: Principal, filter: CheckoutFilter | None, first: int, after: str | None
) -> entities.Page[CheckoutView]:
    """The location's checkouts, newest first, matching `filter`; for a till key, only those
    it committed."""
    location_id = principal.location_id
    checks = Validator()
    if problem := page_size_problem(first):
        checks.add(ErrorCode.INVALID, "first", problem)
    after_key = None
    if after is not None and (after_key := parse_newest_first_key(after)) is None:
        checks.add(ErrorCode.INVALID, "after", "Not a cursor from this list.")
    criteria = filter or CheckoutFilter()
    if criteria.status is not None and criteria.status not in STATUSES:
        checks.add(ErrorCode.INVALID, "filter.status", "Status is COMMITTED or REFUNDED.")
    if criteria.channel is not None and criteria.channel not in set(SalesChannel):
        checks.add(ErrorCode.INVALID, "filter.channel", "Channel is POS, ONLINE or KIOSK.")
    for field, moment in (
        ("filter.createdFrom", criteria.created_from),
        ("filter.createdTo", criteria.created_to),
    ):
        if moment is not None and moment.utcoffset() is None:
            checks.add(ErrorCode.INVALID, field, "A time needs its offset from UTC.")
    customer_id = None
    if criteria.customer_id is not None:
        customer_id = parse_id(criteria.customer_id)
        if (
            customer_id is None
            or not await live_customers(location_id).filter(id=customer_id).exists()
        ):
            checks.add(ErrorCode.NOT_FOUND, "filter.customerId", "Customer not found.")
    checks.check()
    query = checkouts_matching(
        location_id,
        api_key_id=_committed_by(principal),
        customer_id=customer_id,
        status=criteria.status,
        channel=criteria.channel,
        created_from=criteria.created_from,
        created_to=criteria.created_to,
    )
    total = await query.count()
    rows = await newest_first(query, after_key, first + 1)
    return page_of(
        [checkout_view(r) for r in rows],
        first,
        total,
        key=lambda v: newest_first_key(v.created_at, v.id),
    )
