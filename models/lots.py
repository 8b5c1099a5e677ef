"""Credit lots in SQL: what `models.ledger.apply_chunk` writes besides entries and balances.

Every statement here runs in the transaction of the entries it follows, after the customers'
rows are held (on PostgreSQL locked by the chunk's first statement, which makes the snapshot of
every later statement current; on SQLite the one writer), and none reads a lot into Python to
write it back.

- A credit makes one lot of what reached the balance: its delta less what it paid off of owed
  cashback. On PostgreSQL a CTE of the chunk's statement (`POSTGRES_NEW_LOTS`), on SQLite
  `credit_sqlite`, before the claw-back lowers what is owed.
- A debit takes from the customer's lots in spending order (`domain.lots.spending_order`):
  running sums over the lots with something left, per customer, in one statement (two on
  SQLite), and records each take (`credit_lot_takes`) for a refund or an undo to give back.
  An undo's debit takes the lots of the credit it reverses first (`consume`'s `first`).
- A refund of credits, or an undo's credit, gives back what a debit took
  (`domain.lots.give_back`), for the chunk's entries at once: running sums over the debit's
  takes, the last-taken first, in one statement (two on SQLite) that makes the new lots and
  marks the takes given back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.lots import Lot, LotView, Restore
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
# of this one hold, so a lot gives what the debit still needs, up to all it has. When the debit
# takes the lots of one entry of its customer first (`{first}`), `own` is that entry's id, read
# through the ledger's unique key once per debit (the CTE materialized, not once per lot).
_RANKED = """
spent AS {materialized}(
    SELECT customer_id, id AS entry_id, -delta AS taken{own} FROM wallet_entries s
    WHERE {spent}
), ranked AS (
    SELECT l.id, l.remaining, s.entry_id, s.taken,
        SUM(l.remaining) OVER (
            PARTITION BY l.customer_id
            ORDER BY {first}l.expires_on NULLS LAST, l.created_at, l.id
        ) - l.remaining AS before
    FROM spent s JOIN credit_lots l ON l.customer_id = s.customer_id AND l.remaining > 0
)"""

# The entry of one application (`Original`) to the debit's customer, and its lots first.
_OWN = """,
        (SELECT o.id FROM wallet_entries o WHERE o.source_id = {source_id}
            AND o.customer_id = s.customer_id AND o.period = {period} AND o.kind = {kind}) AS own"""
_OWN_FIRST = "CASE WHEN l.entry_id = s.own THEN 0 ELSE 1 END, "

_TAKES = "INSERT INTO credit_lot_takes (entry_id, lot_id, amount, restored)"

_POSTGRES_CONSUME = """
WITH {ranked}, took AS (
    {takes}
    SELECT entry_id, id, LEAST(remaining, taken - before), 0 FROM ranked WHERE before < taken
    RETURNING lot_id, amount
)
UPDATE credit_lots SET remaining = credit_lots.remaining - took.amount
FROM took WHERE credit_lots.id = took.lot_id
"""

_SQLITE_TAKE = """
WITH {ranked}
{takes}
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


@dataclass(frozen=True)
class Original:
    """The entries of one application (its ledger key without the customer): an undo's debit
    takes the lots they made before any other."""

    source_id: UUID
    period: int
    kind: str


async def consume(
    db: BaseDBAsyncClient, entry_ids: Sequence[int], first: Original | None = None
) -> None:
    """The debit entries `entry_ids` (one per customer) take what they took off the balance
    from their customers' lots, in spending order (the lots the entries of `first` made
    before the others, when given), and record each take."""
    ids = list(entry_ids)
    numbered = sql.dialect().numbered
    keyed: list[object] = []
    own = order = materialized = ""
    if first is not None:
        marks = ("$2", "$3", "$4") if numbered else ("?", "?", "?")
        own = _OWN.format(source_id=marks[0], period=marks[1], kind=marks[2])
        order, materialized = _OWN_FIRST, "MATERIALIZED "
        keyed = [sql.dialect().value(first.source_id), first.period, first.kind]
    if numbered:
        spent = "id = ANY($1::bigint[])"
        ranked = _RANKED.format(spent=spent, first=order, own=own, materialized=materialized)
        statement = _POSTGRES_CONSUME.format(ranked=ranked, takes=_TAKES)
        await sql.fetch(db, statement, [ids, *keyed])
        return
    spent = f"id IN ({_marks(len(ids))})"
    ranked = _RANKED.format(spent=spent, first=order, own=own, materialized=materialized)
    await sql.fetch(db, _SQLITE_TAKE.format(ranked=ranked, takes=_TAKES), [*keyed, *ids])
    await sql.fetch(db, _SQLITE_TAKEN.format(ids=_marks(len(ids))), ids)


