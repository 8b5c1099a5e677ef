"""The soak's invariants, as SQL over one location: what `bench.soak` checks after its load.

Each check returns a `Check`: PASS or FAIL with the counts behind it. They read the tables the
operators' reports read (`customers.credit_balance`, `wallet_entries.delta`, `checkouts`, the
GoPOS mirror, the job tables) and nothing of the gateway's code, so that a bug in a service
cannot hide itself from them. PostgreSQL only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg  # type: ignore[import-untyped]

from bench.credits import asyncpg_dsn
from domain.schedule import Recurrence, RecurrenceUnit, due_indices, last_index_before


class Database(Protocol):
    """The part of `asyncpg.Connection` the checks use (asyncpg ships no type information)."""

    async def execute(self, query: str, *args: object) -> str: ...

    async def fetchval(self, query: str, *args: object) -> Any: ...

    async def fetchrow(self, query: str, *args: object) -> Any: ...

    async def fetch(self, query: str, *args: object) -> Any: ...

    async def close(self) -> None: ...


async def open_connection(url: str) -> Database:
    conn: Database = await asyncpg.connect(asyncpg_dsn(url))
    return conn


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str

    def line(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'}  {self.name}: {self.detail}"


BALANCES_SQL = """
SELECT count(*) AS customers,
       coalesce(sum(e.entries), 0) AS entries,
       count(*) FILTER (WHERE c.credit_balance <> coalesce(e.total, 0)) AS off_sum,
       count(*) FILTER (WHERE c.credit_balance <> coalesce(last.balance_after, 0)) AS off_last,
       count(*) FILTER (WHERE c.credit_balance < 0) AS negative,
       (SELECT count(*) FROM wallet_entries w
        WHERE w.location_id = $1 AND w.balance_after < 0) AS negative_entries
FROM customers c
LEFT JOIN (SELECT customer_id, sum(delta) AS total, count(*) AS entries
           FROM wallet_entries WHERE location_id = $1 GROUP BY customer_id) e
       ON e.customer_id = c.id
LEFT JOIN LATERAL (SELECT balance_after FROM wallet_entries w
                   WHERE w.customer_id = c.id ORDER BY w.id DESC LIMIT 1) last ON true
WHERE c.location_id = $1
"""


async def check_balances(db: Database, location_id: UUID) -> Check:
    """Every balance is the sum of the customer's entries and its latest entry's balance after;
    no balance and no entry's balance after is negative."""
    row = await db.fetchrow(BALANCES_SQL, location_id)
    bad = row["off_sum"] + row["off_last"] + row["negative"] + row["negative_entries"]
    return Check(
        "balances = sum of entries, never negative",
        bad == 0,
        f"{row['customers']:,} customers, {row['entries']:,} entries; "
        f"{row['off_sum']} differ from the sum, {row['off_last']} from the latest entry, "
        f"{row['negative']} negative balances, {row['negative_entries']} negative entries",
    )


CONFIRMED_SQL = """
SELECT count(*) AS confirmed,
       count(*) FILTER (WHERE n <> 1 OR NOT same) AS wrong
FROM (SELECT k.key, count(ch.id) AS n, coalesce(bool_and(ch.id = k.id), false) AS same
      FROM unnest($2::text[], $3::uuid[]) AS k(key, id)
      LEFT JOIN checkouts ch ON ch.location_id = $1 AND ch.idempotency_key = k.key
      GROUP BY k.key) per_key
"""

REFUSED_SQL = """
SELECT count(*) FROM checkouts WHERE location_id = $1 AND idempotency_key = ANY($2::text[])
"""

UNCONFIRMED_SQL = """
SELECT count(*) FROM checkouts
WHERE location_id = $1 AND NOT idempotency_key = ANY($2::text[])
"""

