"""Upgrading with data in place: a database filled as 0010 left it, with a sale, a sale refunded
whole and a deleted customer's refunded sale, migrated to the latest migration, on SQLite and
PostgreSQL.

0011 keeps every row, balance and ledger entry; a sale refunded whole has had one refund that
gave back all of its group discount (on the refund and the sale), so that the daily limit's
usage, which now counts every sale not refunded whole less what its refunds gave back, is what
it was; a committed sale has had no refund, and its first refund takes number 1; one refunded
whole takes no more; and PostgreSQL's status column takes PARTIALLY_REFUNDED.
"""

from __future__ import annotations

from pathlib import Path

from settings import Settings
from tests.migrations import run_script, scratch_database

# Run in a process of its own: Tortoise's connections are global, and the suite's are open.
_MIGRATE_FROM_0010 = """
import asyncio, json, sys
from datetime import date
from uuid import UUID
from tortoise import Tortoise, connections
from tortoise.transactions import in_transaction
from tests.migrations import insert, upgraded
from models import checkouts, reads

L = "00000000-0000-7000-8000-00000000000a"
ANNA, GONE = "00000000-0000-7000-8000-0000000000a1", "00000000-0000-7000-8000-0000000000a2"
GROUP = "00000000-0000-7000-8000-0000000000e1"
OP = "00000000-0000-7000-8000-0000000000b1"
KEPT, REFUNDED = "00000000-0000-7000-8000-0000000000c1", "00000000-0000-7000-8000-0000000000c2"
GONE_SALE = "00000000-0000-7000-8000-0000000000c3"
R1, R2 = "00000000-0000-7000-8000-0000000000d1", "00000000-0000-7000-8000-0000000000d2"
NOW, LATER = "2026-11-01 10:00:00+00:00", "2026-11-01 11:00:00+00:00"
LINES = '[{"product_id": "p", "name": null, "category_id": null, "quantity": 2000,' \\
    ' "unit_price": 5000, "subtotal": 10000, "discount": 1000, "total": 9000}]'


def customer(id, balance, deleted_at=None):
    return insert(
        "customers", id=id, location_id=L, search_text="", credit_balance=balance,
        created_at=NOW, updated_at=NOW, deleted_at=deleted_at,
    )


def entry(customer_id, kind, requested, delta, after, source_id, period=0):
    return insert(
        "wallet_entries", location_id=L, customer_id=customer_id, kind=kind,
        requested_amount=requested, delta=delta, balance_after=after, source="CHECKOUT",
        source_id=source_id, period=period, created_at=NOW,
    )


def checkout(id, customer_id, status, group_discount, cashback):
    return insert(
        "checkouts", id=id, location_id=L, customer_id=customer_id, channel="POS",
        status=status, business_date="2026-11-01", lines=LINES, discounts="[]",
        subtotal=10000, discount_total=1000, total=9000, group_discount=group_discount,
        discount_reference="staly-klient", credits_used=0, cashback_granted=cashback,
        actor="till", idempotency_key=f"key-{id[-2:]}", request_hash="h", created_at=NOW,
        refunded_at=LATER if status == "REFUNDED" else None,
    )


def refund(id, checkout_id, cashback):
    return insert(
        "checkout_refunds", id=id, location_id=L, checkout_id=checkout_id, number=1,
        lines=LINES, credits_returned=0, cashback_reversed=cashback, cashback_owed=0,
        actor="till", created_at=LATER,
    )


SETUP = [
    insert("locations", id=L, name="L", currency="PLN", timezone="UTC", created_at=NOW),
    insert("customer_groups", id=GROUP, location_id=L, name="Stały klient",
           reference="staly-klient", created_at=NOW),
    customer(ANNA, 450),
    insert("group_memberships", group_id=GROUP, customer_id=ANNA, created_at=NOW),
    # Anna: a sale that took 10.00 of the daily limit and granted 4.50; another that took 6.00
    # and granted 4.50, refunded whole
    checkout(KEPT, ANNA, "COMMITTED", 1000, 450),
    entry(ANNA, "CASHBACK", 450, 450, 450, KEPT),
    checkout(REFUNDED, ANNA, "REFUNDED", 600, 450),
    entry(ANNA, "CASHBACK", 450, 450, 900, REFUNDED),
    entry(ANNA, "CASHBACK_REVERSAL", 450, -450, 450, REFUNDED, period=1),
    refund(R1, REFUNDED, 450),
    # a deleted customer's sale, refunded whole
    customer(GONE, 0, deleted_at=LATER),
    checkout(GONE_SALE, GONE, "REFUNDED", 300, 0),
    refund(R2, GONE_SALE, 0),
]


async def main(url):
    _, rows = await upgraded(url, "models.0010_customer_search", SETUP)
    snapshot = await reads.customer_for_pricing(UUID(L), date(2026, 11, 1), customer_id=UUID(ANNA))
    result = {
        "checkouts": await rows(
            "SELECT id, status, refund_count, refunded_quantities, group_discount,"
            " group_discount_returned FROM checkouts ORDER BY id"
        ),
        "refunds": await rows(
            "SELECT id, checkout_id, number, group_discount FROM checkout_refunds ORDER BY id"
        ),
        "customers": await rows(
            "SELECT c.id, c.credit_balance, (SELECT CAST(SUM(delta) AS BIGINT)"
            " FROM wallet_entries e WHERE e.customer_id = c.id) FROM customers c ORDER BY c.id"
        ),
        "used_today": dict(snapshot.used_today),
    }
    claims = {}
    async with in_transaction() as db:
        for name, sale in (("kept", KEPT), ("refunded", REFUNDED)):
            claim = await checkouts.claim_refund(UUID(sale), db)
            claims[name] = None if claim is None else [claim.number, claim.refunded]
        await db.execute_query(
            "UPDATE checkouts SET status = 'PARTIALLY_REFUNDED' WHERE id = '" + KEPT + "'"
        )
    result["claims"] = claims
    result["statuses"] = await rows("SELECT status FROM checkouts WHERE id = '" + KEPT + "'")
    await Tortoise.close_connections()
    print(json.dumps(result, default=str))

asyncio.run(main(sys.argv[1]))
"""

