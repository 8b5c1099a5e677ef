"""One module knows the engine: `models.sql` spells what differs, and nothing else asks which
engine the database runs on."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest

from models import checkouts, keys, sql
from models.db import transaction
from models.mirror.indexed import matched_statement
from models.mirror.purge import purge_statement
from models.tables.crm import Location
from settings import Settings

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("domain", "models", "services", "adapters", "tasks", "gateway", "settings")
# The migrations are history: they run before the database opens, on the migrator's own
# connection, and are never edited once released.
EXEMPT = ("models/sql.py", "models/migrations/")
SWITCH = re.compile(r"capabilities\.dialect|[\"']postgres(ql)?[\"']")


def _sources() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def test_no_module_but_the_sql_module_asks_which_engine_it_is() -> None:
    # given the product's source, the SQL module and the released migrations aside
    checked = [path for path in _sources() if not str(path.relative_to(ROOT)).startswith(EXEMPT)]

    # when it is searched for a switch on the engine's name
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in checked
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if SWITCH.search(line)
    ]

    # then there is none
    assert len(checked) > 50
    assert found == []


def test_the_search_finds_a_switch_where_there_is_one() -> None:
    assert SWITCH.search('postgres = db.capabilities.dialect == "postgres"')
    assert SWITCH.search("if dialect == 'postgres':")
    assert not SWITCH.search('SUPPORTED = ("sqlite://", "postgres://")')
    assert SWITCH.search((ROOT / "models/sql.py").read_text())


def test_a_statement_is_written_once_and_rendered_for_sqlite() -> None:
    assert sql.POSTGRES.render(checkouts.INSERT_REFUND) == checkouts.INSERT_REFUND
    assert sql.SQLITE.render(checkouts.INSERT_REFUND) == (
        "\nINSERT INTO checkout_refunds (id, location_id, checkout_id, number, lines,"
        " credits_returned,\n    cashback_reversed, cashback_owed, actor, api_key_id,"
        " created_at, group_discount)\nVALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
    )
    assert sql.SQLITE.render(keys.KEY) == (
        "\nSELECT kind, request_hash, record_id FROM idempotency_keys"
        " WHERE location_id = ?1 AND key = ?2"
    )


def test_the_indexed_mirror_read_on_each_engine() -> None:
    columns = ("external_id", "name")

    postgres = matched_statement(sql.POSTGRES, "pos_customer_groups", columns, "NOT removed")
    sqlite = matched_statement(sql.SQLITE, "pos_customer_groups", columns, "NOT removed")

    assert postgres == (
        "SELECT reference_key, external_id, name, counting, total FROM ("
        "SELECT reference_key, external_id, name, NOT removed AS counting,"
        " row_number() OVER (PARTITION BY reference_key, NOT removed"
        ' ORDER BY external_id COLLATE "C") AS n,'
        " count(*) OVER (PARTITION BY reference_key, NOT removed) AS total"
        ' FROM "pos_customer_groups" WHERE location_id = $1 AND reference_key = ANY($2::text[])'
        ') AS found WHERE n <= $3 ORDER BY reference_key, external_id COLLATE "C"'
    )
    assert sqlite == (
        "SELECT reference_key, external_id, name, counting, total FROM ("
        "SELECT reference_key, external_id, name, NOT removed AS counting,"
        " row_number() OVER (PARTITION BY reference_key, NOT removed ORDER BY external_id)"
        " AS n, count(*) OVER (PARTITION BY reference_key, NOT removed) AS total"
        ' FROM "pos_customer_groups" WHERE location_id = ?'
        " AND reference_key IN (SELECT value FROM json_each(?))"
        ") AS found WHERE n <= ? ORDER BY reference_key, external_id"
    )


def test_the_purge_skips_held_rows_on_postgresql_only() -> None:
    assert purge_statement(sql.POSTGRES, "pos_discounts") == (
        'WITH purged AS (DELETE FROM "pos_discounts" WHERE id IN (SELECT id FROM'
        ' "pos_discounts" WHERE removed AND updated_at < $1 ORDER BY updated_at LIMIT $2'
        " FOR UPDATE SKIP LOCKED) RETURNING location_id) SELECT location_id FROM purged"
    )
    assert purge_statement(sql.SQLITE, "pos_discounts") == (
        'DELETE FROM "pos_discounts" WHERE id IN (SELECT id FROM "pos_discounts" WHERE removed'
        " AND updated_at < ? ORDER BY updated_at LIMIT ?) RETURNING location_id"
    )


def test_what_each_engine_spells_its_own_way() -> None:
    assert (sql.POSTGRES.greatest, sql.POSTGRES.least) == ("GREATEST", "LEAST")
    assert (sql.SQLITE.greatest, sql.SQLITE.least) == ("MAX", "MIN")
    assert sql.POSTGRES.keys_in("k", "$2", negate=True) == "k <> ALL($2::text[])"
    assert sql.SQLITE.keys_in("k", "?", negate=True) == "k NOT IN (SELECT value FROM json_each(?))"
    assert sql.POSTGRES.keys(["a", "b"]) == ["a", "b"]
    assert sql.SQLITE.keys(["a", "b"]) == '["a", "b"]'
    assert sql.POSTGRES.pick(postgres=1, sqlite=2) == 1
    assert sql.SQLITE.pick(postgres=1, sqlite=2) == 2


def test_rows_decode_the_same_on_both_engines() -> None:
    uid = UUID("00000000-0000-7000-8000-000000000001")
    at = datetime(2026, 12, 6, 7, 0, tzinfo=UTC)

    assert sql.POSTGRES.uuid(uid) == sql.SQLITE.uuid(str(uid)) == uid
    assert sql.POSTGRES.time(at) == sql.SQLITE.time(at.isoformat(" ")) == at
    assert sql.SQLITE.uuid(None) is None
    assert sql.SQLITE.time(None) is None


async def test_opening_the_database_chooses_its_dialect(database: Settings) -> None:
    assert sql.dialect() is (sql.SQLITE if database.is_sqlite else sql.POSTGRES)
    (row,) = await sql.fetch(sql.pool(), "SELECT $1::bigint AS answer", [42])
    assert (row[0], row["answer"]) == (42, 42)


BUMP = "UPDATE locations SET sync_version = sync_version + 1 WHERE id = $1"
VERSION = "SELECT sync_version FROM locations WHERE id = $1"


class UndoneError(Exception):
    """Rolls the transaction back, carrying what it saw."""


async def _bump_and_undo(location_id: UUID) -> None:
    async with transaction() as db:
        changed = await sql.execute(db, BUMP, [location_id])
        (seen,) = await sql.fetch(db, VERSION, [location_id])
        raise UndoneError(changed, seen[0])


async def test_a_statement_runs_on_the_connection_it_is_given(database: Settings) -> None:
    # given a location at sync version 0
    location = await Location.create(name="Bistro SQL")

    # when a transaction bumps it, reads it back, and is rolled back
    with pytest.raises(UndoneError) as undone:
        await _bump_and_undo(location.id)

    # then the transaction saw its own write, and the database keeps none of it
    assert undone.value.args == (1, 1)
    ((kept,),) = await sql.fetch(sql.pool(), VERSION, [location.id])
    assert kept == 0
