"""Tortoise configuration built from a `DatabaseConfig`.

The data layer reads no environment: the composition root (`gateway.runtime.database_config`)
turns the settings into a `DatabaseConfig` and hands it to `models.db`, so importing any module
here works whatever the environment holds. The `tortoise` CLI's configuration is built by an
entry point above (`gateway.tortoise_cli`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped]
from tortoise.backends.base.config_generator import expand_db_url

MODEL_MODULES = [
    "models.tables.crm",
    "models.tables.wallet",
    "models.tables.integrations",
    "models.tables.checkouts",
    "models.tables.webhooks",
]


@dataclass(frozen=True)
class DatabaseConfig:
    """Which database to open and how: a plain value, so that the data layer depends on what
    it is given rather than on where the process found it."""

    url: str
    pool_size: int = 10
    # How long opening a PostgreSQL connection may take (asyncpg's `timeout`).
    connect_timeout_seconds: float = 5.0
    # A read-only streaming replica of the same database, for the back office's reads
    # (`models.replica`); PostgreSQL only.
    replica_url: str | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite://")


def database_url(database: DatabaseConfig) -> str:
    """The URL with the pool size (PostgreSQL) or lock timeout (SQLite) set unless given."""
    parts = urlsplit(database.url)
    query = dict(parse_qsl(parts.query))
    if database.is_sqlite:
        query.setdefault("busy_timeout", "10000")
        # Not through urlunsplit, which turns `sqlite:////abs` into the relative `sqlite://abs`.
        path = database.url.removeprefix("sqlite://").partition("?")[0]
        return f"sqlite://{path}?{urlencode(query)}"
    query.setdefault("maxsize", str(database.pool_size))
    return urlunsplit(parts._replace(query=urlencode(query)))


class OwnedConnection(asyncpg.Connection):  # type: ignore[misc]
    """A pooled PostgreSQL connection that nothing but this process's queries uses.

    asyncpg resets every connection it takes back into the pool (`pg_advisory_unlock_all();
    CLOSE ALL; UNLISTEN *; RESET ALL`): one more round trip per query, for session state we
    never create. We use no advisory locks, cursors outside transactions, LISTEN or session
    `SET`, so release resets nothing (an open transaction is still rolled back).
    """

    def get_reset_query(self) -> str:
        return ""


def connection_config(database: DatabaseConfig) -> dict[str, Any]:
    """Tortoise's connection entry: the URL expanded, and on PostgreSQL the pool's
    connections made `OwnedConnection`s that stay open."""
    config: dict[str, Any] = expand_db_url(database_url(database))
    if not database.is_sqlite:
        config["credentials"]["connection_class"] = OwnedConnection
        # Pooled connections stay open while the process lives: no idle timer to arm and
        # cancel on every release (asyncpg's default closes a connection idle for 300 s).
        config["credentials"]["max_inactive_connection_lifetime"] = 0
        # asyncpg's `timeout`: how long opening a connection may take (its default is 60 s).
        config["credentials"].setdefault("timeout", database.connect_timeout_seconds)
    return config


# The apps and their migration modules: the same whichever database opens them.
APPS: dict[str, dict[str, Any]] = {
    "models": {
        "models": MODEL_MODULES,
        "default_connection": "default",
        "migrations": "models.migrations",
    }
}


def tortoise_config(database: DatabaseConfig) -> dict[str, Any]:
    config: dict[str, Any] = {
        "connections": {"default": connection_config(database)},
        # A copy: Tortoise is free to change the configuration it is given.
        "apps": copy.deepcopy(APPS),
        "use_tz": True,
        "timezone": "UTC",
    }
    if database.replica_url is not None:
        # The replica's pool, as large as the primary's, and the router that sends the back
        # office's reads to it.
        replica = replace(database, url=database.replica_url, replica_url=None)
        config["connections"]["replica"] = connection_config(replica)
        config["routers"] = ["models.replica.ReplicaRouter"]
    return config
