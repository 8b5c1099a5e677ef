"""`bench.chain`'s data is the app's: a tiny chain seeded as the benchmark seeds it, its month's
top-ups run by the schedules' own tick and jobs (in-process), and the ledger checks it prints
find every balance equal to its entries and its lots, with one top-up per customer and
schedule. PostgreSQL only: the benchmark's seeding is PostgreSQL SQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import cast

import pytest

from bench import chain_seed
from bench.chain_seed import Chain, Connection
from bench.credits import asyncpg_dsn, connect
from gateway.runtime import build_runtime, close_runtime
from services import schedules
from settings import Settings
from tasks.inprocess import InProcessDispatcher


@pytest.fixture
async def conn(database: Settings) -> AsyncIterator[Connection]:
    if database.is_sqlite:
        pytest.skip("the benchmark's seeding is PostgreSQL SQL")
    connection = cast(Connection, await connect(asyncpg_dsn(database.database_url)))
    try:
        yield connection
    finally:
        await connection.close()


async def balances(conn: Connection, chain: Chain) -> dict[int, int]:
    """How many of the chain's customers hold each balance."""
    rows = await conn.fetch(
        "SELECT credit_balance, count(*) FROM customers WHERE location_id = ANY($1::uuid[])"
        " GROUP BY credit_balance",
        list(chain.locations),
    )
    return {int(row[0]): int(row[1]) for row in rows}


async def test_the_chains_top_up_reaches_every_customer_once(
    conn: Connection, database: Settings
) -> None:
    chain = await chain_seed.seed(conn, 50, 1_000, 100, 2)
    opening = await chain_seed.mismatches(conn, chain)
    dispatcher = InProcessDispatcher()
    runtime = build_runtime(database, dispatcher)

    due = await chain_seed.due_schedules(conn, chain, datetime.now(UTC))
    for schedule_id in due:
        await schedules.queue_due_runs(runtime, schedule_id=schedule_id)
    await dispatcher.drain()
    await close_runtime(runtime)

    runs = await chain_seed.runs(conn, chain)
    assert (len(chain.locations), chain.customers, len(chain.till_keys)) == (51, 1_100, 2)
    assert opening == (0, 1_100)  # balanced, and no top-up yet
    assert (runs.schedules, runs.succeeded, runs.failed, runs.processed) == (52, 52, 0, 1_200)
    assert chain_seed.expected_entries(chain) == 1_200
    assert await chain_seed.mismatches(conn, chain) == (0, 0)
    assert await balances(conn, chain) == {5_000: 1_000, 6_000: 100}
    assert chain_seed.till_cards(chain, 1, 3) == ["CARD00000001", "CARD00000051", "CARD00000101"]
