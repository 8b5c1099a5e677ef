"""Set-based wallet changes: one statement (PostgreSQL) or two (SQLite) per chunk of customers.

Exactly-once comes from the ledger's unique key (source_id, customer_id, period, kind): the
transaction that inserts a customer's entry is the one that moves that customer's balance, by
that entry's delta, in the same transaction. A retried, duplicated or concurrent job inserts
nothing for customers already done and so changes nothing for them.

Balances are never read into Python and written back. On PostgreSQL the chunk's customer rows
are locked in id order (no deadlocks between chunks) and the new balance is computed in SQL from
the locked row; on SQLite the database has a single writer, and the same SQL runs under it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import RawSQL
from tortoise.queryset import QuerySet

from domain.ledger import CreditOperation
from models.entities import MAX_CREDIT_BALANCE, Customer

# The CHECK constraint on customers.credit_balance (0 to `MAX_CREDIT_BALANCE`); on SQLite, the
# triggers standing in for it raise an error with the same name.
BALANCE_RANGE = "customers_credit_balance_range"


def is_balance_out_of_range(error: BaseException) -> bool:
    """Whether `error` is the database refusing a balance outside its allowed range."""
    return isinstance(error, IntegrityError) and BALANCE_RANGE in str(error)


class Movement(StrEnum):
    """Balance changes beyond the credit operations, for what checkouts write."""

    # Exactly the amount off (a REDEEM): a balance that would fall below zero is refused by the
    # range check, never clamped.
    DEBIT = "DEBIT"


@dataclass(frozen=True)
class Application:
    """What to write for each customer of a chunk."""

    location_id: UUID
    operation: CreditOperation | Movement
    amount: int
    kind: str
    source: str
    source_id: UUID
    period: int
    description: str | None
    actor: str | None
    now: datetime


_NEW_BALANCE: dict[CreditOperation | Movement, str] = {
    CreditOperation.ADD: "{b} + {a}",
    CreditOperation.REDUCE: "{greatest}({b} - {a}, 0)",
    CreditOperation.SET: "{a}",
    Movement.DEBIT: "{b} - {a}",
}

_ENTRY_COLUMNS = (
    "location_id, customer_id, kind, requested_amount, delta, balance_after, description, "
    "source, source_id, period, actor, created_at"
)

_POSTGRES_SQL = """
WITH locked AS (
    SELECT id, credit_balance FROM customers
    WHERE location_id = $1 AND id = ANY($2::uuid[]) AND deleted_at IS NULL
    ORDER BY id FOR UPDATE
), inserted AS (
    INSERT INTO wallet_entries ({columns})
    SELECT $1, id, $3, $4, ({new}) - credit_balance, {new}, $5, $6, $7, $8, $9, $10
    FROM locked
    ON CONFLICT (source_id, customer_id, period, kind) DO NOTHING
    RETURNING customer_id, balance_after
), updated AS (
    -- The balance computed from the locked row, not `customers.credit_balance + delta`: when
    -- the row changed after this statement's snapshot, PostgreSQL checks the constraints on a
    -- new row built from the snapshot's version before it re-reads the current one, and that
    -- stale sum can fall outside the balance range although the real one never does.
    UPDATE customers SET credit_balance = inserted.balance_after, wallet_updated_at = $10
    FROM inserted WHERE customers.id = inserted.customer_id
    RETURNING 1
)
SELECT count(*) AS applied FROM updated
"""

_SQLITE_INSERT_SQL = """
INSERT INTO wallet_entries ({columns})
SELECT ?, id, ?, ?, ({new}) - credit_balance, {new}, ?, ?, ?, ?, ?, ?
FROM customers WHERE location_id = ? AND id IN ({ids}) AND deleted_at IS NULL ORDER BY id
ON CONFLICT (source_id, customer_id, period, kind) DO NOTHING
RETURNING customer_id, delta
"""

_SQLITE_UPDATE_SQL = """
WITH d(id, delta) AS (VALUES {rows})
UPDATE customers SET credit_balance = customers.credit_balance + d.delta, wallet_updated_at = ?
FROM d WHERE customers.id = d.id
"""


def _new_balance(
    operation: CreditOperation | Movement, balance: str, amount: str, greatest: str
) -> str:
    return _NEW_BALANCE[operation].format(b=balance, a=amount, greatest=greatest)


def _connection() -> BaseDBAsyncClient:
    client: BaseDBAsyncClient = connections.get("default")
    return client


async def apply_chunk(
    customer_ids: Sequence[UUID], change: Application, db: BaseDBAsyncClient | None = None
) -> int:
    """Apply `change` to the given customers of its location; returns how many were changed
    now (customers already holding this entry, deleted, or of another location, are left
    alone).
    Runs inside the caller's transaction when `db` is one."""
    if not customer_ids:
        return 0
    db = db or _connection()
    if db.capabilities.dialect == "postgres":
        return await _apply_postgres(db, customer_ids, change)
    return await _apply_sqlite(db, customer_ids, change)