SETTLED_SQL = """
WITH e AS (
    SELECT source_id,
           count(*) FILTER (WHERE kind = 'REDEEM') AS redeems,
           coalesce(-sum(delta) FILTER (WHERE kind = 'REDEEM'), 0) AS redeemed,
           count(*) FILTER (WHERE kind = 'CASHBACK') AS cashbacks,
           coalesce(sum(delta) FILTER (WHERE kind = 'CASHBACK'), 0) AS cashback,
           count(*) FILTER (WHERE kind = 'REFUND') AS refunds,
           coalesce(sum(delta) FILTER (WHERE kind = 'REFUND'), 0) AS refunded,
           count(*) FILTER (WHERE kind = 'CASHBACK_REVERSAL') AS reversals,
           coalesce(-sum(delta) FILTER (WHERE kind = 'CASHBACK_REVERSAL'), 0) AS reversed
    FROM wallet_entries WHERE location_id = $1 AND source = 'CHECKOUT' GROUP BY source_id
), ch AS (SELECT * FROM checkouts WHERE location_id = $1)
SELECT count(ch.id) AS checkouts,
       count(ch.id) FILTER (WHERE ch.status = 'REFUNDED') AS refunded_checkouts,
       count(ch.id) FILTER (WHERE ch.credits_used > 0) AS with_credits,
       count(ch.id) FILTER (WHERE coalesce(e.redeems, 0) <> (ch.credits_used > 0)::int
                              OR coalesce(e.redeemed, 0) <> ch.credits_used) AS bad_debit,
       count(ch.id) FILTER (WHERE coalesce(e.cashbacks, 0) <> (ch.cashback_granted > 0)::int
                              OR coalesce(e.cashback, 0) <> ch.cashback_granted) AS bad_cashback,
       count(ch.id) FILTER (
           WHERE CASE ch.status
                   WHEN 'COMMITTED' THEN coalesce(e.refunds, 0) + coalesce(e.reversals, 0) > 0
                   WHEN 'REFUNDED' THEN coalesce(e.refunded, 0) <> ch.credits_used
                     OR (coalesce(e.refunds, 0) > 0) <> (ch.credits_used > 0)
                     OR (coalesce(e.reversals, 0) > 0) <> (ch.cashback_granted > 0)
                   ELSE coalesce(e.refunded, 0) > ch.credits_used
                 END
              OR coalesce(e.reversed, 0) NOT BETWEEN 0 AND ch.cashback_granted
              OR (ch.status = 'REFUNDED') <> (ch.refunded_at IS NOT NULL)) AS bad_refund,
       count(*) FILTER (WHERE ch.id IS NULL) AS orphans
FROM ch FULL JOIN e ON e.source_id = ch.id
"""


async def check_commits(
    db: Database,
    location_id: UUID,
    confirmed: Mapping[str, UUID],
    refused: Sequence[str],
) -> Check:
    """Each commit the client saw succeed (key → checkout id) has exactly one checkout, that
    one; a refused commit has none."""
    keys = list(confirmed)
    row = await db.fetchrow(CONFIRMED_SQL, location_id, keys, [confirmed[k] for k in keys])
    written = int(await db.fetchval(REFUSED_SQL, location_id, list(refused)))
    unconfirmed = int(await db.fetchval(UNCONFIRMED_SQL, location_id, keys))
    return Check(
        "one checkout per confirmed commit",
        row["wrong"] == 0 and written == 0,
        f"{row['confirmed']:,} confirmed, {row['wrong']} without exactly their one checkout; "
        f"{len(refused):,} refused, {written} of them written; "
        f"{unconfirmed} checkouts the client never saw confirmed",
    )


