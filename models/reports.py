"""The owner's reports, read as SQL aggregates over the ledger, the customers and the sales.

The ledger is read summed by day (`models.ledger_days`); the balances stored on the customers
answer for today; the sales for the discount cost and the top customers. No row of the ledger
comes into Python.

Indexes (migration 0015_reports): `wallet_entries (location_id, created_at)` serves every range
of the ledger, `checkouts (location_id, business_date)` the sales' reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from models import month_ends, sql

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
    SELECT {sql.split_sum("balance", "credit_balance")}, {sql.split_sum("held", "cashback_held")},
           {sql.split_sum("owed", "cashback_owed")}
    FROM customers WHERE location_id = $1
    """
    (row,) = await sql.fetch(sql.pool(), statement, [location_id])
    return Balances(sql.joined(row, "balance"), sql.joined(row, "held"), sql.joined(row, "owed"))


# Held: the cashback of sales committed with a hold before the instant, less what refunds
# cancelled while it was held (a refund's reversed cashback less what its reversal entry took
# off the balance); what was released is the ledger's (CASHBACK_RELEASE).
_HELD_BEFORE = """
SELECT
  (SELECT COALESCE(SUM(cashback_granted), 0) FROM checkouts
   WHERE location_id = $1 AND created_at < $2 AND cashback_release_at IS NOT NULL) AS granted,
  (SELECT COALESCE(SUM(r.cashback_reversed), 0)
   FROM checkout_refunds r JOIN checkouts c ON c.id = r.checkout_id
   WHERE r.location_id = $1 AND r.created_at < $2 AND c.cashback_release_at IS NOT NULL)
  AS cancelled,
  (SELECT COALESCE(SUM(-e.delta), 0) FROM checkout_refunds r
   JOIN checkouts c ON c.id = r.checkout_id
   JOIN wallet_entries e ON e.source_id = r.checkout_id AND e.period = r.number
   WHERE r.location_id = $1 AND r.created_at < $2 AND c.cashback_release_at IS NOT NULL
     AND e.kind = 'CASHBACK_REVERSAL') AS taken
"""


async def held_before(location_id: UUID, end: datetime, released: int) -> int:
    """What the location's customers held of granted cashback at the instant `end`, given
    what the ledger released of it by then."""
    (row,) = await sql.fetch(sql.pool(), _HELD_BEFORE, [location_id, end])
    return int(row["granted"]) - released - int(row["cancelled"]) + int(row["taken"])


_BY_GROUP = """
WITH held AS ({balances})
SELECT m.group_id AS group_id, {split}, COUNT(*) AS customers
FROM held LEFT JOIN group_memberships m ON m.customer_id = held.id
WHERE held.balance > 0
GROUP BY m.group_id
"""

# Each customer's balance now; at a past instant, the last month end's and the entries since.
_BALANCES_NOW = (
    "SELECT id, credit_balance AS balance FROM customers "
    "WHERE location_id = $1 AND credit_balance > 0"
)


async def by_group(
    location_id: UUID, at: tuple[datetime, str, date | None] | None = None
) -> list[tuple[UUID | None, int, int]]:
    """Credits held per group (today's memberships; a customer in two groups counts in both,
    one in none under None): now, or with `at` (an instant, the time zone, the last month end
    written before it) at that instant."""
    values: list[object] = [location_id]
    balances = _BALANCES_NOW
    if at is not None:
        end, timezone, month_end = at
        balances = month_ends.BALANCES_AT
        values = month_ends.balances_at_values(location_id, end, timezone, month_end)
    statement = _BY_GROUP.format(balances=balances, split=sql.split_sum("amount", "held.balance"))
    rows = await sql.fetch(sql.pool(), statement, values)
    return [
        (sql.uuid(row["group_id"]), sql.joined(row, "amount"), int(row["customers"]))
        for row in rows
    ]


# What the lots that expire hold, by expiry day (the partial index by location and expiry).
_EXPIRING = f"""
SELECT expires_on, {sql.split_sum("amount", "remaining")} FROM credit_lots
WHERE location_id = $1 AND remaining > 0 AND expires_on IS NOT NULL
GROUP BY expires_on
"""


async def expiring_by_day(location_id: UUID) -> list[tuple[date, int]]:
    """What the location's customers hold now of credits that expire, by expiry day."""
    rows = await sql.fetch(sql.pool(), _EXPIRING, [location_id])
    return [(sql.day(row["expires_on"]), sql.joined(row, "amount")) for row in rows]


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
