"""Upgrading with data in place: a database filled as the previous release (0005) left it, with
balances, sales (one refunded whose cashback reversal the balance could not cover), a deleted
customer, a schedule and old keys, migrated to 0006, on SQLite and PostgreSQL.

0006 keeps every row and balance, gives ADMIN keys every channel and POS keys POS and KIOSK,
records each earlier refund (its id the checkout's), and records what such a reversal could not
take as owed, on the refund and on the (live) customer.
"""

from __future__ import annotations

from pathlib import Path

from settings import Settings
from tests.migrations import run_script, scratch_database

# Run in a process of its own: Tortoise's connections are global, and the suite's are open.
_MIGRATE_FROM_0005 = """
import asyncio, json, sys
from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate
from models.config import DatabaseConfig, tortoise_config
from tests.migrations import run_script, scratch_database

L = "00000000-0000-7000-8000-00000000000a"
ADMIN, TILL = "00000000-0000-7000-8000-0000000000f1", "00000000-0000-7000-8000-0000000000f2"
ANNA, GONE = "00000000-0000-7000-8000-0000000000a1", "00000000-0000-7000-8000-0000000000a2"
OP, OP2, OP3, OP4 = (f"00000000-0000-7000-8000-0000000000b{n}" for n in range(1, 5))
KEPT, REFUNDED = "00000000-0000-7000-8000-0000000000c1", "00000000-0000-7000-8000-0000000000c2"
GONE_SALE = "00000000-0000-7000-8000-0000000000c3"
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


def entry(customer_id, kind, requested, delta, after, source, source_id):
    return insert(
        "wallet_entries", location_id=L, customer_id=customer_id, kind=kind,
        requested_amount=requested, delta=delta, balance_after=after, source=source,
        source_id=source_id, period=0, created_at=NOW,
    )


def checkout(id, customer_id, status, credits_used, cashback):
    return insert(
        "checkouts", id=id, location_id=L, customer_id=customer_id, channel="POS",
        status=status, business_date="2026-11-01", lines='[{"product_id": "p"}]',
        discounts="[]", subtotal=10000, discount_total=credits_used, total=10000 - credits_used,
        group_discount=0, credits_used=credits_used, cashback_granted=cashback, actor="till",
        idempotency_key=f"key-{id[-2:]}", request_hash="h", created_at=NOW,
        refunded_at=LATER if status == "REFUNDED" else None,
    )


SETUP = [
    insert("locations", id=L, name="L", currency="PLN", timezone="UTC", created_at=NOW),
    insert("api_keys", id=ADMIN, location_id=L, name="admin", role="ADMIN", key_hash="ha",
           created_at=NOW),
    insert("api_keys", id=TILL, location_id=L, name="till", role="POS", key_hash="ht",
           created_at=NOW),
    # Anna: 10.00 added; a sale of 100.00 with 5.00 cashback kept; another that used 10.00 of
    # credits and granted 4.50, refunded once 2.00 of the balance was left: the reversal took
    # 2.00 of the 4.50.
    customer(ANNA, 300),
    insert("wallet_operations", id=OP, location_id=L, operation="ADD", amount=1000,
           source="MANUAL", status="SUCCEEDED", total=1, processed=1, attempts=1,
           created_at=NOW),
    entry(ANNA, "ADD", 1000, 1000, 1000, "MANUAL", OP),
    checkout(KEPT, ANNA, "COMMITTED", 0, 500),
    entry(ANNA, "CASHBACK", 500, 500, 1500, "CHECKOUT", KEPT),
    checkout(REFUNDED, ANNA, "REFUNDED", 1000, 450),
    entry(ANNA, "REDEEM", 1000, -1000, 500, "CHECKOUT", REFUNDED),
    entry(ANNA, "CASHBACK", 450, 450, 950, "CHECKOUT", REFUNDED),
    entry(ANNA, "REDUCE", 950, -950, 0, "MANUAL", OP2),
    entry(ANNA, "REFUND", 1000, 1000, 1000, "CHECKOUT", REFUNDED),
    entry(ANNA, "REDUCE", 800, -800, 200, "MANUAL", OP3),
    entry(ANNA, "CASHBACK_REVERSAL", 450, -200, 0, "CHECKOUT", REFUNDED),
    entry(ANNA, "ADD", 300, 300, 300, "MANUAL", OP4),
    # a deleted customer whose refunded sale's reversal took nothing
    customer(GONE, 0, deleted_at=LATER),
    checkout(GONE_SALE, GONE, "REFUNDED", 0, 100),
    entry(GONE, "CASHBACK", 100, 100, 100, "CHECKOUT", GONE_SALE),
    entry(GONE, "REDUCE", 100, -100, 0, "MANUAL", OP),
    entry(GONE, "CASHBACK_REVERSAL", 100, 0, 0, "CHECKOUT", GONE_SALE),
    insert("idempotency_keys", location_id=L, key="refund-1", request_hash="h",
           kind="CHECKOUT_REFUND", record_id=REFUNDED, created_at=LATER),
    insert("credit_schedules", id=SCHEDULE, location_id=L, operation="ADD", amount=200, every=1,
           unit="MONTH", start_date="2027-01-01", target="CUSTOMERS",
           customer_ids=f'["{ANNA}"]', group_ids="[]", paused=False, last_period=-1,
           created_at=NOW),
]


async def main(url):
    config = tortoise_config(DatabaseConfig(url=url))
    await migrate(config=config, target="models.0005_wallet_operations_newest_first")
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
        "keys": await rows("SELECT name, role, channels FROM api_keys ORDER BY name"),
        "customers": await rows(
            "SELECT c.id, c.credit_balance, c.cashback_held, c.cashback_owed,"
            " (SELECT CAST(SUM(delta) AS BIGINT) FROM wallet_entries e"
            " WHERE e.customer_id = c.id)"
            " FROM customers c ORDER BY c.id"
        ),
        "refunds": await rows(
            "SELECT id, checkout_id, number, credits_returned, cashback_reversed,"
            " cashback_owed, created_at FROM checkout_refunds ORDER BY id"
        ),
        "checkouts": await rows(
            "SELECT id, status, cashback_held, cashback_release_at, api_key_id FROM checkouts"
            " ORDER BY id"
        ),
        "schedules": await rows("SELECT id, amount, next_run_on FROM credit_schedules"),
        "groups": await rows("SELECT count(*) FROM customer_groups"),
    }
    try:
        await db.execute_query(f"UPDATE customers SET cashback_owed = -1 WHERE id = '{ANNA}'")
        result["negative_owed_refused"] = False
    except Exception as error:
        result["negative_owed_refused"] = "customers_cashback_range" in str(error)
    await Tortoise.close_connections()
    print(json.dumps(result, default=str))

asyncio.run(main(sys.argv[1]))
"""

