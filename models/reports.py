"""The owner's reports, read as SQL aggregates over the ledger, the customers and the sales.

Each function answers one report's figures for a location in one or two statements, summed by
the database; no row of the ledger comes into Python. Local days: PostgreSQL reads an instant
in the location's time zone itself (`AT TIME ZONE`); SQLite, which knows no time zones, is
given the location's UTC offsets over the range, split where the clock changes
(`domain.reports.offset_spans`), so both engines put an entry on the same local day.

Sums are taken in two parts (`_split`), each far from 64 bits, as `models.ledger` does:
SQLite's SUM fails past 64 bits, and a day of a large location's bulk credits could reach it.

Indexes (migration 0015_reports): `wallet_entries (location_id, created_at)` serves every
range of the ledger, `checkouts (location_id, business_date)` the sales' reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from domain.reports import LedgerSum, OffsetSpan
from models import sql

_SPLIT = 10**9


def _split(name: str, expression: str) -> str:
    high = f"SUM(({expression}) / {_SPLIT}) AS {name}_high"
    return f"{high}, SUM(({expression}) % {_SPLIT}) AS {name}_low"


def _joined(row: Any, name: str) -> int:
    high, low = row[f"{name}_high"], row[f"{name}_low"]
    return int(high or 0) * _SPLIT + int(low or 0)


def _local_day(spans: list[OffsetSpan], column: str) -> str:
    """The local date of the instant in `column`, on this engine (see the module)."""
    if sql.dialect().numbered:
        return f"({column} AT TIME ZONE $4)::date"
    cases = " ".join(
        f"WHEN {column} < '{_text_time(span.until)}' THEN {_shifted(column, span.minutes)}"
        for span in spans
        if span.until is not None
    )
    last = _shifted(column, spans[-1].minutes)
    return f"(CASE {cases} ELSE {last} END)" if cases else last


def _shifted(column: str, minutes: int) -> str:
    return f"date({column}, '{minutes:+d} minutes')"


def _text_time(moment: datetime) -> str:
    """An instant as SQLite stores it (`isoformat(" ")` in UTC)."""
    return moment.astimezone(UTC).isoformat(" ")


# ----------------------------------------------------------------------------- activity


async def ledger_sums(
    location_id: UUID, start: datetime, end: datetime, timezone: str, spans: list[OffsetSpan]
) -> list[LedgerSum]:
    """The location's entries from `start` to `end` (exclusive), summed by local day, kind,
    source and sign of the delta."""
    day = _local_day(spans, "created_at")
    statement = f"""
    SELECT {day} AS day, kind, source, delta > 0 AS positive, {_split("delta", "delta")}
    FROM wallet_entries
    WHERE location_id = $1 AND created_at >= $2 AND created_at < $3 AND delta <> 0
    GROUP BY 1, 2, 3, 4
    """
    values: list[object] = [location_id, start, end]
    if sql.dialect().numbered:
        values.append(timezone)
    rows = await sql.fetch(sql.pool(), statement, values)
    return [
        LedgerSum(
            day=sql.day(row["day"]),
            kind=row["kind"],
            source=row["source"],
            positive=bool(row["positive"]),
            delta=_joined(row, "delta"),
        )
        for row in rows
    ]


# ----------------------------------------------------------------------------- liability


@dataclass(frozen=True)
class Balances:
    outstanding: int
    held: int
    owed: int


async def balances_now(location_id: UUID) -> Balances:
    """What the location's customers hold now, from their stored balances (deleted customers
    hold nothing spendable: their balance was written off)."""
    statement = f"""
    SELECT {_split("balance", "credit_balance")}, {_split("held", "cashback_held")},
           {_split("owed", "cashback_owed")}
    FROM customers WHERE location_id = $1
    """
    (row,) = await sql.fetch(sql.pool(), statement, [location_id])
    return Balances(_joined(row, "balance"), _joined(row, "held"), _joined(row, "owed"))


# Owed: what reversals could not take off the balance, less what clawbacks have paid off.
_OWED_BY_LEDGER = """
SELECT {split}
FROM wallet_entries
WHERE location_id = $1 AND created_at < $2 AND kind IN ('CASHBACK_REVERSAL', 'CLAWBACK')
"""

# Held: the cashback of sales committed with a hold, less what was released, less what refunds
# cancelled while it was held (a refund's reversed cashback less what its reversal entry took
# off the balance).
_HELD_BY_HISTORY = """
SELECT
  (SELECT {granted} FROM checkouts
   WHERE location_id = $1 AND created_at < $2 AND cashback_release_at IS NOT NULL) AS granted,
  (SELECT {released} FROM wallet_entries
   WHERE location_id = $1 AND created_at < $2 AND kind = 'CASHBACK_RELEASE') AS released,
  (SELECT {cancelled} FROM checkout_refunds r JOIN checkouts c ON c.id = r.checkout_id
   WHERE r.location_id = $1 AND r.created_at < $2 AND c.cashback_release_at IS NOT NULL)
  AS cancelled,
  (SELECT {taken} FROM wallet_entries e JOIN checkout_refunds r
     ON e.source_id = r.checkout_id AND e.period = r.number
   JOIN checkouts c ON c.id = r.checkout_id
   WHERE r.location_id = $1 AND r.created_at < $2 AND c.cashback_release_at IS NOT NULL
     AND e.kind = 'CASHBACK_REVERSAL') AS taken
