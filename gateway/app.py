"""The Starlette application: one lifespan owns the database, the Redis pool and the
in-process job runner."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.http import GraphQLEndpoint, Runtime
from gateway.observability import RequestIdMiddleware, configure_logging
from gateway.schema.root import build_schema
from models.db import close_database, database_is_reachable, open_database
from settings import Settings, load_settings
from tasks.inprocess import InProcessDispatcher


async def healthz(request: Request) -> JSONResponse:
    if await database_is_reachable():
        return JSONResponse({"status": "ok"})
    return JSONResponse({"status": "unavailable"}, status_code=503)


def create_app(settings: Settings | None = None, *, manage_database: bool = True) -> Starlette:
    """The gateway. With `manage_database=False` the caller opens and closes the database.

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
        redis = None
        if settings.redis_url:
            from arq import create_pool

            from tasks.worker import ArqDispatcher, redis_settings

            redis = await create_pool(redis_settings())
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

    schema = build_schema(production=settings.production)
    endpoint = GraphQLEndpoint(schema, runtime, ide=not settings.production)
    app = Starlette(
        routes=[
            Route("/graphql", endpoint.handle, methods=["GET", "POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        middleware=[Middleware(RequestIdMiddleware)],
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.dispatcher = in_process
    return app


def app_factory() -> Starlette:
    """Entry point for `uvicorn --factory` (one per worker process, each logging on its own)."""
    configure_logging()
    return create_app()
