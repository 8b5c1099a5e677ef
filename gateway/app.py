"""The Starlette application: one lifespan owns the database and the background runner."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.http import GraphQLEndpoint
from gateway.observability import RequestIdMiddleware
from gateway.schema.root import build_schema
from models.db import close_database, database_is_reachable, open_database
from settings import Settings, load_settings


async def healthz(request: Request) -> JSONResponse:
    if await database_is_reachable():
        return JSONResponse({"status": "ok"})
    return JSONResponse({"status": "unavailable"}, status_code=503)


def create_app(settings: Settings | None = None, *, manage_database: bool = True) -> Starlette:
    """The gateway. With `manage_database=False` the caller opens and closes the database."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_database:
            await open_database(settings)
        try:
            yield
        finally:
            if manage_database:
                await close_database()

    endpoint = GraphQLEndpoint(
        build_schema(production=settings.production), ide=not settings.production
    )
    return Starlette(
        routes=[
            Route("/graphql", endpoint.handle, methods=["GET", "POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        middleware=[Middleware(RequestIdMiddleware)],
        lifespan=lifespan,
    )


def app_factory() -> Starlette:
    """Entry point for `uvicorn --factory` (one per worker process)."""
    return create_app()
