"""Runtime settings, read from the environment in one place.

Unset variables give the embedded default: a SQLite file in the working directory and jobs run
in-process. `DATABASE_URL` and `REDIS_URL` switch to PostgreSQL and arq workers.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, NamedTuple

Environment = Literal["development", "production"]
LogFormat = Literal["json", "text"]

DEFAULT_DATABASE_URL = "sqlite://gocrm.sqlite3"


class RateLimit(NamedTuple):
    """Requests a second one API key may make on average, and how many it may make at once."""

    per_second: int
    burst: int


DEFAULT_RATE_LIMIT_POS = RateLimit(30, 60)
DEFAULT_RATE_LIMIT_ADMIN = RateLimit(60, 120)


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    env: Environment = "development"
    db_pool_size: int = 10
    # A read-only streaming replica of `database_url` (PostgreSQL), for the back office's
    # reads: ADMIN keys' queries read lists from it; tills, mutations and jobs never do.
    replica_database_url: str | None = None
    # How long opening a PostgreSQL connection may take: while the database is unreachable,
    # requests fail after at most this long (503 DATABASE_UNAVAILABLE) instead of hanging.
    db_connect_timeout_seconds: float = 5.0
    # Two deployments sharing one Redis database need different queues, or they take each
    # other's jobs.
    queue_name: str = "arq:queue"
    # Limits on one GraphQL request (production and development alike).
    max_query_cost: int = 20_000
    max_body_bytes: int = 1_048_576
    request_timeout_seconds: float = 15.0
    # Back-office (ADMIN) requests of one location that one process runs at once; the others
    # wait their turn, so that one location's back office cannot crowd out others' tills.
    backoffice_concurrency: int = 2
    # Resolved API keys are cached per process for this long; a revocation reaches every
    # process within it.
    auth_cache_ttl_seconds: float = 5.0
    auth_cache_size: int = 10_000
    # Days an idempotency key answers retries of its request; then the periodic check forgets it.
    idempotency_retention_days: int = 30
    # Requests per API key, by role (None: unlimited); shared through Redis when it is set.
    rate_limit_pos: RateLimit | None = DEFAULT_RATE_LIMIT_POS
    rate_limit_admin: RateLimit | None = DEFAULT_RATE_LIMIT_ADMIN
    # Background jobs (bulk operations, schedule periods, sync runs): every running attempt
    # beats every `job_heartbeat_seconds`; one silent for `job_stale_after_seconds` is resumed
    # by the periodic check, which runs every `check_seconds` (a divisor of 60). So a job whose
    # worker died resumes within stale-after + check seconds (15 + 5 by default), and commits
    # its next chunk a few seconds later: under 30 seconds from the death.
    job_max_attempts: int = 5
    job_heartbeat_seconds: float = 3.0
    job_stale_after_seconds: float = 15.0
    check_seconds: int = 5
    job_chunk_size: int = 5_000
    # Seconds a job waits after each chunk it commits, giving the tills the database's CPU
    # and the rows the chunk held (0: no wait; see the chain benchmark).
    job_chunk_pause_seconds: float = 0.0
    job_inline_limit: int = 500
    worker_max_jobs: int = 4
    job_timeout_seconds: int = 3_600
    # Upstream sync: the deadline of one sync's whole fetch, and an optional periodic sync of
    # every configured integration (off unless set).
    sync_deadline_seconds: float = 60.0
    sync_interval_seconds: float | None = None
    # A location's mirror of an upstream: at most this many objects (GoPOS groups and discounts
    # together, GoOrder promotions), and rows gone upstream purged this many days later.
    mirror_max_objects: int = 20_000
    mirror_retention_days: int = 30
    upstream_max_in_flight: int = 8
    # The most one upstream answer's body may hold, decompressed or not (8 MiB).
    upstream_max_bytes: int = 8_388_608
    # Networks an upstream base URL may resolve to besides public addresses; None: any address
    # (the default outside production, where the simulators run on loopback).
    upstream_allow: tuple[str, ...] | None = None
    # Seals integration secrets at rest: GOCRM_SECRET_KEY (comma-separated keys, the first
    # seals), or outside production a key file made in the working directory on first use.
    secret_key: str | None = None
    key_file: str = "gocrm.key"
    # Observability: log lines as JSON (production's default) or as text; Prometheus metrics
    # shared through `metrics_dir` by every `gocrm serve` and `gocrm worker` process of a host,
    # readable by the client addresses (or networks) in `metrics_allow`; a worker on a host of
    # its own serves them on `worker_metrics_port`.
    log_format: LogFormat = "text"
    metrics_dir: str = "gocrm-metrics"
    metrics_allow: tuple[str, ...] = ("127.0.0.1", "::1")
    worker_metrics_port: int | None = None
    # Scale-out: uvicorn processes of `gocrm serve` (unset: 2 on PostgreSQL, 1 on SQLite), and
    # the seconds a stopping process gives its requests (and a worker its jobs) to finish.
    workers: int | None = None
    shutdown_grace_seconds: int = 20
    # Each server process closes a connection that has not sent a complete request head within
    # `header_timeout_seconds` (of opening, or of its previous response), and answers 503 to
    # connections beyond `max_connections` open at once, or `max_connections_per_client` from
    # one client address.
    header_timeout_seconds: float = 10.0
    max_connections: int = 2_048
    max_connections_per_client: int = 256
    # Trusted documents (`gateway.graphql.trusted`): an operator's manifest of their own
    # clients' documents, besides the product's; and whether, in production, ADMIN keys too may
    # run only trusted documents (till keys always do there).
    trusted_documents: str | None = None
    trusted_documents_for_admin: bool = False

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def server_workers(self) -> int:
        """`gocrm serve`'s processes: `workers`, or what suits two cores and the database."""
        if self.workers is not None:
            return self.workers
        return 1 if self.is_sqlite else 2

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite://")


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    mode = env.get("GOCRM_ENV", "development").strip().lower()
    if mode not in ("development", "production"):
        raise ValueError(f"GOCRM_ENV must be 'development' or 'production', not {mode!r}")
    log_format = (env.get("GOCRM_LOG_FORMAT") or "").strip().lower()
    if log_format not in ("", "json", "text"):
        raise ValueError(f"GOCRM_LOG_FORMAT must be 'json' or 'text', not {log_format!r}")
    default_format = "json" if mode == "production" else "text"
    worker_port = _integer(env, "GOCRM_WORKER_METRICS_PORT", 0) or None
    if worker_port is not None and worker_port > 65_535:
        raise ValueError(f"GOCRM_WORKER_METRICS_PORT must be a TCP port, not {worker_port}")
    return Settings(
        database_url=_database_url(env.get("DATABASE_URL") or DEFAULT_DATABASE_URL),
        redis_url=_redis_url(env.get("REDIS_URL") or None),
        env="production" if mode == "production" else "development",
        db_pool_size=_integer(env, "GOCRM_DB_POOL_SIZE", 10),
        replica_database_url=_replica_url(env),
        db_connect_timeout_seconds=_number(env, "GOCRM_DB_CONNECT_TIMEOUT", 5.0),
        queue_name=env.get("GOCRM_QUEUE") or "arq:queue",
        max_query_cost=_integer(env, "GOCRM_MAX_QUERY_COST", 20_000),
        max_body_bytes=_integer(env, "GOCRM_MAX_BODY_BYTES", 1_048_576),
        request_timeout_seconds=_number(env, "GOCRM_REQUEST_TIMEOUT", 15.0),
        backoffice_concurrency=_nonnegative(env, "GOCRM_BACKOFFICE_CONCURRENCY", 2),
        auth_cache_ttl_seconds=_number(env, "GOCRM_AUTH_CACHE_TTL", 5.0),
        idempotency_retention_days=_integer(env, "GOCRM_IDEMPOTENCY_RETENTION_DAYS", 30),
        rate_limit_pos=_rate_limit(env, "GOCRM_RATE_LIMIT_POS", DEFAULT_RATE_LIMIT_POS),
        rate_limit_admin=_rate_limit(env, "GOCRM_RATE_LIMIT_ADMIN", DEFAULT_RATE_LIMIT_ADMIN),
        job_max_attempts=_integer(env, "GOCRM_JOB_MAX_ATTEMPTS", 5),
        job_heartbeat_seconds=_number(env, "GOCRM_JOB_HEARTBEAT", 3.0),
        job_stale_after_seconds=_number(env, "GOCRM_JOB_STALE_AFTER", 15.0),
        check_seconds=_divisor_of_minute(env, "GOCRM_CHECK_SECONDS", 5),
        job_chunk_size=_integer(env, "GOCRM_JOB_CHUNK_SIZE", 5_000),
        job_chunk_pause_seconds=_seconds_or_zero(env, "GOCRM_JOB_CHUNK_PAUSE", 0.0),
        worker_max_jobs=_integer(env, "GOCRM_WORKER_MAX_JOBS", 4),
        job_timeout_seconds=_integer(env, "GOCRM_JOB_TIMEOUT", 3_600),
        sync_deadline_seconds=_number(env, "GOCRM_SYNC_DEADLINE", 60.0),
        sync_interval_seconds=_number(env, "GOCRM_SYNC_INTERVAL", 0.0) or None,
        mirror_max_objects=_integer(env, "GOCRM_MIRROR_MAX_OBJECTS", 20_000),
        mirror_retention_days=_integer(env, "GOCRM_MIRROR_RETENTION_DAYS", 30),
        upstream_max_in_flight=_integer(env, "GOCRM_UPSTREAM_MAX_IN_FLIGHT", 8),
        upstream_max_bytes=_integer(env, "GOCRM_UPSTREAM_MAX_BYTES", 8_388_608),
        upstream_allow=_upstream_allow(env, production=mode == "production"),
        secret_key=env.get("GOCRM_SECRET_KEY") or None,
        key_file=env.get("GOCRM_KEY_FILE") or "gocrm.key",
        log_format="json" if (log_format or default_format) == "json" else "text",
        metrics_dir=env.get("GOCRM_METRICS_DIR") or "gocrm-metrics",
        metrics_allow=_addresses(env, "GOCRM_METRICS_ALLOW", ("127.0.0.1", "::1")),
        worker_metrics_port=worker_port,
        workers=_integer(env, "GOCRM_WORKERS", 0) or None,
        shutdown_grace_seconds=_integer(env, "GOCRM_SHUTDOWN_GRACE", 20),
        header_timeout_seconds=_number(env, "GOCRM_HEADER_TIMEOUT", 10.0),
        max_connections=_integer(env, "GOCRM_MAX_CONNECTIONS", 2_048),
        max_connections_per_client=_integer(env, "GOCRM_MAX_CONNECTIONS_PER_CLIENT", 256),
        trusted_documents=env.get("GOCRM_TRUSTED_DOCUMENTS") or None,
        trusted_documents_for_admin=_flag(env, "GOCRM_TRUSTED_DOCUMENTS_FOR_ADMIN"),
    )


