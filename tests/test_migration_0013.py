"""Upgrading with data in place: a database filled as 0010 left it, migrated to the latest
migration, on SQLite and PostgreSQL.

0013 keeps every balance and entry, and gives every live customer holding a positive balance one
lot of it without expiry (source SYSTEM), so that the lots sum to every balance: nothing for a
deleted customer (written off by 0009), nor for held or owed cashback, which are not part of the
balance. The lots table's partial index serves spending's order on PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

from settings import Settings
from tests.migrations import run_script, scratch_database

_MIGRATE_FROM_0010 = """
import asyncio, json, sys
from tortoise import Tortoise, connections
from tests.migrations import insert, upgraded

L, L2 = "00000000-0000-7000-8000-00000000000a", "00000000-0000-7000-8000-00000000000b"
ANNA, JAN, EWA, GONE, HANS = (f"00000000-0000-7000-8000-0000000000a{n}" for n in range(1, 6))
OP = "00000000-0000-7000-8000-0000000000b1"
NOW, LATER = "2026-11-01 10:00:00+00:00", "2026-11-02 10:00:00+00:00"


def customer(id, first, balance=0, held=0, owed=0, location=L, deleted=None, changed=None):
    return insert(
        "customers", id=id, location_id=location, first_name=first, credit_balance=balance,
        cashback_held=held, cashback_owed=owed, created_at=NOW, updated_at=NOW, search_text="",
        deleted_at=deleted, wallet_updated_at=changed,
    )


def entry(customer_id, kind, delta, after, location=L):
    return insert(
        "wallet_entries", location_id=location, customer_id=customer_id, kind=kind,
        requested_amount=abs(delta), delta=delta, balance_after=after, source="BULK",
        source_id=OP, period=0, created_at=NOW,
    )


SETUP = [
    insert("locations", id=L, name="Bistro", currency="PLN", timezone="Europe/Warsaw",
           created_at=NOW),
    insert("locations", id=L2, name="Euro", currency="EUR", timezone="UTC", created_at=NOW),
    insert("wallet_operations", id=OP, location_id=L, operation="ADD", amount=300,
           source="BULK", status="SUCCEEDED", total=1, processed=1, attempts=1, created_at=NOW),
    customer(ANNA, "Anna", balance=300, changed=LATER),
    entry(ANNA, "ADD", 300, 300),
    # Jan holds cashback not yet released and nothing spendable
    customer(JAN, "Jan", held=200),
    # Ewa owes reversed cashback and holds a balance from before it
    customer(EWA, "Ewa", balance=150, owed=50),
    entry(EWA, "ADD", 150, 150),
    # a deleted customer: written off by 0009
    customer(GONE, "Gone", deleted=LATER),
    entry(GONE, "ADD", 70, 70),
    insert(
        "wallet_entries", location_id=L, customer_id=GONE, kind="WRITE_OFF",
        requested_amount=70, delta=-70, balance_after=0, source="SYSTEM", source_id=GONE,
        period=0, created_at=LATER,
    ),
    customer(HANS, "Hans", balance=900, location=L2),
    entry(HANS, "ADD", 900, 900, location=L2),
]


async def main(url):
    printed, rows = await upgraded(url, "models.0010_customer_search", SETUP)
    db = connections.get("default")
    result = {
        "customers": await rows(
            "SELECT c.id, c.credit_balance, c.cashback_held, c.cashback_owed,"
            " (SELECT CAST(SUM(delta) AS BIGINT) FROM wallet_entries e"
            " WHERE e.customer_id = c.id),"
            " (SELECT CAST(SUM(remaining) AS BIGINT) FROM credit_lots l"
            " WHERE l.customer_id = c.id)"
            " FROM customers c ORDER BY c.id"
        ),
        "lots": await rows(
            "SELECT customer_id, location_id, source, amount, remaining, expires_on, entry_id,"
            " created_at FROM credit_lots ORDER BY customer_id"
        ),
    }
    if db.capabilities.dialect == "postgres":
        await db.execute_script("SET enable_seqscan = off")
        plan = await rows(
            "EXPLAIN SELECT id FROM credit_lots WHERE customer_id = '" + ANNA + "'"
            " AND remaining > 0 ORDER BY expires_on NULLS LAST, created_at, id"
        )
        result["plan"] = " ".join(str(row[0]) for row in plan)
    await Tortoise.close_connections()
    print(json.dumps(result, default=str))

asyncio.run(main(sys.argv[1]))
"""

L, L2 = "00000000-0000-7000-8000-00000000000a", "00000000-0000-7000-8000-00000000000b"
ANNA, JAN, EWA, GONE, HANS = (f"00000000-0000-7000-8000-0000000000a{n}" for n in range(1, 6))


async def test_migration_0013_makes_one_lot_of_every_balance_held(
    database: Settings, tmp_path: Path
) -> None:
    async with scratch_database(database, tmp_path) as url:
        result = await run_script(_MIGRATE_FROM_0010, url)

    # balances, held and owed cashback as they were; each balance the sum of its entries and
    # of its lots (none for a customer holding nothing)
    assert result["customers"] == [
        [ANNA, 300, 0, 0, 300, 300],
        [JAN, 0, 200, 0, None, None],
        [EWA, 150, 0, 50, 150, 150],
        [GONE, 0, 0, 0, 0, None],
        [HANS, 900, 0, 0, 900, 900],
    ]
    lots = [row[:7] for row in result["lots"]]
    assert lots == [
        [ANNA, L, "SYSTEM", 300, 300, None, None],
        [EWA, L, "SYSTEM", 150, 150, None, None],
        [HANS, L2, "SYSTEM", 900, 900, None, None],
    ]
    # dated at the wallet's last change, else the customer's creation
    assert [row[7][:10] for row in result["lots"]] == ["2026-11-02", "2026-11-01", "2026-11-01"]
    if "plan" in result:
        assert "credit_lots_spending" in result["plan"]
