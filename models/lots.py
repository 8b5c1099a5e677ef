"""Credit lots in SQL: what `models.ledger.apply_chunk` writes besides entries and balances.

Every statement here runs in the transaction of the entries it follows, after the customers'
rows are held (on PostgreSQL locked by the chunk's first statement, which makes the snapshot of
every later statement current; on SQLite the one writer), and none reads a lot into Python to
write it back, except a refund's give-back of one customer (`restore`), read and written under
that customer's lock.

- A credit makes one lot of what reached the balance: its delta less what it paid off of owed
  cashback. On PostgreSQL a CTE of the chunk's statement (`POSTGRES_NEW_LOTS`), on SQLite
  `credit_sqlite`, before the claw-back lowers what is owed.
- A debit takes from the customer's lots in spending order (`domain.lots.spending_order`):
  running sums over the lots with something left, per customer, in one statement (two on
  SQLite), and records each take (`credit_lot_takes`) for a refund to give back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.lots import Given, Lot, LotView, Restore, Taken, give_back
from models import sql
from models.expiry import due_lots as due_lots
from models.expiry import expire_due as expire_due
from models.expiry import expire_lots as expire_lots
from models.expiry import expire_replaced as expire_replaced

_LOT_COLUMNS = (
    "location_id, customer_id, entry_id, source, amount, remaining, expires_on, created_at"
)

# Joined to `models.ledger._POSTGRES_SQL` after its `updated` CTE (`{netted}`: what the credit
# paid off of owed cashback, from the updated row, whose debt a credit leaves as it was).
POSTGRES_NEW_LOTS = f"""
, lots AS (
    INSERT INTO credit_lots ({_LOT_COLUMNS})
    SELECT $1, id, entry_id, $6, delta - {{netted}}, delta - {{netted}}, $11::date, $10
    FROM updated WHERE delta - {{netted}} > 0
)"""

_SQLITE_NEW_LOTS = f"""
INSERT INTO credit_lots ({_LOT_COLUMNS})
SELECT e.location_id, e.customer_id, e.id, e.source, e.delta - {{netted}}, e.delta - {{netted}},
    e.expires_on, e.created_at
FROM wallet_entries e JOIN customers c ON c.id = e.customer_id
WHERE e.id IN ({{ids}}) AND e.delta - {{netted}} > 0
"""

# The lots a chunk's debits take, in spending order: `before` is what the customer's lots ahead
# of this one hold, so a lot gives what the debit still needs, up to all it has.
_RANKED = """
spent AS (
    SELECT customer_id, id AS entry_id, -delta AS taken FROM wallet_entries WHERE {spent}
), ranked AS (
    SELECT l.id, l.remaining, s.entry_id, s.taken,
        SUM(l.remaining) OVER (
            PARTITION BY l.customer_id
            ORDER BY l.expires_on NULLS LAST, l.created_at, l.id
        ) - l.remaining AS before
    FROM spent s JOIN credit_lots l ON l.customer_id = s.customer_id AND l.remaining > 0
)"""

_TAKES = "INSERT INTO credit_lot_takes (entry_id, lot_id, amount, restored)"

_POSTGRES_CONSUME = f"""
WITH {_RANKED.format(spent="id = ANY($1::bigint[])")}, took AS (
    {_TAKES}
    SELECT entry_id, id, LEAST(remaining, taken - before), 0 FROM ranked WHERE before < taken
    RETURNING lot_id, amount
)
UPDATE credit_lots SET remaining = credit_lots.remaining - took.amount
FROM took WHERE credit_lots.id = took.lot_id
"""

_SQLITE_TAKE = f"""
WITH {_RANKED.format(spent="id IN ({ids})")}
{_TAKES}
SELECT entry_id, id, MIN(remaining, taken - before), 0 FROM ranked WHERE before < taken
"""

_SQLITE_TAKEN = """
UPDATE credit_lots SET remaining = credit_lots.remaining - t.amount
FROM credit_lot_takes t WHERE t.entry_id IN ({ids}) AND credit_lots.id = t.lot_id
"""


def _marks(count: int) -> str:
    return ", ".join("?" * count)


async def credit_sqlite(db: BaseDBAsyncClient, entry_ids: Sequence[int], *, netted: bool) -> None:
    """SQLite: the lots of the credit entries `entry_ids` (their delta less what they pay off
    of owed cashback, when `netted`); before the claw-back."""
    less = "MIN(e.delta, c.cashback_owed)" if netted else "0"
    statement = _SQLITE_NEW_LOTS.format(netted=less, ids=_marks(len(entry_ids)))
    await sql.fetch(db, statement, list(entry_ids))


async def consume(db: BaseDBAsyncClient, entry_ids: Sequence[int]) -> None:
    """The debit entries `entry_ids` (one per customer) take what they took off the balance
    from their customers' lots, in spending order, and record each take."""
    if sql.dialect().numbered:
        await sql.fetch(db, _POSTGRES_CONSUME, [list(entry_ids)])
        return
    ids = list(entry_ids)
    await sql.fetch(db, _SQLITE_TAKE.format(ids=_marks(len(ids))), ids)
    await sql.fetch(db, _SQLITE_TAKEN.format(ids=_marks(len(ids))), ids)