def _database_url(url: str) -> str:
    """`DATABASE_URL` as given, except that SQLAlchemy's four-slash form of an absolute SQLite
    path (`sqlite:////srv/gocrm.sqlite3`) becomes this project's `sqlite:///srv/gocrm.sqlite3`."""
    return re.sub(r"^sqlite:////+", "sqlite:///", url.strip())


def _replica_url(env: Mapping[str, str]) -> str | None:
    url = (env.get("GOCRM_REPLICA_DATABASE_URL") or "").strip() or None
    if url is None:
        return None
    primary = env.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if not url.startswith(("postgres://", "postgresql://")) or primary.startswith("sqlite://"):
        raise ValueError(
            "GOCRM_REPLICA_DATABASE_URL names a PostgreSQL replica of a PostgreSQL DATABASE_URL"
        )
    return url


def _redis_url(url: str | None) -> str | None:
    if url is not None and not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(
            f"REDIS_URL must start with redis://, rediss:// or unix://, not {url!r}"
            " (redis://127.0.0.1:6379/0, say)"
        )
    return url


def _upstream_allow(env: Mapping[str, str], *, production: bool) -> tuple[str, ...] | None:
    """`GOCRM_UPSTREAM_ALLOW`: `*` for any address, or networks allowed besides public ones.
    Unset: public addresses only in production, any address otherwise."""
    raw = (env.get("GOCRM_UPSTREAM_ALLOW") or "").strip()
    if raw == "*" or (not raw and not production):
        return None
    return _addresses(env, "GOCRM_UPSTREAM_ALLOW", ())