# What credit entries give back of a debit's takes (`domain.lots.give_back`), at once for a
# chunk. `credited`: each entry with what reached the balance (its delta less the CLAWBACK of
# the same application, if any) and the debit of the same customer (`$2`-`$4`), both read
# through the ledger's unique key, once per entry, whatever the statistics of a new source id
# say; `taken`: with each, what that debit took and nothing has given back yet (a row of
# nothing when it took nothing), the last-taken first, with what the takes ahead of it hold
# (`before`) and all of them (`held`); `given`: the parts, each with its lot's expiry, or the
# end of the day `$5` when that has passed, and what the takes cannot account for, without
# expiry, last (`place` 0). Each CTE is read by the next one in full or joined to a table by
# its key, never to another CTE: CTEs carry no statistics, and a join of two may be planned as
# a nested loop over both.
_GIVEN = """
credited AS MATERIALIZED (
    SELECT e.id, e.location_id, e.customer_id, e.source, e.created_at,
        e.delta + COALESCE((
            SELECT c.delta FROM wallet_entries c
            WHERE c.source_id = e.source_id AND c.customer_id = e.customer_id
                AND c.period = e.period AND c.kind = 'CLAWBACK'
        ), 0) AS net,
        (
            SELECT d.id FROM wallet_entries d
            WHERE d.source_id = $2 AND d.customer_id = e.customer_id AND d.period = $3
                AND d.kind = $4
        ) AS debit_id
    FROM wallet_entries e WHERE {entries}
), taken AS (
    SELECT n.id AS entry_id, n.location_id, n.customer_id, n.source, n.created_at, n.net,
        t.id AS take_id, COALESCE(t.amount - t.restored, 0) AS left_over,
        CASE WHEN l.expires_on < $5::date THEN $5::date ELSE l.expires_on END AS expires_on,
        SUM(COALESCE(t.amount - t.restored, 0)) OVER (PARTITION BY n.id ORDER BY {last_taken})
            - COALESCE(t.amount - t.restored, 0) AS before,
        SUM(COALESCE(t.amount - t.restored, 0)) OVER (PARTITION BY n.id) AS held,
        ROW_NUMBER() OVER (PARTITION BY n.id ORDER BY {last_taken}) AS place
    FROM credited n
    LEFT JOIN credit_lot_takes t ON t.entry_id = n.debit_id AND t.amount > t.restored
    LEFT JOIN credit_lots l ON l.id = t.lot_id
    WHERE n.net > 0
), given AS (
    SELECT entry_id, location_id, customer_id, source, created_at, take_id,
        {least}(left_over, net - before) AS amount, expires_on, place
    FROM taken WHERE take_id IS NOT NULL AND before < net
    UNION ALL
    SELECT entry_id, location_id, customer_id, source, created_at, NULL, net - held, NULL, 0
    FROM taken WHERE place = 1 AND net > held
)"""

# The reverse of spending order (`domain.lots.give_back`).
_LAST_TAKEN = "l.expires_on IS NULL DESC, l.expires_on DESC, l.created_at DESC, l.id DESC"

_GIVEN_LOTS = f"""
INSERT INTO credit_lots ({_LOT_COLUMNS})
SELECT location_id, customer_id, entry_id, source, amount, amount, expires_on, created_at
FROM given ORDER BY entry_id, place = 0, place
"""

_POSTGRES_GIVE_BACK = """
WITH {given}, restored AS (
    UPDATE credit_lot_takes SET restored = credit_lot_takes.restored + given.amount
    FROM given WHERE credit_lot_takes.id = given.take_id
){lots}"""

_SQLITE_GIVEN_BACK = """
WITH {given}
UPDATE credit_lot_takes SET restored = credit_lot_takes.restored + given.amount
FROM given WHERE credit_lot_takes.id = given.take_id
"""


async def restore(db: BaseDBAsyncClient, entry_ids: Sequence[int], restore: Restore) -> None:
    """A refund of credits, or an undo's credit, after its entries `entry_ids` are written
    (one per customer): the lots of what reached each balance, given back from what the
    customer's debit that `restore` names took (`domain.lots.give_back`), and those takes
    marked given back. Under the customers' locks, in the caller's transaction."""
    if not entry_ids:
        return
    chosen = sql.dialect()
    entries = chosen.pick(
        postgres="e.id = ANY($1::bigint[])", sqlite="e.id IN (SELECT value FROM json_each($1))"
    )
    given = _GIVEN.format(entries=entries, last_taken=_LAST_TAKEN, least=chosen.least)
    ids: object = chosen.pick(postgres=list(entry_ids), sqlite=json.dumps(list(entry_ids)))
    values = [
        ids,
        chosen.value(restore.source_id),
        restore.period,
        restore.kind,
        chosen.value(restore.day),
    ]
    if chosen.numbered:
        statement = _POSTGRES_GIVE_BACK.format(given=given, lots=_GIVEN_LOTS)
        await sql.fetch(db, statement, values)
        return
    await sql.fetch(db, f"WITH {given}{_GIVEN_LOTS}", values)
    await sql.fetch(db, _SQLITE_GIVEN_BACK.format(given=given), values)


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
