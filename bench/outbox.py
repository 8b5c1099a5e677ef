"""What the webhook outbox's triggers cost a location without endpoints, on PostgreSQL.

Inserts wallet entries as the ledger does, with the `wallet_entries` outbox trigger and with it
disabled, in alternating rounds (the best round of each counts):

- one entry per statement and transaction (a till's sale, a manager's change);
- 5,000 entries in one statement (a bulk operation's chunk).

Another location has an endpoint, so the trigger's look-up has rows to pass over.

    python -m bench.outbox [--database-url URL] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

import asyncpg  # type: ignore[import-untyped]

from bench.credits import asyncpg_dsn, drop_database, recreate_database
from gateway.runtime import migrate
from settings import Settings

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/gocrm_bench_outbox"
SINGLE, BULK = 2_000, 5_000
TRIGGER = "webhook_outbox_wallet_entries"
ENTRY = (
    "INSERT INTO wallet_entries (location_id, customer_id, kind, requested_amount, delta,"
    " balance_after, source, source_id, period, created_at)"
)


async def _seed(db: asyncpg.Connection) -> tuple[uuid.UUID, uuid.UUID]:
    location, hooked, customer = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for found in (location, hooked):
        await db.execute(
            "INSERT INTO locations (id, name, currency, timezone, created_at)"
            " VALUES ($1, 'Bench', 'PLN', 'Europe/Warsaw', now())",
            found,
        )
    await db.execute(
        "INSERT INTO webhook_endpoints (id, location_id, url, events, enabled,"
        " expiring_days_before, sealed_secret, consecutive_failures, created_at, updated_at)"
        " VALUES ($1, $2, 'https://hooks.example.com', ',wallet.changed,', true, 7, '-', 0,"
        " now(), now())",
        uuid.uuid4(),
        hooked,
    )
    await db.execute(
        "INSERT INTO customers (id, location_id, first_name, search_text, name_key,"
        " credit_balance, created_at, updated_at) VALUES ($1, $2, 'A', 'a', 'a', 0, now(), now())",
        customer,
        location,
    )
    return location, customer


async def _round(
    db: asyncpg.Connection, location: uuid.UUID, customer: uuid.UUID
) -> tuple[float, float]:
    """(µs per one-entry transaction, ms per 5,000-entry statement)."""
    single = await db.prepare(ENTRY + " VALUES ($1, $2, 'ADD', 1, 1, 1, 'MANUAL', $3, 0, now())")
    bulk = await db.prepare(
        ENTRY + " SELECT $1, $2, 'ADD', 1, 1, 1, 'MANUAL', gen_random_uuid(), g, now()"
        " FROM generate_series(1, $3) g"
    )
    started = time.perf_counter()
    for _ in range(SINGLE):
        async with db.transaction():
            await single.fetch(location, customer, uuid.uuid4())
    one = (time.perf_counter() - started) / SINGLE * 1e6
    started = time.perf_counter()
    async with db.transaction():
        await bulk.fetch(location, customer, BULK)
    return one, (time.perf_counter() - started) * 1e3


async def main(url: str, rounds: int) -> None:
    await recreate_database(url)
    try:
        await migrate(Settings(database_url=url))
        db = await asyncpg.connect(asyncpg_dsn(url))
        location, customer = await _seed(db)
        best: dict[str, list[tuple[float, float]]] = {"with": [], "without": []}
        for _ in range(rounds):
            best["with"].append(await _round(db, location, customer))
            await db.execute(f'ALTER TABLE wallet_entries DISABLE TRIGGER "{TRIGGER}"')
            best["without"].append(await _round(db, location, customer))
            await db.execute(f'ALTER TABLE wallet_entries ENABLE TRIGGER "{TRIGGER}"')
        assert await db.fetchval("SELECT count(*) FROM webhook_outbox") == 0
        await db.close()
    finally:
        await drop_database(url)
    print(f"{rounds} rounds, best of each; a location without endpoints")
    for variant, found in best.items():
        one = min(r[0] for r in found)
        chunk = min(r[1] for r in found)
        print(
            f"{variant:>7} trigger: one entry + commit {one:7.1f} µs,"
            f" {BULK:,} entries {chunk:6.1f} ms"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--rounds", type=int, default=7)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.database_url, arguments.rounds))
