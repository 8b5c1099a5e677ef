"""Upgrading with data in place: a database filled as 0017 left it, migrated to 0018, on SQLite
and PostgreSQL.

0018 keeps every row, balance, lot and ledger entry, and adds the empty `expiry_runs` table:
the lots that were due and not yet expired stay for the first run the check makes, and the
table's unique key lets one run per location and day be made.
"""

from __future__ import annotations

from pathlib import Path

from settings import Settings
from tests.migrations import run_script, scratch_database

_MIGRATE_FROM_0016 = """
import asyncio, json, sys
from datetime import UTC, date, datetime
from uuid import UUID
from tortoise import Tortoise
from tests.migrations import insert, upgraded

L = "00000000-0000-7000-8000-00000000000a"
ANNA, JAN = (f"00000000-0000-7000-8000-0000000000a{n}" for n in range(1, 3))
OP = "00000000-0000-7000-8000-0000000000b1"
NOW = "2026-11-01 10:00:00+00:00"


def customer(id, first, balance):
    return insert(
        "customers", id=id, location_id=L, first_name=first, search_text=first.lower(),
        name_key=first.lower(), credit_balance=balance, created_at=NOW, updated_at=NOW,
    )


def entry(customer_id, delta, after, expires_on):
    return insert(
        "wallet_entries", location_id=L, customer_id=customer_id, kind="ADD",
        requested_amount=delta, delta=delta, balance_after=after, source="MANUAL",
        source_id=OP, period=0, created_at=NOW, expires_on=expires_on,
    )


def lot(customer_id, amount, expires_on):
    return insert(
        "credit_lots", location_id=L, customer_id=customer_id, entry_id=None, source="MANUAL",
        amount=amount, remaining=amount, expires_on=expires_on, created_at=NOW,
    )


SETUP = [
    insert("locations", id=L, name="Bistro", currency="PLN", timezone="Europe/Warsaw",
           created_at=NOW),
    customer(ANNA, "Anna", 300),
    customer(JAN, "Jan", 120),
    insert("wallet_operations", id=OP, location_id=L, operation="ADD", amount=300,
           source="MANUAL", status="SUCCEEDED", total=2, processed=2, attempts=1,
           created_at=NOW),
    entry(ANNA, 300, 300, "2026-11-05"),
    entry(JAN, 120, 120, None),
    lot(ANNA, 300, "2026-11-05"),
    lot(JAN, 120, None),
]


async def main(url):
    printed, rows = await upgraded(url, "models.0017_sales_returned", SETUP)
    result = {
        "customers": await rows(
            "SELECT c.id, c.credit_balance,"
            " (SELECT CAST(SUM(delta) AS BIGINT) FROM wallet_entries e WHERE e.customer_id = c.id),"
            " (SELECT CAST(SUM(remaining) AS BIGINT) FROM credit_lots l"
            "  WHERE l.customer_id = c.id)"
            " FROM customers c ORDER BY c.id"
        ),
        "entries": await rows("SELECT customer_id, delta, balance_after FROM wallet_entries"
                              " ORDER BY id"),
        "runs_before": await rows("SELECT count(*) FROM expiry_runs"),
    }
    from models import expiry_runs
    location = UUID(L)
    day = date(2026, 11, 10)
    result["due"] = [[str(l), d.isoformat()] for l, d in await expiry_runs.due([(location, day)])]
    made = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
    first = await expiry_runs.create(location, day, made)
    again = await expiry_runs.create(location, day, made)
    result["made"] = [first is not None, again is not None]
    result["due_after"] = await expiry_runs.due([(location, day)])
    result["runs"] = await rows(
        "SELECT location_id, day, status, attempts, lots_expired, amount_expired FROM expiry_runs"
    )
    await Tortoise.close_connections()
    print(json.dumps(result, default=str))

asyncio.run(main(sys.argv[1]))
"""

L = "00000000-0000-7000-8000-00000000000a"
ANNA, JAN = (f"00000000-0000-7000-8000-0000000000a{n}" for n in range(1, 3))


async def test_migration_0018_keeps_the_ledger_and_lots_and_adds_one_run_per_day(
    database: Settings, tmp_path: Path
) -> None:
    async with scratch_database(database, tmp_path) as url:
        result = await run_script(_MIGRATE_FROM_0016, url)

    # every balance kept, still the sum of its entries and of its lots; every entry as it was
    assert result["customers"] == [[ANNA, 300, 300, 300], [JAN, 120, 120, 120]]
    assert result["entries"] == [[ANNA, 300, 300], [JAN, 120, 120]]
    # no run yet; Anna's lot of Nov 5 is due on Nov 10, and its run is made once
    assert result["runs_before"] == [[0]]
    assert result["due"] == [[L, "2026-11-10"]]
    assert result["made"] == [True, False]
    assert result["due_after"] == []
    assert result["runs"] == [[L, "2026-11-10", "QUEUED", 0, 0, 0]]
