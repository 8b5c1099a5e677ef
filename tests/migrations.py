"""What the migration tests share: a scratch database of the run's engine, and a script run in a
process of its own (Tortoise's connections are global, and the suite's are open)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg

from settings import Settings


@asynccontextmanager
async def scratch_database(database: Settings, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty database of the same engine as `database`, dropped afterwards."""
    if database.is_sqlite:
        yield f"sqlite://{tmp_path / 'scratch.sqlite3'}"
        return
    server, _, _ = database.database_url.rpartition("/")
    name = f"gocrm_migration_{uuid4().hex[:8]}"
    admin = await asyncpg.connect(f"{server}/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{server}/{name}"
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def run_script(script: str, url: str) -> Any:
    """Run `script` with the database URL as its argument; the JSON of its last line."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await child.communicate()
    assert child.returncode == 0, err.decode()
    return json.loads(out.decode().strip().splitlines()[-1])


Rows = Callable[[str], Awaitable[list[list[Any]]]]


def insert(table: str, **row: Any) -> str:
    """An INSERT of `row` into `table`, its values written as SQL literals both engines read."""
    values = ", ".join(
        "NULL" if v is None else str(v).lower() if isinstance(v, bool) else repr(v)
        for v in row.values()
    )
    return f"INSERT INTO {table} ({', '.join(row)}) VALUES ({values})"


async def upgraded(url: str, previous: str, setup: Sequence[str]) -> tuple[str, Rows]:
    """Migrate the empty database at `url` to `previous` (e.g. "models.0006_…"), fill it with
    the `setup` statements, then migrate it to the latest migration: what the migrations
    printed, and a reader of rows as lists. Tortoise stays open for the caller to close. For
    the scripts `run_script` runs."""
    from tortoise import Tortoise, connections
    from tortoise.migrations.api import migrate

    from models import sql
    from models.config import DatabaseConfig, tortoise_config

    config = tortoise_config(DatabaseConfig(url=url))
    await migrate(config=config, target=previous)
    await Tortoise.init(config=config)
    for statement in setup:
        await connections.get("default").execute_query(statement)
    await Tortoise.close_connections()
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        await migrate(config=config)
    await Tortoise.init(config=config)
    db = connections.get("default")
    sql.use(db)

    async def rows(statement: str) -> list[list[Any]]:
        found = (await db.execute_query(statement))[1]
        return [list(row.values()) if hasattr(row, "values") else list(row) for row in found]

    return printed.getvalue(), rows