async def check_settlements(db: Database, location_id: UUID) -> Check:
    """Every checkout has its REDEEM entry iff it used credits (the same amount), its CASHBACK
    iff it granted cashback, no REFUND or CASHBACK_REVERSAL while not refunded, never more
    REFUND than the credits it used while partly refunded, and once refunded whole REFUND
    entries for all of its credits and CASHBACK_REVERSAL entries when it granted cashback; no
    checkout entry lacks its checkout."""
    row = await db.fetchrow(SETTLED_SQL, location_id)
    bad = row["bad_debit"] + row["bad_cashback"] + row["bad_refund"] + row["orphans"]
    return Check(
        "every checkout has its debit, and every debit its checkout",
        bad == 0,
        f"{row['checkouts']:,} checkouts ({row['with_credits']:,} with credits, "
        f"{row['refunded_checkouts']:,} refunded); {row['bad_debit']} debits, "
        f"{row['bad_cashback']} cashbacks, {row['bad_refund']} refunds wrong; "
        f"{row['orphans']} checkout entries without a checkout",
    )


CASHBACK_SQL = """
WITH owed AS (
    SELECT ch.customer_id, sum(r.cashback_owed) AS owed
    FROM checkout_refunds r JOIN checkouts ch ON ch.id = r.checkout_id
    WHERE r.location_id = $1 GROUP BY ch.customer_id
), clawed AS (
    SELECT customer_id, sum(requested_amount) AS clawed FROM wallet_entries
    WHERE location_id = $1 AND kind = 'CLAWBACK' GROUP BY customer_id
), held AS (
    SELECT customer_id, sum(cashback_held) AS held FROM checkouts
    WHERE location_id = $1 AND customer_id IS NOT NULL GROUP BY customer_id
)
SELECT count(*) AS customers,
       coalesce(sum(c.cashback_owed), 0) AS owed,
       coalesce(sum(c.cashback_held), 0) AS held,
       count(*) FILTER (
           WHERE c.cashback_owed <> coalesce(o.owed, 0) - coalesce(k.clawed, 0)
              OR c.cashback_owed < 0) AS off_owed,
       count(*) FILTER (WHERE c.cashback_held <> coalesce(h.held, 0)
                           OR c.cashback_held < 0) AS off_held,
       (SELECT count(*) FROM checkouts ch
        WHERE ch.location_id = $1
          AND (ch.status <> 'COMMITTED')
              <> EXISTS (SELECT 1 FROM checkout_refunds r WHERE r.checkout_id = ch.id))
           AS unrecorded_refunds
FROM customers c
LEFT JOIN owed o ON o.customer_id = c.id
LEFT JOIN clawed k ON k.customer_id = c.id
LEFT JOIN held h ON h.customer_id = c.id
WHERE c.location_id = $1
"""


async def check_cashback(db: Database, location_id: UUID) -> Check:
    """What each customer owes is what its refunds recorded as owed less what CLAWBACK entries
    paid off, never negative; what it holds is the sum of its sales' held cashback; and every
    checkout refunded whole or in part, and only those, has refund records."""
    row = await db.fetchrow(CASHBACK_SQL, location_id)
    bad = row["off_owed"] + row["off_held"] + row["unrecorded_refunds"]
    return Check(
        "owed and held cashback explained by refunds, clawbacks and sales",
        bad == 0,
        f"{row['customers']:,} customers owing {row['owed']:,} and holding {row['held']:,}; "
        f"{row['off_owed']} owe, {row['off_held']} hold otherwise; "
        f"{row['unrecorded_refunds']} refunds without their record",
    )


