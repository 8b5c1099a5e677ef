"""Upgrading with data in place: a database filled as 0010 left it, migrated to the latest
migration, on SQLite and PostgreSQL.

0012 keeps every operation, balance and ledger entry; the operations of the previous release are
no undos (the new columns are empty); an operation can be undone once (a second row naming the
same original is refused by the database).
"""

from __future__ import annotations

from pathlib import Path

from settings import Settings
from tests.migrations import run_script, scratch_database

_MIGRATE_FROM_0010 = """
import asyncio, json, sys
from tortoise import Tortoise, connections
from tortoise.exceptions import IntegrityError
from tests.migrations import insert, upgraded

L = "00000000-0000-7000-8000-00000000000a"
ANNA, JAN = "00000000-0000-7000-8000-0000000000a1", "00000000-0000-7000-8000-0000000000a2"
OP, OP2 = "00000000-0000-7000-8000-0000000000b1", "00000000-0000-7000-8000-0000000000b2"
U1, U2 = "00000000-0000-7000-8000-0000000000c1", "00000000-0000-7000-8000-0000000000c2"
NOW = "2026-11-01 10:00:00+00:00"


def customer(id, first, balance):
    return insert(
        "customers", id=id, location_id=L, first_name=first, search_text=first.lower(),
        name_key=first.lower(), credit_balance=balance, created_at=NOW, updated_at=NOW,
    )


def operation(id, operation, amount, total):
    return insert(
        "wallet_operations", id=id, location_id=L, operation=operation, amount=amount,
        source="BULK", status="SUCCEEDED", total=total, processed=total, attempts=1,
        created_at=NOW,
    )


def entry(customer_id, kind, requested, delta, after, source_id):
    return insert(
        "wallet_entries", location_id=L, customer_id=customer_id, kind=kind,
        requested_amount=requested, delta=delta, balance_after=after, source="BULK",
        source_id=source_id, period=0, created_at=NOW,
    )


SETUP = [
    insert("locations", id=L, name="Bistro", currency="PLN", timezone="Europe/Warsaw",
           created_at=NOW),
    customer(ANNA, "Anna", 300),
    customer(JAN, "Jan", 0),
    operation(OP, "ADD", 500, 2),
    entry(ANNA, "ADD", 500, 500, 500, OP),
    entry(JAN, "ADD", 500, 500, 500, OP),
    operation(OP2, "REDUCE", 500, 2),
    entry(ANNA, "REDUCE", 500, -200, 300, OP2),
    entry(JAN, "REDUCE", 500, -500, 0, OP2),
]


async def main(url):
    printed, rows = await upgraded(url, "models.0010_customer_search", SETUP)
    db = connections.get("default")
    result = {
        "customers": await rows(
            "SELECT c.id, c.credit_balance,"
            " (SELECT CAST(SUM(delta) AS BIGINT) FROM wallet_entries e"
            " WHERE e.customer_id = c.id)"
            " FROM customers c ORDER BY c.id"
        ),
        "operations": await rows(
            "SELECT id, operation, status, undo_of_id, undo_source_id, undo_period,"
            " restored_count, partly_restored_count FROM wallet_operations ORDER BY id"
        ),
        "entries": (await rows("SELECT count(*) FROM wallet_entries"))[0][0],
    }
    undo = "INSERT INTO wallet_operations (id, location_id, operation, amount, source, status,"
    undo += " total, processed, attempts, created_at, undo_of_id, undo_source_id, undo_period)"
    undo += " VALUES ('{id}', '" + L + "', 'ADD', 500, 'BULK', 'QUEUED', 2, 0, 0, '" + NOW
    undo += "', '" + OP + "', '" + OP + "', 0)"
    await db.execute_query(undo.format(id=U1))
    try:
        await db.execute_query(undo.format(id=U2))
        result["second_undo"] = "written"
    except IntegrityError:
        result["second_undo"] = "refused"
    await Tortoise.close_connections()
    print(json.dumps(result, default=str))

asyncio.run(main(sys.argv[1]))
"""

ANNA, JAN = "00000000-0000-7000-8000-0000000000a1", "00000000-0000-7000-8000-0000000000a2"
OP, OP2 = "00000000-0000-7000-8000-0000000000b1", "00000000-0000-7000-8000-0000000000b2"


async def test_migration_0012_keeps_the_ledger_and_lets_an_operation_be_undone_once(
    database: Settings, tmp_path: Path
) -> None:
    async with scratch_database(database, tmp_path) as url:
        result = await run_script(_MIGRATE_FROM_0010, url)

    # every balance kept, still the sum of its entries
    assert result["customers"] == [[ANNA, 300, 300], [JAN, 0, 0]]
    assert result["entries"] == 4
    # the previous release's operations are no undos
    assert result["operations"] == [
        [OP, "ADD", "SUCCEEDED", None, None, None, None, None],
        [OP2, "REDUCE", "SUCCEEDED", None, None, None, None, None],
    ]
    assert result["second_undo"] == "refused"
