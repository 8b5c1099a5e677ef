"""Set-based wallet changes: one statement (PostgreSQL) or two (SQLite) per chunk of customers.

Exactly-once comes from the ledger's unique key (source_id, customer_id, period, kind): the
transaction that inserts a customer's entry is the one that moves that customer's balance, by
that entry's delta, in the same transaction. A retried, duplicated or concurrent job inserts
nothing for customers already done and so changes nothing for them.

Balances are never read into Python and written back. On PostgreSQL the chunk's customer rows
are locked in id order (no deadlocks between chunks) and the new balance is computed in SQL from
the locked row; on SQLite the database has a single writer, and the same SQL runs under it.

An incoming credit (`NETTED`) first pays off what a customer owes of reversed cashback: for the
customers of the chunk it credited who owe something, one more statement (two on SQLite) writes
a CLAWBACK entry each, with the same source, period and time, and takes it off the balance and
the debt, in the same transaction. A chunk where nobody owes anything runs without it.

Every change keeps the customers' credit lots (`models.lots`, `domain.lots`), whose remaining
amounts sum to the balance: a credit makes a lot of what reached the balance (after paying off
what was owed), in the chunk's statement on PostgreSQL; a debit takes from the lots in a
statement after it, which the customers' locks make read the lots as they are; a refund of
credits gives back the lots its sale's debit took (`Application.restore`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import RawSQL
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from domain.ledger import MAX_CREDIT_BALANCE, CreditOperation, EntryKind
from domain.lots import Restore
from models import lots, sql
from models.tables.crm import Customer

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
    # An incoming credit (refunded credits, cashback, released cashback): netted against what
    # the customer owes, like an ADD.
    CREDIT = "CREDIT"
    # Cashback taken back (a CASHBACK_REVERSAL): off the balance, clamped at zero; what the
    # balance cannot cover becomes owed.
    REVERSE = "REVERSE"


Change = CreditOperation | Movement

# The changes that are incoming credits: what the customer owes is netted against them first,
# with a CLAWBACK entry of its own (`domain.ledger.netted`).
NETTED: frozenset[Change] = frozenset({CreditOperation.ADD, Movement.CREDIT})
CLAWBACK = EntryKind.CLAWBACK.value


@dataclass(frozen=True)
class Application:
    """What to write for each customer of a chunk. `netting_description` is the description of
    the CLAWBACK entries that a netted change writes."""

    location_id: UUID
    operation: Change
    amount: int
    kind: str
    source: str
    source_id: UUID
    period: int
    description: str | None
    actor: str | None
    now: datetime
    netting_description: str | None = None
    # An incoming credit's lot expires at the end of this day (location's time zone).
    expires_on: date | None = None
    # A refund of credits: the debit whose lots it gives back, with their expiry (its lots
    # come from `models.lots.restore`, not from `expires_on`).
    restore: Restore | None = None


# The balance an entry records, from the balance `{b}` before it and the amount `{a}`.
_NEW_BALANCE: dict[Change, str] = {
    CreditOperation.ADD: "{b} + {a}",
    CreditOperation.REDUCE: "{greatest}({b} - {a}, 0)",
    CreditOperation.SET: "{a}",
    Movement.DEBIT: "{b} - {a}",
    Movement.CREDIT: "{b} + {a}",
    Movement.REVERSE: "{greatest}({b} - {a}, 0)",
}

_ENTRY_COLUMNS = (
    "location_id, customer_id, kind, requested_amount, delta, balance_after, description, "
    "source, source_id, period, actor, created_at, expires_on"
)

# PostgreSQL: one statement per chunk. `locked` holds the chunk's customers in id order and
# reads them as they are; `inserted` writes the entries (none for customers already done);
# `updated` moves their balances (and, for a reversal, what is owed) and says who owes
# something. Each CTE is read by the next one only, through an index or once in full: CTEs
# carry no statistics, so a join between two of them may be planned as a nested loop over both,
# which costs the square of the chunk.
_POSTGRES_SQL = """
WITH locked AS (
    SELECT id, credit_balance FROM customers
    WHERE location_id = $1 AND id = ANY($2::uuid[]) AND deleted_at IS NULL
    ORDER BY id FOR UPDATE
), inserted AS (
    INSERT INTO wallet_entries ({columns})
    SELECT $1, id, $3, $4, ({new}) - credit_balance, {new}, $5, $6, $7, $8, $9, $10, $11::date
    FROM locked
    ON CONFLICT (source_id, customer_id, period, kind) DO NOTHING
    RETURNING id, customer_id, delta, balance_after
), updated AS (
    -- The balance computed from the locked row, not `customers.credit_balance + delta`: when
    -- the row changed after this statement's snapshot, PostgreSQL checks the constraints on a
    -- new row built from the snapshot's version before it re-reads the current one, and that
    -- stale sum can fall outside the balance range although the real one never does. (What is
    -- owed only grows here, so its stale sum stays in range.)
    UPDATE customers SET credit_balance = inserted.balance_after, cashback_owed = {owed},
        wallet_updated_at = $10
    FROM inserted WHERE customers.id = inserted.customer_id
    RETURNING customers.id, customers.cashback_owed, inserted.id AS entry_id, inserted.delta
){lots}
SELECT count(*) AS applied,
       coalesce(array_agg(id) FILTER (WHERE cashback_owed > 0), '{{}}') AS owing,
       coalesce(array_agg(entry_id) FILTER (WHERE delta < 0), '{{}}') AS spent,
       coalesce(array_agg(entry_id) FILTER (WHERE delta > 0), '{{}}') AS credited
