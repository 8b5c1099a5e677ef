"""Tortoise configuration built from the settings; `TORTOISE_ORM` serves the `tortoise` CLI."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped]
from tortoise.backends.base.config_generator import expand_db_url

from settings import Settings, load_settings

MODEL_MODULES = ["models.entities", "models.wallet", "models.integrations", "models.checkout"]


def database_url(settings: Settings) -> str:
    """The URL with the pool size (PostgreSQL) or lock timeout (SQLite) set unless given."""
    parts = urlsplit(settings.database_url)
    query = dict(parse_qsl(parts.query))
    if settings.is_sqlite:
        query.setdefault("busy_timeout", "10000")
    else:
        query.setdefault("maxsize", str(settings.db_pool_size))
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


def connection_config(settings: Settings) -> dict[str, Any]:
    """Tortoise's connection entry: the URL expanded, and on PostgreSQL the pool's
    connections made `OwnedConnection`s that stay open."""
    config: dict[str, Any] = expand_db_url(database_url(settings))
    if not settings.is_sqlite:
        config["credentials"]["connection_class"] = OwnedConnection
        # Pooled connections stay open while the process lives: no idle timer to arm and
        # cancel on every release (asyncpg's default closes a connection idle for 300 s).
        config["credentials"]["max_inactive_connection_lifetime"] = 0
        # asyncpg's `timeout`: how long opening a connection may take (its default is 60 s).
        config["credentials"].setdefault("timeout", settings.db_connect_timeout_seconds)
    return config


def tortoise_config(settings: Settings) -> dict[str, Any]:
    return {
        "connections": {"default": connection_config(settings)},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "models.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


TORTOISE_ORM = tortoise_config(load_settings())
