"""Real servers and `gocrm` processes for the fault suite.

Every test module that stops, flushes or restarts a server starts its own: a Redis server
(`redis-server` on a free port, nothing saved to disk) and, for the PostgreSQL restart, a
cluster of its own (`initdb` and `pg_ctl` in a temporary folder). Stopping them disturbs nothing
else on the machine. A test's database on the shared PostgreSQL (`GOCRM_TEST_POSTGRES`) is a
fresh one, cloned from a template migrated once per session by `gocrm migrate`.

Gateways (`gocrm serve`) and workers (`gocrm worker`) run as subprocesses with their output in
the test's folder, started as the worker tests start theirs (`tests.processes`); a failed test
prints it. The test process itself talks to them over HTTP and reads the database with plain
asyncpg: it never opens the ORM on these databases.

Without `redis-server`, the PostgreSQL binaries or the shared server, the tests are skipped,
unless `GOCRM_REQUIRE_SERVICES=1` (set by `.ci/run`), which makes them fail instead.
"""

from __future__ import annotations

import asyncio
import glob
import json
import os
import shutil
import socket
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NoReturn, TypeVar

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from adapters.secrets import new_key
from tests.conftest import POSTGRES_SERVER, REQUIRE_SERVICES
from tests.faults.till_documents import manifest_path
from tests.processes import PROJECT_ROOT, GocrmProcesses, Process, wait_until

# Gateways and workers open the integration secrets that other processes sealed: one key.
SECRET_KEY = new_key()
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
COMMAND_TIMEOUT = 60.0

T = TypeVar("T")


def unavailable(what: str, reason: str) -> NoReturn:
    message = f"{what} unavailable ({reason})"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message}; GOCRM_REQUIRE_SERVICES=1 makes it required", pytrace=False)
    pytest.skip(f"{message}: skipping the fault suite")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def wait_for_port(port: int, what: str, process: Process | None = None) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if process is not None and process.returncode is not None:
                pytest.fail(f"{what} exited with {process.returncode} before listening")
            if loop.time() > deadline:
                pytest.fail(f"{what} did not listen on port {port} within {START_TIMEOUT:.0f} s")
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return


# Job settings for tests that wait on background jobs: a heartbeat every second, dead after
# two silent seconds, the periodic check every second.
QUICK = {"GOCRM_JOB_HEARTBEAT": "1", "GOCRM_JOB_STALE_AFTER": "2", "GOCRM_CHECK_SECONDS": "1"}


