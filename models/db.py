"""Opening, migrating and closing the database."""

from __future__ import annotations

from tortoise import Tortoise, connections
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.exceptions import IntegrityError
from tortoise.migrations.api import migrate
from tortoise.transactions import in_transaction as transaction

from models.config import tortoise_config
from settings import Settings

__all__ = [
    "IntegrityError",
    "close_database",
    "database_is_reachable",
    "migrate_database",
    "open_database",
    "transaction",
]


async def migrate_database(settings: Settings) -> None:
    """Apply every pending migration (Tortoise's own migrations) and close again."""
    try:
        await migrate(config=tortoise_config(settings))
    finally:
        await Tortoise.close_connections()


async def open_database(settings: Settings) -> None:
    # Tortoise caches SQL per connection name, not per dialect: a process that reopens the
    # database on another engine (the test suite runs SQLite, then PostgreSQL) must start clean.
    EXECUTOR_CACHE.clear()
    # The global fallback lets request tasks see the ORM that the lifespan task opened.
    await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)


async def close_database() -> None:
    await Tortoise.close_connections()


async def database_is_reachable() -> bool:
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception:
        return False
    return True
