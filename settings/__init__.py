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
        db_pool_size=int(env.get("GOCRM_DB_POOL_SIZE", "10")),
        queue_name=env.get("GOCRM_QUEUE") or "arq:queue",
    )
