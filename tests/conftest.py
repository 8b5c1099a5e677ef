"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL tests need a server at `GOCRM_TEST_POSTGRES` (default: postgres on 127.0.0.1:5432).
Without one they are skipped and the summary says so, unless `GOCRM_REQUIRE_SERVICES=1` (set by
`.ci/run`), which turns a missing server into a failure. Each run gets a freshly migrated schema.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.runtime import build_runtime, close_runtime, migrate, start_database
from models.db import close_database
from services.runtime import Runtime
from settings import Settings
from tasks.inprocess import InProcessDispatcher
from tests.helpers import Api, Clock, new_location

POSTGRES_SERVER = os.environ.get("GOCRM_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432")
REQUIRE_SERVICES = os.environ.get("GOCRM_REQUIRE_SERVICES") == "1"


def _unavailable(what: str, error: Exception) -> None:
    message = f"{what} unavailable ({error!r})"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message}; GOCRM_REQUIRE_SERVICES=1 makes it required", pytrace=False)
    pytest.skip(f"{message}: skipping its suites")


async def _fresh_postgres_database() -> str:
    name = f"gocrm_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        admin = await asyncpg.connect(f"{POSTGRES_SERVER}/postgres", timeout=5)
    except (OSError, asyncpg.PostgresError) as error:
        _unavailable("PostgreSQL", error)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return name


async def _drop_postgres_database(name: str) -> None:
    admin = await asyncpg.connect(f"{POSTGRES_SERVER}/postgres", timeout=5)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
async def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Settings]:
    """A migrated database of each kind, open for the whole run of tests that use it."""
    pg_name = None
    # Integration secrets are sealed with a key file of the run's own, never the checkout's.
    key_file = str(tmp_path_factory.mktemp("keys") / "gocrm.key")
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "gocrm.sqlite3"
        settings = Settings(database_url=f"sqlite://{path}", key_file=key_file)
    else:
        pg_name = await _fresh_postgres_database()
        settings = Settings(
            database_url=f"{POSTGRES_SERVER}/{pg_name}", db_pool_size=20, key_file=key_file
        )
    await migrate(settings)
    await start_database(settings)
    try:
        yield settings
    finally:
        await close_database()
        if pg_name:
            await _drop_postgres_database(pg_name)


@pytest.fixture
def postgres_only(database: Settings) -> None:
    if database.is_sqlite:
        pytest.skip("lock and race behaviour is only meaningful on PostgreSQL")


@pytest.fixture
def postgres_for_workers(database: Settings) -> None:
    """For tests that run `gocrm worker` processes on the test's database."""
    if database.is_sqlite:
        pytest.skip("arq workers are deployed with PostgreSQL; on SQLite jobs run in-process")


@pytest.fixture
def clock() -> Clock:
    """The runtime's clock: the real time until a test sets `clock.now`."""
    return Clock()


@pytest.fixture
def gateway_settings(database: Settings) -> Settings:
    """What the `app` fixture builds the gateway from: the database's settings. A module whose
    tests send more with one key than its rate limit allows overrides it (`unlimited`)."""
    return database


def unlimited(settings: Settings) -> Settings:
    """`settings` without the API keys' rate limits."""
    return dataclasses.replace(settings, rate_limit_pos=None, rate_limit_admin=None)


@pytest.fixture
async def app(gateway_settings: Settings, clock: Clock) -> AsyncIterator[Starlette]:
    """The gateway, with its jobs run in-process; the test drives the lifespan's parts."""
    settings = gateway_settings
    app = create_app(settings, manage_database=False, runtime=build_runtime(settings, clock=clock))
    yield app
    await app.state.dispatcher.close()
    await close_runtime(app.state.runtime)


@pytest.fixture
def runtime(app: Starlette) -> Runtime:
    """The app's runtime, for calling services directly."""
    runtime: Runtime = app.state.runtime
    return runtime


@pytest.fixture
def dispatcher(app: Starlette) -> InProcessDispatcher:
    """Where the app's jobs run; `await dispatcher.drain()` waits for them."""
    dispatcher: InProcessDispatcher = app.state.dispatcher
    return dispatcher


@pytest.fixture
async def http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


@pytest.fixture
async def api(http: httpx.AsyncClient) -> Api:
    """An ADMIN client for a new location of its own."""
    return await new_location(http, "Bistro Test")


@pytest.fixture
async def other(http: httpx.AsyncClient) -> Api:
    """An ADMIN client for a second, unrelated location."""
    return await new_location(http, "Other Place")


# Fixtures that open a database (SQLite, PostgreSQL or Redis) or start one: a test that uses any of
# them, directly or through another fixture, carries the `db` marker, so that `pytest -m "not db"`
# runs on a machine with no database at all.
DATABASE_FIXTURES = frozenset(
    {
        "database",
        "empty_postgres",
        "arq_redis",
        "postgres_cluster",
        "fault_database",
        "migrated_template",
        "redis_server",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if DATABASE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per reason a group of tests was skipped, instead of one line per test."""
    reasons: Counter[str] = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        if isinstance(report.longrepr, tuple):
            reasons[report.longrepr[2].removeprefix("Skipped: ")] += 1
    if reasons:
        terminalreporter.section("skipped suites")
        for reason, count in reasons.most_common():
            terminalreporter.line(f"{count:5d} skipped: {reason}")
