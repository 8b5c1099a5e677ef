"""Tortoise configuration built from the settings; `TORTOISE_ORM` serves the `tortoise` CLI."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from settings import Settings, load_settings

MODEL_MODULES = ["models.entities", "models.wallet"]


def database_url(settings: Settings) -> str:
    """The URL with the pool size (PostgreSQL) or lock timeout (SQLite) set unless given."""
    parts = urlsplit(settings.database_url)
    query = dict(parse_qsl(parts.query))
    if settings.is_sqlite:
        query.setdefault("busy_timeout", "10000")
    else:
        query.setdefault("maxsize", str(settings.db_pool_size))
    return urlunsplit(parts._replace(query=urlencode(query)))


def tortoise_config(settings: Settings) -> dict[str, Any]:
    return {
        "connections": {"default": database_url(settings)},
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