LIMITS_SQL = """
WITH applied AS (
    SELECT ch.customer_id, ch.business_date,
           ch.group_discount - ch.group_discount_returned AS group_discount,
           (SELECT count(*) FROM jsonb_array_elements(ch.discounts) d
            WHERE d->>'kind' = 'GROUP_DISCOUNT') AS named,
           (SELECT max(d->>'reference') FROM jsonb_array_elements(ch.discounts) d
            WHERE d->>'kind' = 'GROUP_DISCOUNT') AS reference,
           (SELECT max(g.daily_limit) FROM jsonb_array_elements(ch.discounts) d
            JOIN pos_customer_groups g
              ON g.location_id = ch.location_id
             AND g.reference_key = d->>'reference'
             AND g.discount_ids ? substr(d->>'id', length('pos-discount:') + 1)
            WHERE d->>'kind' = 'GROUP_DISCOUNT') AS daily_limit,
           (SELECT bool_or(g.daily_limit IS NULL) FROM jsonb_array_elements(ch.discounts) d
            JOIN pos_customer_groups g
              ON g.location_id = ch.location_id
             AND g.reference_key = d->>'reference'
             AND g.discount_ids ? substr(d->>'id', length('pos-discount:') + 1)
            WHERE d->>'kind' = 'GROUP_DISCOUNT') AS unlimited
    FROM checkouts ch
    WHERE ch.location_id = $1 AND ch.status <> 'REFUNDED' AND ch.channel IN ('POS', 'KIOSK')
      AND ch.group_discount > ch.group_discount_returned
), days AS (
    SELECT customer_id, business_date, reference, sum(group_discount) AS used,
           max(daily_limit) AS cap, bool_or(coalesce(unlimited, false)) AS unlimited,
           bool_or(named <> 1 OR (daily_limit IS NULL AND unlimited IS NULL)) AS unresolved
    FROM applied GROUP BY customer_id, business_date, reference
)
SELECT count(*) AS days,
       count(*) FILTER (WHERE NOT unlimited AND used > cap) AS over,
       count(*) FILTER (WHERE NOT unlimited AND used = cap) AS at_limit,
       count(*) FILTER (WHERE unlimited) AS unlimited,
       count(*) FILTER (WHERE unresolved) AS unresolved
FROM days
"""


async def check_daily_limits(db: Database, location_id: UUID) -> Check:
    """Per customer, business date and the group they came through, the group discounts of
    POS and KIOSK checkouts not refunded whole, less what their refunds gave back, sum to at
    most that GoPOS group's daily limit: a group's limit counts only the discounts granted
    through it."""
    row = await db.fetchrow(LIMITS_SQL, location_id)
    return Check(
        "daily discount limits held",
        row["over"] == 0 and row["unresolved"] == 0,
        f"{row['days']:,} customer-days per group with a group discount, "
        f"{row['over']} over the limit, "
        f"{row['at_limit']:,} exactly at it, {row['unlimited']} through an unlimited group, "
        f"{row['unresolved']} whose group could not be found in the mirror",
    )


REFUNDS_SQL = """
WITH r AS (
    SELECT checkout_id, count(*) AS refunds, max(number) AS last_number,
           sum(credits_returned) AS credits, sum(cashback_reversed + cashback_owed) AS cashback,
           sum(group_discount) AS usage
    FROM checkout_refunds WHERE location_id = $1 GROUP BY checkout_id
), q AS (
    SELECT ch.id,
           bool_and(coalesce(rq.value::bigint, 0) <= (l.value->>'quantity')::bigint) AS within,
           bool_and(coalesce(rq.value::bigint, 0) = (l.value->>'quantity')::bigint) AS whole
    FROM checkouts ch
    CROSS JOIN LATERAL jsonb_array_elements(ch.lines) WITH ORDINALITY AS l(value, n)
    LEFT JOIN LATERAL jsonb_array_elements_text(ch.refunded_quantities)
        WITH ORDINALITY AS rq(value, n) ON rq.n = l.n
    WHERE ch.location_id = $1 AND ch.refunded_quantities IS NOT NULL
    GROUP BY ch.id
)
SELECT count(r.checkout_id) AS refunded_sales,
       coalesce(sum(r.refunds), 0) AS refunds,
       count(*) FILTER (WHERE ch.status = 'PARTIALLY_REFUNDED') AS partly,
       count(*) FILTER (WHERE r.refunds > 1) AS again,
       (SELECT count(*) FROM checkout_refunds cr
        CROSS JOIN LATERAL (SELECT count(*) AS n, coalesce(sum(w.delta), 0) AS credited
                            FROM wallet_entries w
                            WHERE w.source_id = cr.checkout_id AND w.period = cr.number
                              AND w.kind = 'REFUND') e
        WHERE cr.location_id = $1
          AND (e.n <> (cr.credits_returned > 0)::int OR e.credited <> cr.credits_returned))
           AS off_entry,
       count(*) FILTER (
           WHERE coalesce(r.credits, 0) > ch.credits_used
              OR coalesce(r.cashback, 0) > ch.cashback_granted
              OR coalesce(r.usage, 0) > ch.group_discount
              OR ch.group_discount_returned <> coalesce(r.usage, 0)
              OR q.within IS FALSE) AS past_sale,
       count(*) FILTER (
           WHERE ch.refund_count <> coalesce(r.refunds, 0)
              OR coalesce(r.last_number, 0) <> coalesce(r.refunds, 0)
              OR (ch.status = 'COMMITTED') <> (r.checkout_id IS NULL)
              OR (ch.status = 'REFUNDED' AND q.whole IS FALSE)
              OR (ch.status = 'PARTIALLY_REFUNDED' AND q.whole IS NOT FALSE)) AS off_status
FROM checkouts ch
LEFT JOIN r ON r.checkout_id = ch.id
LEFT JOIN q ON q.id = ch.id
WHERE ch.location_id = $1
"""


