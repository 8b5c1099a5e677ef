"""Upgrading with data in place: a database filled as 0006 left it — two locations (PLN and EUR),
wallet entries the system described in English beside a manager's, and failed jobs whose errors
are English sentences — migrated to the latest migration, on SQLite and PostgreSQL.

0007 gives a PLN location Polish and any other English, turns the system's descriptions into
message ids (only for the kind each was written for), turns known English errors into messages
and keeps any other text as a legacy message; balances and the ledger are untouched.
"""

from __future__ import annotations

import json
from pathlib import Path

from domain.messages import decode, encode, msg
from services.i18n import render
from settings import Settings
from tests.migrations import run_script, scratch_database

_MIGRATE_FROM_0006 = """
import asyncio, json, sys
from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate
from models.config import DatabaseConfig, tortoise_config

PLN, EUR = "00000000-0000-7000-8000-00000000000a", "00000000-0000-7000-8000-00000000000b"
ANNA = "00000000-0000-7000-8000-0000000000a1"
OP, SALE = "00000000-0000-7000-8000-0000000000b1", "00000000-0000-7000-8000-0000000000c1"
OP2 = "00000000-0000-7000-8000-0000000000b2"
SCHEDULE, RUN = "00000000-0000-7000-8000-0000000000d1", "00000000-0000-7000-8000-0000000000d2"
SYNC = "00000000-0000-7000-8000-0000000000e1"
NOW = "2026-11-01 10:00:00+00:00"


def insert(table, **row):
    values = ", ".join(
        "NULL" if v is None else str(v).lower() if isinstance(v, bool) else repr(v)
        for v in row.values()
    )
    return f"INSERT INTO {table} ({', '.join(row)}) VALUES ({values})"


def entry(n, kind, delta, after, source, source_id, description):
    return insert(
        "wallet_entries", location_id=PLN, customer_id=ANNA, kind=kind,
        requested_amount=abs(delta), delta=delta, balance_after=after, source=source,
        source_id=source_id, period=n, created_at=NOW, description=description,
    )


SETUP = [
    insert("locations", id=PLN, name="Bistro", currency="PLN", timezone="UTC", created_at=NOW),
    insert("locations", id=EUR, name="Cafe", currency="EUR", timezone="UTC", created_at=NOW),
    insert("customers", id=ANNA, location_id=PLN, search_text="", credit_balance=1450,
           created_at=NOW, updated_at=NOW),
    insert("wallet_operations", id=OP, location_id=PLN, operation="ADD", amount=1000,
           source="MANUAL", status="FAILED", total=1, processed=0, attempts=3, created_at=NOW,
           error="Failed after 3 attempts; the server log has the details."),
    insert("wallet_operations", id=OP2, location_id=PLN, operation="ADD", amount=1000,
           source="BULK", status="FAILED", total=1, processed=0, attempts=1, created_at=NOW,
           error="A balance would exceed the maximum of 10000000000000.00 PLN; customers not"
                 " yet credited were left unchanged."),
    entry(1, "ADD", 1000, 1000, "MANUAL", OP, "Cashback"),
    entry(2, "REDEEM", -500, 500, "CHECKOUT", SALE, "Credits used at checkout"),
    entry(3, "CASHBACK", 450, 950, "CHECKOUT", SALE, "Cashback"),
    entry(4, "REFUND", 500, 1450, "CHECKOUT", SALE, "Checkout refunded"),
    insert("credit_schedules", id=SCHEDULE, location_id=PLN, operation="ADD", amount=200,
           every=1, unit="MONTH", start_date="2027-01-01", target="CUSTOMERS",
           customer_ids=f'["{ANNA}"]', group_ids="[]", paused=False, last_period=0,
           created_at=NOW),
    insert("schedule_runs", id=RUN, schedule_id=SCHEDULE, period=0, period_on="2027-01-01",
           status="FAILED", attempts=3, total=1, processed=0, created_at=NOW,
           error="Stopped 3 times without finishing (the worker running it died)."),
    insert("sync_runs", id=SYNC, location_id=PLN, channel="GOPOS", status="FAILED",
           attempts=1, created_at=NOW, fetched=0, linked=0, unmatched=0, written=0,
           error="GoPOS answered HTTP 404 for /groups."),
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
        "locations": await rows("SELECT name, currency, language FROM locations ORDER BY name"),
        "entries": await rows(
            "SELECT period, kind, delta, balance_after, description FROM wallet_entries"
            " ORDER BY period"
        ),
        "balance": await rows(
            "SELECT c.credit_balance, (SELECT CAST(SUM(delta) AS BIGINT) FROM wallet_entries e"
            " WHERE e.customer_id = c.id) FROM customers c"
        ),
        "operations": await rows("SELECT error FROM wallet_operations ORDER BY id"),
        "runs": await rows("SELECT error FROM schedule_runs"),
        "syncs": await rows("SELECT error FROM sync_runs"),
    }
    await Tortoise.close_connections()
    print(json.dumps(result, default=str))

asyncio.run(main(sys.argv[1]))
"""


async def test_migration_0007_stores_messages_as_ids_and_gives_locations_a_language(
    database: Settings, tmp_path: Path
) -> None:
    async with scratch_database(database, tmp_path) as url:
        result = await run_script(_MIGRATE_FROM_0006, url)

    assert result["locations"] == [["Bistro", "PLN", "pl"], ["Cafe", "EUR", "en"]]
    # the manager's "Cashback" on an ADD keeps its text; the system's sentences become ids
    assert result["entries"] == [
        [1, "ADD", 1000, 1000, "Cashback"],
        [2, "REDEEM", -500, 500, "entry.redeem"],
        [3, "CASHBACK", 450, 950, "entry.cashback"],
        [4, "REFUND", 500, 1450, "entry.checkout_refunded"],
    ]
    assert result["balance"] == [[1450, 1450]]
    failed, overflow = (decode(row[0]) for row in result["operations"])
    assert failed == msg("job.failed", count=3)
    assert overflow == msg("credit.balance_overflow", maximum="10000000000000.00", currency="PLN")
    assert render(overflow, "pl") == (
        "Saldo przekroczyłoby maksimum 10000000000000.00 PLN; klienci, którym jeszcze nie"
        " przyznano kredytów, pozostali bez zmian."
    )
    assert [json.loads(row[0]) for row in result["runs"]] == [
        {"id": "job.died", "params": {"count": "3"}}
    ]
    # an unknown sentence is kept as it was written
    assert result["syncs"] == [
        [encode(msg("text.legacy", text="GoPOS answered HTTP 404 for /groups."))]
    ]