"""


async def balances_at(location_id: UUID, end: datetime) -> Balances:
    """What the location's customers held at the instant `end`, from the ledger and the sales."""
    pool = sql.pool()
    (outstanding,) = await sql.fetch(
        pool,
        f"SELECT {_split('delta', 'delta')} FROM wallet_entries "
        "WHERE location_id = $1 AND created_at < $2",
        [location_id, end],
    )
    owed_split = _split(
        "owed",
        "CASE WHEN kind = 'CLAWBACK' THEN -requested_amount ELSE requested_amount + delta END",
    )
    (owed,) = await sql.fetch(pool, _OWED_BY_LEDGER.format(split=owed_split), [location_id, end])
    held_sql = _HELD_BY_HISTORY.format(
        granted="COALESCE(SUM(cashback_granted), 0)",
        released="COALESCE(SUM(requested_amount), 0)",
        cancelled="COALESCE(SUM(r.cashback_reversed), 0)",
        taken="COALESCE(SUM(-e.delta), 0)",
    )
    (held,) = await sql.fetch(pool, held_sql, [location_id, end])
    held_amount = (
        int(held["granted"]) - int(held["released"]) - int(held["cancelled"]) + int(held["taken"])
    )
    return Balances(_joined(outstanding, "delta"), held_amount, _joined(owed, "owed"))


_BY_GROUP_NOW = """
SELECT m.group_id AS group_id, {split}, COUNT(*) AS customers
FROM customers c LEFT JOIN group_memberships m ON m.customer_id = c.id
WHERE c.location_id = $1 AND c.credit_balance > 0
GROUP BY m.group_id
"""

_BY_GROUP_AT = """
WITH held AS (
    SELECT customer_id, SUM(delta) AS balance FROM wallet_entries
    WHERE location_id = $1 AND created_at < $2
    GROUP BY customer_id
)
SELECT m.group_id AS group_id, {split}, COUNT(*) AS customers
FROM held LEFT JOIN group_memberships m ON m.customer_id = held.customer_id
WHERE held.balance > 0
GROUP BY m.group_id
"""


async def by_group(location_id: UUID, end: datetime | None) -> list[tuple[UUID | None, int, int]]:
    """Credits held per group (today's memberships; a customer in two groups counts in both,
    one in none under None): at the instant `end`, or now when `end` is None."""
    if end is None:
        statement = _BY_GROUP_NOW.format(split=_split("amount", "c.credit_balance"))
        values: list[object] = [location_id]
    else:
        statement = _BY_GROUP_AT.format(split=_split("amount", "held.balance"))
        values = [location_id, end]
    rows = await sql.fetch(sql.pool(), statement, values)
    return [
        (sql.uuid(row["group_id"]), _joined(row, "amount"), int(row["customers"])) for row in rows
    ]


# ----------------------------------------------------------------------------- sales


@dataclass(frozen=True)
class SalesDay:
    day: date
    reference: str | None  # the group the discount came through
    group_discounts: int
    promotions: int
    credits_used: int
    sales: int


# The group a sale's discounts came through: its group discount's, else (online) its promotion's,
# read from the sale's applied discounts only for a sale with a promotion and no group discount.
_PROMOTION_REFERENCE = {
    True: "(SELECT d->>'reference' FROM jsonb_array_elements(discounts::jsonb) d "
    "WHERE d->>'kind' = 'PROMOTION' LIMIT 1)",
    False: "(SELECT json_extract(value, '$.reference') FROM json_each(discounts) "
    "WHERE json_extract(value, '$.kind') = 'PROMOTION' LIMIT 1)",
}

_DISCOUNT_COST = """
WITH sales AS (
    SELECT business_date, group_discount, discount_total, credits_used,
           CASE WHEN discount_reference IS NOT NULL THEN discount_reference
                WHEN discount_total > group_discount + credits_used THEN {promotion}
           END AS reference
    FROM checkouts
    WHERE location_id = $1 AND business_date >= $2 AND business_date <= $3
      AND status <> 'REFUNDED'
)
SELECT business_date AS day, reference,
       SUM(group_discount) AS group_discounts,
       SUM(discount_total - group_discount - credits_used) AS promotions,
       SUM(credits_used) AS credits_used, COUNT(*) AS sales
FROM sales
GROUP BY business_date, reference
ORDER BY business_date, reference
"""


async def discount_cost(location_id: UUID, start: date, end: date) -> list[SalesDay]:
    statement = _DISCOUNT_COST.format(promotion=_PROMOTION_REFERENCE[sql.dialect().numbered])
    rows = await sql.fetch(sql.pool(), statement, [location_id, start, end])
    return [
        SalesDay(
            day=sql.day(row["day"]),
            reference=row["reference"],
            group_discounts=int(row["group_discounts"]),
            promotions=int(row["promotions"]),
            credits_used=int(row["credits_used"]),
            sales=int(row["sales"]),
        )
        for row in rows
    ]


_TOP_CUSTOMERS = """
SELECT s.customer_id, SUM(s.credits_used) AS credits_used, COUNT(*) AS sales
FROM checkouts s JOIN customers c ON c.id = s.customer_id AND c.deleted_at IS NULL
WHERE s.location_id = $1 AND s.business_date >= $2 AND s.business_date <= $3
  AND s.status <> 'REFUNDED' AND s.credits_used > 0
GROUP BY s.customer_id
ORDER BY SUM(s.credits_used) DESC, s.customer_id
LIMIT $4
"""


async def top_customers(
    location_id: UUID, start: date, end: date, first: int
) -> list[tuple[UUID, int, int]]:
    rows = await sql.fetch(sql.pool(), _TOP_CUSTOMERS, [location_id, start, end, first])
    return [
        (sql.uuid(row["customer_id"]), int(row["credits_used"]), int(row["sales"])) for row in rows
    ]