ANNA, GONE = "00000000-0000-7000-8000-0000000000a1", "00000000-0000-7000-8000-0000000000a2"
KEPT, REFUNDED = "00000000-0000-7000-8000-0000000000c1", "00000000-0000-7000-8000-0000000000c2"
GONE_SALE = "00000000-0000-7000-8000-0000000000c3"
R1, R2 = "00000000-0000-7000-8000-0000000000d1", "00000000-0000-7000-8000-0000000000d2"


async def test_migration_0011_records_whole_refunds_as_one_refund_of_everything(
    database: Settings, tmp_path: Path
) -> None:
    async with scratch_database(database, tmp_path) as url:
        result = await run_script(_MIGRATE_FROM_0010, url)

    # every sale kept; those refunded whole have had one refund giving back all of their
    # group discount; the committed one none
    assert result["checkouts"] == [
        [KEPT, "COMMITTED", 0, None, 1000, 0],
        [REFUNDED, "REFUNDED", 1, None, 600, 600],
        [GONE_SALE, "REFUNDED", 1, None, 300, 300],
    ]
    assert result["refunds"] == [[R1, REFUNDED, 1, 600], [R2, GONE_SALE, 1, 300]]
    # balances kept, still the sum of their entries
    assert result["customers"] == [[ANNA, 450, 450], [GONE, 0, None]]
    # the daily limit's usage is what it was: the committed sale's 10.00
    assert result["used_today"] == {"staly-klient": 1000}
    # the committed sale's first refund takes number 1; the one refunded whole takes none;
    # and the status column takes PARTIALLY_REFUNDED
    assert result["claims"] == {"kept": [1, None], "refunded": None}
    assert result["statuses"] == [["PARTIALLY_REFUNDED"]]
