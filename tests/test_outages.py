"""What the gateway and the workers do while PostgreSQL or Redis cannot be reached.

PostgreSQL down: a request that needs it is answered at once with 503 DATABASE_UNAVAILABLE (in
development and production alike, never the driver's message), whether it fails on the API key
or in a resolver; a driver error while the database is up is still a bug. Redis down: a gateway
starts and serves, and a job it cannot queue stays QUEUED in the database for the periodic
check; a worker's Redis commands ride out a restart. (`tests/faults/` runs the same with real
processes.)
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest
from arq.connections import RedisSettings
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.runtime import database_config, start_database
from models.config import connection_config
from models.db import close_database, database_unreachable, lost_database
from settings import Environment, Settings, load_settings
from tasks.worker import ArqDispatcher, OutageRetry, dispatcher_pool, worker_options
from tests.helpers import create_customer, new_location

NOWHERE_POSTGRES = Settings(database_url="postgres://postgres@127.0.0.1:1/gocrm")
NOWHERE_REDIS = "redis://127.0.0.1:1/0"
UNAVAILABLE = {
    "errors": [
        {
            "message": "The database is unavailable; try again shortly.",
            "extensions": {"code": "DATABASE_UNAVAILABLE"},
        }
    ]
}
CUSTOMERS = "{ customers(first: 1) { totalCount } }"


@pytest.fixture
async def outage(database: Settings) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """Call it to make the open database one nobody listens for; the session's database is
    open again afterwards."""
    down = False

    async def take_down() -> None:
        nonlocal down
        down = True
        await close_database()
        await start_database(NOWHERE_POSTGRES)

    try:
        yield take_down
    finally:
        if down:
            await close_database()
            await start_database(database)


def _post(http: httpx.AsyncClient, key: str, query: str) -> Awaitable[httpx.Response]:
    return http.post("/graphql", json={"query": query}, headers={"Authorization": f"Bearer {key}"})


# --- PostgreSQL --------------------------------------------------------------------------------


async def test_an_unreachable_database_is_told_apart_from_other_errors() -> None:
    with pytest.raises(ConnectionRefusedError) as refused:
        await asyncpg.connect("postgres://postgres@127.0.0.1:1/gocrm", timeout=2)
    lost = asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")
    try:
        raise RuntimeError("the commit failed") from lost
    except RuntimeError as error:
        wrapped = error

    assert database_unreachable(refused.value)
    assert database_unreachable(wrapped)
    assert database_unreachable(asyncpg.AdminShutdownError("terminating connection"))
    assert database_unreachable(asyncpg.CannotConnectNowError("the database system is starting"))
    assert database_unreachable(asyncpg.TooManyConnectionsError("sorry, too many clients"))
    # not the database's: a statement's own error, or a socket error anywhere but in the driver
    assert not database_unreachable(asyncpg.UniqueViolationError("duplicate key value"))
    assert not database_unreachable(ConnectionRefusedError(111, "Connection refused"))
    assert not database_unreachable(ValueError("bad value"))


async def test_a_driver_error_is_an_outage_only_while_the_database_is_out_of_reach(
    database: Settings, outage: Callable[[], Awaitable[None]]
) -> None:
    closed = asyncpg.InterfaceError("cannot call Transaction.rollback(): the connection is closed")
    out_of_step = asyncpg.InternalClientError("cannot switch to state 12; another operation")

    while_up = [await lost_database(closed), await lost_database(out_of_step)]
    await outage()
    while_down = [await lost_database(closed), await lost_database(out_of_step)]

    assert while_up == [False, False]
    assert while_down == [True, True]


async def test_a_request_whose_api_key_cannot_be_read_is_503_at_once(
    database: Settings, outage: Callable[[], Awaitable[None]]
) -> None:
    await outage()
    app = create_app(NOWHERE_POSTGRES, manage_database=False)

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway"
    ) as http:
        response = await _post(http, "gocrm_some-key", CUSTOMERS)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json() == UNAVAILABLE


@pytest.mark.parametrize("env", ["development", "production"])
async def test_a_query_that_loses_its_database_is_503_without_the_drivers_message(
    database: Settings,
    outage: Callable[[], Awaitable[None]],
    env: Environment,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given a gateway that has seen the key (cached, on a clock that stands still)
    settings = dataclasses.replace(database, env=env)
    app = create_app(settings, manage_database=False, auth_clock=lambda: 0.0)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway"
    ) as http:
        api = await new_location(http, "Outage")
        before = await _post(http, api.key, CUSTOMERS)

        # when the database goes away and the key's next query needs it
        await outage()
        with caplog.at_level(logging.WARNING):
            during = await _post(http, api.key, CUSTOMERS)

    # then it is answered 503 with the one clear error, and logged in one line
    assert (before.status_code, before.json()) == (
        200,
        {"data": {"customers": {"totalCount": 0}}},
    )
    assert (during.status_code, during.json()) == (503, UNAVAILABLE)
    logged = [(r.name, r.levelname, r.exc_info is None) for r in caplog.records]
    assert ("gateway.http", "WARNING", True) in logged
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_the_connect_timeout_is_a_setting() -> None:
    settings = load_settings({"DATABASE_URL": "postgres://u@db:5432/gocrm"})
    quick = load_settings(
        {"DATABASE_URL": "postgres://u@db:5432/gocrm", "GOCRM_DB_CONNECT_TIMEOUT": "2.5"}
    )

    assert settings.db_connect_timeout_seconds == 5.0
    assert connection_config(database_config(settings))["credentials"]["timeout"] == 5.0
    assert connection_config(database_config(quick))["credentials"]["timeout"] == 2.5


# --- Redis -------------------------------------------------------------------------------------


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[list[dict[str, Any]]]:
    """The app's lifespan, started as a server starts it and stopped at the end; what it told
    the server."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    told: list[dict[str, Any]] = []
    started = asyncio.Event()

    async def receive() -> dict[str, Any]:
        return await inbox.get()

    async def send(message: dict[str, Any]) -> None:
        told.append(message)
        if message["type"].startswith("lifespan.startup."):
            started.set()

    await inbox.put({"type": "lifespan.startup"})
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    running = asyncio.create_task(app(scope, receive, send))  # type: ignore[arg-type]
    await started.wait()
    try:
        yield told
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await running


