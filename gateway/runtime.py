"""The composition root: the one place that turns `Settings` into a `Runtime` and into the
`DatabaseConfig` that `models.db` opens.

The app (`gateway.app`), the worker and the CLI (`gateway.cli`) all build their runtime here,
after reading the settings once at start-up; everything below receives the runtime. The
benchmarks and the test fixtures open and migrate their databases here too (`start_database`,
`migrate`), as a user's process does.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from adapters.http import HttpConfig, TransportFactory, UpstreamClients
from adapters.webhooks import WebhookSenders
from domain.jobs import JobPolicy
from models import (
    checkouts,
    customers,
    groups,
    jobs,
    keys,
    ledger,
    locations,
    lots,
    operations,
    progress,
    reads,
    schedules,
)
from models.db import DatabaseConfig, close_database, migrate_database, open_database, transaction
from services.jobs import Dispatcher
from services.runtime import Clock, Runtime, SecretKeys, utc_now
from services.stores import Stores
from services.sync import links
from settings import Settings
from tasks.inprocess import InProcessDispatcher


def database_config(settings: Settings) -> DatabaseConfig:
    """The database to open: `models.db` takes this value and never reads the settings."""
    return DatabaseConfig(
        url=settings.database_url,
        pool_size=settings.db_pool_size,
        connect_timeout_seconds=settings.db_connect_timeout_seconds,
        replica_url=settings.replica_database_url,
    )


def job_policy(settings: Settings) -> JobPolicy:
    return JobPolicy(
        max_attempts=settings.job_max_attempts,
        heartbeat_seconds=settings.job_heartbeat_seconds,
        stale_after_seconds=settings.job_stale_after_seconds,
    )


def http_config(settings: Settings) -> HttpConfig:
    return HttpConfig(
        max_in_flight=settings.upstream_max_in_flight,
        max_response_bytes=settings.upstream_max_bytes,
        allowed_networks=settings.upstream_allow,
    )


def secret_keys(settings: Settings) -> SecretKeys:
    """`GOCRM_SECRET_KEY`; outside production, without it, the key file (made on first use)."""
    key_file = None if settings.production or settings.secret_key else Path(settings.key_file)
    return SecretKeys(keys=settings.secret_key, key_file=key_file)


def sql_stores() -> Stores:
    """The repositories the services use in production: the SQL modules of `models/`."""
    return Stores(
        transaction=transaction,
        operations=operations,
        schedules=schedules,
        keys=keys,
        ledger=ledger,
        progress=progress,
        customers=customers,
        groups=groups,
        locations=locations,
        jobs=jobs,
        reads=reads,
        checkouts=checkouts,
        links=links,
        lots=lots,
    )


def build_runtime(
    settings: Settings,
    dispatcher: Dispatcher | None = None,
    *,
    clock: Clock = utc_now,
    transport: TransportFactory | None = None,
) -> Runtime:
    """The runtime for `settings`, with jobs run in this process unless `dispatcher` is given.
    Tests pass their own clock and an upstream `transport` (the simulators in-process)."""
    runtime = Runtime(
        dispatcher=dispatcher or InProcessDispatcher(),
        upstreams=UpstreamClients(http_config(settings), transport=transport),
        secrets=secret_keys(settings),
        stores=sql_stores(),
        clock=clock,
        jobs=job_policy(settings),
        chunk_size=settings.job_chunk_size,
        chunk_pause_seconds=settings.job_chunk_pause_seconds,
        inline_limit=settings.job_inline_limit,
        sync_deadline_seconds=settings.sync_deadline_seconds,
        sync_interval_seconds=settings.sync_interval_seconds,
        idempotency_retention_days=settings.idempotency_retention_days,
        mirror_max_objects=settings.mirror_max_objects,
        mirror_retention=timedelta(days=settings.mirror_retention_days),
        webhooks=WebhookSenders(settings.upstream_allow),
    )
    return attached(runtime)


def with_dispatcher(runtime: Runtime, dispatcher: Dispatcher) -> Runtime:
    """The same runtime, queueing through `dispatcher` (the lifespan's, once Redis is up)."""
    return attached(replace(runtime, dispatcher=dispatcher))


def attached(runtime: Runtime) -> Runtime:
    if isinstance(runtime.dispatcher, InProcessDispatcher):
        runtime.dispatcher.attach(runtime)
    return runtime


async def close_runtime(runtime: Runtime) -> None:
    await runtime.upstreams.aclose()
    await runtime.webhooks.aclose()


async def migrate(settings: Settings) -> None:
    """Apply the pending migrations to the database `settings` name (benchmarks, fixtures)."""
    await migrate_database(database_config(settings))


async def start_database(settings: Settings) -> None:
    """Open the database `settings` name for this process."""
    await open_database(database_config(settings))


async def stop_database() -> None:
    """Close what `start_database` opened."""
    await close_database()
