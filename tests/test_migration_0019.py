"""Upgrading with data in place: a database filled as 0018 left it, with lots that expire, a
debit's take and an EXPIRE entry, migrated to 0019, on SQLite and PostgreSQL.

0019 adds the week ends of the lots that expire (none written yet), an index of those lots by
location and creation and one of the EXPIRE entries: every row, balance, lot, take and entry
stays as it was, the lots still sum to the balances, and what the lots held at past instants is
read from them, from the first entry and from a week end written after the migration (on
PostgreSQL the lots made and the EXPIRE entries written over a range through the new indexes).
"""

from __future__ import annotations

from pathlib import Path

from settings import Settings
from tests.migrations import run_script, scratch_database

_MIGRATE_FROM_0018 = """
import asyncio, json, sys
from datetime import UTC, date, datetime
from uuid import UUID
from tortoise import Tortoise, connections
from tests.migrations import insert, upgraded

L = "00000000-0000-7000-8000-00000000000a"
ANNA, JAN = (f"00000000-0000-7000-8000-0000000000a{n}" for n in range(1, 3))
OP, OTHER, SALE = (f"00000000-0000-7000-8000-0000000000b{n}" for n in range(1, 4))
CREATED = "2026-10-01 10:00:00+00:00"
TZ = "Europe/Warsaw"


def customer(id, first, balance):
    return insert(
        "customers", id=id, location_id=L, first_name=first, search_text=first.lower(),
        name_key=first.lower(), credit_balance=balance, created_at=CREATED, updated_at=CREATED,
    )


def entry(id, customer_id, kind, delta, after, source_id, at):
    return insert(
        "wallet_entries", id=id, location_id=L, customer_id=customer_id, kind=kind,
        requested_amount=abs(delta), delta=delta, balance_after=after, source="MANUAL",
        source_id=source_id, period=0, created_at=at,
    )


def lot(id, customer_id, entry_id, amount, remaining, expires_on):
    return insert(
        "credit_lots", id=id, location_id=L, customer_id=customer_id, entry_id=entry_id,
        source="MANUAL", amount=amount, remaining=remaining, expires_on=expires_on,
        created_at=CREATED,
    )


SETUP = [
    insert("locations", id=L, name="Bistro", currency="PLN", timezone="Europe/Warsaw",
           created_at=CREATED),
    customer(ANNA, "Anna", 300),
    customer(JAN, "Jan", 120),
    entry(1, ANNA, "ADD", 500, 500, OP, CREATED),
    entry(2, ANNA, "ADD", 100, 600, OTHER, CREATED),
    entry(3, JAN, "ADD", 120, 120, OP, CREATED),
    entry(4, ANNA, "REDEEM", -200, 400, SALE, "2026-10-15 10:00:00+00:00"),
    # the lot of 31 October expires at 00:30 on 1 November in Warsaw
    entry(5, ANNA, "EXPIRE", -100, 300, str(UUID(int=2)), "2026-10-31 23:30:00+00:00"),
    lot(1, ANNA, 1, 500, 300, "2026-11-30"),
    lot(2, ANNA, 2, 100, 0, "2026-10-31"),
    lot(3, JAN, 3, 120, 120, None),
    insert("credit_lot_takes", entry_id=4, lot_id=1, amount=200, restored=0),
]


async def main(url):
    printed, rows = await upgraded(url, "models.0018_expiry_runs", SETUP)
    from models import expiring_week_ends
    result = {
        "customers": await rows(
            "SELECT c.id, c.credit_balance, (SELECT CAST(SUM(delta) AS BIGINT)"
            " FROM wallet_entries e WHERE e.customer_id = c.id), (SELECT CAST(SUM(remaining)"
            " AS BIGINT) FROM credit_lots l WHERE l.customer_id = c.id)"
            " FROM customers c ORDER BY c.id"
        ),
        "lots": await rows("SELECT id, amount, remaining FROM credit_lots ORDER BY id"),
        "takes": await rows("SELECT entry_id, lot_id, amount, restored FROM credit_lot_takes"),
        "week_ends": await rows("SELECT COUNT(*) FROM expiring_at_week_end"),
    }
    async def held(moment, before=None, after=None):
        found = await expiring_week_ends.expiring_at(
            L, TZ, datetime.fromisoformat(moment), before, after
        )
        return [[str(day), amount] for day, amount in found]

    result["held"] = {
        moment: await held(moment)
        for moment in ("2026-10-10T22:00:00+00:00", "2026-10-20T22:00:00+00:00",
                       "2026-11-01T23:00:00+00:00")
    }
    written = await expiring_week_ends.written_through(
        L, TZ, date(2026, 10, 25), date(2026, 10, 1), datetime(2026, 12, 1, tzinfo=UTC)
    )
    result["written"] = str(written)
    result["from_week_end"] = await held("2026-11-01T23:00:00+00:00", before=written)
    result["back_from_week_end"] = await held("2026-10-20T22:00:00+00:00", after=written)
    db = connections.get("default")
    if db.capabilities.dialect == "postgres":
        result["indexes"] = await rows(
            "SELECT indexdef FROM pg_indexes"
            " WHERE tablename IN ('credit_lots', 'wallet_entries') ORDER BY indexname"
        )
        await db.execute_script("SET enable_seqscan = off")
        plans = []
        for statement in (
            "SELECT expires_on, amount FROM credit_lots WHERE location_id = '" + L
            + "' AND expires_on IS NOT NULL"
            " AND created_at >= '2026-10-01' AND created_at < '2026-11-01'",
            "SELECT source_id FROM wallet_entries WHERE location_id = '" + L
            + "' AND kind = 'EXPIRE' AND created_at >= '2026-10-01' AND created_at < '2026-11-01'",
        ):
            plan = await rows("EXPLAIN " + statement)
            plans.append(" ".join(str(row[0]) for row in plan))
        result["plans"] = plans
    else:
        result["indexes"] = await rows(
            "SELECT sql FROM sqlite_master WHERE type = 'index'"
            " AND tbl_name IN ('credit_lots', 'wallet_entries') AND sql IS NOT NULL ORDER BY name"
        )
    await Tortoise.close_connections()
    print(json.dumps(result, default=str))

asyncio.run(main(sys.argv[1]))
"""