async def check_refunds(db: Database, location_id: UUID) -> Check:
    """No sale is refunded past what it sold: per line, the quantities refunded never pass the
    quantities sold; the refunds of a sale never give back more credits, take back more
    cashback or give back more of the daily limit than the sale used or granted; each refund
    gave back its credits by one REFUND entry of its number (none when it gave back none); its
    refunds are numbered 1, 2, … as its refund count says; and its status says whether
    nothing, part or all of it was refunded."""
    row = await db.fetchrow(REFUNDS_SQL, location_id)
    return Check(
        "no sale refunded past what it sold",
        row["past_sale"] == 0 and row["off_status"] == 0 and row["off_entry"] == 0,
        f"{row['refunded_sales']:,} sales refunded in {row['refunds']:,} refunds "
        f"({row['partly']:,} partly refunded, {row['again']:,} refunded more than once); "
        f"{row['past_sale']} past what they sold, {row['off_status']} with another status or "
        f"count, {row['off_entry']} refunds without their credits' entry",
    )


OPERATIONS_SQL = """
SELECT count(*) AS operations,
       count(*) FILTER (WHERE o.status <> 'SUCCEEDED') AS unfinished,
       count(*) FILTER (WHERE o.processed <> o.total OR e.n <> o.total) AS wrong_count,
       coalesce(sum(e.n), 0) AS entries,
       count(*) FILTER (WHERE o.customer_filter IS NOT NULL) AS filtered
FROM wallet_operations o
CROSS JOIN LATERAL (SELECT count(*) AS n FROM wallet_entries w
                    WHERE w.source_id = o.id AND w.kind = o.operation) e
WHERE o.location_id = $1 AND o.undo_of_id IS NULL
"""


async def check_operations(db: Database, location_id: UUID) -> Check:
    """Every wallet operation SUCCEEDED with one entry per customer it counted (undos aside:
    `bench.soak_undo_checks`)."""
    row = await db.fetchrow(OPERATIONS_SQL, location_id)
    return Check(
        "every credit operation applied once per customer",
        row["unfinished"] == 0 and row["wrong_count"] == 0,
        f"{row['operations']:,} operations ({row['filtered']} by group filter), "
        f"{row['entries']:,} entries; {row['unfinished']} not SUCCEEDED, "
        f"{row['wrong_count']} with another count of entries than customers",
    )


