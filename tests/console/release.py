"""Releases the held cashback of the browser tests' database as the gateway's periodic check
would `DAYS` days from now: `python -m tests.console.release DATABASE_FILE DAYS` prints how
many sales were released. A test cannot wait for a hold of days to end."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta

from gateway.runtime import build_runtime, close_runtime, start_database, stop_database
from services.checkout import release_held_cashback
from settings import Settings


async def release(database_file: str, days: int) -> int:
    settings = Settings(database_url=f"sqlite://{database_file}")
    later = datetime.now(UTC) + timedelta(days=days)
    runtime = build_runtime(settings, clock=lambda: later)
    await start_database(settings)
    try:
        return await release_held_cashback(runtime)
    finally:
        await close_runtime(runtime)
        await stop_database()


if __name__ == "__main__":
    print(asyncio.run(release(sys.argv[1], int(sys.argv[2]))))
