"""Committed checkouts, and the statements that serialise commits and refunds per customer.

A checkout keeps what was sold at what price: its lines and applied discounts as JSON, the
totals in minor units, what it took of the daily discount limit (`group_discount`), the credits
it used and the cashback it granted. `business_date` is the location's calendar date when it was
committed, so that a customer's usage of the daily limit today is one indexed SUM over
(customer_id, business_date). A refund flips `status` once, with a conditional UPDATE.

`lock_customer` is what makes refunds and cashback releases run one after the other with every
other write of the customer's wallet: on PostgreSQL a row lock on the customer (`SELECT … FOR
UPDATE`); on SQLite, which has one writer at a time and no row locks, a no-op UPDATE of the
customer row, so that the transaction holds the write lock before it reads anything. (A commit
holds the customer with the statement that reads it for pricing, `models.reads`.)

Held cashback: a checkout's `cashback_held` is what is still held of its cashback, until
`cashback_release_at`; the customer's `cashback_held` is the sum over its checkouts, changed in
the same transactions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from tortoise import fields
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

from models import sql
from models.entities import Customer, Location
from models.ids import new_id

COMMITTED = "COMMITTED"
REFUNDED = "REFUNDED"
LIMITED_CHANNELS = ("POS", "KIOSK")  # the channels whose group discounts count against the limit


class Checkout(Model):
    id = fields.UUIDField(primary_key=True, default=new_id)
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name=False, on_delete=fields.CASCADE
    )
    # Kept when the customer is deleted (softly), like the wallet entries.
    customer: fields.ForeignKeyNullableRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="checkouts", null=True, on_delete=fields.RESTRICT
    )
    channel = fields.CharField(max_length=10)
    status = fields.CharField(max_length=10, default=COMMITTED)
    business_date = fields.DateField()
    lines: fields.Field[list[dict[str, Any]]] = fields.JSONField()
    discounts: fields.Field[list[dict[str, Any]]] = fields.JSONField()
    subtotal = fields.BigIntField()
    discount_total = fields.BigIntField()
    total = fields.BigIntField()
    group_discount = fields.BigIntField()  # what it took of the daily discount limit
    credits_used = fields.BigIntField()
    cashback_granted = fields.BigIntField()
    actor = fields.CharField(max_length=100, null=True)
    # The API key that committed it: a till's key lists only its own sales.
    api_key_id = fields.UUIDField(null=True)
    # What is still held of the cashback (not yet in the balance), and when the hold ends.
    cashback_held = fields.BigIntField(default=0, db_default=0)
    cashback_release_at = fields.DatetimeField(null=True)
    # As given with the commit; `idempotency_keys` holds the one unique key per location.
    idempotency_key = fields.CharField(max_length=200)
    request_hash = fields.CharField(max_length=64)
    created_at = fields.DatetimeField()
    refunded_at = fields.DatetimeField(null=True)
    location_id: UUID
    customer_id: UUID | None

    class Meta:
        table = "checkouts"
        indexes = (
            ("customer_id", "business_date"),
            ("location_id", "created_at", "id"),
            ("location_id", "api_key_id", "created_at", "id"),
            ("cashback_release_at",),
        )


class CheckoutRefund(Model):
    """One refund of a checkout: what it gave back and took back. `number` counts the
    checkout's refunds from 1; it is the `period` of the wallet entries the refund writes, so
    that they never meet the commit's (period 0) on the ledger's unique key."""

    id = fields.UUIDField(primary_key=True, default=new_id)
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name=False, on_delete=fields.CASCADE
    )
    checkout: fields.ForeignKeyRelation[Checkout] = fields.ForeignKeyField(
        "models.Checkout", related_name="refunds", on_delete=fields.CASCADE
    )
    number = fields.IntField()
    lines: fields.Field[list[dict[str, Any]]] = fields.JSONField()
    credits_returned = fields.BigIntField()
    # Cashback taken back from the balance or cancelled while held, and what the balance could
    # not cover (recorded as owed on the customer).
    cashback_reversed = fields.BigIntField()
    cashback_owed = fields.BigIntField()
    actor = fields.CharField(max_length=100, null=True)
    api_key_id = fields.UUIDField(null=True)
    created_at = fields.DatetimeField()
    location_id: UUID
    checkout_id: UUID

    class Meta:
        table = "checkout_refunds"
        unique_together = (("checkout_id", "number"),)


_COLUMNS = (
    "id, location_id, customer_id, channel, status, business_date, lines, discounts, subtotal,"
    " discount_total, total, group_discount, credits_used, cashback_granted, actor,"
    " idempotency_key, request_hash, created_at, api_key_id, cashback_held, cashback_release_at"
)
INSERT_CHECKOUT = f"""
INSERT INTO checkouts ({_COLUMNS})
VALUES ($1, $2, $3, $4, '{COMMITTED}', $5, $6::jsonb, $7::jsonb, $8, $9, $10, $11, $12, $13,
        $14, $15, $16, $17, $18, $19, $20)"""


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


INSERT_REFUND = """
INSERT INTO checkout_refunds (id, location_id, checkout_id, number, lines, credits_returned,
    cashback_reversed, cashback_owed, actor, api_key_id, created_at)
VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10, $11)"""


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
WHERE cashback_release_at <= $1 AND cashback_held > 0 AND status = '{COMMITTED}'
ORDER BY cashback_release_at, id LIMIT $2"""


@dataclass(frozen=True, slots=True)
class DueRelease:
    checkout_id: UUID
    location_id: UUID
    customer_id: UUID


async def due_releases(now: datetime, limit: int) -> list[DueRelease]:
    """Up to `limit` committed checkouts whose cashback hold has ended, soonest first."""
    rows = await sql.fetch(sql.pool(), _DUE, (now, limit))
    uuid = sql.uuid
    return [DueRelease(uuid(a), uuid(b), uuid(c)) for a, b, c in rows]


_RELEASE = f"""
UPDATE checkouts SET cashback_held = 0
WHERE id = $1 AND cashback_held = $2 AND status = '{COMMITTED}'"""
_HELD_OF = "SELECT cashback_held FROM checkouts WHERE id = $1"


async def take_held(checkout_id: UUID, db: BaseDBAsyncClient) -> int:
    """What is held of the checkout's cashback, now taken off it (0 when nothing is, or when
    it is refunded); run while the customer is held (`lock_customer`)."""
    rows = await sql.fetch(db, _HELD_OF, (checkout_id,))
    held = int(rows[0][0]) if rows else 0
    if held and await sql.execute(db, _RELEASE, (checkout_id, held)) == 1:
        return held
    return 0
