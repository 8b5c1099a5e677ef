"""`/readyz`, and the migrations check when the gateway starts."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.applications import Starlette
from tortoise import connections

from adapters.secrets import SecretBox, new_key
from gateway.app import create_app
from gateway.runtime import migrate, start_database
from models.db import close_database
from models.tables.integrations import Integration
from settings import Settings
from tests.conftest import (
    POSTGRES_SERVER,
    REQUIRE_SERVICES,
    _drop_postgres_database,
    _fresh_postgres_database,
)
from tests.helpers import Api
from tests.redis_fixtures import REDIS_URL
from tests.test_cli import MIGRATIONS

READY = {
    "status": "ready",
    "database": "up",
    "migrations": "current",
    "missing_migrations": [],
    "redis": "not configured",
}
NOT_MIGRATED = {
    "status": "not ready",
    "database": "up",
    "migrations": "missing",
    "missing_migrations": MIGRATIONS,
    "redis": "not configured",
}


@pytest.fixture
async def unmigrated(database: Settings, tmp_path: Path) -> AsyncIterator[Settings]:
    """A new, empty database of the same kind, not opened. The session's database is closed
    meanwhile, and opened again afterwards."""
    pg_name = None
    if database.is_sqlite:
        settings = Settings(database_url=f"sqlite://{tmp_path / 'empty.sqlite3'}")
    else:
        pg_name = await _fresh_postgres_database()
        settings = Settings(database_url=f"{POSTGRES_SERVER}/{pg_name}")
    await close_database()
    try:
        yield settings
    finally:
        await close_database()
        await start_database(database)
        if pg_name:
            await _drop_postgres_database(pg_name)


async def _get(app: Starlette, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        return await client.get(path)


async def _lifespan_messages(app: Starlette) -> list[dict[str, Any]]:
    """Start the app's lifespan and stop it again, as a server does; what the app told it."""
    received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    sent: list[dict[str, Any]] = []
    await received.put({"type": "lifespan.startup"})

    async def receive() -> dict[str, Any]:
        return await received.get()

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "lifespan.startup.complete":
            await received.put({"type": "lifespan.shutdown"})

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    await app(scope, receive, send)  # type: ignore[arg-type]
    return sent


async def test_readyz_on_a_migrated_database(http: httpx.AsyncClient) -> None:
    response = await http.get("/readyz")

    assert response.status_code == 200
    assert response.json() == READY


async def test_readyz_on_an_empty_database_names_the_missing_migrations(
    unmigrated: Settings,
) -> None:
    await start_database(unmigrated)
    app = create_app(unmigrated, manage_database=False)

    response = await _get(app, "/readyz")
    health = await _get(app, "/healthz")

    assert response.status_code == 503
    assert response.json() == NOT_MIGRATED
    assert (health.status_code, health.json()) == (200, {"status": "ok"})


async def test_readyz_counts_a_newer_migration_than_this_code_knows_as_current(
    unmigrated: Settings,
) -> None:
    await migrate(unmigrated)
    await start_database(unmigrated)
    placeholder = "$1, $2, $3" if not unmigrated.is_sqlite else "?, ?, ?"
    await connections.get("default").execute_query(
        f"INSERT INTO tortoise_migrations (app, name, applied_at) VALUES ({placeholder})",
        ["models", "9999_from_a_newer_release", datetime(2026, 12, 1, tzinfo=UTC)],
    )
    app = create_app(unmigrated, manage_database=False)

    response = await _get(app, "/readyz")

    assert (response.status_code, response.json()) == (200, READY)


async def test_readyz_on_an_unreachable_database(unmigrated: Settings) -> None:
    down = Settings(database_url="postgres://postgres@127.0.0.1:1/gocrm")
    await start_database(down)
    app = create_app(down, manage_database=False)

    response = await _get(app, "/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "not ready",
        "database": "down",
        "migrations": "unknown",
        "missing_migrations": [],
        "redis": "not configured",
    }


async def test_readyz_reports_redis_down_and_stays_ready(database: Settings) -> None:
    app = create_app(
        dataclasses.replace(database, redis_url="redis://127.0.0.1:1/0"), manage_database=False
    )

    response = await _get(app, "/readyz")

    assert response.status_code == 200
    assert response.json() == {**READY, "redis": "down"}