FROM updated
"""

# What is owed after the change, from the updated row: a reversal that asked for `$4` and took
# `-delta` leaves the rest owed; every other change leaves it as it is (a netted one pays it off
# in a statement of its own, `_CLAW_BACK`).
_OWED: dict[Change, str] = {
    Movement.REVERSE: "customers.cashback_owed + $4::bigint + inserted.delta"
}

# A netted change's second statement, for the customers it credited who owe something: a
# CLAWBACK entry of what the credit pays off, and the balance and debt less it. The customers
# are held by the first statement's transaction, so what this one reads of them is current.
_CLAW_BACK = """
WITH owing AS (
    SELECT id, credit_balance, LEAST($3::bigint, cashback_owed) AS taken FROM customers
    WHERE id = ANY($2::uuid[]) AND cashback_owed > 0
), clawed AS (
    INSERT INTO wallet_entries ({columns})
    SELECT $1, id, '{clawback}', taken, -taken, credit_balance - taken, $4, $5, $6, $7, $8, $9,
        $10::date
    FROM owing
    ON CONFLICT (source_id, customer_id, period, kind) DO NOTHING
    RETURNING customer_id, requested_amount
)
UPDATE customers SET credit_balance = customers.credit_balance - clawed.requested_amount,
    cashback_owed = customers.cashback_owed - clawed.requested_amount
FROM clawed WHERE customers.id = clawed.customer_id
"""

# SQLite has one writer at a time: the first statement takes the database's write lock, and
# the ones after it in the transaction see what it saw.
_SQLITE_INSERT_SQL = """
INSERT INTO wallet_entries ({columns})
SELECT ?, id, ?, ?, ({new}) - credit_balance, {new}, ?, ?, ?, ?, ?, ?, ?
FROM customers WHERE location_id = ? AND id IN ({ids}) AND deleted_at IS NULL ORDER BY id
ON CONFLICT (source_id, customer_id, period, kind) DO NOTHING
RETURNING id, customer_id, delta
"""

# `d.delta`: the entry's delta.
_SQLITE_UPDATE_SQL = """
WITH d(id, delta) AS (VALUES {rows})
UPDATE customers
SET credit_balance = customers.credit_balance + d.delta, cashback_owed = {owed},
    wallet_updated_at = ?
FROM d WHERE customers.id = d.id
RETURNING id, cashback_owed
"""

_SQLITE_OWED: dict[Change, str] = {Movement.REVERSE: "customers.cashback_owed + ? + d.delta"}

_SQLITE_CLAWED = """
INSERT INTO wallet_entries ({columns})
SELECT ?, id, '{clawback}', MIN(?, cashback_owed), -MIN(?, cashback_owed),
       credit_balance - MIN(?, cashback_owed), ?, ?, ?, ?, ?, ?, ?
