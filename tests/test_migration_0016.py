"""Upgrading with data in place: a database filled as 0015 left it, migrated to 0016, on SQLite
and PostgreSQL.

0016 keeps every row, balance and ledger entry, and gives each webhook endpoint its
`credits.expiring` bookkeeping: no day notified yet, due from the migration's instant (so its
first day notified is the day it ran, not the days since it was created).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from settings import Settings
from tests.migrations import run_script, scratch_database

_MIGRATE_FROM_0015 = """
import asyncio, json, sys
from tortoise import Tortoise
from tests.migrations import insert, upgraded

L = "00000000-0000-7000-8000-00000000000a"
ANNA, JAN = (f"00000000-0000-7000-8000-0000000000a{n}" for n in range(1, 3))
OP = "00000000-0000-7000-8000-0000000000b1"
HOOK, OFF = "00000000-0000-7000-8000-0000000000c1", "00000000-0000-7000-8000-0000000000c2"
NOW = "2026-11-01 10:00:00+00:00"


def customer(id, first, balance):
    return insert(
        "customers", id=id, location_id=L, first_name=first, search_text=first.lower(),
        name_key=first.lower(), credit_balance=balance, created_at=NOW, updated_at=NOW,
    )


def entry(customer_id, delta, after):
    return insert(
        "wallet_entries", location_id=L, customer_id=customer_id, kind="ADD",
        requested_amount=delta, delta=delta, balance_after=after, source="MANUAL",
        source_id=OP, period=0, created_at=NOW,
    )


def endpoint(id, events, enabled=True):
    return insert(
        "webhook_endpoints", id=id, location_id=L, url=f"https://hooks.example.com/{id}",
        events=events, enabled=enabled, expiring_days_before=7, sealed_secret="sealed",
        consecutive_failures=0, created_at=NOW, updated_at=NOW,
    )


SETUP = [
    insert("locations", id=L, name="Bistro", currency="PLN", timezone="Europe/Warsaw",
           created_at=NOW),
    customer(ANNA, "Anna", 300),
    customer(JAN, "Jan", 120),
    insert("wallet_operations", id=OP, location_id=L, operation="ADD", amount=300,
           source="MANUAL", status="SUCCEEDED", total=2, processed=2, attempts=1,
           created_at=NOW),
    entry(ANNA, 300, 300),
    entry(JAN, 120, 120),
    endpoint(HOOK, ",credits.expiring,"),
    endpoint(OFF, ",wallet.changed,", enabled=False),
]


async def main(url):
    printed, rows = await upgraded(url, "models.0015_reports", SETUP)
    result = {
        "customers": await rows(
            "SELECT c.id, c.credit_balance, (SELECT CAST(SUM(delta) AS BIGINT)"
            " FROM wallet_entries e WHERE e.customer_id = c.id) FROM customers c ORDER BY c.id"
        ),
        "entries": await rows("SELECT customer_id, delta, balance_after FROM wallet_entries"
                              " ORDER BY id"),
        "endpoints": await rows(
            "SELECT id, enabled, expiring_notified_on, expiring_due_at FROM webhook_endpoints"
            " ORDER BY id"
        ),
    }
    from models.tables.webhooks import WebhookEndpoint
    result["due"] = [
        str(row.expiring_due_at) for row in await WebhookEndpoint.all().order_by("id")
    ]
    await Tortoise.close_connections()
    print(json.dumps(result, default=str))

asyncio.run(main(sys.argv[1]))
"""

L = "00000000-0000-7000-8000-00000000000a"
ANNA, JAN = (f"00000000-0000-7000-8000-0000000000a{n}" for n in range(1, 3))
HOOK, OFF = "00000000-0000-7000-8000-0000000000c1", "00000000-0000-7000-8000-0000000000c2"


async def test_migration_0016_keeps_the_ledger_and_makes_endpoints_due_from_its_day(
    database: Settings, tmp_path: Path
) -> None:
    before = datetime.now(UTC)
    async with scratch_database(database, tmp_path) as url:
        result = await run_script(_MIGRATE_FROM_0015, url)

    # every balance kept, still the sum of its entries; every entry as it was
    assert result["customers"] == [[ANNA, 300, 300], [JAN, 120, 120]]
    assert result["entries"] == [[ANNA, 300, 300], [JAN, 120, 120]]
    # every endpoint kept, no day notified yet, due from the migration's instant
    assert [row[:3] for row in result["endpoints"]] == [[HOOK, True, None], [OFF, False, None]]
    for due in result["due"]:
        assert before <= datetime.fromisoformat(due) <= datetime.now(UTC) + timedelta(seconds=1)
