"""The checkouts repository: committed checkouts and their refunds read as `domain` values
(`domain.checkouts`), so that services never hold a checkout's row or build a query.

The tables, and the statements that write a sale or a refund and hold a customer's wallet, are
in `models.checkout`; this module reads. A checkout is always read within its location; the
history is a location's checkouts newest first (by creation time, then id), paged by the
(created_at, id) key of the last one seen, on the indexes (location_id, created_at, id) and
(location_id, api_key_id, created_at, id).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from domain.bill import SalesChannel
from domain.checkouts import CheckoutCriteria, CheckoutView, RefundView, discounts_of, lines_of
from models.checkout import Checkout, CheckoutRefund
from models.queries import live_customers


def _checkout(row: Checkout) -> CheckoutView:
    return CheckoutView(
        id=row.id,
        channel=SalesChannel(row.channel),
        customer_id=row.customer_id,
        status=row.status,
        lines=lines_of(row.lines),
        subtotal=row.subtotal,
        discounts=discounts_of(row.discounts),
        discount_total=row.discount_total,
        total=row.total,
        credits_used=row.credits_used,
        cashback_granted=row.cashback_granted,
        created_at=row.created_at,
        refunded_at=row.refunded_at,
    )


def _refund(row: CheckoutRefund) -> RefundView:
    return RefundView(
        id=row.id,
        checkout_id=row.checkout_id,
        lines=lines_of(row.lines),
        credits_returned=row.credits_returned,
        cashback_reversed=row.cashback_reversed,
        cashback_owed=row.cashback_owed,
        created_at=row.created_at,
    )


async def get(location_id: UUID, checkout_id: UUID) -> CheckoutView | None:
    """The location's checkout `checkout_id`; None when it has none."""
    row = await Checkout.get_or_none(id=checkout_id, location_id=location_id)
    return _checkout(row) if row else None


async def committed_by(
    location_id: UUID, checkout_id: UUID, api_key_id: UUID | None
) -> CheckoutView | None:
    """The location's checkout `checkout_id`, when `api_key_id` is given only if that key
    committed it (a till reads its own sales); None when there is no such checkout."""
    query = Checkout.filter(id=checkout_id, location_id=location_id)
    if api_key_id is not None:
        query = query.filter(api_key_id=api_key_id)
    row = await query.first()
    return _checkout(row) if row else None


async def refunded(location_id: UUID, refund_id: UUID) -> tuple[CheckoutView, RefundView] | None:
    """The location's refund `refund_id` with the checkout it refunded; None when it has none."""
    refund_row = await CheckoutRefund.get_or_none(id=refund_id, location_id=location_id)
    if refund_row is None:
        return None
    checkout_row = await Checkout.get(id=refund_row.checkout_id)
    return _checkout(checkout_row), _refund(refund_row)


async def is_live_customer(location_id: UUID, customer_id: UUID) -> bool:
    """Whether the location has the customer `customer_id`, not deleted (the history's filter
    by customer names one)."""
    return await live_customers(location_id).filter(id=customer_id).exists()


def _matching(location_id: UUID, criteria: CheckoutCriteria) -> QuerySet[Checkout]:
    """The location's checkouts matching every given criterion."""
    query = Checkout.filter(location_id=location_id)
    if criteria.api_key_id is not None:
        query = query.filter(api_key_id=criteria.api_key_id)
    if criteria.customer_id is not None:
        query = query.filter(customer_id=criteria.customer_id)
    if criteria.status is not None:
        query = query.filter(status=criteria.status)
    if criteria.channel is not None:
        query = query.filter(channel=criteria.channel)
    if criteria.created_from is not None:
        query = query.filter(created_at__gte=criteria.created_from)
    if criteria.created_to is not None:
        query = query.filter(created_at__lt=criteria.created_to)
    return query


async def page(
    location_id: UUID,
    criteria: CheckoutCriteria,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> tuple[int, list[CheckoutView]]:
    """How many of the location's checkouts match `criteria`, and up to `limit` of them newest
    first (by creation time, then id), those after the (created_at, id) key `after` when
    given."""
    query = _matching(location_id, criteria)
    total = await query.count()
    if after is not None:
        created_at, checkout_id = after
        query = query.filter(
            Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=checkout_id)
        )
    rows = await query.order_by("-created_at", "-id").limit(limit)
    return total, [_checkout(r) for r in rows]
