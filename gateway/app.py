"""The Starlette application: one lifespan owns the database, the Redis pool and the
in-process job runner."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import BaseRoute, Mount, Route

from domain.access import Role
from gateway import console, graphiql
from gateway.graphql.endpoint import GraphQLEndpoint, Shortcut
from gateway.graphql.trusted import prepared, trusted_documents, trusted_only
from gateway.metrics import AddressAllowList, metrics_endpoint, process_stopped
from gateway.migrations_gate import MigrationsGate, MigrationState
from gateway.observability import RequestIdMiddleware, configure_logging
from gateway.ratelimit import KeyRateLimits, Milliseconds
from gateway.readiness import (
    DATABASE_TIMEOUT_SECONDS,
    OneLineStartupRefusal,
    check_migrations,
    check_secret_key,
    readyz,
    redis_state,
)
from gateway.runtime import build_runtime, close_runtime, database_config, with_dispatcher
from gateway.schema.root import build_schema
from models.db import close_database, database_is_reachable, open_database
from services.access import PrincipalCache
from services.runtime import Runtime
from settings import Settings, load_settings
from tasks.inprocess import InProcessDispatcher

if TYPE_CHECKING:
    from arq.connections import ArqRedis

log = logging.getLogger(__name__)


async def home(request: Request) -> RedirectResponse:
    """`/`: whoever opens the gateway's address in a browser lands on the console."""
    return RedirectResponse(f"{console.PATH}/", status_code=307)


async def healthz(request: Request) -> JSONResponse:
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_SECONDS):
            reachable = await database_is_reachable()
    except TimeoutError:
        reachable = False
    if reachable:
        return JSONResponse({"status": "ok"})
    return JSONResponse({"status": "unavailable"}, status_code=503)


def create_app(
    settings: Settings | None = None,
    *,
    manage_database: bool = True,
    runtime: Runtime | None = None,
    auth_clock: Callable[[], float] = time.monotonic,
    rate_clock: Milliseconds | None = None,
) -> Starlette:
    """The gateway. With `manage_database=False` the caller opens and closes the database;
    `runtime` replaces the one built from the settings (tests give their clock or upstream
    transport); `auth_clock` (seconds) times the cache of resolved API keys, `rate_clock`
    (milliseconds) the API keys' rate limits (`app.state.rate_limits`).

    Without `REDIS_URL` jobs run in this process (`app.state.dispatcher`) and the lifespan runs
    the periodic check; with it, jobs go to the arq workers, which run it. Either way the
    runtime is decided here, once: `app.state.runtime` is the one every request gets.
    """
    settings = settings or load_settings()
    base = runtime or build_runtime(settings)
    redis = _redis_pool(settings)
    serving = base if redis is None else _queueing_on_redis(base, redis, settings)
    limits = KeyRateLimits(
        {Role.POS: settings.rate_limit_pos, Role.ADMIN: settings.rate_limit_admin},
        clock=rate_clock,
    )
    endpoint = _endpoint(settings, serving, limits, auth_clock)
    migrations = MigrationState()
    app = Starlette(
        routes=_routes(settings),
        middleware=[
            Middleware(OneLineStartupRefusal),
            Middleware(RequestIdMiddleware),
            Middleware(MigrationsGate, state=migrations),
            Middleware(Shortcut, path="/graphql", endpoint=endpoint),
        ],
        lifespan=_lifespan(
            settings,
            Serving(serving, _in_process(base), redis, limits, migrations),
            manage_database=manage_database,
        ),
    )
    app.state.runtime = serving
    app.state.dispatcher = _in_process(base)
    app.state.rate_limits = limits
    return app


def _endpoint(
    settings: Settings, serving: Runtime, limits: KeyRateLimits, auth_clock: Callable[[], float]
) -> GraphQLEndpoint:
    """`/graphql`, with its schema and trusted documents checked and prepared."""
    schema = build_schema(production=settings.production, max_query_cost=settings.max_query_cost)
    return GraphQLEndpoint(
        schema,
        serving,
        ide=not settings.production,
        principals=PrincipalCache(
            settings.auth_cache_ttl_seconds, settings.auth_cache_size, clock=auth_clock
        ),
        max_body_bytes=settings.max_body_bytes,
        timeout_seconds=settings.request_timeout_seconds,
        limits=limits,
        backoffice_concurrency=settings.backoffice_concurrency,
        trusted=prepared(schema, trusted_documents(settings.trusted_documents)),
        trusted_only=trusted_only(
            production=settings.production, for_admin=settings.trusted_documents_for_admin
        ),
    )


def _in_process(runtime: Runtime) -> InProcessDispatcher | None:
    dispatcher = runtime.dispatcher
    return dispatcher if isinstance(dispatcher, InProcessDispatcher) else None