async def test_readyz_reports_redis_up(database: Settings) -> None:
    client: Redis = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (RedisError, OSError) as error:
        if REQUIRE_SERVICES:
            pytest.fail(f"Redis unavailable ({error!r})", pytrace=False)
        pytest.skip(f"Redis unavailable ({error!r}): skipping its suites")
    finally:
        await client.aclose()
    app = create_app(dataclasses.replace(database, redis_url=REDIS_URL), manage_database=False)

    response = await _get(app, "/readyz")

    assert (response.status_code, response.json()) == (200, {**READY, "redis": "up"})


async def test_production_start_up_refuses_an_unmigrated_database_in_one_line(
    unmigrated: Settings,
) -> None:
    app = create_app(dataclasses.replace(unmigrated, env="production"))

    messages = await _lifespan_messages(app)

    assert messages == [
        {
            "type": "lifespan.startup.failed",
            "message": "Refusing to start: the database lacks "
            f"{len(MIGRATIONS)} migrations ({', '.join(MIGRATIONS)}): run `gocrm migrate`, "
            "then start again.",
        }
    ]


async def test_development_start_up_warns_about_an_unmigrated_database(
    unmigrated: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(unmigrated)

    with caplog.at_level(logging.WARNING, logger="gateway.readiness"):
        messages = await _lifespan_messages(app)

    assert messages == [
        {"type": "lifespan.startup.complete"},
        {"type": "lifespan.shutdown.complete"},
    ]
    assert [r.getMessage() for r in caplog.records if r.name == "gateway.readiness"] == [
        f"the database lacks {len(MIGRATIONS)} migrations ({', '.join(MIGRATIONS)}): "
        "run `gocrm migrate`; every request answers 503 until then."
    ]


async def test_production_start_up_on_a_migrated_database(unmigrated: Settings) -> None:
    await migrate(unmigrated)
    app = create_app(dataclasses.replace(unmigrated, env="production"))

    messages = await _lifespan_messages(app)

    assert messages == [
        {"type": "lifespan.startup.complete"},
        {"type": "lifespan.shutdown.complete"},
    ]


async def test_production_refuses_to_start_without_the_key_of_its_sealed_secrets(
    database: Settings, api: Api
) -> None:
    # given a configured integration whose secret is sealed at rest
    await Integration.create(
        location_id=api.location_id,
        channel="GOPOS",
        base_url="https://app.gopos.io",
        client_id="demo",
        organization_id="1001",
        sealed_secret=SecretBox(new_key()).seal("client-secret"),
    )
    production = dataclasses.replace(database, env="production")

    # when a production gateway starts without GOCRM_SECRET_KEY, and then with it
    without = await _lifespan_messages(create_app(production, manage_database=False))
    keyed = dataclasses.replace(production, secret_key=new_key())
    with_key = await _lifespan_messages(create_app(keyed, manage_database=False))

    # then the first refuses in one line, and the second starts
    (refusal,) = without
    assert refusal["type"] == "lifespan.startup.failed"
    assert refusal["message"].startswith("Refusing to start: ")
    assert refusal["message"].endswith(
        "configured integration(s) hold secrets sealed at rest and GOCRM_SECRET_KEY is not "
        "set; set it to the key they were stored with."
    )
    assert [m["type"] for m in with_key] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]


@pytest.mark.parametrize("env", ["development", "production"])
async def test_a_gateway_given_an_invalid_key_refuses_to_start_in_one_line(
    database: Settings, env: Literal["development", "production"]
) -> None:
    settings = dataclasses.replace(database, env=env, secret_key="hunter2")

    messages = await _lifespan_messages(create_app(settings, manage_database=False))

    assert messages == [
        {
            "type": "lifespan.startup.failed",
            "message": "Refusing to start: GOCRM_SECRET_KEY: the key is not a Fernet key (it has"
            " 7 characters or characters outside url-safe base64); a Fernet key is 32 random"
            " bytes in url-safe base64 (44 characters, ending in '=').",
        }
    ]
