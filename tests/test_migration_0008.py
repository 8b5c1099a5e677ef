"""Upgrading with data in place: a database filled as 0006 left it, with a customer in two groups
whose sales today took group discounts through each of them, a promotion online, a refunded sale
and a sale with credits only, migrated to the latest migration, on SQLite and PostgreSQL.

0008 keeps every row, balance and entry; every location keeps credits on every channel; each
earlier sale records the group its group discount came through, so that a group's usage of its
daily limit today reads after the upgrade what those sales took through that group.
"""

from __future__ import annotations

from pathlib import Path

from settings import Settings
from tests.migrations import run_script, scratch_database

# Run in a process of its own: Tortoise's connections are global, and the suite's are open.
_MIGRATE_FROM_0006 = """
import asyncio, json, sys
from datetime import date
from uuid import UUID
from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate
from models import reads, sql
from models.config import DatabaseConfig, tortoise_config

L = "00000000-0000-7000-8000-00000000000a"
ANNA = "00000000-0000-7000-8000-0000000000a1"
REGULAR, VIP = "00000000-0000-7000-8000-0000000000e1", "00000000-0000-7000-8000-0000000000e2"
SALES = [f"00000000-0000-7000-8000-0000000000c{n}" for n in range(1, 7)]
OP = "00000000-0000-7000-8000-0000000000b1"
NOW = "2026-11-01 10:00:00+00:00"


def insert(table, **row):
    values = ", ".join("NULL" if v is None else repr(v) for v in row.values())
    return f"INSERT INTO {table} ({', '.join(row)}) VALUES ({values})"


def group(id, name, reference):
    return insert(
        "customer_groups", id=id, location_id=L, name=name, reference=reference, created_at=NOW
    )


def discount(kind, id, amount, reference):
    return {"id": id, "kind": kind, "name": id, "amount": amount, "reference": reference,
            "removable": True}


def by_group(id, amount, reference):
    return discount("GROUP_DISCOUNT", f"pos-discount:{id}", amount, reference)


def checkout(n, channel, status, discounts, group_discount, credits_used=0, day="2026-11-01"):
    total = 10000 - sum(d["amount"] for d in discounts)
    return insert(
        "checkouts", id=SALES[n], location_id=L, customer_id=ANNA, channel=channel,
        status=status, business_date=day, lines='[{"product_id": "p"}]',
        discounts=json.dumps(discounts), subtotal=10000, discount_total=10000 - total,
        total=total, group_discount=group_discount, credits_used=credits_used,
        cashback_granted=0, actor="till", idempotency_key=f"key-{n}", request_hash="h",
        created_at=NOW,
    )


SETUP = [
    insert("locations", id=L, name="L", currency="PLN", timezone="UTC", created_at=NOW),
    insert("customers", id=ANNA, location_id=L, search_text="", credit_balance=500,
           created_at=NOW, updated_at=NOW),
    group(REGULAR, "Stały klient", "staly-klient"),
    group(VIP, "VIP", "vip"),
    insert("group_memberships", customer_id=ANNA, group_id=REGULAR, created_at=NOW),
    insert("group_memberships", customer_id=ANNA, group_id=VIP, created_at=NOW),
    insert("wallet_operations", id=OP, location_id=L, operation="ADD", amount=1500,
           source="MANUAL", status="SUCCEEDED", total=1, processed=1, attempts=1,
           created_at=NOW),
    insert("wallet_entries", location_id=L, customer_id=ANNA, kind="ADD", requested_amount=1500,
           delta=1500, balance_after=1500, source="MANUAL", source_id=OP, period=0,
           created_at=NOW),
    # today: 50.00 through VIP, 10.00 and 5.00 through Stały klient (the second with credits)
    checkout(0, "POS", "COMMITTED", [by_group("v50", 5000, "vip")], 5000),
    checkout(1, "KIOSK", "COMMITTED", [by_group("d10", 1000, "staly-klient")], 1000),
    checkout(2, "POS", "COMMITTED", [
        by_group("d5", 500, "staly-klient"),
        discount("PROMOTIONAL_CREDITS", "credits", 1000, None),
    ], 500, credits_used=1000),
    insert("wallet_entries", location_id=L, customer_id=ANNA, kind="REDEEM",
           requested_amount=1000, delta=-1000, balance_after=500, source="CHECKOUT",
           source_id=SALES[2], period=0, created_at=NOW),
    # online, refunded, and yesterday's: none counts today
    checkout(3, "ONLINE", "COMMITTED", [discount("PROMOTION", "promotion:p1", 1500, "vip")], 0),
    checkout(4, "POS", "REFUNDED", [by_group("d10", 1000, "staly-klient")], 1000),
    checkout(5, "POS", "COMMITTED", [by_group("d10", 900, "staly-klient")], 900, day="2026-10-31"),
]


async def main(url):
    config = tortoise_config(DatabaseConfig(url=url))
    await migrate(config=config, target="models.0006_cashback_channels_refunds")
    await Tortoise.init(config=config)
    for statement in SETUP:
        await connections.get("default").execute_query(statement)
    await Tortoise.close_connections()
    await migrate(config=config)
    await Tortoise.init(config=config)
    db = connections.get("default")
    sql.use(db)

    async def rows(statement):
        found = (await db.execute_query(statement))[1]
        return [list(row.values()) if hasattr(row, "values") else list(row) for row in found]

    priced = await reads.customer_for_pricing(UUID(L), date(2026, 11, 1), customer_id=UUID(ANNA))
    result = {
        "locations": await rows("SELECT name, credit_channels FROM locations"),
        "checkouts": await rows(
            "SELECT id, status, group_discount, discount_reference, credits_used FROM checkouts"
            " ORDER BY id"
        ),
        "customers": await rows(
            "SELECT c.credit_balance, (SELECT CAST(SUM(delta) AS BIGINT) FROM wallet_entries e"
            " WHERE e.customer_id = c.id) FROM customers c"
        ),
        "used_today": dict(priced.used_today),
        "credit_channels": sorted(c.value for c in priced.credit_channels),
    }
    await Tortoise.close_connections()
    print(json.dumps(result, default=str))

asyncio.run(main(sys.argv[1]))
"""

SALES = [f"00000000-0000-7000-8000-0000000000c{n}" for n in range(1, 7)]


async def test_migration_0008_records_each_sales_group_and_keeps_credits_on_everywhere(
    database: Settings, tmp_path: Path
) -> None:
    async with scratch_database(database, tmp_path) as url:
        result = await run_script(_MIGRATE_FROM_0006, url)

    assert result["locations"] == [["L", "POS,KIOSK,ONLINE"]]
    assert result["checkouts"] == [
        [SALES[0], "COMMITTED", 5000, "vip", 0],
        [SALES[1], "COMMITTED", 1000, "staly-klient", 0],
        [SALES[2], "COMMITTED", 500, "staly-klient", 1000],
        [SALES[3], "COMMITTED", 0, None, 0],
        [SALES[4], "REFUNDED", 1000, "staly-klient", 0],
        [SALES[5], "COMMITTED", 900, "staly-klient", 0],
    ]
    # the balance still equals the ledger
    assert result["customers"] == [[500, 500]]
    # today's usage per group: VIP's 50.00 no longer counts against Stały klient's limit
    assert result["used_today"] == {"vip": 5000, "staly-klient": 1500}
    assert result["credit_channels"] == ["KIOSK", "ONLINE", "POS"]
