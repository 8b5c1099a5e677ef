"""Undo: what an operation or a schedule's period wrote, reversed by set-based statements.

The original's entries are those of its source id and period of its operation's kind, and the
CLAWBACK entries the same application wrote (`domain.undo`). Per chunk of the customers it
reached, one statement (PostgreSQL) or two (SQLite) write one UNDO entry each, keyed by the
ledger's unique key (source id: the undo; kind UNDO), and move the balance by that entry's
delta in the same transaction, as `models.ledger.apply_chunk` does: the compensation (the
negative of the net delta of the original's entries) is computed in SQL from the locked row and
clamped to the balance range, so the range CHECK never fires and a rerun writes nothing twice.
What is owed is not touched. The entry's requested amount is the whole compensation, its delta
what applied: they differ for a customer only partly restored. The lots follow in a statement
or two after it (`_follow_lots`): what is taken back comes first from the lots the reversed
credit made, and what is given back returns to the lots the reversed debit took from, with
their expiry, as a refund gives back a sale's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from domain import entities
from domain.credit_jobs import CreditRecord
from domain.ledger import MAX_CREDIT_BALANCE, UNDO_DESCRIPTION, EntryKind, EntrySource
from domain.lots import Restore
from domain.undo import UndoOriginal, UndoTotals
from models import lots, sql
from models.db import Transaction
from models.queries import wallet_operation_entity
from models.tables.wallet import CreditSchedule, ScheduleRun, WalletOperation

UNDO = EntryKind.UNDO.value
CLAWBACK = EntryKind.CLAWBACK.value

_ENTRY_COLUMNS = (
    "location_id, customer_id, kind, requested_amount, delta, balance_after, description, "
    "source, source_id, period, actor, created_at"
)

# The compensation of each customer among `{ids}`: minus what the original's entries summed to.
_NET = """
SELECT customer_id, -CAST(SUM(delta) AS BIGINT) AS wanted FROM wallet_entries
WHERE source_id = $2 AND period = $3 AND kind IN ($4, '{clawback}'){ids}
GROUP BY customer_id
"""


def _clamped(greatest: str, least: str) -> str:
    """The balance after the compensation, within the balance range."""
    return f"{least}({greatest}(credit_balance + wanted, 0), {MAX_CREDIT_BALANCE})"


# PostgreSQL: the chunk's customers locked in id order and read as they are now; their entries
# (none for customers already done); their balances moved by them.
_POSTGRES_CHUNK = """
WITH net AS ({net}), locked AS (
    SELECT c.id, c.credit_balance, net.wanted FROM customers c JOIN net ON net.customer_id = c.id
    WHERE c.location_id = $1 AND c.deleted_at IS NULL
    ORDER BY c.id FOR UPDATE OF c
), inserted AS (
    INSERT INTO wallet_entries ({columns})
    SELECT $1, id, '{undo}', wanted, {new} - credit_balance, {new}, $6, $7, $8, 0, $9, $10
    FROM locked
    ON CONFLICT (source_id, customer_id, period, kind) DO NOTHING
    RETURNING id, customer_id, delta, balance_after
), updated AS (
    UPDATE customers SET credit_balance = inserted.balance_after, wallet_updated_at = $10
    FROM inserted WHERE customers.id = inserted.customer_id
    RETURNING customers.id
)
SELECT (SELECT count(*) FROM updated) AS applied,
       COALESCE((SELECT array_agg(id) FROM inserted WHERE delta < 0), '{{}}') AS debits,
       COALESCE((SELECT array_agg(id) FROM inserted WHERE delta > 0), '{{}}') AS credits
"""

# SQLite has one writer at a time: the insert takes the write lock, and the update after it in
# the transaction sees what it saw.
_SQLITE_INSERT = """
INSERT INTO wallet_entries ({columns})
SELECT $1, c.id, '{undo}', n.wanted, {new} - c.credit_balance, {new}, $6, $7, $8, 0, $9, $10
FROM customers c JOIN ({net}) n ON n.customer_id = c.id
WHERE c.location_id = $1 AND c.deleted_at IS NULL ORDER BY c.id
ON CONFLICT (source_id, customer_id, period, kind) DO NOTHING
RETURNING id, customer_id, delta
"""

_SQLITE_UPDATE = """
WITH d(id, delta) AS (VALUES {rows})
UPDATE customers SET credit_balance = customers.credit_balance + d.delta, wallet_updated_at = ?
FROM d WHERE customers.id = d.id
"""

# What the undo would do now: one aggregate statement over the live customers the original
# reached.
_PREVIEW = """
SELECT count(CASE WHEN new = credit_balance + wanted THEN 1 END) AS restored,
       count(CASE WHEN new <> credit_balance + wanted THEN 1 END) AS partly,
       {amount}
FROM (
    SELECT c.credit_balance, n.wanted, {new} AS new
    FROM customers c JOIN ({net}) n ON n.customer_id = c.id
    WHERE c.location_id = $1 AND c.deleted_at IS NULL
) t
"""

# What an undo did: its entries, whole or clamped, and what they took back.
_DONE = """
SELECT count(CASE WHEN delta = requested_amount THEN 1 END) AS restored,
       count(CASE WHEN delta <> requested_amount THEN 1 END) AS partly,
       {amount}
