"""Upgrading with data in place: a database filled as 0006 left it, migrated to the latest
migration, on SQLite and PostgreSQL.

0010 keeps every row, balance and ledger entry; stores the location's phones in E.164 (a phone
that is not a valid number stays as it was, counted in the report); normalises card codes,
and when two cards of a location normalise to the same code, keeps the code on the card already
in that form (else the oldest card), leaves the other as it was and reports it; rebuilds every
live customer's search text and name key; and on PostgreSQL adds a trigram index that serves
substring search.
"""

from __future__ import annotations

from pathlib import Path

from settings import Settings
from tests.migrations import run_script, scratch_database

# Run in a process of its own: Tortoise's connections are global, and the suite's are open.
_MIGRATE_FROM_0006 = """
import asyncio, contextlib, io, json, sys
from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate
from models.config import DatabaseConfig, tortoise_config

L, L2 = "00000000-0000-7000-8000-00000000000a", "00000000-0000-7000-8000-00000000000b"
ANNA, JAN, EWA = (f"00000000-0000-7000-8000-0000000000a{n}" for n in range(1, 4))
OLA, PIOTR, GONE, HANS = (f"00000000-0000-7000-8000-0000000000a{n}" for n in range(4, 8))
OP = "00000000-0000-7000-8000-0000000000b1"
NOW, LATER = "2026-11-01 10:00:00+00:00", "2026-11-02 10:00:00+00:00"


def insert(table, **row):
    values = ", ".join(
        "NULL" if v is None else str(v).lower() if isinstance(v, bool) else repr(v)
        for v in row.values()
    )
    return f"INSERT INTO {table} ({', '.join(row)}) VALUES ({values})"


def customer(id, first, last=None, email=None, phone=None, balance=0, location=L, deleted=None):
    # the search text as 0006 wrote it: case-folded, diacritics kept, the phone as typed
    text = " ".join(v.casefold() for v in (first, last, email, phone) if v)
    return insert(
        "customers", id=id, location_id=location, first_name=first, last_name=last,
        email=email, phone=phone, search_text="" if deleted else text, credit_balance=balance,
        created_at=NOW, updated_at=NOW, deleted_at=deleted,
    )


def card(n, customer_id, code, location=L):
    return insert(
        "customer_cards", id=f"00000000-0000-7000-8000-0000000000c{n}", location_id=location,
        customer_id=customer_id, code=code, position=0,
    )


SETUP = [
    insert("locations", id=L, name="Bistro", currency="PLN", timezone="Europe/Warsaw",
           created_at=NOW),
    insert("locations", id=L2, name="Euro", currency="EUR", timezone="UTC", created_at=NOW),
    customer(ANNA, "Anna", "Wiśniewska", "anna@example.com", "600 100 200", balance=300),
    insert("wallet_operations", id=OP, location_id=L, operation="ADD", amount=300,
           source="MANUAL", status="SUCCEEDED", total=1, processed=1, attempts=1,
           created_at=NOW),
    insert("wallet_entries", location_id=L, customer_id=ANNA, kind="ADD", requested_amount=300,
           delta=300, balance_after=300, source="MANUAL", source_id=OP, period=0,
           created_at=NOW),
    customer(JAN, "Jan", phone="call me"),
    customer(EWA, "Ewa", "Łącka", phone="+48 22 123 00 51"),
    customer(OLA, "Ola"),
    customer(PIOTR, "Piotr"),
    customer(GONE, None, deleted=LATER),
    # Jan's abc1 and Ewa's ABC1 are one code now: Ewa's is already in its form and keeps it.
    card(1, JAN, "abc1"),
    card(2, EWA, "ABC1"),
    card(3, EWA, "qq-7"),
    # Ola's Xy2 and Piotr's xY2: neither is in the form; the older card (Ola's) takes it.
    card(4, OLA, "Xy2"),
    card(5, PIOTR, "xY2"),
    # a location with no country of its own: numbers need their country code
    customer(HANS, "Hans", phone="030 1234567", location=L2),
    card(6, HANS, "abc1", location=L2),
]


async def main(url):
    config = tortoise_config(DatabaseConfig(url=url))
    await migrate(config=config, target="models.0006_cashback_channels_refunds")
    await Tortoise.init(config=config)
    for sql in SETUP:
        await connections.get("default").execute_query(sql)
    await Tortoise.close_connections()
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        await migrate(config=config)
    await Tortoise.init(config=config)
    db = connections.get("default")

    async def rows(sql):
        found = (await db.execute_query(sql))[1]
        return [list(row.values()) if hasattr(row, "values") else list(row) for row in found]

    result = {
        "customers": await rows(
            "SELECT c.id, c.phone, c.search_text, c.name_key, c.credit_balance,"
            " (SELECT CAST(SUM(delta) AS BIGINT) FROM wallet_entries e"
            " WHERE e.customer_id = c.id)"
            " FROM customers c ORDER BY c.id"
        ),
        "cards": await rows("SELECT customer_id, code FROM customer_cards ORDER BY id"),
        "report": [line for line in printed.getvalue().splitlines() if line.startswith("0010")],
    }
    if db.capabilities.dialect == "postgres":
        await db.execute_script("SET enable_seqscan = off")
        plan = await rows(
            "EXPLAIN SELECT id FROM customers WHERE CAST(search_text AS VARCHAR) LIKE '%isni%'"
        )
        result["plan"] = " ".join(str(row[0]) for row in plan)
    await Tortoise.close_connections()
    print(json.dumps(result, default=str))

asyncio.run(main(sys.argv[1]))
"""