SET_CREDITS = """mutation($input: SetPromotionalCreditsInput!) {
  setPromotionalCredits(input: $input) {
    operation { id status total processed } errors { code field message } } }"""
OPERATION = "query($id: ID!) { walletOperation(id: $id) { status processed } }"


async def test_a_gateway_starts_with_redis_down_and_leaves_what_it_cannot_queue_queued(
    database: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # given a gateway whose Redis is down, which queues every credit (no inline limit)
    settings = dataclasses.replace(database, redis_url=NOWHERE_REDIS, job_inline_limit=0)
    app = create_app(settings, manage_database=False)
    with caplog.at_level(logging.WARNING):
        async with (
            lifespan(app) as told,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://gateway"
            ) as http,
        ):
            api = await new_location(http, "No Redis")
            customer = await create_customer(api, firstName="Ewa")
            ready = await http.get("/readyz")

            # when a credit is asked for
            answer = await api.mutate(
                SET_CREDITS,
                {
                    "input": {
                        "target": {"customerIds": [customer["id"]]},
                        "operation": "ADD",
                        "amount": "5.00",
                    }
                },
            )
            await asyncio.sleep(0.1)
            later = await api.data(OPERATION, {"id": answer["operation"]["id"]})

    # then it started, said Redis is down, and the credit waits QUEUED in the database
    assert told[0] == {"type": "lifespan.startup.complete"}
    assert (ready.status_code, ready.json()["redis"]) == (200, "down")
    assert answer["errors"] == []
    assert answer["operation"] | {"id": None} == {
        "id": None,
        "status": "QUEUED",
        "total": 1,
        "processed": 0,
    }
    assert later == {"walletOperation": {"status": "QUEUED", "processed": 0}}
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert (
        "Redis at REDIS_URL is not reachable: serving anyway; background jobs stay QUEUED in"
        " the database until it is"
    ) in messages
    operation_id = answer["operation"]["id"]
    assert any(
        m.startswith(f"could not queue wallet-operation:{operation_id}:0 on Redis (")
        and m.endswith("); it stays QUEUED in the database and the periodic check queues it again")
        for m in messages
    ), messages


async def test_the_dispatcher_logs_a_job_it_cannot_queue_and_carries_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pool = dispatcher_pool(NOWHERE_REDIS)
    try:
        with caplog.at_level(logging.WARNING, logger="tasks.worker"):
            started = asyncio.get_running_loop().time()
            await ArqDispatcher(pool, "arq:queue").enqueue("run_sync", "r1", job_id="sync-run:r1:0")
            took = asyncio.get_running_loop().time() - started
    finally:
        await pool.aclose()

    (record,) = caplog.records
    assert record.getMessage().startswith("could not queue sync-run:r1:0 on Redis (")
    assert took < 2.0


def _commands(outcomes: list[object]) -> Callable[[], Awaitable[object]]:
    async def command() -> object:
        outcome = outcomes.pop(0) if len(outcomes) > 1 else outcomes[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return command


async def test_a_workers_redis_commands_ride_out_a_restart(
    caplog: pytest.LogCaptureFixture,
) -> None:
    retry = OutageRetry(ExponentialBackoff(cap=0.01, base=0.001), give_up_after=5.0)
    retry.update_supported_errors([RedisConnectionError, RedisTimeoutError, OSError])
    command = _commands([RedisConnectionError("refused"), ConnectionRefusedError(111, "no"), "OK"])
    failures: list[RedisError] = []

    async def failed(error: RedisError) -> None:
        failures.append(error)

    with caplog.at_level(logging.INFO, logger="tasks.worker"):
        answer = await retry.call_with_retry(command, failed)

    assert answer == "OK"
    assert len(failures) == 2
    assert [r.getMessage() for r in caplog.records] == [
        "Redis is unreachable (refused); retrying",
        "Redis is reachable again",
    ]


async def test_a_worker_gives_up_on_redis_after_its_outage_allowance() -> None:
    retry = OutageRetry(ExponentialBackoff(cap=0.01, base=0.001), give_up_after=0.05)
    retry.update_supported_errors([OSError])

    async def failed(error: RedisError) -> None:
        return None

    started = asyncio.get_running_loop().time()
    with pytest.raises(ConnectionRefusedError):
        await retry.call_with_retry(_commands([ConnectionRefusedError(111, "no")]), failed)

    assert 0.05 <= asyncio.get_running_loop().time() - started < 1.0


def test_the_worker_runs_with_the_riding_out_policy() -> None:
    async def start(_: Any) -> Any:
        raise AssertionError("not started here")

    async def stop() -> None:
        return None

    options = worker_options(
        start=start,
        stop=stop,
        redis_settings=RedisSettings(),
        queue_name="arq:queue",
        check_seconds=10,
        job_timeout_seconds=60,
        max_jobs=2,
    )

    settings = options["redis_settings"]
    assert isinstance(settings.retry, OutageRetry)
    assert settings.retry.give_up_after == 120.0
    assert settings.retry_on_error == [RedisConnectionError, RedisTimeoutError, OSError]
