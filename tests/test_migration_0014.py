"""Upgrading with data in place: a database filled as 0010 left it, migrated to 0014, on SQLite
and PostgreSQL.

0014 keeps every row, balance and ledger entry, and adds the webhook tables and the triggers
that write the outbox: only for a location with an enabled endpoint that subscribes to the
event, for a wallet entry inserted and a sync run that finishes.
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
ANNA, JAN, HANS = (f"00000000-0000-7000-8000-0000000000a{n}" for n in range(1, 4))
OP, RUN, RUN2 = (f"00000000-0000-7000-8000-0000000000b{n}" for n in range(1, 4))
HOOK, OFF = "00000000-0000-7000-8000-0000000000c1", "00000000-0000-7000-8000-0000000000c2"
NOW = "2026-11-01 10:00:00+00:00"


def customer(id, first, balance=0, location=L):
    return insert(
        "customers", id=id, location_id=location, first_name=first, search_text=first.lower(),
        name_key=first.lower(), credit_balance=balance, created_at=NOW, updated_at=NOW,
    )


def entry(customer_id, delta, after, location=L, source=OP):
    return insert(
        "wallet_entries", location_id=location, customer_id=customer_id, kind="ADD",
        requested_amount=delta, delta=delta, balance_after=after, source="MANUAL",
        source_id=source, period=0, created_at=NOW,
    )


SETUP = [
    insert("locations", id=L, name="Bistro", currency="PLN", timezone="Europe/Warsaw",
           created_at=NOW),
    insert("locations", id=L2, name="Euro", currency="EUR", timezone="UTC", created_at=NOW),
    customer(ANNA, "Anna", balance=300),
    customer(JAN, "Jan", balance=120),
    customer(HANS, "Hans", balance=50, location=L2),
    insert("wallet_operations", id=OP, location_id=L, operation="ADD", amount=300,
           source="MANUAL", status="SUCCEEDED", total=2, processed=2, attempts=1,
           created_at=NOW),
    entry(ANNA, 300, 300),
    entry(JAN, 120, 120),
    entry(HANS, 50, 50, location=L2),
    insert("sync_runs", id=RUN, location_id=L, channel="GOPOS", status="RUNNING", attempts=1,
           fetched=0, linked=0, unmatched=0, written=0, created_at=NOW),
    insert("sync_runs", id=RUN2, location_id=L2, channel="GOPOS", status="RUNNING", attempts=1,
           fetched=0, linked=0, unmatched=0, written=0, created_at=NOW),
]


def endpoint(id, events, enabled=True):
    return insert(
        "webhook_endpoints", id=id, location_id=L, url=f"https://hooks.example.com/{id}",
        events=events,
        enabled=enabled, expiring_days_before=7, sealed_secret="sealed", consecutive_failures=0,
        created_at=NOW, updated_at=NOW,
    )


async def main(url):
    printed, rows = await upgraded(url, "models.0010_customer_search", SETUP)
    db = connections.get("default")
    result = {
        "customers": await rows(
            "SELECT c.id, c.credit_balance, (SELECT CAST(SUM(delta) AS BIGINT)"
            " FROM wallet_entries e WHERE e.customer_id = c.id) FROM customers c ORDER BY c.id"
        ),
        "entries": await rows("SELECT customer_id, delta, balance_after FROM wallet_entries"
                              " ORDER BY id"),
        "tables": [
            (await rows(f"SELECT COUNT(*) FROM {table}"))[0][0]
            for table in ("webhook_endpoints", "webhook_deliveries", "webhook_outbox")
        ],
    }
    # the triggers: an enabled endpoint of L for wallet changes and sync runs, a disabled one
    await db.execute_query(endpoint(HOOK, ",wallet.changed,sync.finished,"))
    await db.execute_query(endpoint(OFF, ",checkout.committed,", enabled=False))
    for statement in (
        entry(ANNA, 0, 300, source=RUN), entry(HANS, 0, 50, location=L2, source=RUN),
        f"UPDATE sync_runs SET attempts = 2 WHERE id = '{RUN}'",
        f"UPDATE sync_runs SET status = 'SUCCEEDED', finished_at = '{NOW}'",
    ):
        await db.execute_query(statement)
    result["outbox"] = await rows(
        "SELECT location_id, event, subject FROM webhook_outbox ORDER BY id"
    )
    newest = f"SELECT MAX(id) FROM wallet_entries WHERE customer_id = '{ANNA}'"
    result["entry"] = (await rows(newest))[0][0]
    await Tortoise.close_connections()
    print(json.dumps(result, default=str))

asyncio.run(main(sys.argv[1]))
"""

L, L2 = "00000000-0000-7000-8000-00000000000a", "00000000-0000-7000-8000-00000000000b"
ANNA, JAN, HANS = (f"00000000-0000-7000-8000-0000000000a{n}" for n in range(1, 4))
RUN = "00000000-0000-7000-8000-0000000000b2"


async def test_migration_0014_keeps_the_ledger_and_adds_webhooks_with_their_triggers(
    database: Settings, tmp_path: Path
) -> None:
    async with scratch_database(database, tmp_path) as url:
        result = await run_script(_MIGRATE_FROM_0010, url)

    # every balance kept, still the sum of its entries; every entry as it was
    assert result["customers"] == [[ANNA, 300, 300], [JAN, 120, 120], [HANS, 50, 50]]
    assert result["entries"] == [[ANNA, 300, 300], [JAN, 120, 120], [HANS, 50, 50]]
    # the webhook tables start empty
    assert result["tables"] == [0, 0, 0]
    # and afterwards, only the subscribed location's new entry and finished run are events
    assert result["outbox"] == [
        [L, "wallet.changed", str(result["entry"])],
        [L, "sync.finished", RUN],
    ]