@dataclass(frozen=True)
class Credited:
    """The entries of one application (its ledger key without the customer) to the customers
    of a chunk."""

    source_id: UUID
    period: int
    kind: str
    customer_ids: Sequence[UUID]


# A refund's credit entries, each with what reached the balance: its delta less the CLAWBACK
# entry of the same application, if any.
_REFUNDED = """
SELECT e.id, e.location_id, e.customer_id, e.source, e.created_at,
    e.delta + COALESCE(c.delta, 0) AS net
FROM wallet_entries e LEFT JOIN wallet_entries c
    ON c.source_id = e.source_id AND c.customer_id = e.customer_id AND c.period = e.period
    AND c.kind = 'CLAWBACK'
WHERE e.source_id = $1 AND e.period = $2 AND e.kind = $3 AND e.customer_id = $4
"""

# What the restored debit took and no refund has given back yet.
_TAKEN = """
SELECT t.id, t.lot_id, t.amount - t.restored AS left, l.expires_on, l.created_at
FROM wallet_entries d JOIN credit_lot_takes t ON t.entry_id = d.id
JOIN credit_lots l ON l.id = t.lot_id
WHERE d.source_id = $1 AND d.customer_id = $2 AND d.period = $3 AND d.kind = $4
    AND t.amount > t.restored
"""

_GIVEN_BACK = "UPDATE credit_lot_takes SET restored = restored + $1 WHERE id = $2"

_NEW_LOT = f"INSERT INTO credit_lots ({_LOT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $5, $6, $7)"


async def restore(db: BaseDBAsyncClient, credited: Credited, restore: Restore) -> None:
    """A refund of credits, after its entries are written: for each customer credited, the
    lots of what reached the balance, given back from the debit `restore` names
    (`domain.lots.give_back`). Under the customers' locks, in the refund's transaction."""
    refunded = [
        entry
        for customer_id in credited.customer_ids
        for entry in await sql.fetch(
            db,
            _REFUNDED,
            [str(credited.source_id), credited.period, credited.kind, str(customer_id)],
        )
    ]
    for entry in refunded:
        if entry["net"] <= 0:
            continue
        rows = await sql.fetch(
            db,
            _TAKEN,
            [str(restore.source_id), entry["customer_id"], restore.period, restore.kind],
        )
        taken = [
            Taken(
                r["id"], r["lot_id"], r["left"], sql.day(r["expires_on"]), sql.time(r["created_at"])
            )
            for r in rows
        ]
        for given in give_back(taken, int(entry["net"]), restore.day):
            await _give(db, entry, given)


async def _give(db: BaseDBAsyncClient, entry: sql.Row, given: Given) -> None:
    if given.take_id is not None:
        await sql.execute(db, _GIVEN_BACK, [given.amount, given.take_id])
    values = [
        entry["location_id"],
        entry["customer_id"],
        entry["id"],
        entry["source"],
        given.amount,
        given.expires_on,
        sql.time(entry["created_at"]),
    ]
    await sql.execute(db, _NEW_LOT, values)


_LOTS_OF = """
SELECT id, amount, remaining, expires_on, created_at, source FROM credit_lots
WHERE location_id = $1 AND customer_id = $2 AND remaining > 0
ORDER BY expires_on NULLS LAST, created_at, id
"""


async def lots_of(location_id: UUID, customer_id: UUID) -> list[LotView]:
    """The customer's lots with something left, in the order spending takes them."""
    rows = await sql.fetch(sql.pool(), _LOTS_OF, [str(location_id), str(customer_id)])
    return [
        LotView(
            Lot(
                int(r["id"]),
                int(r["amount"]),
                int(r["remaining"]),
                sql.day(r["expires_on"]),
                sql.time(r["created_at"]),
            ),
            r["source"],
        )
        for r in rows
    ]