def _redis_pool(settings: Settings) -> ArqRedis | None:
    """The pool to `REDIS_URL`, if set. It connects on first use: tills need no Redis, and
    without it the gateway serves while the jobs it queues wait in the database for the
    periodic check (see `ArqDispatcher`)."""
    if not settings.redis_url:
        return None
    from tasks.worker import dispatcher_pool

    return dispatcher_pool(settings.redis_url)


def _queueing_on_redis(runtime: Runtime, redis: ArqRedis, settings: Settings) -> Runtime:
    from tasks.worker import ArqDispatcher

    return with_dispatcher(runtime, ArqDispatcher(redis, settings.queue_name))


def _routes(settings: Settings) -> list[BaseRoute]:
    """Everything but `/graphql`, which `Shortcut` serves ahead of the router."""
    routes: list[BaseRoute] = [
        Route("/", home, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz(settings), methods=["GET"]),
        Route(
            "/metrics",
            metrics_endpoint(AddressAllowList(settings.metrics_allow)),
            methods=["GET"],
        ),
        Mount(console.PATH, console.app(), name="console"),
    ]
    if not settings.production:
        routes.append(Mount(graphiql.ASSETS_PATH, graphiql.assets(), name="graphiql"))
    return routes


@dataclass(frozen=True)
class Serving:
    """What the lifespan starts and stops. `in_process` is the dispatcher the runtime was built
    with: with Redis, jobs go past it, and it is closed."""

    runtime: Runtime
    in_process: InProcessDispatcher | None
    redis: ArqRedis | None
    limits: KeyRateLimits
    migrations: MigrationState


def _lifespan(
    settings: Settings, serving: Serving, *, manage_database: bool
) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """Opens and checks the database, shares the rate limits through Redis or ticks the
    periodic check in this process (once the database holds every migration), and closes it
    all in the reverse order."""
    runtime, in_process, redis, limits = (
        serving.runtime,
        serving.in_process,
        serving.redis,
        serving.limits,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        serving.migrations.started(await _start_database(settings, manage_database=manage_database))
        if redis is not None:
            await _share_limits(settings, redis, limits)
        elif in_process is not None:
            in_process.start_ticker(settings.check_seconds, ready=serving.migrations.current)
        try:
            yield
        finally:
            # The server has let the requests in flight finish (`GOCRM_SHUTDOWN_GRACE`); jobs
            # running here end after the chunk in hand, within the same grace.
            runtime.stop.request()
            if in_process is not None:
                await in_process.close(grace_seconds=settings.shutdown_grace_seconds)
            process_stopped()
            await close_runtime(runtime)
            if redis is not None:
                limits.share_through(None)
                await redis.aclose()
            if manage_database:
                await close_database()

    return lifespan


async def _start_database(settings: Settings, *, manage_database: bool) -> list[str]:
    """Opens the database (unless the caller does) and checks it; the migrations it lacks."""
    if manage_database:
        await open_database(database_config(settings))
    try:
        missing = await check_migrations(settings)
        await check_secret_key(settings)
        return missing
    except BaseException:
        if manage_database:
            await close_database()
        raise


async def _share_limits(settings: Settings, redis: ArqRedis, limits: KeyRateLimits) -> None:
    limits.share_through(redis)
    if await redis_state(settings.redis_url) != "up":
        log.warning(
            "Redis at REDIS_URL is not reachable: serving anyway; background jobs stay"
            " QUEUED in the database until it is"
        )
    else:
        await limits.prepare()


def app_factory() -> Starlette:
    """Entry point for `uvicorn --factory` (one per worker process, each logging on its own)."""
    settings = load_settings()
    configure_logging(json_lines=settings.log_format == "json")
    app = create_app(settings)
    # What start-up built lives as long as the process: keep it out of the collector's full
    # passes, which otherwise pause a busy server for 60-110 ms several times a minute.
    gc.freeze()
    return app


# Where `gocrm demo` serves its GoPOS and GoOrder simulators, in the gateway's own process.
DEMO_SIMULATORS = {"gopos": "/simulators/gopos", "goorder": "/simulators/goorder"}


def demo_app_factory() -> Starlette:
    """`gocrm demo`: the gateway with both upstream simulators mounted beside it, serving the
    demo's GoPOS and GoOrder data, so that "Synchronize" works without any other server."""
    from adapters.goorder.simulator import create_goorder_simulator
    from adapters.gopos.simulator import create_gopos_simulator
    from services.demo import demo_fixture

    settings = load_settings()
    configure_logging(json_lines=settings.log_format == "json")
    app = create_app(settings)
    app.router.routes += [
        Mount(DEMO_SIMULATORS["gopos"], create_gopos_simulator(demo_fixture("gopos"))),
        Mount(DEMO_SIMULATORS["goorder"], create_goorder_simulator(demo_fixture("goorder"))),
    ]
    gc.freeze()
    return app
