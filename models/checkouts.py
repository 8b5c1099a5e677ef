"""The checkouts repository: a sale and its refunds written, the customer's wallet held while
they are, and both read back as `domain` values (`domain.checkouts`), so that services never
hold a checkout's row or build a query. The tables are `models.tables.checkouts`.

Writes. `insert_checkout` and `insert_refund` write a sale and a refund in the service's
transaction; a refund claims its number and records the sale's new state with conditional
UPDATEs (`models.refunds`: `claim_refund`, `settle_refund`); `mark_refunded` flips a committed
sale to REFUNDED whole.
`lock_customer` is what makes refunds and cashback releases run one after the other with every
other write of the customer's wallet: on PostgreSQL a row lock on the customer (`SELECT … FOR
UPDATE`); on SQLite, which has one writer at a time and no row locks, a no-op UPDATE of the
customer row, so that the transaction holds the write lock before it reads anything. (A commit
holds the customer with the statement that reads it for pricing, `models.reads`.) Held cashback:
the customer's `cashback_held` is the sum over its checkouts, changed in the same transactions
(`change_held`, `take_held`, `due_releases`).

Reads. A checkout is always read within its location; the history is a location's checkouts
newest first (by creation time, then id), paged by the (created_at, id) key of the last one
seen, on the indexes (location_id, created_at, id) and (location_id, api_key_id, created_at, id).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from domain.bill import SalesChannel
from domain.checkouts import (
    COMMITTED,
    REFUNDED,
    CheckoutCriteria,
    CheckoutView,
    RefundView,
    discounts_of,
    lines_of,
)
from models import sql
from models.queries import entity_of
from models.refunds import RefundClaim as RefundClaim
from models.refunds import Settlement as Settlement
from models.refunds import claim_refund as claim_refund
from models.refunds import refund_view
from models.refunds import refunds_of as refunds_of
from models.refunds import settle_refund as settle_refund
from models.tables.checkouts import Checkout, CheckoutRefund
from models.tables.crm import Customer

_COLUMNS = (
    "id, location_id, customer_id, channel, status, business_date, lines, discounts, subtotal,"
    " discount_total, total, group_discount, credits_used, cashback_granted, actor,"
    " idempotency_key, request_hash, created_at, api_key_id, cashback_held, cashback_release_at,"
    " discount_reference"
)
INSERT_CHECKOUT = f"""
INSERT INTO checkouts ({_COLUMNS})
VALUES ($1, $2, $3, $4, '{COMMITTED}', $5, $6::jsonb, $7::jsonb, $8, $9, $10, $11, $12, $13,
        $14, $15, $16, $17, $18, $19, $20, $21)"""


@dataclass(frozen=True, slots=True)
class NewCheckout:
    """A committed checkout's row, as `insert_checkout` writes it."""

    id: UUID
    location_id: UUID
    customer_id: UUID | None
    channel: str
    business_date: date
    lines: list[dict[str, Any]]
    discounts: list[dict[str, Any]]
    subtotal: int
    discount_total: int
    total: int
    group_discount: int
    credits_used: int
    cashback_granted: int
    actor: str | None
    idempotency_key: str
    request_hash: str
    created_at: datetime
    api_key_id: UUID | None = None
    cashback_held: int = 0
    cashback_release_at: datetime | None = None
    discount_reference: str | None = None  # the group whose daily limit `group_discount` took


async def insert_checkout(checkout: NewCheckout, db: BaseDBAsyncClient) -> None:
    """Record a committed checkout in the transaction `db`: one prepared INSERT, where the
    ORM would build the statement and a model instance for every sale."""
    c = checkout
    values = (
        c.id,
        c.location_id,
        c.customer_id,
        c.channel,
        c.business_date,
        json.dumps(c.lines),
        json.dumps(c.discounts),
        c.subtotal,
        c.discount_total,
        c.total,
        c.group_discount,
        c.credits_used,
        c.cashback_granted,
        c.actor,
        c.idempotency_key,
        c.request_hash,
        c.created_at,
        c.api_key_id,
        c.cashback_held,
        c.cashback_release_at,
        c.discount_reference,
    )
    await sql.execute(db, INSERT_CHECKOUT, values)


@dataclass(frozen=True, slots=True)
class NewRefund:
    """A refund's row, as `insert_refund` writes it."""

    id: UUID
    location_id: UUID
    checkout_id: UUID
    number: int
    lines: list[dict[str, Any]]
    credits_returned: int
    cashback_reversed: int
    cashback_owed: int
    actor: str | None
    api_key_id: UUID | None
    created_at: datetime
    group_discount: int = 0  # what it gave back of the sale's group discount


INSERT_REFUND = """
INSERT INTO checkout_refunds (id, location_id, checkout_id, number, lines, credits_returned,
    cashback_reversed, cashback_owed, actor, api_key_id, created_at, group_discount)
VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10, $11, $12)"""


async def insert_refund(refund: NewRefund, db: BaseDBAsyncClient) -> None:
    """Record a refund in the transaction `db`."""
    r = refund
    values = (
        r.id,
        r.location_id,
        r.checkout_id,
        r.number,
        json.dumps(r.lines),
        r.credits_returned,
        r.cashback_reversed,
        r.cashback_owed,
        r.actor,
        r.api_key_id,
        r.created_at,
        r.group_discount,
    )
    await sql.execute(db, INSERT_REFUND, values)


