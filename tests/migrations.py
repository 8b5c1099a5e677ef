"""What the migration tests share: a scratch database of the run's engine, and a script run in a
process of its own (Tortoise's connections are global, and the suite's are open)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
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
