"""Which reads may go to the replica (`models.replica`): only inside a request's leave to, outside
a transaction, and before the request writes; the router names the replica for those alone. The
streaming replica itself is exercised in tests/faults/test_replica.py."""

from __future__ import annotations

import pytest

from models import replica, sql
from models.db import transaction
from settings import Settings, load_settings


async def test_reads_go_to_the_replica_only_within_leave_outside_transactions_and_before_writes(
    database: Settings,
) -> None:
    router = replica.ReplicaRouter()
    outside = (replica.reading_from_replica(), router.db_for_read(object))
    with replica.replica_reads():
        allowed = (replica.reading_from_replica(), router.db_for_read(object))
        async with transaction() as db:
            in_transaction = replica.reading_from_replica()
            await sql.fetch(db, "SELECT 1", [])
        after_write = (replica.reading_from_replica(), router.db_for_read(object))
    with replica.replica_reads():
        fresh = replica.reading_from_replica()
        assert router.db_for_write(object) is None  # writes go to the primary, and mark it
        after_orm_write = replica.reading_from_replica()
    with replica.replica_reads():
        await sql.execute(sql.pool(), "SELECT 1", [])
        after_statement = replica.reading_from_replica()

    assert outside == (False, None)
    assert allowed == (True, "replica")
    assert in_transaction is False
    assert after_write == (False, None)
    assert (fresh, after_orm_write, after_statement) == (True, False, False)


def test_a_replica_is_a_postgresql_one_of_a_postgresql_database() -> None:
    primary = "postgres://postgres@db/gocrm"
    replica_url = "postgres://postgres@replica/gocrm"

    settings = load_settings({"DATABASE_URL": primary, "GOCRM_REPLICA_DATABASE_URL": replica_url})

    assert settings.replica_database_url == replica_url
    assert load_settings({"DATABASE_URL": primary}).replica_database_url is None
    for env in (
        {"GOCRM_REPLICA_DATABASE_URL": replica_url},  # the default database is SQLite
        {"DATABASE_URL": primary, "GOCRM_REPLICA_DATABASE_URL": "sqlite:///tmp/x.sqlite3"},
    ):
        with pytest.raises(ValueError, match=r"^GOCRM_REPLICA_DATABASE_URL names a PostgreSQL"):
            load_settings(env)
