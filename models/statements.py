"""Statements written as SQL, run through the connection Tortoise holds.

The ORM builds its SQL text and model objects anew on every call, which costs several times the
database's own work for a point read or a one-row insert. The hot statements of the till are
written once with PostgreSQL's `$n` placeholders and run here: on PostgreSQL asyncpg prepares
each on first use per connection and reuses it from its statement cache; on SQLite the same text
runs with `?n` placeholders. Inside a transaction (`models.db.transaction`) they run on that
transaction's connection.

Values go in as Python values. SQLite stores UUIDs and dates as text, so they are passed as
text there; datetimes go through the adapter Tortoise registers (`isoformat(" ")`), so a row
written here reads and sorts like one the ORM wrote.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from functools import cache
from typing import Any
from uuid import UUID

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

Row = Sequence[Any]


@cache
def _sqlite(sql: str) -> str:
    """The same statement with SQLite's numbered placeholders (`$1` → `?1`) and without
    PostgreSQL's casts (`$2::jsonb` → `?2`)."""
    return re.sub(r"\$(\d+)(::\w+)?", r"?\1", sql)


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    return value


async def fetch(sql: str, values: Sequence[Any]) -> tuple[list[Row], bool]:
    """The rows of one statement, and whether they came from PostgreSQL."""
    client = connections.get("default")
    postgres = client.capabilities.dialect == "postgres"
    client.log.debug("%s: %s", sql, values)
    async with client.acquire_connection() as connection:
        if postgres:
            return list(await connection.fetch(sql, *values)), True
        text_values = [_sqlite_value(v) for v in values]
        return list(await connection.execute_fetchall(_sqlite(sql), text_values)), False


async def fetch_in(
    sql: str, values: Sequence[Any], db: BaseDBAsyncClient
) -> tuple[list[Row], bool]:
    """The rows of one statement run in the transaction `db`, and whether they came from
    PostgreSQL."""
    if db.capabilities.dialect == "postgres":
        _, rows = await db.execute_query(sql, list(values))
        return [tuple(row.values()) for row in rows], True
    _, rows = await db.execute_query(_sqlite(sql), [_sqlite_value(v) for v in values])
    return [tuple(row.values()) if isinstance(row, dict) else tuple(row) for row in rows], False


def _same(value: Any) -> Any:
    return value


def _uuid_text(value: Any) -> Any:
    return None if value is None else UUID(value)


def _time_text(value: Any) -> Any:
    return None if value is None else datetime.fromisoformat(value)


Convert = Callable[[Any], Any]

# Per engine: how a UUID and a timestamp come back (asyncpg decodes them; SQLite stores text).
NATIVE: tuple[Convert, Convert] = (_same, _same)
TEXT: tuple[Convert, Convert] = (_uuid_text, _time_text)


def decoders(postgres: bool) -> tuple[Convert, Convert]:
    """How to read a UUID and a timestamp from a row of this engine."""
    return NATIVE if postgres else TEXT


async def execute(sql: str, values: Sequence[Any], db: BaseDBAsyncClient | None = None) -> int:
    """Run one write in `db` (the caller's transaction) or on its own; returns the rows it
    changed. A constraint it breaks raises Tortoise's `IntegrityError`, as the ORM's writes do."""
    client = db or connections.get("default")
    if client.capabilities.dialect == "postgres":
        changed, _ = await client.execute_query(sql, list(values))
    else:
        changed, _ = await client.execute_query(_sqlite(sql), [_sqlite_value(v) for v in values])
    return changed