FROM customers WHERE id IN ({ids}) AND cashback_owed > 0
ON CONFLICT (source_id, customer_id, period, kind) DO NOTHING
RETURNING customer_id, requested_amount
"""

_SQLITE_PAID_OFF = """
WITH d(id, taken) AS (VALUES {rows})
UPDATE customers SET credit_balance = customers.credit_balance - d.taken,
    cashback_owed = customers.cashback_owed - d.taken
FROM d WHERE customers.id = d.id
"""


def _new_balance(operation: Change, balance: str, amount: str, greatest: str) -> str:
    return _NEW_BALANCE[operation].format(b=balance, a=amount, greatest=greatest)


def _described(
    change: Application, description: str | None, expires_on: date | None = None
) -> list[object]:
    """The values of an entry's last columns (description, source, source id, period, actor,
    time, expiry), as every statement here writes them."""
    return [
        description,
        change.source,
        str(change.source_id),
        change.period,
        change.actor,
        change.now,
        expires_on,
    ]


async def apply_chunk(
    customer_ids: Sequence[UUID], change: Application, db: BaseDBAsyncClient | None = None
) -> int:
    """Apply `change` to the given customers of its location; returns how many were changed
    now (customers already holding this entry, deleted, or of another location, are left
    alone). The customers' lots follow (`models.lots`): a credit makes one, a debit takes
    from them.
    Runs inside the caller's transaction when `db` is one, else in a transaction of its own."""
    if not customer_ids:
        return 0
    apply = sql.dialect().pick(postgres=_apply_postgres, sqlite=_apply_sqlite)
    if db is not None:
        return await apply(db, customer_ids, change)
    async with in_transaction("default") as own:
        return await apply(own, customer_ids, change)


async def _apply_postgres(
    db: BaseDBAsyncClient, customer_ids: Sequence[UUID], change: Application
) -> int:
    netted = "LEAST(delta, cashback_owed)" if change.operation in NETTED else "0"
    statement = _POSTGRES_SQL.format(
        columns=_ENTRY_COLUMNS,
        new=_new_balance(change.operation, "credit_balance", "$4::bigint", "GREATEST"),
        owed=_OWED.get(change.operation, "customers.cashback_owed"),
        lots="" if change.restore else lots.POSTGRES_NEW_LOTS.format(netted=netted),
    )
    values: list[object] = [
        str(change.location_id),
        [str(c) for c in customer_ids],
        change.kind,
        change.amount,
        *_described(change, change.description, change.expires_on),
    ]
    rows = await sql.fetch(db, statement, values)
    applied, owing, spent = int(rows[0]["applied"]), rows[0]["owing"], rows[0]["spent"]
    if spent:
        await lots.consume(db, [int(e) for e in spent])
    if change.operation in NETTED and owing:
        await _claw_back_postgres(db, [str(c) for c in owing], change)
    if change.restore and rows[0]["credited"]:
        await lots.restore(db, [int(e) for e in rows[0]["credited"]], change.restore)
    return applied


async def _apply_sqlite(
    db: BaseDBAsyncClient, customer_ids: Sequence[UUID], change: Application
) -> int:
    new = _new_balance(change.operation, "credit_balance", "?", "MAX")
    amount_uses = new.count("?")
    statement = _SQLITE_INSERT_SQL.format(
        columns=_ENTRY_COLUMNS, new=new, ids=", ".join("?" * len(customer_ids))
    )
    values: list[object] = [str(change.location_id), change.kind, change.amount]
    values += [change.amount] * amount_uses  # the delta expression
    values += [change.amount] * amount_uses  # the balance_after expression
    values += [
        *_described(change, change.description, change.expires_on),
        str(change.location_id),
        *(str(c) for c in customer_ids),
    ]
    rows = await sql.fetch(db, statement, values)
    if not rows:
        return 0
    update = _SQLITE_UPDATE_SQL.format(
        rows=", ".join("(?, ?)" for _ in rows),
        owed=_SQLITE_OWED.get(change.operation, "customers.cashback_owed"),
    )
    params: list[object] = [v for row in rows for v in (row["customer_id"], row["delta"])]
    if change.operation is Movement.REVERSE:
        params.append(change.amount)
    updated = await sql.fetch(db, update, [*params, change.now])
    credited = [int(row["id"]) for row in rows if row["delta"] > 0]
    if credited and not change.restore:
        await lots.credit_sqlite(db, credited, netted=change.operation in NETTED)
    spent = [int(row["id"]) for row in rows if row["delta"] < 0]
    if spent:
        await lots.consume(db, spent)
    owing = [str(row["id"]) for row in updated if row["cashback_owed"] > 0]
    if change.operation in NETTED and owing:
        await _claw_back_sqlite(db, owing, change)
    if change.restore and credited:
        await lots.restore(db, credited, change.restore)
    return len(rows)