SCHEDULES_SQL = """
SELECT s.id, s.every, s.unit, s.start_date, s.end_date, s.created_at, s.target,
       CASE WHEN s.target = 'ALL' THEN
           (SELECT count(*) FROM customers c
            WHERE c.location_id = s.location_id AND c.deleted_at IS NULL)
       WHEN s.target = 'GROUPS' THEN
           (SELECT count(DISTINCT m.customer_id) FROM group_memberships m
            JOIN customers c ON c.id = m.customer_id AND c.deleted_at IS NULL
            WHERE m.group_id::text IN (SELECT jsonb_array_elements_text(s.group_ids)))
       ELSE
           (SELECT count(*) FROM customers c WHERE c.deleted_at IS NULL
              AND c.id::text IN (SELECT jsonb_array_elements_text(s.customer_ids)))
       END AS members,
       coalesce((SELECT jsonb_object_agg(r.period, jsonb_build_array(r.status,
                    (SELECT count(*) FROM wallet_entries w
                     WHERE w.source_id = s.id AND w.period = r.period
                       AND w.kind = s.operation)))
                 FROM schedule_runs r WHERE r.schedule_id = s.id), '{}') AS runs
FROM credit_schedules s WHERE s.location_id = $1 AND NOT s.paused
ORDER BY s.created_at
"""


async def check_schedules(db: Database, location_id: UUID, timezone: str, now: datetime) -> Check:
    """Every period due since its schedule was created ran once and SUCCEEDED, with one entry
    per member; and at least one period fired."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    rows = await db.fetch(SCHEDULES_SQL, location_id)
    fired = missing = failed = miscounted = 0
    for row in rows:
        recurrence = Recurrence(
            row["every"], RecurrenceUnit(row["unit"]), row["start_date"], row["end_date"]
        )
        created_on = row["created_at"].astimezone(ZoneInfo(timezone)).date()
        due = due_indices(recurrence, last_index_before(recurrence, created_on), today)
        runs: dict[str, list[Any]] = json.loads(row["runs"])
        for index, _ in due:
            run = runs.get(str(index))
            if run is None:
                missing += 1
            elif run[0] != "SUCCEEDED":
                failed += 1
            elif run[1] != row["members"]:
                miscounted += 1
            else:
                fired += 1
    return Check(
        "schedules fired: each due period once per member",
        fired > 0 and missing == failed == miscounted == 0,
        f"{len(rows)} schedules, {fired} periods applied; {missing} due periods never run, "
        f"{failed} not SUCCEEDED, {miscounted} with another count of entries than members",
    )


async def check_sync(db: Database, location_id: UUID, run_id: UUID | None) -> Check:
    """The sync queued during the run SUCCEEDED."""
    if run_id is None:
        return Check("the sync succeeded", False, "no sync was queued")
    row = await db.fetchrow(
        "SELECT status, fetched, linked, written, error FROM sync_runs"
        " WHERE id = $1 AND location_id = $2",
        run_id,
        location_id,
    )
    if row is None:
        return Check("the sync succeeded", False, f"sync run {run_id} not found")
    return Check(
        "the sync succeeded",
        row["status"] == "SUCCEEDED",
        f"{row['status']}: {row['fetched']} groups fetched, {row['linked']} linked, "
        f"{row['written']} rows written" + (f"; {row['error']}" if row["error"] else ""),
    )


async def check_all(
    db: Database,
    location_id: UUID,
    timezone: str,
    confirmed: Mapping[str, UUID],
    refused: Sequence[str],
    sync_run: UUID | None,
) -> list[Check]:
    return [
        await check_balances(db, location_id),
        await check_commits(db, location_id, confirmed, refused),
        await check_settlements(db, location_id),
        await check_cashback(db, location_id),
        await check_daily_limits(db, location_id),
        await check_refunds(db, location_id),
        await check_operations(db, location_id),
        await check_schedules(db, location_id, timezone, datetime.now(UTC)),
        await check_sync(db, location_id, sync_run),
    ]
