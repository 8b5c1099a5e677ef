"""How a `gocrm` command reaches its database: which URLs it accepts, opening it migrated (on
SQLite) or refusing it while a migration is missing (on PostgreSQL), and the one line an operator
reads when it cannot be used.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from settings import Settings

T = TypeVar("T")

SUPPORTED_DATABASES = ("sqlite://", "postgres://", "postgresql://")


class CommandError(Exception):
    """An ordinary mistake; the message is the line the operator reads."""


def check_database_url(settings: Settings) -> None:
    """Refuses an unsupported DATABASE_URL, or an SQLite file whose folder does not exist."""
    if not settings.database_url.startswith(SUPPORTED_DATABASES):
        scheme = settings.database_url.partition("://")[0] or settings.database_url
        raise CommandError(
            f"DATABASE_URL: {scheme!r} is not supported; use sqlite://PATH or "
            "postgres://USER@HOST:PORT/DATABASE"
        )
    if settings.is_sqlite:
        _check_sqlite_path(settings.database_url.removeprefix("sqlite://").partition("?")[0])
    elif urlsplit(settings.database_url).path.strip("/") == "":
        # Else asyncpg connects to the database named like the user: the server's own.
        raise CommandError("DATABASE_URL names no database; use postgres://USER@HOST:PORT/DATABASE")


def _check_sqlite_path(path: str) -> None:
    """Tortoise's SQLite client hangs instead of failing when it cannot create the file: every
    path it would hang on is refused here, in one line."""
    if path == ":memory:":
        return
    if not path:
        raise CommandError(
            "DATABASE_URL: sqlite:// names no file; use sqlite://gocrm.sqlite3 (a relative path)"
            " or sqlite:////srv/gocrm/gocrm.sqlite3 (an absolute one)"
        )
    file = Path(path)
    if not file.parent.is_dir():
        raise CommandError(
            f"DATABASE_URL: the folder {str(file.parent)!r} for the SQLite file does not exist: "
            "create it or set DATABASE_URL"
        )
    if file.is_dir():
        raise CommandError(
            f"DATABASE_URL: {path!r} is a folder, not an SQLite file: name a file in it"
        )


def with_database(
    settings: Settings,
    action: Callable[[], Awaitable[T]],
    *,
    require_current: bool = True,
    migrate_first: bool | None = None,
) -> T:
    """Run `action` on an open, reachable database: migrated first on SQLite (or wherever
    `migrate_first` says); otherwise refused, with `require_current`, while a migration is
    missing."""
    from gateway.readiness import migrations_message
    from gateway.runtime import database_config
    from models.db import (
        check_database,
        close_database,
        migrate_database,
        missing_migrations,
        open_database,
    )

    migrate = settings.is_sqlite if migrate_first is None else migrate_first

    async def run() -> T:
        if migrate:
            await migrate_database(database_config(settings))
        await open_database(database_config(settings))
        try:
            if require_current and not migrate:
                if missing := await missing_migrations():  # reaches the database first
                    raise CommandError(migrations_message(missing))
            else:
                await check_database()
            return await action()
        finally:
            await close_database()

    return asyncio.run(run())


async def nothing() -> None:
    """The action of a command that only needs the database checked."""
    return


def database_line(error: BaseException, settings: Settings) -> str | None:
    """What is wrong with the configured database and what to do about it, for the failures an
    operator can fix; None for any other error."""
    from gateway.runtime import database_config
    from models.db import database_problem

    return database_problem(error, database_config(settings))