FROM wallet_entries WHERE source_id = $1 AND period = 0 AND kind = '{undo}'
"""


_REACHED = """
SELECT customer_id FROM wallet_entries
WHERE source_id = $1 AND period = $2 AND kind = $3{after}
ORDER BY customer_id LIMIT {limit}
"""

_COUNT = (
    "SELECT count(*) AS reached FROM wallet_entries"
    " WHERE source_id = $1 AND period = $2 AND kind = $3"
)


@dataclass(frozen=True)
class UndoChunk:
    """What an undo writes for each customer of a chunk."""

    location_id: UUID
    undo_id: UUID
    original: UndoOriginal
    actor: str | None
    now: datetime
    day: date  # the undo's business day in the location's time zone, for what it gives back


def _net(customer_ids: Sequence[UUID] | None) -> str:
    ids = ""
    if customer_ids is not None:
        ids = sql.dialect().pick(
            postgres=" AND customer_id = ANY($5::uuid[])",
            sqlite=" AND customer_id IN (SELECT value FROM json_each($5))",
        )
    return _NET.format(clawback=CLAWBACK, ids=ids)


def _original_values(original: UndoOriginal) -> list[object]:
    return [original.location_id, original.source_id, original.period, original.operation]


# Reads


async def find(location_id: UUID, original_id: UUID) -> UndoOriginal | None:
    """The location's operation `original_id`, else its schedule run of that id; None when
    there is neither."""
    row = await WalletOperation.get_or_none(id=original_id, location_id=location_id)
    if row is not None:
        return UndoOriginal(
            id=row.id,
            location_id=row.location_id,
            operation=row.operation,
            amount=row.amount,
            description=row.description,
            source_id=row.id,
            period=0,
            status=row.status,
            undo_of_id=row.undo_of_id,
        )
    run = await ScheduleRun.get_or_none(id=original_id, schedule__location_id=location_id)
    if run is None:
        return None
    schedule = await CreditSchedule.get(id=run.schedule_id)
    return UndoOriginal(
        id=run.id,
        location_id=schedule.location_id,
        operation=schedule.operation,
        amount=schedule.amount if run.amount is None else run.amount,
        description=schedule.description if run.amount is None else run.description,
        source_id=schedule.id,
        period=run.period,
        status=run.status,
        undo_of_id=None,
    )


async def run_operation(location_id: UUID, run_id: UUID) -> entities.WalletOperation | None:
    """A schedule's period as a wallet operation (`ScheduleRun.operation`), by the run's id."""
    run = await ScheduleRun.get_or_none(id=run_id, schedule__location_id=location_id)
    if run is None:
        return None
    schedule = await CreditSchedule.get(id=run.schedule_id)
    return entities.WalletOperation(
        id=run.id,
        operation=schedule.operation,
        amount=schedule.amount if run.amount is None else run.amount,
        description=schedule.description if run.amount is None else run.description,
        status=run.status,
        total=run.total,
        processed=run.processed,
        error=run.error,
        created_at=run.created_at,
        finished_at=run.finished_at,
        actor="schedule",
    )


async def undos_of(original_ids: Sequence[UUID]) -> dict[UUID, entities.WalletOperation]:
    """The undo of each of `original_ids` that has one."""
    rows = await WalletOperation.filter(undo_of_id__in=list(original_ids))
    return {r.undo_of_id: wallet_operation_entity(r) for r in rows if r.undo_of_id is not None}


async def reached(original: UndoOriginal) -> int:
    """How many customers the original wrote an entry for."""
    values = [original.source_id, original.period, original.operation]
    rows = await sql.fetch(sql.pool(), _COUNT, values)
    return int(rows[0]["reached"])


async def chunks(
    original: UndoOriginal, size: int, after: UUID | None = None
) -> AsyncIterator[list[UUID]]:
    """The customers the original reached, in id order (those above `after`, when given),
    `size` at a time; each page read when it is needed, on the ledger's unique index."""
    while True:
        values: list[object] = [original.source_id, original.period, original.operation]
        if after is not None:
            values.append(after)
        statement = _REACHED.format(
            after="" if after is None else " AND customer_id > $4", limit=int(size)
        )
        page = [sql.uuid(r["customer_id"]) for r in await sql.fetch(sql.pool(), statement, values)]
        if not page:
            return
        yield page
        after = page[-1]


async def preview(original: UndoOriginal) -> UndoTotals:
    """What undoing `original` would do now, computed by one aggregate statement."""
    chosen = sql.dialect()
    statement = _PREVIEW.format(
        amount=sql.split_sum("amount", "credit_balance - new"),
        new=_clamped(chosen.greatest, chosen.least),
        net=_net(None),
    )
    (row,) = await sql.fetch(sql.pool(), statement, _original_values(original))
    return UndoTotals(
        restored=int(row["restored"]),
        partly_restored=int(row["partly"]),
        amount=sql.joined(row, "amount"),
    )