def _addresses(env: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """Comma-separated IP addresses and networks (`10.0.0.0/8`), each checked."""
    raw = env.get(name)
    if not raw or not raw.strip():
        return default
    entries = tuple(part.strip() for part in raw.split(",") if part.strip())
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValueError(
                f"{name} takes IP addresses and networks such as 10.0.0.0/8, not {entry!r}"
            ) from None
    return entries


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw not in ("", "0", "1", "true", "false"):
        raise ValueError(f"{name} must be 1 or 0 (true or false), not {raw!r}")
    return raw in ("1", "true")


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


def _rate_limit(env: Mapping[str, str], name: str, default: RateLimit) -> RateLimit | None:
    """`RATE/BURST` (`30/60`: 30 requests a second, 60 at once), `RATE` alone for bursts of
    twice the rate, or `0` for no limit."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if raw == "0":
        return None
    if found := re.fullmatch(r"([0-9]+) */ *([0-9]+)|([0-9]+)", raw):
        rate, burst, alone = found.groups()
        per_second = int(rate or alone)
        at_once = int(burst) if burst else 2 * per_second
        if per_second > 0 and at_once > 0:
            return RateLimit(per_second, at_once)
    raise ValueError(
        f"{name} takes requests a second and a burst such as 30/60, a rate alone (bursts of"
        f" twice it), or 0 for no limit; not {raw!r}"
    )


def _nonnegative(env: Mapping[str, str], name: str, default: int) -> int:
    """A whole number, 0 included (0 turns the limit it sets off)."""
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must not be negative, not {raw!r}")
    return value


def _divisor_of_minute(env: Mapping[str, str], name: str, default: int) -> int:
    value = _integer(env, name, default)
    if 60 % value:
        raise ValueError(f"{name} must divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)")
    return value


def _seconds_or_zero(env: Mapping[str, str], name: str, default: float) -> float:
    """A number of seconds, 0 included."""
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, not {raw!r}") from None
    if not 0 <= value < float("inf"):
        raise ValueError(f"{name} must be 0 or more seconds, not {raw!r}")
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
