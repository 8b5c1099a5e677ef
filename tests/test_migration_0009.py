"""Upgrading with data in place: a database filled as 0006 left it, with a live customer, a
customer the previous release deleted while holding credits, one deleted holding nothing, and
a schedule with a finished run, migrated to the latest migration, on SQLite and PostgreSQL.

0009 writes the held balance off with a WRITE_OFF entry of its own (source SYSTEM), so the
balances a person can see sum to the ledger; the rest is kept as it was.
"""

from __future__ import annotations

from pathlib import Path

from settings import Settings
from tests.migrations import run_script, scratch_database

# Run in a process of its own: Tortoise's connections are global, and the suite's are open.
_MIGRATE_FROM_0006 = """
import asyncio, json, sys
from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate
from models.config import DatabaseConfig, tortoise_config

L = "00000000-0000-7000-8000-00000000000a"
ANNA, GONE, EMPTY = (f"00000000-0000-7000-8000-0000000000a{n}" for n in range(1, 4))
OP, OP2 = "00000000-0000-7000-8000-0000000000b1", "00000000-0000-7000-8000-0000000000b2"
SCHEDULE = "00000000-0000-7000-8000-0000000000d1"
NOW, LATER = "2026-11-01 10:00:00+00:00", "2026-11-02 10:00:00+00:00"


def insert(table, **row):
    values = ", ".join(
        "NULL" if v is None else str(v).lower() if isinstance(v, bool) else repr(v)
        for v in row.values()
    )
    return f"INSERT INTO {table} ({', '.join(row)}) VALUES ({values})"


def customer(id, balance, deleted_at=None):
    return insert(
        "customers", id=id, location_id=L, search_text="", credit_balance=balance,
        created_at=NOW, updated_at=NOW, deleted_at=deleted_at,
    )


def entry(customer_id, kind, requested, delta, after, source_id):
    return insert(
        "wallet_entries", location_id=L, customer_id=customer_id, kind=kind,
        requested_amount=requested, delta=delta, balance_after=after, source="MANUAL",
        source_id=source_id, period=0, created_at=NOW,
    )


SETUP = [
    insert("locations", id=L, name="L", currency="PLN", timezone="UTC", created_at=NOW),
    customer(ANNA, 1000),
    entry(ANNA, "ADD", 1000, 1000, 1000, OP),
    # deleted by the previous release while holding 6.40: 10.00 added, 3.60 reduced
    customer(GONE, 640, deleted_at=LATER),
    entry(GONE, "ADD", 1000, 1000, 1000, OP),
    entry(GONE, "REDUCE", 360, -360, 640, OP2),
    customer(EMPTY, 0, deleted_at=LATER),
    entry(EMPTY, "ADD", 1000, 1000, 1000, OP),
    entry(EMPTY, "REDUCE", 1000, -1000, 0, OP2),
    insert("credit_schedules", id=SCHEDULE, location_id=L, operation="ADD", amount=200, every=1,
           unit="MONTH", start_date="2026-11-01", target="ALL", customer_ids="[]",
           group_ids="[]", paused=False, last_period=0, created_at=NOW),
    insert("schedule_runs", id="00000000-0000-7000-8000-0000000000e1", schedule_id=SCHEDULE,
           period=0, period_on="2026-11-01", status="SUCCEEDED", total=3, processed=3,
           attempts=1, created_at=NOW),
]


async def main(url):
    config = tortoise_config(DatabaseConfig(url=url))
    await migrate(config=config, target="models.0006_cashback_channels_refunds")
    await Tortoise.init(config=config)
    for sql in SETUP:
        await connections.get("default").execute_query(sql)
    await Tortoise.close_connections()
    await migrate(config=config)
    await Tortoise.init(config=config)
    db = connections.get("default")

    async def rows(sql):
        found = (await db.execute_query(sql))[1]
        return [list(row.values()) if hasattr(row, "values") else list(row) for row in found]

    result = {
        "customers": await rows(
            "SELECT c.id, c.credit_balance, c.deleted_at IS NOT NULL,"
            " (SELECT CAST(SUM(delta) AS BIGINT) FROM wallet_entries e"
            " WHERE e.customer_id = c.id)"
            " FROM customers c ORDER BY c.id"
        ),
        "write_offs": await rows(
            "SELECT customer_id, requested_amount, delta, balance_after, source, source_id,"
            " period, actor, description, created_at FROM wallet_entries"
            " WHERE kind = 'WRITE_OFF' ORDER BY customer_id"
        ),
        "visible": await rows(
            "SELECT CAST(SUM(credit_balance) AS BIGINT) FROM customers WHERE deleted_at IS NULL"
        ),
        "ledger": await rows("SELECT CAST(SUM(delta) AS BIGINT) FROM wallet_entries"),
        "runs": await rows("SELECT period, status, amount, description FROM schedule_runs"),
    }
    await Tortoise.close_connections()
    print(json.dumps(result, default=str))

asyncio.run(main(sys.argv[1]))
"""

ANNA, GONE, EMPTY = (f"00000000-0000-7000-8000-0000000000a{n}" for n in range(1, 4))


async def test_migration_0009_writes_off_what_deleted_customers_held(
    database: Settings, tmp_path: Path
) -> None:
    async with scratch_database(database, tmp_path) as url:
        result = await run_script(_MIGRATE_FROM_0006, url)

    # every balance is still the sum of its entries; the deleted one's is 0 now
    assert result["customers"] == [
        [ANNA, 1000, False, 1000],
        [GONE, 0, True, 0],
        [EMPTY, 0, True, 0],
    ]
    assert [row[:9] for row in result["write_offs"]] == [
        [GONE, 640, -640, 0, "SYSTEM", GONE, 0, None, "entry.write_off"],
    ]
    assert result["write_offs"][0][9][:19] == "2026-11-02 10:00:00"
    assert result["visible"] == result["ledger"] == [[1000]]
    # a run of the previous release applies what its schedule says
    assert result["runs"] == [[0, "SUCCEEDED", None, None]]
