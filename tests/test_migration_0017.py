"""Upgrading with data in place: a database filled as 0016 left it, with a committed sale, an
online sale refunded whole and one partly refunded (one unit of a line of two), migrated to the
latest migration, on SQLite and PostgreSQL.

0017 keeps every row, balance and ledger entry, and records on each sale what its refunds
reversed of its credits and online promotions: all of both for the sale refunded whole, the
shares `domain.refunds` gives for the quantities refunded so far for the partly refunded one,
nothing for the committed one. The owner's discount cost then counts the partly refunded sale
at what is left of it.
"""

from __future__ import annotations

from pathlib import Path

from settings import Settings
from tests.migrations import run_script, scratch_database

# Run in a process of its own: Tortoise's connections are global, and the suite's are open.
_MIGRATE_FROM_0016 = """
import asyncio, json, sys
from datetime import date
from uuid import UUID
from tortoise import Tortoise
from tests.migrations import insert, upgraded
from models import reports

L = "00000000-0000-7000-8000-00000000000a"
ANNA = "00000000-0000-7000-8000-0000000000a1"
KEPT, WHOLE = "00000000-0000-7000-8000-0000000000c1", "00000000-0000-7000-8000-0000000000c2"
PARTLY = "00000000-0000-7000-8000-0000000000c3"
NOW, LATER = "2026-11-01 10:00:00+00:00", "2026-11-01 11:00:00+00:00"
# two units of 50.00 with 20.00 off, one of 50.00 with 10.00 off: 30.00 off in all, of which
# 12.00 group discount, 11.00 promotions and 7.00 credits
LINES = json.dumps([
    {"product_id": "a", "name": None, "category_id": None, "quantity": 2000,
     "unit_price": 5000, "subtotal": 10000, "discount": 2000, "total": 8000},
    {"product_id": "b", "name": None, "category_id": None, "quantity": 1000,
     "unit_price": 5000, "subtotal": 5000, "discount": 1000, "total": 4000},
])
DISCOUNTS = json.dumps([
    {"id": "g", "kind": "GROUP_DISCOUNT", "name": "g", "amount": 1200, "reference": "staly",
     "removable": False},
    {"id": "p", "kind": "PROMOTION", "name": "p", "amount": 1100, "reference": "staly",
     "removable": False},
    {"id": "c", "kind": "PROMOTIONAL_CREDITS", "name": "c", "amount": 700, "reference": None,
     "removable": True},
])


def checkout(id, status, refunded, count, returned):
    return insert(
        "checkouts", id=id, location_id=L, customer_id=ANNA, channel="ONLINE",
        status=status, business_date="2026-11-01", lines=LINES, discounts=DISCOUNTS,
        subtotal=15000, discount_total=3000, total=12000, group_discount=1200,
        discount_reference="staly", credits_used=700, cashback_granted=0, actor="shop",
        idempotency_key=f"key-{id[-2:]}", request_hash="h", created_at=NOW,
        refunded_at=LATER if status == "REFUNDED" else None, refund_count=count,
        refunded_quantities=refunded, group_discount_returned=returned,
    )


def entry(kind, delta, after, source_id, period=0):
    return insert(
        "wallet_entries", location_id=L, customer_id=ANNA, kind=kind,
        requested_amount=abs(delta), delta=delta, balance_after=after, source="CHECKOUT",
        source_id=source_id, period=period, created_at=NOW,
    )


SETUP = [
    insert("locations", id=L, name="L", currency="PLN", timezone="UTC", created_at=NOW),
    insert("customers", id=ANNA, location_id=L, search_text="", credit_balance=2333,
           created_at=NOW, updated_at=NOW),
    entry("ADD", 3000, 3000, "00000000-0000-7000-8000-0000000000b1"),
    checkout(KEPT, "COMMITTED", None, 0, 0),
    entry("REDEEM", -700, 2300, KEPT),
    checkout(WHOLE, "REFUNDED", "[2000,1000]", 1, 1200),
    entry("REDEEM", -700, 1600, WHOLE),
    entry("REFUND", 700, 2300, WHOLE, period=1),
    checkout(PARTLY, "PARTIALLY_REFUNDED", "[1000,0]", 1, 400),
    entry("REDEEM", -700, 1600, PARTLY),
    entry("REFUND", 233, 1833, PARTLY, period=1),
    entry("ADD", 500, 2333, "00000000-0000-7000-8000-0000000000b2"),
]


async def main(url):
    _, rows = await upgraded(url, "models.0016_expiring_events", SETUP)
    day = date(2026, 11, 1)
    cost = await reports.discount_cost(UUID(L), day, day)
    result = {
        "checkouts": await rows(
            "SELECT id, status, credits_used_returned, promotions_returned,"
            " group_discount_returned FROM checkouts ORDER BY id"
        ),
        "customers": await rows(
            "SELECT c.id, c.credit_balance, (SELECT CAST(SUM(delta) AS BIGINT)"
            " FROM wallet_entries e WHERE e.customer_id = c.id) FROM customers c ORDER BY c.id"
        ),
        "cost": [
            [c.group_discounts, c.promotions, c.credits_used, c.sales] for c in cost
        ],
    }
    await Tortoise.close_connections()
    print(json.dumps(result, default=str))

asyncio.run(main(sys.argv[1]))
"""

ANNA = "00000000-0000-7000-8000-0000000000a1"
KEPT, WHOLE = "00000000-0000-7000-8000-0000000000c1", "00000000-0000-7000-8000-0000000000c2"
PARTLY = "00000000-0000-7000-8000-0000000000c3"


async def test_migration_0017_records_what_refunds_reversed_of_credits_and_promotions(
    database: Settings, tmp_path: Path
) -> None:
    async with scratch_database(database, tmp_path) as url:
        result = await run_script(_MIGRATE_FROM_0016, url)

    # refunded whole: all of both; partly (50.00 of 150.00 refunded): 2.33 of 7.00 credits
    # and 3.67 of 11.00 promotions by largest remainder; committed: nothing
    assert result["checkouts"] == [
        [KEPT, "COMMITTED", 0, 0, 0],
        [WHOLE, "REFUNDED", 700, 1100, 1200],
        [PARTLY, "PARTIALLY_REFUNDED", 233, 367, 400],
    ]
    # the balance kept, still the sum of its entries
    assert result["customers"] == [[ANNA, 2333, 2333]]
    # the day's cost: the committed sale whole, the partly refunded one at what is left
    assert result["cost"] == [[1200 + 800, 1100 + 733, 700 + 467, 2]]
