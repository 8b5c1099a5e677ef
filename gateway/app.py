"""The Starlette application: one lifespan owns the database, the Redis pool and the
in-process job runner."""

from __future__ import annotations

import gc
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route

from gateway import graphiql
from gateway.http import GraphQLEndpoint, Runtime, Shortcut
from gateway.observability import RequestIdMiddleware, configure_logging
from gateway.readiness import (
    OneLineStartupRefusal,
    StartupRefusedError,
    check_migrations,
    readyz,
)
from gateway.schema.root import build_schema
from models.db import close_database, database_is_reachable, open_database
from services.access import PrincipalCache
from settings import Settings, load_settings
from tasks.inprocess import InProcessDispatcher


async def healthz(request: Request) -> JSONResponse:
    if await database_is_reachable():
        return JSONResponse({"status": "ok"})
    return JSONResponse({"status": "unavailable"}, status_code=503)


def create_app(
    settings: Settings | None = None,
    *,
    manage_database: bool = True,
    clock: Callable[[], float] = time.monotonic,
) -> Starlette:
    """The gateway. With `manage_database=False` the caller opens and closes the database;
    `clock` (seconds) times the cache of resolved API keys.

    Without `REDIS_URL` jobs run in this process (`app.state.dispatcher`) and the lifespan ticks
    the schedules; with it, jobs go to the arq workers, which tick.
    """
    settings = settings or load_settings()
    in_process = InProcessDispatcher()
    runtime = Runtime(in_process)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_database:
            await open_database(settings)
        try:
            await check_migrations(settings)
        except BaseException:
            if manage_database:
                await close_database()
            raise
        redis = None
        if settings.redis_url:
            from arq import create_pool

            from tasks.worker import ArqDispatcher, redis_settings

            try:
                redis = await create_pool(redis_settings())
            except (OSError, RedisError) as error:
                if manage_database:
                    await close_database()
                raise StartupRefusedError(
                    f"Refusing to start: Redis at REDIS_URL is not reachable ({error}); start"
                    " Redis, or unset REDIS_URL to run jobs in this process."
                ) from error
            runtime.dispatcher = ArqDispatcher(redis)
        else:
            in_process.start_ticker()
        try:
            yield
        finally:
            await in_process.close()
            if redis is not None:
                await redis.aclose()
            if manage_database:
                await close_database()

    schema = build_schema(production=settings.production, max_query_cost=settings.max_query_cost)
    principals = PrincipalCache(
        settings.auth_cache_ttl_seconds, settings.auth_cache_size, clock=clock
    )
    endpoint = GraphQLEndpoint(
        schema,
        runtime,
        ide=not settings.production,
        principals=principals,
        max_body_bytes=settings.max_body_bytes,
        timeout_seconds=settings.request_timeout_seconds,
    )
    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz(settings), methods=["GET"]),
    ]
    if not settings.production:
        routes.append(Mount(graphiql.ASSETS_PATH, graphiql.assets(), name="graphiql"))
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(OneLineStartupRefusal),
            Middleware(RequestIdMiddleware),
            Middleware(Shortcut, path="/graphql", endpoint=endpoint),
        ],
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.dispatcher = in_process
    return app


def app_factory() -> Starlette:
    """Entry point for `uvicorn --factory` (one per worker process, each logging on its own)."""
    configure_logging()
    app = create_app()
    # What start-up built lives as long as the process: keep it out of the collector's full
    # passes, which otherwise pause a busy server for 60-110 ms several times a minute.
    gc.freeze()
    return app
