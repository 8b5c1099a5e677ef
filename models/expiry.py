"""Expiry of credit lots in SQL: at the end of its expiry day (in the location's time zone) what
is left of a lot leaves the wallet through an EXPIRE entry (source SYSTEM), exactly once.

The entry's source id is the lot's id (`domain.lots.expiry_source_id`), so the ledger's unique
key allows one EXPIRE per lot. A chunk of due lots is expired in one transaction that first
holds their customers (on PostgreSQL a row lock in id order, as every balance change takes it;
on SQLite the first statement is the write that takes the database's one write lock), then
reads the lots as they are now: a lot a till spent meanwhile has less, or nothing, left to
expire. Entries, lots and balances move together in set-based statements; nothing is read into
Python to be written back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.ledger import EXPIRED_DESCRIPTION, EntryKind, EntrySource
from domain.lots import Expired, Expiring
from models import sql

EXPIRE = EntryKind.EXPIRE.value
SYSTEM = EntrySource.SYSTEM.value
_COLUMNS = (
    "location_id, customer_id, kind, requested_amount, delta, balance_after, description, "
    "source, source_id, period, actor, created_at, expires_on"
)

# A lot's id as the source id of its EXPIRE entry (`domain.lots.expiry_source_id`, UUID(int=id)),
# in SQL: PostgreSQL's uuid, SQLite's text as the UUIDs are stored there.
_POSTGRES_LOT_ID = "lpad(to_hex({id}), 32, '0')::uuid"
_SQLITE_LOT_ID = (
    "printf('00000000-0000-0000-%04x-%012x', ({id} >> 48) & 65535, {id} & 281474976710655)"
)


# The other way: the lot's id from its EXPIRE entry's source id (the last 16 hex digits). SQLite
# has no hex parser: each digit is found in the list of digits and shifted into place.
_POSTGRES_LOT_OF = "('x' || translate(right({column}::text, 17), '-', ''))::bit(64)::bigint"


def _sqlite_lot_of(column: str) -> str:
    hex_digits = f"replace(substr({column}, 20), '-', '')"
    return (
        "("
        + " + ".join(
            f"((instr('0123456789abcdef', substr({hex_digits}, {n + 1}, 1)) - 1) << {4 * (15 - n)})"
            for n in range(16)
        )
        + ")"
    )


def lot_of_source_id(column: str) -> str:
    """The id of the lot whose EXPIRE entry's source id is `column`, as an SQL expression (the
    inverse of `lot_source_id`)."""
    if sql.dialect().numbered:
        return _POSTGRES_LOT_OF.format(column=column)
    return _sqlite_lot_of(column)


def lot_source_id(column: str) -> str:
    """The source id of the EXPIRE entry of the lot whose id is `column`, as an SQL
    expression that matches the stored column (the ledger's unique key serves the look-up)."""
    return sql.dialect().pick(postgres=_POSTGRES_LOT_ID, sqlite=_SQLITE_LOT_ID).format(id=column)


_DUE = """
SELECT id FROM credit_lots
WHERE location_id = $1 AND remaining > 0 AND expires_on IS NOT NULL AND expires_on < $2
ORDER BY expires_on, id LIMIT $3
"""

# The due lots' live customers, locked in id order.
_HOLD = """
SELECT id FROM customers
WHERE id IN (SELECT customer_id FROM credit_lots WHERE id = ANY($1::bigint[]))
    AND deleted_at IS NULL
ORDER BY id FOR UPDATE
"""

# `after`: the balance after each lot's entry, the customer's lots of the chunk taken in id
# order. A lot whose entry exists already has nothing left (both are written together), so
# `written` < `due` means the ledger and the lots disagree: the caller refuses the chunk.
_POSTGRES_EXPIRE = f"""
WITH due AS (
    SELECT l.id, l.customer_id, l.remaining,
        c.credit_balance - SUM(l.remaining) OVER (
            PARTITION BY l.customer_id ORDER BY l.id
        ) AS after
    FROM credit_lots l JOIN customers c ON c.id = l.customer_id
    WHERE l.id = ANY($2::bigint[]) AND l.location_id = $1 AND l.remaining > 0
        AND {{due}} AND c.deleted_at IS NULL
), inserted AS (
    INSERT INTO wallet_entries ({_COLUMNS})
    SELECT $1, customer_id, '{EXPIRE}', remaining, -remaining, after, $4, '{SYSTEM}',
        {_POSTGRES_LOT_ID.format(id="id")}, 0, NULL, $5, NULL
    FROM due
    ON CONFLICT (source_id, customer_id, period, kind) DO NOTHING
    RETURNING customer_id
), spent AS (
    UPDATE credit_lots SET remaining = 0 FROM due WHERE credit_lots.id = due.id
), moved AS (
    UPDATE customers SET credit_balance = customers.credit_balance - s.total,
        wallet_updated_at = $5
    FROM (SELECT customer_id, SUM(remaining) AS total FROM due GROUP BY customer_id) s
    WHERE customers.id = s.customer_id
)
SELECT (SELECT count(*) FROM inserted) AS written, (SELECT count(*) FROM due) AS due,
    (SELECT COALESCE(SUM(remaining), 0) FROM due) AS amount
"""

_SQLITE_ENTRIES = f"""
INSERT INTO wallet_entries ({_COLUMNS})
SELECT ?, l.customer_id, '{EXPIRE}', l.remaining, -l.remaining,
    c.credit_balance - SUM(l.remaining) OVER (PARTITION BY l.customer_id ORDER BY l.id),
    ?, '{SYSTEM}', {_SQLITE_LOT_ID.format(id="l.id")}, 0, NULL, ?, NULL
FROM credit_lots l JOIN customers c ON c.id = l.customer_id
WHERE l.id IN ({{ids}}) AND l.location_id = ? AND l.remaining > 0 AND {{due}}
    AND c.deleted_at IS NULL
ORDER BY l.id
ON CONFLICT (source_id, customer_id, period, kind) DO NOTHING
RETURNING customer_id, requested_amount, source_id
"""

_SQLITE_LOTS = "UPDATE credit_lots SET remaining = 0 WHERE id IN ({ids})"

_SQLITE_BALANCES = """
WITH d(id, taken) AS (VALUES {rows})
UPDATE customers SET credit_balance = customers.credit_balance - s.taken,
    wallet_updated_at = ?
FROM (SELECT id, SUM(taken) AS taken FROM d GROUP BY id) s WHERE customers.id = s.id
"""


class LotsDisagreeError(RuntimeError):
    """A lot with something left already has its EXPIRE entry: the chunk is refused."""


async def due_lots(location_id: UUID, today: date, limit: int) -> list[int]:
    """Up to `limit` of the location's lots whose expiry day ended before `today` (the
    location's date) and that still hold something, soonest-expiring first."""
    rows = await sql.fetch(sql.pool(), _DUE, [str(location_id), today, limit])
    return [int(row[0]) for row in rows]


async def expire_lots(
    location_id: UUID,
    lot_ids: Sequence[int],
    today: date,
    now: datetime,
    db: BaseDBAsyncClient,
) -> int:
    """Expire what is left of the lots `lot_ids` of the location that are due on `today`, in
    the caller's transaction `db`; returns how many EXPIRE entries were written."""
    return (await expire_due(location_id, lot_ids, today, now, db)).lots


async def expire_due(
    location_id: UUID,
    lot_ids: Sequence[int],
    today: date,
    now: datetime,
    db: BaseDBAsyncClient,
) -> Expired:
    """As `expire_lots`, with how much the expired lots held: what an expiry run counts."""
    if not lot_ids:
        return Expired(0, 0)
    if sql.dialect().numbered:
        await sql.fetch(db, _HOLD, [list(lot_ids)])
    return await _expire(location_id, lot_ids, today, now, db)


# A schedule's earlier top-ups to some of its customers that still hold something.
_REPLACED = """
SELECT l.id FROM wallet_entries e JOIN credit_lots l ON l.entry_id = e.id
WHERE e.source_id = $1 AND e.period < $2 AND l.remaining > 0 AND {customers}
"""

_HOLD_CUSTOMERS = """
SELECT id FROM customers WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL ORDER BY id FOR UPDATE
"""


async def expire_replaced(
    location_id: UUID,
    schedule_id: UUID,
    period: int,
    customer_ids: Sequence[UUID],
    now: datetime,
    db: BaseDBAsyncClient,
) -> int:
    """Expire what is left of the top-ups that the schedule's periods before `period` gave
    the customers `customer_ids`, whatever their expiry, in the caller's transaction `db`
    (which holds the customers first); returns how many EXPIRE entries were written."""
    if not customer_ids:
        return 0
    ids = [str(c) for c in customer_ids]
    if sql.dialect().numbered:
        await sql.fetch(db, _HOLD_CUSTOMERS, [ids])
        customers = "e.customer_id = ANY($3::uuid[])"
        rows = await sql.fetch(
            db, _REPLACED.format(customers=customers), [str(schedule_id), period, ids]
        )
    else:
        customers = f"e.customer_id IN ({', '.join('?' * len(ids))})"
        statement = _REPLACED.replace("$1", "?").replace("$2", "?").format(customers=customers)
        rows = await sql.fetch(db, statement, [str(schedule_id), period, *ids])
    lot_ids = [int(row[0]) for row in rows]
    return (await _expire(location_id, lot_ids, None, now, db)).lots if lot_ids else 0


async def _expire(
    location_id: UUID,
    lot_ids: Sequence[int],
    today: date | None,
    now: datetime,
    db: BaseDBAsyncClient,
) -> Expired:
    """The lots' EXPIRE entries, their remainders and balances, once their customers are held:
    those due on `today`, or all of them when it is None."""
    if sql.dialect().numbered:
        ids = list(lot_ids)
        due = "l.expires_on < $3::date" if today is not None else "$3::date IS NULL"
        values = [str(location_id), ids, today, EXPIRED_DESCRIPTION, now]
        row = (await sql.fetch(db, _POSTGRES_EXPIRE.format(due=due), values))[0]
        written, found, amount = int(row["written"]), int(row["due"]), int(row["amount"])
    else:
        expired = await _expire_sqlite(location_id, lot_ids, today, now, db)
        written = found = expired.lots
        amount = expired.amount
    if written != found:
        raise LotsDisagreeError(f"location {location_id}: {found - written} lots already expired")
    return Expired(written, amount)


async def _expire_sqlite(
    location_id: UUID,
    lot_ids: Sequence[int],
    today: date | None,
    now: datetime,
    db: BaseDBAsyncClient,
) -> Expired:
    marks = ", ".join("?" * len(lot_ids))
    values: list[object] = [str(location_id), EXPIRED_DESCRIPTION, now, *lot_ids]
    due = "l.expires_on < ?" if today is not None else "1"
    statement = _SQLITE_ENTRIES.format(ids=marks, due=due)
    dated = [today] if today is not None else []
    rows = await sql.fetch(db, statement, [*values, str(location_id), *dated])
    if not rows:
        return Expired(0, 0)
    expired = [UUID(str(row["source_id"])).int for row in rows]
    await sql.fetch(db, _SQLITE_LOTS.format(ids=", ".join("?" * len(expired))), expired)
    pairs = [v for row in rows for v in (row["customer_id"], row["requested_amount"])]
    balances = _SQLITE_BALANCES.format(rows=", ".join("(?, ?)" for _ in rows))
    await sql.fetch(db, balances, [*pairs, now])
    return Expired(len(rows), sum(int(row["requested_amount"]) for row in rows))


# Per customer, what expires before a date and the first day it does; the keyset is (first day,
# customer id). Served by the partial index on (location_id, expires_on).
_EXPIRING = """
SELECT customer_id, SUM(remaining) AS amount, MIN(expires_on) AS first_on
FROM credit_lots
WHERE location_id = $1 AND remaining > 0 AND expires_on IS NOT NULL AND expires_on < $2
GROUP BY customer_id
{after}
ORDER BY first_on, customer_id
LIMIT $3
"""

_EXPIRING_TOTALS = """
SELECT COUNT(DISTINCT customer_id) AS customers, COALESCE(SUM(remaining), 0) AS total
FROM credit_lots
WHERE location_id = $1 AND remaining > 0 AND expires_on IS NOT NULL AND expires_on < $2
"""


async def expiring(
    location_id: UUID, before: date, after: tuple[date, UUID] | None, limit: int
) -> list[Expiring]:
    """Up to `limit` customers of the location holding credits that expire before `before`
    (exclusive), soonest first, those after the (first day, customer id) key `after`."""
    values: list[object] = [str(location_id), before, limit]
    keyset = ""
    if after is not None:
        keyset = "HAVING MIN(expires_on) > $4 OR (MIN(expires_on) = $4 AND customer_id > $5)"
        values += [after[0], str(after[1])]
    rows = await sql.fetch(sql.pool(), _EXPIRING.format(after=keyset), values)
    return [
        Expiring(sql.uuid(row["customer_id"]), int(row["amount"]), sql.day(row["first_on"]))
        for row in rows
    ]


async def expiring_totals(location_id: UUID, before: date) -> tuple[int, int]:
    """How many customers hold credits expiring before `before`, and how much in all."""
    rows = await sql.fetch(sql.pool(), _EXPIRING_TOTALS, [str(location_id), before])
    return int(rows[0]["customers"]), int(rows[0]["total"])