L, L2 = "00000000-0000-7000-8000-00000000000a", "00000000-0000-7000-8000-00000000000b"
ANNA, JAN, EWA = (f"00000000-0000-7000-8000-0000000000a{n}" for n in range(1, 4))
OLA, PIOTR, GONE, HANS = (f"00000000-0000-7000-8000-0000000000a{n}" for n in range(4, 8))


async def test_migration_0010_renormalises_phones_cards_and_search_and_reports_collisions(
    database: Settings, tmp_path: Path
) -> None:
    async with scratch_database(database, tmp_path) as url:
        result = await run_script(_MIGRATE_FROM_0006, url)

    # every row and balance kept, still the sum of its entries; phones in E.164 where they are
    # valid numbers of the location's country, else as they were
    assert result["customers"] == [
        [
            ANNA,
            "+48600100200",
            "anna wisniewska anna@example.com 48600100200",
            "wisniewska anna",
            300,
            300,
        ],
        [JAN, "call me", "jan abc1", "jan", 0, None],
        [EWA, "+48221230051", "ewa lacka 48221230051 abc1 qq-7", "lacka ewa", 0, None],
        [OLA, None, "ola xy2", "ola", 0, None],
        [PIOTR, None, "piotr xy2", "piotr", 0, None],
        [GONE, None, "", "", 0, None],
        [HANS, "030 1234567", "hans 0301234567 abc1", "hans", 0, None],
    ]
    # no card lost: the ones that would collide keep their code, for a person to resolve
    assert result["cards"] == [
        [JAN, "abc1"],
        [EWA, "ABC1"],
        [EWA, "QQ-7"],
        [OLA, "XY2"],
        [PIOTR, "xY2"],
        [HANS, "ABC1"],  # another location's cards do not collide
    ]
    assert result["report"] == [
        f"0010: location {L}: card code 'abc1' of customer {JAN} left as it was: 'ABC1' is "
        f"customer {EWA}'s card",
        f"0010: location {L}: card code 'xY2' of customer {PIOTR} left as it was: 'XY2' is "
        f"customer {OLA}'s card",
        f"0010: location {L}: 1 phone number(s) are not valid numbers (read in PL) and were "
        "left as they were",
        f"0010: location {L2}: 1 phone number(s) are not valid numbers (read in no country) "
        "and were left as they were",
    ]
    if not database.is_sqlite:
        assert "customers_search_text_trgm" in result["plan"]