_WALLET = "credit_balance, cashback_held, cashback_owed"
_LOCK_POSTGRES = (
    f"SELECT {_WALLET} FROM customers"
    " WHERE id = $1 AND location_id = $2 AND deleted_at IS NULL FOR UPDATE"
)
_LOCK_SQLITE = (
    "UPDATE customers SET wallet_updated_at = wallet_updated_at "
    f"WHERE id = $1 AND location_id = $2 AND deleted_at IS NULL RETURNING {_WALLET}"
)


@dataclass(frozen=True, slots=True)
class HeldWallet:
    """A customer's wallet as read under the lock: spendable, held and owed."""

    balance: int
    held: int
    owed: int


async def lock_customer(
    location_id: UUID, customer_id: UUID, db: BaseDBAsyncClient
) -> HeldWallet | None:
    """Hold the customer until the transaction `db` ends (PostgreSQL: a row lock; SQLite: the
    database's write lock, taken by a no-op UPDATE) and read its wallet; to be the
    transaction's first statement. None when the location has no such live customer."""
    statement = sql.dialect().pick(postgres=_LOCK_POSTGRES, sqlite=_LOCK_SQLITE)
    rows = await sql.fetch(db, statement, (customer_id, location_id))
    if not rows:
        return None
    balance, held, owed = rows[0]
    return HeldWallet(int(balance), int(held), int(owed))


_REFUNDED = f"""
UPDATE checkouts SET status = '{REFUNDED}', refunded_at = $2, cashback_held = 0
WHERE id = $1 AND status = '{COMMITTED}'"""


async def mark_refunded(checkout_id: UUID, now: datetime, db: BaseDBAsyncClient) -> bool:
    """Flip a committed checkout to REFUNDED (nothing of its cashback is held any more); False
    when it is refunded already."""
    return await sql.execute(db, _REFUNDED, (checkout_id, now)) == 1


_CHANGE_HELD = """
UPDATE customers SET cashback_held = cashback_held + $2, wallet_updated_at = $3 WHERE id = $1"""


async def change_held(customer_id: UUID, amount: int, now: datetime, db: BaseDBAsyncClient) -> None:
    """Add `amount` (negative: take it off) to what the customer holds of granted cashback."""
    await sql.execute(db, _CHANGE_HELD, (customer_id, amount, now))


_DUE = f"""
SELECT id, location_id, customer_id FROM checkouts
WHERE cashback_release_at <= $1 AND cashback_held > 0 AND status <> '{REFUNDED}'
ORDER BY cashback_release_at, id LIMIT $2"""


@dataclass(frozen=True, slots=True)
class DueRelease:
    checkout_id: UUID
    location_id: UUID
    customer_id: UUID


async def due_releases(now: datetime, limit: int) -> list[DueRelease]:
    """Up to `limit` checkouts not refunded whole whose cashback hold has ended, soonest
    first."""
    rows = await sql.fetch(sql.pool(), _DUE, (now, limit))
    uuid = sql.uuid
    return [DueRelease(uuid(a), uuid(b), uuid(c)) for a, b, c in rows]


_RELEASE = f"""
UPDATE checkouts SET cashback_held = 0
WHERE id = $1 AND cashback_held = $2 AND status <> '{REFUNDED}'"""
_HELD_OF = "SELECT cashback_held FROM checkouts WHERE id = $1"


async def take_held(checkout_id: UUID, db: BaseDBAsyncClient) -> int:
    """What is held of the checkout's cashback, now taken off it (0 when nothing is, or when
    it is refunded whole); run while the customer is held (`lock_customer`)."""
    rows = await sql.fetch(db, _HELD_OF, (checkout_id,))
    held = int(rows[0][0]) if rows else 0
    if held and await sql.execute(db, _RELEASE, (checkout_id, held)) == 1:
        return held
    return 0


def checkout_view(row: Checkout | NewCheckout, **given: object) -> CheckoutView:
    """A sale's row (the table's, or the one written, as the tests' in-memory store keeps it) as
    the history shows it: lines and discounts parsed from their JSON; `given` overrides the
    row's other columns."""
    return entity_of(
        CheckoutView,
        row,
        channel=SalesChannel(row.channel),
        lines=lines_of(row.lines),
        discounts=discounts_of(row.discounts),
        **given,
    )


async def get(location_id: UUID, checkout_id: UUID) -> CheckoutView | None:
    """The location's checkout `checkout_id`; None when it has none."""
    row = await Checkout.get_or_none(id=checkout_id, location_id=location_id)
    return checkout_view(row) if row else None


async def committed_by(
    location_id: UUID, checkout_id: UUID, api_key_id: UUID | None
) -> CheckoutView | None:
    """The location's checkout `checkout_id`, when `api_key_id` is given only if that key
    committed it (a till reads its own sales); None when there is no such checkout."""
    query = Checkout.filter(id=checkout_id, location_id=location_id)
    if api_key_id is not None:
        query = query.filter(api_key_id=api_key_id)
    row = await query.first()
    return checkout_view(row) if row else None


async def refunded(location_id: UUID, refund_id: UUID) -> tuple[CheckoutView, RefundView] | None:
    """The location's refund `refund_id` with the checkout it refunded; None when it has none."""
    refund_row = await CheckoutRefund.get_or_none(id=refund_id, location_id=location_id)
    if refund_row is None:
        return None
    checkout_row = await Checkout.get(id=refund_row.checkout_id)
    return checkout_view(checkout_row), refund_view(refund_row)


async def had_customer(location_id: UUID, customer_id: UUID) -> bool:
    """Whether the location has, or had, the customer `customer_id` (the history's filter by
    customer names one; a deleted customer's sales stay in the history)."""
    return await Customer.filter(id=customer_id, location_id=location_id).exists()


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
    return total, [checkout_view(r) for r in rows]
