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
    # Background jobs (bulk operations, schedule periods, sync runs): every running attempt
    # beats every `job_heartbeat_seconds`; one silent for `job_stale_after_seconds` is resumed
    # by the periodic check, which runs every `check_seconds` (a divisor of 60). So a job whose
    # worker died resumes within stale-after + check seconds (20 + 10 by default).
    job_max_attempts: int = 5
    job_heartbeat_seconds: float = 5.0
    job_stale_after_seconds: float = 20.0
    check_seconds: int = 10
    job_chunk_size: int = 5_000
    job_inline_limit: int = 500
    worker_max_jobs: int = 4
    job_timeout_seconds: int = 3_600
    # Upstream sync: the deadline of one sync's whole fetch, and an optional periodic sync of
    # every configured integration (off unless set).
    sync_deadline_seconds: float = 60.0
    sync_interval_seconds: float | None = None
    upstream_max_in_flight: int = 8
    # Seals integration secrets at rest: GOCRM_SECRET_KEY (comma-separated keys, the first
    # seals), or outside production a key file made in the working directory on first use.
    secret_key: str | None = None
    key_file: str = "gocrm.key"

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
        job_max_attempts=_integer(env, "GOCRM_JOB_MAX_ATTEMPTS", 5),
        job_heartbeat_seconds=_number(env, "GOCRM_JOB_HEARTBEAT", 5.0),
        job_stale_after_seconds=_number(env, "GOCRM_JOB_STALE_AFTER", 20.0),
        check_seconds=_divisor_of_minute(env, "GOCRM_CHECK_SECONDS", 10),
        job_chunk_size=_integer(env, "GOCRM_JOB_CHUNK_SIZE", 5_000),
        worker_max_jobs=_integer(env, "GOCRM_WORKER_MAX_JOBS", 4),
        job_timeout_seconds=_integer(env, "GOCRM_JOB_TIMEOUT", 3_600),
        sync_deadline_seconds=_number(env, "GOCRM_SYNC_DEADLINE", 60.0),
        sync_interval_seconds=_number(env, "GOCRM_SYNC_INTERVAL", 0.0) or None,
        upstream_max_in_flight=_integer(env, "GOCRM_UPSTREAM_MAX_IN_FLIGHT", 8),
        secret_key=env.get("GOCRM_SECRET_KEY") or None,
        key_file=env.get("GOCRM_KEY_FILE") or "gocrm.key",
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


def _divisor_of_minute(env: Mapping[str, str], name: str, default: int) -> int:
    value = _integer(env, name, default)
    if 60 % value:
        raise ValueError(f"{name} must divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)")
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