async def _apply_postgres(
    db: BaseDBAsyncClient, customer_ids: Sequence[UUID], change: Application
) -> int:
    sql = _POSTGRES_SQL.format(
        columns=_ENTRY_COLUMNS,
        new=_new_balance(change.operation, "credit_balance", "$4::bigint", "GREATEST"),
    )
    _, rows = await db.execute_query(
        sql,
        [
            str(change.location_id),
            [str(c) for c in customer_ids],
            change.kind,
            change.amount,
            change.description,
            change.source,
            str(change.source_id),
            change.period,
            change.actor,
            change.now,
        ],
    )
    return int(rows[0]["applied"])


async def _apply_sqlite(
    db: BaseDBAsyncClient, customer_ids: Sequence[UUID], change: Application
) -> int:
    new = _new_balance(change.operation, "credit_balance", "?", "MAX")
    amount_uses = new.count("?")
    sql = _SQLITE_INSERT_SQL.format(
        columns=_ENTRY_COLUMNS, new=new, ids=", ".join("?" * len(customer_ids))
    )
    values: list[object] = [str(change.location_id), change.kind, change.amount]
    values += [change.amount] * amount_uses  # the delta expression
    values += [change.amount] * amount_uses  # the balance_after expression
    values += [
        change.description,
        change.source,
        str(change.source_id),
        change.period,
        change.actor,
        change.now,
        str(change.location_id),
        *(str(c) for c in customer_ids),
    ]
    _, rows = await db.execute_query(sql, values)
    if not rows:
        return 0
    update = _SQLITE_UPDATE_SQL.format(rows=", ".join("(?, ?)" for _ in rows))
    params: list[object] = [v for row in rows for v in (row["customer_id"], row["delta"])]
    await db.execute_query(update, [*params, change.now])
    return len(rows)


@dataclass(frozen=True)
class PreviewTotals:
    """What one application of a change would do to a set of customers, summed."""

    customers: int
    changed: int  # customers whose balance would move
    balance_before: int
    balance_after: int
    over_maximum: int  # customers whose balance would pass `MAX_CREDIT_BALANCE`


async def preview_totals(
    customers: QuerySet[Customer], operation: CreditOperation, amount: int
) -> PreviewTotals:
    """Counts and balance sums for applying `operation` with `amount` once to each of
    `customers`, computed by the database in one aggregate statement: the new balance is the
    expression `apply_chunk` writes (REDUCE clamps at zero), and nothing is read row by row."""
    greatest = "GREATEST" if _connection().capabilities.dialect == "postgres" else "MAX"
    new = _new_balance(operation, "credit_balance", str(int(amount)), greatest)
    sums = {
        "customers": RawSQL("COUNT(*)"),
        "changed": RawSQL(f"COUNT(CASE WHEN ({new}) <> credit_balance THEN 1 END)"),
        **_split_sum("balance_before", "credit_balance"),
        **_split_sum("balance_after", new),
        "over_maximum": RawSQL(f"COUNT(CASE WHEN ({new}) > {MAX_CREDIT_BALANCE} THEN 1 END)"),
    }
    (row,) = await customers.annotate(**sums).values(*sums)
    return PreviewTotals(
        customers=int(row["customers"]),
        changed=int(row["changed"]),
        balance_before=_joined(row, "balance_before"),
        balance_after=_joined(row, "balance_after"),
        over_maximum=int(row["over_maximum"]),
    )


# A sum of balances is taken in two parts, each far from 64 bits however many wallets hold the
# most they may: SQLite's SUM fails past 64 bits (9,224 full wallets reach it).
_SPLIT = 10**9


def _split_sum(name: str, expression: str) -> dict[str, RawSQL]:
    return {
        f"{name}_high": RawSQL(f"COALESCE(SUM(({expression}) / {_SPLIT}), 0)"),
        f"{name}_low": RawSQL(f"COALESCE(SUM(({expression}) % {_SPLIT}), 0)"),
    }


def _joined(row: dict[str, Any], name: str) -> int:
    return int(row[f"{name}_high"]) * _SPLIT + int(row[f"{name}_low"])
