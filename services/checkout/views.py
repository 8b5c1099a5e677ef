"""A checkout as the API reads it, and the history: one checkout, and the location's list.

What a checkout and a refund are (`CheckoutView`, `RefundView`), and how a sale's lines and
discounts are kept in its row and read back, is `domain.checkouts`; the rows are read through
the checkouts repository (`models.checkouts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain import entities
from domain.access import Principal
from domain.checkouts import (
    COMMITTED,
    PARTIALLY_REFUNDED,
    REFUNDED,
    CheckoutCriteria,
    CheckoutView,
    RefundView,
)
from domain.errors import ErrorCode, Validator
from domain.ids import parse_id
from domain.messages import msg
from domain.paging import (
    newest_first_key,
    page_of,
    page_size_problem,
    parse_newest_first_key,
)
from domain.pricing import Quote, SalesChannel
from models import checkouts

__all__ = [
    "STATUSES",
    "CheckoutFilter",
    "CheckoutView",
    "QuoteResult",
    "RefundView",
    "Refunded",
    "get_checkout",
    "list_checkouts",
    "refunds_of",
]

STATUSES = (COMMITTED, PARTIALLY_REFUNDED, REFUNDED)


@dataclass(frozen=True)
class QuoteResult:
    quote: Quote
    customer: entities.Customer | None
    card_code: str | None = None  # the card the customer was found by


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


def _committed_by(principal: Principal) -> UUID | None:
    """Whose sales the caller reads: a till key its own, an ADMIN key every key's."""
    return None if principal.is_admin else principal.api_key_id


async def get_checkout(principal: Principal, checkout_id: str) -> CheckoutView | None:
    """One checkout of the caller's location; for a till key, only one it committed."""
    uid = parse_id(checkout_id)
    if uid is None:
        return None
    return await checkouts.committed_by(principal.location_id, uid, _committed_by(principal))


async def refunds_of(location_id: UUID, checkout_ids: list[UUID]) -> dict[UUID, list[RefundView]]:
    """The refunds of each of the location's checkouts `checkout_ids`, oldest first (one with
    none is absent)."""
    return await checkouts.refunds_of(location_id, checkout_ids)


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
        checks.add(ErrorCode.INVALID, "after", msg("page.bad_cursor"))
    criteria = filter or CheckoutFilter()
    if criteria.status is not None and criteria.status not in STATUSES:
        checks.add(ErrorCode.INVALID, "filter.status", msg("checkout.filter_status"))
    if criteria.channel is not None and criteria.channel not in set(SalesChannel):
        checks.add(ErrorCode.INVALID, "filter.channel", msg("checkout.filter_channel"))
    for field, moment in (
        ("filter.createdFrom", criteria.created_from),
        ("filter.createdTo", criteria.created_to),
    ):
        if moment is not None and moment.utcoffset() is None:
            checks.add(ErrorCode.INVALID, field, msg("time.offset_required"))
    customer_id = None
    if criteria.customer_id is not None:
        customer_id = parse_id(criteria.customer_id)
        if customer_id is None or not await checkouts.had_customer(location_id, customer_id):
            checks.add(ErrorCode.NOT_FOUND, "filter.customerId", msg("customer.not_found"))
    checks.check()
    selected = CheckoutCriteria(
        api_key_id=_committed_by(principal),
        customer_id=customer_id,
        status=criteria.status,
        channel=criteria.channel,
        created_from=criteria.created_from,
        created_to=criteria.created_to,
    )
    total, views = await checkouts.page(location_id, selected, after_key, first + 1)
    return page_of(
        views,
        first,
        total,
        key=lambda v: newest_first_key(v.created_at, v.id),
    )