def environment(**settings: str) -> dict[str, str]:
    """The environment of a `gocrm` process: this one's without the developer's GoCRM
    settings, plus `settings` (`DATABASE_URL=...`, `GOCRM_JOB_HEARTBEAT=...`)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("GOCRM_") and name not in ("DATABASE_URL", "REDIS_URL")
    }
    # The simulators and stalled upstreams of the tests listen on loopback; the tills send
    # the suite's own documents, trusted by an operator's manifest.
    env.update(
        PYTHONUNBUFFERED="1",
        GOCRM_SECRET_KEY=SECRET_KEY,
        GOCRM_UPSTREAM_ALLOW="127.0.0.0/8",
        GOCRM_TRUSTED_DOCUMENTS=manifest_path(),
        **settings,
    )
    return env


# --- gocrm processes -------------------------------------------------------------------------


@dataclass
class Gateway:
    process: Process
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Processes(GocrmProcesses):
    """The `gocrm` processes of one test. All are stopped at its end; `logs()` is what they
    wrote, which a failed test prints."""

    def __init__(self, log_dir: Path) -> None:
        super().__init__(log_dir, stop_timeout=STOP_TIMEOUT)

    async def command(self, *args: str, env: dict[str, str]) -> str:
        """Run a one-off `gocrm` command to its end and return what it printed on stdout."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gateway.cli",
            *args,
            cwd=PROJECT_ROOT,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), COMMAND_TIMEOUT)
        if process.returncode != 0:
            pytest.fail(f"gocrm {' '.join(args)} exited with {process.returncode}: {err.decode()}")
        return out.decode()

    async def gateway(self, env: dict[str, str], port: int | None = None) -> Gateway:
        """`gocrm serve` as one process on `port` (a free one by default), once it answers
        HTTP (`/healthz`, whatever it says)."""
        port = port or free_port()
        args = ["serve", "--port", str(port), "--workers", "1"]
        process = await self.spawn("gateway", args, env)
        gateway = Gateway(process, port)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT
        async with httpx.AsyncClient(base_url=gateway.url, timeout=2.0) as client:
            while True:
                try:
                    await client.get("/healthz")
                except httpx.TransportError:
                    if process.returncode is not None:
                        pytest.fail(f"a gateway exited with {process.returncode}\n{self.logs()}")
                    if loop.time() > deadline:
                        pytest.fail(f"a gateway did not start in {START_TIMEOUT:.0f} s")
                    await asyncio.sleep(0.05)
                    continue
                return gateway

    async def worker(self, env: dict[str, str]) -> Process:
        """`gocrm worker`, once it has started polling Redis for jobs."""
        process = await self.spawn("worker", ["worker"], env)

        async def polling() -> bool:
            return "Starting worker for" in self.output(process)

        await eventually(polling, "a worker to start", self, within=START_TIMEOUT, interval=0.05)
        return process

    async def simulator(self, kind: str, fixture: Path) -> str:
        """`gocrm simulate` on a free port; its base URL once it listens."""
        port = free_port()
        args = ["simulate", kind, "--port", str(port), "--fixture", str(fixture)]
        process = await self.spawn(f"simulate-{kind}", args, environment())
        await wait_for_port(port, f"the {kind} simulator", process)
        return f"http://127.0.0.1:{port}"


async def eventually(
    condition: Callable[[], Awaitable[T | None]],
    what: str,
    processes: Processes,
    within: float = 60.0,
    interval: float = 0.1,
) -> T:
    """Poll `condition` until it returns something truthy; fail after `within` seconds, or as
    soon as a process ends on its own."""
    return await wait_until(condition, what, processes, within, interval)


@dataclass(frozen=True)
class Location:
    id: str
    key: str  # an ADMIN key


async def create_location(processes: Processes, env: dict[str, str], name: str) -> Location:
    """`gocrm create-location`: a location and its first ADMIN key."""
    made = json.loads(await processes.command("create-location", "--name", name, env=env))
    return Location(made["location_id"], made["api_key"])


# --- servers ---------------------------------------------------------------------------------


class RedisServer:
    """A `redis-server` of this test module's own, on a free port, saving nothing to disk."""

    def __init__(self, binary: str, log_path: Path) -> None:
        self.binary = binary
        self.port = free_port()
        self.log_path = log_path
        self.process: Process | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self._log = self.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._log,
            stderr=asyncio.subprocess.STDOUT,
        )
        await wait_for_port(self.port, "redis-server", self.process)

    async def stop(self) -> None:
        """Shut it down (SIGTERM); what it held is gone, as nothing is saved."""
        if self.process is not None:
            if self.process.returncode is None:
                self.process.terminate()
            await self.process.wait()
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def client(self) -> Redis:
        redis: Redis = Redis.from_url(self.url)
        return redis

    async def flushall(self) -> None:
        async with self.client() as redis:
            await redis.flushall()

    async def keys(self) -> list[str]:
        async with self.client() as redis:
            return sorted(k.decode() for k in await redis.keys("*"))


@pytest.fixture(scope="module")
async def redis_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RedisServer]:
    """A Redis server of this module's own (flush it or stop it at will)."""
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server", "not on PATH")
    server = RedisServer(binary, tmp_path_factory.mktemp("redis") / "redis.log")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def postgres_binaries() -> Path | None:
    """The folder of `initdb`, `pg_ctl` and the other server tools: where the `initdb` on PATH
    lives (a link resolved), or Debian's newest version."""
    initdb = shutil.which("initdb")
    if initdb is not None:
        return Path(initdb).resolve().parent
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0,
    )
    return Path(found[-1]).parent if found else None


