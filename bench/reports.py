"""The owner's reports at scale on PostgreSQL: 1,000,000 wallet entries of one location.

Seeds one location with 20,000 customers (`services.seeding.seed_people`), five groups holding
most of them, a year of ledger (N entries, default 1,000,000, of every kind and source, spread
over 365 days, customers' balances set to the sum of their entries), its credit lots (one per
credit, every other one expiring 60 days after it was made; each debit takes from one lot) and
200,000 sales; and a
second location with a quarter as many entries, so that every report must pick its location's
rows out of a larger table. Not measured. Then `VACUUM ANALYZE`, and measures, report by
report, in turn, call by call (a shared machine's changing load weighs on each alike):

- floor: one customer read by id (`services.customers.customer_view`);
- baseline: the plain query the reports are checked against in the tests, the location's whole
  ledger summed by kind (`SELECT kind, SUM(delta) … GROUP BY kind`);
- each report through its service: liability today (stored balances) and at a day's end 30
  and 180 days ago and on a Wednesday of last month (the summed days up to then, each
  customer's balance from the last month end's and the entries since, and what the lots that
  expire held from the nearer week end's sums and the changes between), activity by
  day and by month over the year, discount cost over 90 days, the top 20 customers over the
  year.

The first report of a year sums its closed days once (`models.ledger_days`): that first call is
timed on its own, before the others.

It prints p50 and p95 of each, and each report's p50 as a ratio of the floor and the
baseline. The target: every report's p50 under 300 ms.

    python -m bench.reports [--entries N] [--rounds R] [--database-url URL] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bench.credits import (
    Connection,
    RecordingDispatcher,
    asyncpg_dsn,
    connect,
    drop_database,
    recreate_database,
)
from bench.search import Call, interleaved, summary
from domain.reports import ReportInterval
from domain.requests import CustomerGroupInput
from gateway.runtime import build_runtime, close_runtime, migrate, start_database, stop_database
from services import access, customers, groups, reports
from services.seeding import seed_people
from settings import Settings

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/gocrm_bench_reports"
CUSTOMERS = 20_000
SALES = 200_000
TARGET_MS = 300.0

# A year of ledger: each entry's kind, source and sign picked by its number (out of 20).
_ENTRIES = """
INSERT INTO wallet_entries (location_id, customer_id, kind, requested_amount, delta,
    balance_after, description, source, source_id, period, actor, created_at)
SELECT $1, ids[1 + g % cardinality(ids)], k.kind, k.sign * (100 + g % 4900),
       k.sign * (100 + g % 4900), 0, NULL, k.source, gen_random_uuid(), 0, 'bench',
       $3::timestamptz - (g % 365) * interval '1 day' - (g % 1440) * interval '1 minute'
FROM generate_series(1, $2::int) g
CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids FROM customers WHERE location_id = $1) c
JOIN (VALUES
    (0, 'ADD', 'MANUAL', 1), (1, 'ADD', 'BULK', 1), (2, 'ADD', 'BULK', 1),
    (3, 'SET', 'SCHEDULE', 1), (4, 'ADD', 'SCHEDULE', 1), (5, 'CASHBACK', 'CHECKOUT', 1),
    (6, 'CASHBACK_RELEASE', 'SYSTEM', 1), (7, 'REFUND', 'CHECKOUT', 1),
    (8, 'REDEEM', 'CHECKOUT', -1), (9, 'REDEEM', 'CHECKOUT', -1), (10, 'REDEEM', 'CHECKOUT', -1),
    (11, 'REDEEM', 'CHECKOUT', -1), (12, 'REDUCE', 'MANUAL', -1), (13, 'SET', 'BULK', -1),
    (14, 'CASHBACK_REVERSAL', 'CHECKOUT', -1), (15, 'CLAWBACK', 'CHECKOUT', -1),
    (16, 'ADD', 'MANUAL', 1), (17, 'ADD', 'BULK', 1), (18, 'REDEEM', 'CHECKOUT', -1),
    (19, 'CASHBACK', 'CHECKOUT', 1)
) AS k(n, kind, source, sign) ON k.n = g % 20
"""

_BALANCES = """
UPDATE customers SET credit_balance = GREATEST(0, s.total)
FROM (SELECT customer_id, SUM(delta) AS total FROM wallet_entries
      WHERE location_id = $1 GROUP BY customer_id) s
