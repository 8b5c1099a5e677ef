"""Runtime settings, read from the environment in one place.

Unset variables give the embedded default: a SQLite file in the working directory and jobs run
in-process. `DATABASE_URL` and `REDIS_URL` switch to PostgreSQL and arq workers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Environment = Literal["development", "production"]

DEFAULT_DATABASE_URL = "sqlite://gocrm.sqlite3"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    env: Environment = "development"
    db_pool_size: int = 10
    # Two deployments sharing one Redis database need different queues, or they take each
    # other's jobs.
    queue_name: str = "arq:queue"
    # Limits on one GraphQL request (production and development alike).
    max_query_cost: int = 20_000
    max_body_bytes: int = 1_048_576
    request_timeout_seconds: float = 15.0
    # Resolved API keys are cached per process for this long; a revocation reaches every
    # process within it.
    auth_cache_ttl_seconds: float = 5.0
    auth_cache_size: int = 10_000

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite://")


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    mode = env.get("GOCRM_ENV", "development").strip().lower()
    if mode not in ("development", "production"):
        raise ValueError(f"GOCRM_ENV must be 'development' or 'production', not {mode!r}")
    return Settings(
        database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        redis_url=env.get("REDIS_URL") or None,
        env="production" if mode == "production" else "development",
        db_pool_size=_integer(env, "GOCRM_DB_POOL_SIZE", 10),
        queue_name=env.get("GOCRM_QUEUE") or "arq:queue",
        max_query_cost=_integer(env, "GOCRM_MAX_QUERY_COST", 20_000),
        max_body_bytes=_integer(env, "GOCRM_MAX_BODY_BYTES", 1_048_576),
        request_timeout_seconds=_number(env, "GOCRM_REQUEST_TIMEOUT", 15.0),
        auth_cache_ttl_seconds=_number(env, "GOCRM_AUTH_CACHE_TTL", 5.0),
    )


def _integer(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be greater than 0, not {raw!r}")
    return value


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, not {raw!r}") from None
    if not value > 0:
        raise ValueError(f"{name} must be greater than 0, not {raw!r}")
    return value