async def _claw_back_postgres(
    db: BaseDBAsyncClient, owing: Sequence[str], change: Application
) -> None:
    """What a netted change pays off of what the customers it credited (`owing`: those who owe
    something) owe (see `_CLAW_BACK`); in the transaction of the change."""
    described = _described(change, change.netting_description)
    statement = _CLAW_BACK.format(columns=_ENTRY_COLUMNS, clawback=CLAWBACK)
    await sql.fetch(
        db, statement, [str(change.location_id), list(owing), change.amount, *described]
    )


async def _claw_back_sqlite(
    db: BaseDBAsyncClient, owing: Sequence[str], change: Application
) -> None:
    """`_claw_back_postgres` in SQLite's two statements."""
    described = _described(change, change.netting_description)
    statement = _SQLITE_CLAWED.format(
        columns=_ENTRY_COLUMNS, clawback=CLAWBACK, ids=", ".join("?" * len(owing))
    )
    amount = change.amount
    values = [str(change.location_id), amount, amount, amount, *described, *owing]
    clawed = await sql.fetch(db, statement, values)
    if clawed:
        paid_off = _SQLITE_PAID_OFF.format(rows=", ".join("(?, ?)" for _ in clawed))
        pairs = [v for row in clawed for v in (row["customer_id"], row["requested_amount"])]
        await sql.fetch(db, paid_off, pairs)


@dataclass(frozen=True)
class PreviewTotals:
    """What one application of a change would do to a set of customers, summed."""

    customers: int
    changed: int  # customers whose balance would move
    balance_before: int
    balance_after: int
    over_maximum: int  # customers whose balance would pass `MAX_CREDIT_BALANCE`
    clamped: int  # REDUCE: customers whose balance is below the amount, clamped at 0


async def preview_totals(
    customers: QuerySet[Customer], operation: CreditOperation, amount: int
) -> PreviewTotals:
    """Counts and balance sums for applying `operation` with `amount` once to each of
    `customers`, computed by the database in one aggregate statement: the new balance is the
    expression `apply_chunk` writes (REDUCE clamps at zero, an ADD first pays off what is owed),
    and nothing is read row by row."""
    greatest, least = sql.dialect().greatest, sql.dialect().least
    new = _new_balance(operation, "credit_balance", str(int(amount)), greatest)
    if operation in NETTED:
        new = f"({new}) - {least}({int(amount)}, cashback_owed)"
    sums = {
        "customers": RawSQL("COUNT(*)"),
        "changed": RawSQL(f"COUNT(CASE WHEN ({new}) <> credit_balance THEN 1 END)"),
        **_split_sum("balance_before", "credit_balance"),
        **_split_sum("balance_after", new),
        "over_maximum": RawSQL(f"COUNT(CASE WHEN ({new}) > {MAX_CREDIT_BALANCE} THEN 1 END)"),
        "clamped": RawSQL(
            f"COUNT(CASE WHEN credit_balance < {int(amount)} THEN 1 END)"
            if operation is CreditOperation.REDUCE
            else "0"
        ),
    }
    (row,) = await customers.annotate(**sums).values(*sums)
    return PreviewTotals(
        customers=int(row["customers"]),
        changed=int(row["changed"]),
        balance_before=sql.joined(row, "balance_before"),
        balance_after=sql.joined(row, "balance_after"),
        over_maximum=int(row["over_maximum"]),
        clamped=int(row["clamped"]),
    )


def _split_sum(name: str, expression: str) -> dict[str, RawSQL]:
    high, low = sql.split_parts(expression)
    return {f"{name}_high": RawSQL(high), f"{name}_low": RawSQL(low)}