class PostgresCluster:
    """A PostgreSQL cluster of this module's own (`initdb`, `pg_ctl`) on a free port.

    Run as the `postgres` user when this process is root (PostgreSQL refuses root), in a
    temporary folder that user owns.
    """

    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="gocrm-faults-pg-"))
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    async def _run(self, tool: str, *args: str) -> None:
        command = [str(self.binaries / tool), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(process.communicate(), COMMAND_TIMEOUT)
        if process.returncode != 0:
            pytest.fail(f"{tool} {' '.join(args)} exited with {process.returncode}: {out.decode()}")

    async def init(self) -> None:
        await self._run(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
            "--no-sync",
        )  # fmt: skip

    async def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        log = str(self.folder / "postgres.log")
        await self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    async def stop(self) -> None:
        """A fast shutdown: sessions are ended, their transactions rolled back."""
        await self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def log(self) -> str:
        path = self.folder / "postgres.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="module")
async def postgres_cluster() -> AsyncIterator[PostgresCluster]:
    """A running PostgreSQL cluster of this module's own (stop and start it at will)."""
    binaries = postgres_binaries()
    if binaries is None:
        unavailable("PostgreSQL binaries (initdb, pg_ctl)", "not found")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        unavailable("runuser", "needed to run PostgreSQL as the postgres user")
    cluster = PostgresCluster(binaries)
    try:
        await cluster.init()
        await cluster.start()
        yield cluster
    finally:
        try:
            if (cluster.data / "postmaster.pid").exists():
                await cluster.stop()
        finally:
            cluster.remove()


# --- databases -------------------------------------------------------------------------------


async def _admin(server: str) -> asyncpg.Connection:
    try:
        connection: asyncpg.Connection = await asyncpg.connect(f"{server}/postgres", timeout=5)
    except (OSError, asyncpg.PostgresError) as error:
        unavailable("PostgreSQL", repr(error))
    return connection


async def _execute(server: str, statement: str) -> None:
    admin = await _admin(server)
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


@pytest.fixture(scope="session")
async def migrated_template() -> AsyncIterator[str]:
    """A database on the shared server migrated by `gocrm migrate`, to clone for each test."""
    name = f"gocrm_faults_template_{os.getpid()}"
    await _execute(POSTGRES_SERVER, f'CREATE DATABASE "{name}"')
    try:
        processes = Processes(Path(tempfile.gettempdir()))
        await processes.command(
            "migrate", env=environment(DATABASE_URL=f"{POSTGRES_SERVER}/{name}")
        )
        yield name
    finally:
        await _execute(POSTGRES_SERVER, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def fault_database(migrated_template: str) -> AsyncIterator[str]:
    """The URL of a migrated database of this test's own on the shared server."""
    name = f"gocrm_fault_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    await _execute(POSTGRES_SERVER, f'CREATE DATABASE "{name}" TEMPLATE "{migrated_template}"')
    try:
        yield f"{POSTGRES_SERVER}/{name}"
    finally:
        await _execute(POSTGRES_SERVER, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def processes(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Processes]:
    """Start `gocrm` processes through it; all are stopped after the test, and their output
    is printed when it failed."""
    running = Processes(tmp_path)
    try:
        yield running
    finally:
        await running.close()
        if request.node.stash.get(FAILED, False):
            print(running.logs())


FAILED = pytest.StashKey[bool]()


async def sql(database_url: str, query: str, *args: object) -> list[dict[str, Any]]:
    """Rows of one statement on `database_url`, each as a dict."""
    connection = await asyncpg.connect(database_url, timeout=5)
    try:
        return [dict(row) for row in await connection.fetch(query, *args)]
    finally:
        await connection.close()