WHERE customers.id = s.customer_id
"""

# One lot per credit, every other one expiring 60 days after its day; a lot whose day has passed
# holds nothing (it expired).
_LOTS = """
INSERT INTO credit_lots (location_id, customer_id, entry_id, source, amount, remaining,
    expires_on, created_at)
SELECT location_id, customer_id, id, source, delta, delta,
       CASE WHEN id % 2 = 0 THEN (created_at AT TIME ZONE 'UTC')::date + 60 END, created_at
FROM wallet_entries WHERE location_id = $1 AND delta > 0
"""

# The n-th debit takes from the n-th lot (what it can), as many takes as debits. (The seeded
# customers each have entries of one kind: a debit is paired with a lot by order, not customer.)
_TAKES = """
WITH d AS (
    SELECT id, delta, row_number() OVER (ORDER BY created_at, id) AS n
    FROM wallet_entries WHERE location_id = $1 AND delta < 0
), l AS (
    SELECT id, amount, row_number() OVER (ORDER BY created_at, id) AS n
    FROM credit_lots WHERE location_id = $1
), took AS (
    INSERT INTO credit_lot_takes (entry_id, lot_id, amount, restored)
    SELECT d.id, l.id, LEAST(-d.delta, l.amount), 0
    FROM d JOIN l ON l.n = d.n
    RETURNING lot_id, amount
)
UPDATE credit_lots SET remaining = credit_lots.amount - took.amount
FROM took WHERE credit_lots.id = took.lot_id
"""

_EXPIRED = "UPDATE credit_lots SET remaining = 0 WHERE location_id = $1 AND expires_on < $2"

_SALES = """
INSERT INTO checkouts (id, location_id, customer_id, channel, status, business_date, lines,
    discounts, subtotal, discount_total, total, group_discount, discount_reference,
    credits_used, cashback_granted, actor, cashback_held, idempotency_key, request_hash,
    created_at)
SELECT gen_random_uuid(), $1, ids[1 + g % cardinality(ids)],
       CASE WHEN g % 5 = 0 THEN 'ONLINE' ELSE 'POS' END,
       CASE WHEN g % 40 = 0 THEN 'REFUNDED' ELSE 'COMMITTED' END,
       ($3::date - (g % 365)), '[]'::jsonb,
       CASE WHEN g % 5 = 0
            THEN jsonb_build_array(jsonb_build_object('kind', 'PROMOTION', 'amount', 500,
                                                      'reference', $4::text))
            ELSE '[]'::jsonb END,
       5000, 500 + g % 700, 4500 - g % 700,
       CASE WHEN g % 5 = 0 THEN 0 ELSE 500 END,
       CASE WHEN g % 5 = 0 THEN NULL ELSE $4::text END,
       g % 700, 0, 'bench', 0, 'sale-' || g, 'h', $5::timestamptz - (g % 365) * interval '1 day'