async def done(undo_id: UUID) -> UndoTotals:
    """What the undo `undo_id` has written so far, from its entries."""
    statement = _DONE.format(amount=sql.split_sum("amount", "-delta"), undo=UNDO)
    (row,) = await sql.fetch(sql.pool(), statement, [undo_id])
    return UndoTotals(
        restored=int(row["restored"]),
        partly_restored=int(row["partly"]),
        amount=sql.joined(row, "amount"),
    )


# Writes


async def create(
    db: Transaction, record: CreditRecord, original: UndoOriginal, total: int
) -> entities.WalletOperation:
    """Insert the QUEUED undo of `original`; a second undo of it breaks the unique
    `undo_of_id` (Tortoise's `IntegrityError`)."""
    row = WalletOperation(
        location_id=record.location_id,
        operation=original.operation,
        amount=original.amount,
        description=record.description,
        actor=record.actor,
        idempotency_key=record.idempotency_key,
        request_hash=record.request_hash,
        source=EntrySource.BULK.value,
        customer_ids=None,
        customer_filter=None,
        total=total,
        undo_of_id=original.id,
        undo_source_id=original.source_id,
        undo_period=original.period,
    )
    await row.save(using_db=db)
    return wallet_operation_entity(row)


async def original_of(undo_id: UUID) -> UndoOriginal | None:
    """What the undo `undo_id` reverses, as it recorded it."""
    row = await WalletOperation.get_or_none(id=undo_id)
    if row is None or row.undo_of_id is None:
        return None
    assert row.undo_source_id is not None
    assert row.undo_period is not None
    return UndoOriginal(
        id=row.undo_of_id,
        location_id=row.location_id,
        operation=row.operation,
        amount=row.amount,
        description=None,
        source_id=row.undo_source_id,
        period=row.undo_period,
        status="SUCCEEDED",
        undo_of_id=None,
    )


async def apply_chunk(db: Transaction, customer_ids: Sequence[UUID], chunk: UndoChunk) -> int:
    """Write the undo's entry for each of `customer_ids` not holding one yet, and move their
    balances by it, in the caller's transaction; returns how many were written now."""
    if not customer_ids:
        return 0
    apply = sql.dialect().pick(postgres=_apply_postgres, sqlite=_apply_sqlite)
    return await apply(db, customer_ids, chunk)


def _chunk_values(customer_ids: Sequence[UUID], chunk: UndoChunk) -> list[object]:
    ids: object = sql.dialect().pick(
        postgres=[str(c) for c in customer_ids],
        sqlite=sql.dialect().keys([str(c) for c in customer_ids]),
    )
    return [
        *_original_values(chunk.original),
        ids,
        UNDO_DESCRIPTION,
        EntrySource.BULK.value,
        chunk.undo_id,
        chunk.actor,
        chunk.now,
    ]


async def _apply_postgres(db: Transaction, customer_ids: Sequence[UUID], chunk: UndoChunk) -> int:
    statement = _POSTGRES_CHUNK.format(
        net=_net(customer_ids),
        columns=_ENTRY_COLUMNS,
        undo=UNDO,
        new=_clamped("GREATEST", "LEAST"),
    )
    rows = await sql.fetch(db, statement, _chunk_values(customer_ids, chunk))
    await _follow_lots(db, list(rows[0]["debits"]), list(rows[0]["credits"]), chunk)
    return int(rows[0]["applied"])


async def _apply_sqlite(db: Transaction, customer_ids: Sequence[UUID], chunk: UndoChunk) -> int:
    new = _clamped("MAX", "MIN").replace("credit_balance", "c.credit_balance")
    new = new.replace("wanted", "n.wanted")
    statement = _SQLITE_INSERT.format(
        net=_net(customer_ids), columns=_ENTRY_COLUMNS, undo=UNDO, new=new
    )
    rows = await sql.fetch(db, statement, _chunk_values(customer_ids, chunk))
    if not rows:
        return 0
    update = _SQLITE_UPDATE.format(rows=", ".join("(?, ?)" for _ in rows))
    params: list[object] = [v for row in rows for v in (row["customer_id"], row["delta"])]
    await sql.fetch(db, update, [*params, sql.dialect().value(chunk.now)])
    debits = [int(row["id"]) for row in rows if row["delta"] < 0]
    credits = [int(row["id"]) for row in rows if row["delta"] > 0]
    await _follow_lots(db, debits, credits, chunk)
    return len(rows)


async def _follow_lots(
    db: Transaction, debits: list[int], credits: list[int], chunk: UndoChunk
) -> None:
    """The lots follow the undo's entries, in its transaction. A debit takes back the credit
    it reverses: from the lots that credit made first, then, for what the customer spent of
    it, from the others in spending order (`models.lots.consume`). A credit gives back what
    the reversed debit took, each part with the expiry it had, or the end of the undo's day
    when that has passed, and the rest (clamped, or taken before lots) without expiry
    (`models.lots.restore`)."""
    original = chunk.original
    if debits:
        first = lots.Original(original.source_id, original.period, original.operation)
        await lots.consume(db, debits, first)
    if credits:
        restore = Restore(original.source_id, original.period, original.operation, chunk.day)
        await lots.restore(db, credits, restore)