ANNA, GONE = "00000000-0000-7000-8000-0000000000a1", "00000000-0000-7000-8000-0000000000a2"
KEPT, REFUNDED = "00000000-0000-7000-8000-0000000000c1", "00000000-0000-7000-8000-0000000000c2"
GONE_SALE = "00000000-0000-7000-8000-0000000000c3"


async def test_migration_0006_upgrades_a_filled_database_and_records_what_was_lost(
    database: Settings, tmp_path: Path
) -> None:
    async with scratch_database(database, tmp_path) as url:
        result = await run_script(_MIGRATE_FROM_0005, url)

    assert result["keys"] == [["admin", "ADMIN", "POS,KIOSK,ONLINE"], ["till", "POS", "POS,KIOSK"]]
    # every balance kept and still the sum of its entries; the 2.50 the reversal could not
    # take is owed by Anna; the deleted customer owes nothing
    assert result["customers"] == [[ANNA, 300, 0, 250, 300], [GONE, 0, 0, 0, 0]]
    assert [r[:6] for r in result["refunds"]] == [
        [REFUNDED, REFUNDED, 1, 1000, 200, 250],
        [GONE_SALE, GONE_SALE, 1, 0, 0, 100],
    ]
    assert [r[6][:19] for r in result["refunds"]] == ["2026-11-02 10:00:00"] * 2
    assert result["checkouts"] == [
        [KEPT, "COMMITTED", 0, None, None],
        [REFUNDED, "REFUNDED", 0, None, None],
        [GONE_SALE, "REFUNDED", 0, None, None],
    ]
    assert result["schedules"] == [["00000000-0000-7000-8000-0000000000d1", 200, None]]
    assert result["negative_owed_refused"] is True