FROM generate_series(1, $2::int) g
CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids FROM customers WHERE location_id = $1) c
"""

_MEMBERS = """
INSERT INTO group_memberships (group_id, customer_id, created_at)
SELECT groups[1 + (row_number() OVER (ORDER BY c.id)) % 5], c.id, now()
FROM customers c CROSS JOIN (SELECT $2::uuid[] AS groups) g
WHERE c.location_id = $1 AND (abs(hashtext(c.id::text)) % 10) < 8
"""


async def _seed_location(conn: Connection, name: str, entries: int, sales: int) -> str:
    """A location with its customers, groups, ledger and sales; its ADMIN key."""
    location, secret = await access.create_location(name)
    await seed_people(location.id, CUSTOMERS if sales else CUSTOMERS // 4)
    made = [
        await groups.create_group(location.id, CustomerGroupInput(name=f"Grupa {n}"))
        for n in range(5)
    ]
    now = datetime.now(UTC)
    run = conn.execute
    await run(_MEMBERS, location.id, [g.id for g in made])
    await run(_ENTRIES, location.id, entries, now)
    await run(_BALANCES, location.id)
    await run(_LOTS, location.id)
    await run(_TAKES, location.id)
    await run(_EXPIRED, location.id, now.date())
    if sales:
        today = now.date()
        await run(_SALES, location.id, sales, today, made[0].reference, now)
    return secret


async def main(args: argparse.Namespace) -> int:
    url = args.database_url
    settings = Settings(database_url=url, rate_limit_pos=None, rate_limit_admin=None)
    await recreate_database(url)
    await migrate(settings)
    await start_database(settings)
    conn = await connect(asyncpg_dsn(url))
    try:
        print(f"seeding {args.entries:,} entries …", file=sys.stderr, flush=True)
        secret = await _seed_location(conn, "Bench", args.entries, SALES)
        await _seed_location(conn, "Neighbour", args.entries // 4, 0)
        await conn.execute("VACUUM ANALYZE")
        principal = await access.authenticate(secret)
        assert principal is not None
        location_id = principal.location_id
        runtime = build_runtime(settings, RecordingDispatcher())
        today = datetime.now(UTC).date()
        year_ago, month_ago = today - timedelta(days=364), today - timedelta(days=30)
        # half a week from either week end: the most of the ledger a past day's lots read
        fifteenth = (today.replace(day=1) - timedelta(days=1)).replace(day=15)
        wednesday = fifteenth - timedelta(days=(fifteenth.weekday() - 2) % 7)
        some_customer = await conn.fetchval(
            "SELECT id::text FROM customers WHERE location_id = $1 LIMIT 1", location_id
        )
        calls: dict[str, Call] = {
            "floor: id lookup": lambda: customers.customer_view(location_id, some_customer),
            "baseline: sum by kind": lambda: conn.execute(
                "SELECT kind, SUM(delta) FROM wallet_entries WHERE location_id = $1 GROUP BY kind",
                location_id,
            ),
            "liability today": lambda: reports.liability_report(runtime, principal, None),
            "liability 30 days ago": lambda: reports.liability_report(
                runtime, principal, month_ago
            ),
            "liability 180 days ago": lambda: reports.liability_report(
                runtime, principal, today - timedelta(days=180)
            ),
            "liability, a Wednesday": lambda: reports.liability_report(
                runtime, principal, wednesday
            ),
            "activity, year by day": lambda: reports.activity_report(
                runtime, principal, year_ago, today, ReportInterval.DAY
            ),
            "activity, year by month": lambda: reports.activity_report(
                runtime, principal, year_ago, today, ReportInterval.MONTH
            ),
            "discount cost, 90 days": lambda: reports.discount_cost_report(
                runtime, principal, today - timedelta(days=89), today
            ),
            "top 20 customers, year": lambda: reports.top_customers_report(
                runtime, principal, year_ago, today, 20
            ),
        }
        began = time.perf_counter()  # the first report sums the year's closed days once
        await calls["activity, year by day"]()
        cold = time.perf_counter() - began
        began = time.perf_counter()
        await calls["liability 180 days ago"]()
        cold_liability = time.perf_counter() - began
        for call in calls.values():  # warm the caches and check each answers
            await call()
        counted = await conn.fetchval(
            "SELECT count(*) FROM wallet_entries WHERE location_id = $1", location_id
        )
        load_before = os.getloadavg()[0]
        times = await interleaved(*([call] * args.rounds for call in calls.values()))
        load_after = os.getloadavg()[0]
        await close_runtime(runtime)
    finally:
        await conn.close()
        await stop_database()
        if not args.keep:
            await drop_database(url)

    print(f"PostgreSQL, {counted:,} wallet entries of the location ({SALES:,} sales), ")
    print(
        f"load average (1 min) {load_before:.1f} before, {load_after:.1f} after, "
        f"{os.cpu_count()} cores"
    )
    print(f"first report of the year (sums 365 closed days once) {cold * 1000:8.1f} ms")
    print(f"then the liability 180 days ago, first call          {cold_liability * 1000:8.1f} ms")
    p50s = {}
    for name, seconds in zip(calls, times, strict=True):
        line, p50s[name] = summary(name, seconds)
        print(line)
    floor, baseline = p50s["floor: id lookup"], p50s["baseline: sum by kind"]
    missed = []
    for name, p50 in list(p50s.items())[2:]:
        print(f"{name:<26} {p50 / floor:7.1f}x the floor  {p50 / baseline:5.2f}x the baseline")
        if p50 >= TARGET_MS:
            missed.append(name)
    verdict = "MISSED: " + ", ".join(missed) if missed else "met"
    print(f"target every report p50 < {TARGET_MS:.0f} ms: {verdict}")
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=20, help="calls of each report timed")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    if args.rounds < 2 or args.entries < 1000:
        parser.error("--rounds must be at least 2 and --entries at least 1000")
    return args


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse_args())))
