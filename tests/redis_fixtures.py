"""Redis and real arq worker processes for tests that need them.

`GOCRM_TEST_REDIS` (default `redis://127.0.0.1:6379/9`) names a database that the tests own: it is
flushed before and after each test. The suite never flushes keys it did not write: a test takes
the database only when it is empty or holds the suite's own mark (`OWNER_KEY`, set before any
test writes, so a run killed midway leaves it behind with its keys); otherwise the test fails,
saying so, and the keys stay. Without a server the tests are skipped, unless
`GOCRM_REQUIRE_SERVICES=1`, which turns a missing server into a failure (as for PostgreSQL). Test
sessions on one machine take turns with that database, one test at a time (a lock file).

Import the fixtures into a test module under their own names, e.g.
`from tests.redis_fixtures import arq_redis as arq_redis`.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import NoReturn

import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool
from redis.exceptions import RedisError

from adapters.secrets import new_key
from settings import Settings
from tests.processes import GocrmProcesses

REDIS_URL = os.environ.get("GOCRM_TEST_REDIS", "redis://127.0.0.1:6379/9")
# The workers open integration secrets that the test process sealed: both use this key.
WORKER_SECRET_KEY = new_key()
REQUIRE_SERVICES = os.environ.get("GOCRM_REQUIRE_SERVICES") == "1"
# The key that says the test database is the suite's (see `claim`).
OWNER_KEY = "gocrm-test:owned-by-the-test-suite"
STOP_TIMEOUT = 30.0
LOCK_TIMEOUT = 200.0


def _unavailable(what: str, error: Exception) -> NoReturn:
    message = f"{what} unavailable ({error!r})"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message}; GOCRM_REQUIRE_SERVICES=1 makes it required", pytrace=False)
    pytest.skip(f"{message}: skipping its suites")


@contextlib.asynccontextmanager
async def exclusive_use(url: str) -> AsyncIterator[None]:
    """Hold a lock file for `url` while a test owns its database: the workers of two test
    sessions on one machine (two people, or CI and a developer) would take each other's jobs
    (workers listen on arq's default queue) and each session's FLUSHDB would drop the other's."""
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"gocrm-test-redis-{digest}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if loop.time() > deadline:
                    pytest.fail(f"another test session held {path} for {LOCK_TIMEOUT:.0f} s")
                await asyncio.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


async def claim(pool: ArqRedis, url: str) -> None:
    """Flush the test database and mark it as the suite's, unless it holds keys that the suite
    did not write: then fail and leave them."""
    size = await pool.dbsize()
    if size and not await pool.exists(OWNER_KEY):
        pytest.fail(
            f"GOCRM_TEST_REDIS ({url}) holds {size} keys that the test suite did not write, and"
            " the suite flushes the database it uses: point GOCRM_TEST_REDIS at an empty"
            " database (redis://127.0.0.1:6379/N)",
            pytrace=False,
        )
    await pool.flushdb()
    await pool.set(OWNER_KEY, "gocrm test suite")


@pytest.fixture
async def arq_redis() -> AsyncIterator[ArqRedis]:
    """An arq pool on the test Redis database, flushed at the start and at the end; the
    database is this test's alone meanwhile (see `exclusive_use`)."""
    settings = RedisSettings.from_dsn(REDIS_URL)
    settings.conn_retries = 0
    settings.conn_timeout = 2
    async with exclusive_use(REDIS_URL):
        try:
            pool = await create_pool(settings)
        except (OSError, RedisError) as error:
            _unavailable("Redis", error)
        try:
            await claim(pool, REDIS_URL)
            yield pool
        finally:
            try:
                await pool.flushdb()
            finally:
                await pool.aclose()


class WorkerProcesses(GocrmProcesses):
    """`gocrm worker` processes on the test database and Redis; every one is stopped at the end."""

    def __init__(self, settings: Settings, log_dir: Path) -> None:
        super().__init__(log_dir, stop_timeout=STOP_TIMEOUT)
        self.settings = settings

    def environment(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {**os.environ, **(extra or {})}
        env.update(
            DATABASE_URL=self.settings.database_url,
            REDIS_URL=REDIS_URL,
            PYTHONUNBUFFERED="1",
            GOCRM_SECRET_KEY=WORKER_SECRET_KEY,
        )
        env.pop("GOCRM_ENV", None)
        return env

    async def start(self, env: Mapping[str, str] | None = None) -> asyncio.subprocess.Process:
        """A new worker; `env` adds settings to its environment."""
        return await self.spawn("worker", ["worker"], self.environment(env))


@pytest.fixture
async def workers(
    database: Settings, arq_redis: ArqRedis, tmp_path: Path
) -> AsyncIterator[WorkerProcesses]:
    """Start arq workers with `await workers.start()`; all are stopped after the test."""
    processes = WorkerProcesses(database, tmp_path)
    try:
        yield processes
    finally:
        await processes.close()