ANNA, JAN = (f"00000000-0000-7000-8000-0000000000a{n}" for n in range(1, 3))


async def test_migration_0019_keeps_the_ledger_and_lots_and_reads_what_they_held_then(
    database: Settings, tmp_path: Path
) -> None:
    async with scratch_database(database, tmp_path) as url:
        result = await run_script(_MIGRATE_FROM_0018, url)

    # every balance kept, the sum of its entries and of its lots
    assert result["customers"] == [[ANNA, 300, 300, 300], [JAN, 120, 120, 120]]
    assert result["lots"] == [[1, 500, 300], [2, 100, 0], [3, 120, 120]]
    assert result["takes"] == [[4, 1, 200, 0]]
    assert result["week_ends"] == [[0]]
    # what the lots that expire held at three days' ends: before the take, after it, and
    # after the lot of 31 October expired; the last again from Sunday 25 October, written now, and
    # the second back from it
    assert result["held"] == {
        "2026-10-10T22:00:00+00:00": [["2026-10-31", 100], ["2026-11-30", 500]],
        "2026-10-20T22:00:00+00:00": [["2026-10-31", 100], ["2026-11-30", 300]],
        "2026-11-01T23:00:00+00:00": [["2026-11-30", 300]],
    }
    assert result["written"] == "2026-10-25"
    assert result["from_week_end"] == [["2026-11-30", 300]]
    assert result["back_from_week_end"] == [["2026-10-31", 100], ["2026-11-30", 300]]
    indexes = [
        row[0].replace('"', "").replace("(expires_on IS NOT NULL)", "expires_on IS NOT NULL")
        for row in result["indexes"]
    ]
    made = [index for index in indexes if "credit_lots_expiring_made" in index]
    expired = [index for index in indexes if "wallet_entries_expired" in index]
    assert len(made) == len(expired) == 1, indexes
    assert made[0].endswith(
        "(location_id, created_at, expires_on, amount) WHERE expires_on IS NOT NULL"
    ), made
    assert "(location_id, created_at) WHERE" in expired[0], expired
    assert "EXPIRE" in expired[0], expired
    if not database.is_sqlite:
        assert "Index Only Scan using credit_lots_expiring_made" in result["plans"][0]
        assert "wallet_entries_expired" in result["plans"][1]
