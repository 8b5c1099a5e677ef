"""Opening, migrating and closing the database."""

from __future__ import annotations

import functools
import sqlite3
from dataclasses import replace
from urllib.parse import urlsplit

import asyncpg  # type: ignore[import-untyped]
from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionContext
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.exceptions import DBConnectionError, IntegrityError, OperationalError
from tortoise.migrations.api import migrate
from tortoise.migrations.graph import MigrationKey
from tortoise.migrations.loader import MigrationLoader
from tortoise.migrations.recorder import MigrationRecorder
from tortoise.transactions import in_transaction

from models import replica, sql
from models.config import APPS, DatabaseConfig, tortoise_config

# The connection of an open transaction, for writes that must join it.
Transaction = BaseDBAsyncClient

__all__ = [
    "DatabaseConfig",
    "IntegrityError",
    "check_database",
    "close_database",
    "database_is_reachable",
    "database_problem",
    "database_unreachable",
    "lost_database",
    "migrate_database",
    "missing_migrations",
    "open_database",
    "tortoise_config",
    "transaction",
]


def transaction() -> TransactionContext:
    """A transaction on the primary. The request that opens one reads from the primary from then
    on (`models.replica`)."""
    replica.wrote()
    return in_transaction("default")


async def migrate_database(database: DatabaseConfig) -> None:
    """Apply every pending migration (Tortoise's own migrations) and close again."""
    try:
        await migrate(config=tortoise_config(replace(database, replica_url=None)))
    finally:
        await Tortoise.close_connections()


async def open_database(database: DatabaseConfig) -> None:
    # Tortoise caches SQL per connection name, not per dialect: a process that reopens the
    # database on another engine (the test suite runs SQLite, then PostgreSQL) must start clean.
    EXECUTOR_CACHE.clear()
    # The global fallback lets request tasks see the ORM that the lifespan task opened.
    await Tortoise.init(config=tortoise_config(database), _enable_global_fallback=True)
    sql.use(connections.get("default"))
    replica.opened(connections.get("default"))


async def close_database() -> None:
    await Tortoise.close_connections()


async def database_is_reachable() -> bool:
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception:
        return False
    return True


async def check_database() -> None:
    """Raises when the open database cannot be reached (connections are opened lazily)."""
    await connections.get("default").execute_query("SELECT 1")


async def missing_migrations() -> list[str]:
    """The migrations this code knows that the open database has not applied, in order.

    Empty when the database is current, including when it holds a newer migration than this
    code knows (a rolling deploy migrated it ahead of this process). Raises when the database
    cannot be reached; a missing record table counts as no migration applied.
    """
    await check_database()
    connection = connections.get("default")
    known = _known_migrations(tuple((label, app["migrations"]) for label, app in APPS.items()))
    applied = set(await MigrationRecorder(connection).applied_migrations())
    if not applied:
        # The recorder reads any failure as "no table": a database that went away mid-read
        # (restarting, failing over) must not pass for one that lacks every migration.
        await check_database()
    return [f"{key.app_label}.{key.name}" for key in known if key not in applied]


@functools.cache
def _known_migrations(modules: tuple[tuple[str, str], ...]) -> tuple[MigrationKey, ...]:
    """The migration files of each app, read once per process: they do not change under it."""
    loader = MigrationLoader({label: {"migrations": module} for label, module in modules}, None)  # type: ignore[arg-type]
    loader.load_disk()
    return tuple(sorted(loader.disk_migrations, key=lambda key: (key.app_label, key.name)))


def database_problem(error: BaseException, database: DatabaseConfig) -> str | None:
    """One line saying what is wrong with the configured database and what to do about it, for
    the failures an operator can fix (no such database, server down, login refused, an SQLite
    file that cannot be opened); None for any other error."""
    causes = _causes(error)
    parts = urlsplit(database.url)
    if database.is_sqlite:
        if any(isinstance(cause, sqlite3.OperationalError) for cause in causes) or isinstance(
            error, OperationalError
        ):
            path = database.url.removeprefix("sqlite://").split("?")[0]
            return (
                f"cannot open the SQLite database {path!r} ({error}): check that its folder "
                "exists and is writable, or set DATABASE_URL"
            )
        return None
    host, port, name = parts.hostname or "localhost", parts.port or 5432, parts.path.lstrip("/")
    where = f"{host}:{port}"
    if any(isinstance(cause, asyncpg.InvalidCatalogNameError) for cause in causes):
        return (
            f'PostgreSQL database "{name}" does not exist on {where}: create it '
            f"(createdb -h {host} -p {port} {name}) or fix DATABASE_URL"
        )
    refused = (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError)
    if any(isinstance(cause, refused) for cause in causes):
        return f"PostgreSQL on {where} refused the login ({causes[-1]}): fix DATABASE_URL"
    if any(isinstance(cause, OSError | asyncpg.CannotConnectNowError) for cause in causes):
        return (
            f"PostgreSQL is not reachable at {where} ({causes[-1]}): start it or fix DATABASE_URL"
        )
    return None


# What asyncpg raises when the server cannot be reached or went away: stopped, restarting,
# failing over or full. (Tortoise raises DBConnectionError for a database that does not exist.)
_UNREACHABLE = (
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08, and a connection lost mid-statement
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    DBConnectionError,
)


def database_unreachable(error: BaseException) -> bool:
    """Whether `error`, or an error it was raised from, says that PostgreSQL cannot be reached
    right now (refused or timed-out connections, a server shutting down or starting up, a
    connection lost mid-statement) rather than anything about the statement itself: a failure
    to retry once the database is back."""
    for cause in _causes(error):
        if isinstance(cause, _UNREACHABLE):
            return True
        if isinstance(cause, OSError) and _raised_by_driver(cause):
            return True
    return False


async def lost_database(error: BaseException) -> bool:
    """Whether `error` means the database is out of reach: `database_unreachable`, or a
    failure on asyncpg's side of a connection (closed under it, or out of step after the server
    ended it) while the database cannot be reached now. Such a failure with the database up
    is a bug, and is not taken for an outage."""
    if database_unreachable(error):
        return True
    driver = (asyncpg.InterfaceError, asyncpg.InternalClientError)
    if not any(isinstance(cause, driver) for cause in _causes(error)):
        return False
    return not await database_is_reachable()


def _raised_by_driver(error: BaseException) -> bool:
    """Whether `error` passed through asyncpg: a socket error there is the database's."""
    frame = error.__traceback__
    while frame is not None:
        if frame.tb_frame.f_globals.get("__name__", "").startswith("asyncpg."):
            return True
        frame = frame.tb_next
    return False


def _causes(error: BaseException) -> list[BaseException]:
    """The error and every error it was raised from, outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain
