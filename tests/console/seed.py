"""Creates the browser tests' locations in a fresh SQLite database before the gateway starts:
`python -m tests.console.seed DATABASE_FILE NAME...` prints {NAME: ADMIN key} as JSON.

Each test module works in a location of its own, so one gateway serves them all and no module
sees another's data."""

from __future__ import annotations

import asyncio
import json
import sys

from gateway.runtime import migrate, start_database, stop_database
from services.access import create_location
from settings import Settings


async def seed(database_file: str, names: list[str]) -> dict[str, str]:
    settings = Settings(database_url=f"sqlite://{database_file}")
    await migrate(settings)
    await start_database(settings)
    try:
        return {name: (await create_location(name))[1] for name in names}
    finally:
        await stop_database()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(seed(sys.argv[1], sys.argv[2:]))))
