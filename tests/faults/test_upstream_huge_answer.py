"""An upstream whose answers never end, against a real worker: one declares a 1 GiB body, the
other sends a chunked body without a length.

Each sync ends FAILED at once with "GoPOS answered more than 8 MiB", the worker's memory stays
bounded (its peak resident size, VmHWM, grows by less than 100 MB although eight pages are read
at once), and the same worker then runs the next sync to the end.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults.data import SYNC_RUN, client, configure_gopos, job_row, synchronize_gopos
from tests.faults.processes import (
    PROJECT_ROOT,
    QUICK,
    Process,
    Processes,
    RedisServer,
    create_location,
    environment,
    eventually,
)
from tests.helpers import Api

GOPOS_FIXTURE = PROJECT_ROOT / "tests" / "fixtures" / "gopos.json"
CHUNK = b" " * 65_536
# What the hostile upstream sends at most, over all its answers: a gateway without the cap
# grows by this much and fails the test, rather than taking the machine's memory.
SAFETY_STOP = 256 * 1024 * 1024
MAX_GROWTH = 100 * 1024 * 1024
# The reader's window: four pages of each of the two lists at once.
PAGES_AT_ONCE = 8


class HugeUpstream:
    """A GoPOS that issues tokens, and answers every page of a list with a body that does not
    end until the client hangs up: declaring `Content-Length: 1073741824` for organisation
    "declared", chunked without a length for organisation "chunked"."""

    def __init__(self) -> None:
        self.pages = 0
        self.sent = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                target = head.split(" ", 2)[1]
                length = next(
                    (
                        int(line.split(":", 1)[1])
                        for line in head.split("\r\n")
                        if line.lower().startswith("content-length:")
                    ),
                    0,
                )
                await reader.readexactly(length)
                if target.startswith("/oauth/token"):
                    body = json.dumps({"access_token": "hostile", "expires_in": 3600}).encode()
                    writer.write(
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                        b"content-length: %d\r\n\r\n%s" % (len(body), body)
                    )
                    await writer.drain()
                    continue
                await self._endless(writer, chunked="/chunked/" in target)
                return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client hung up
        finally:
            writer.close()

    async def _endless(self, writer: asyncio.StreamWriter, *, chunked: bool) -> None:
        self.pages += 1
        framing = b"transfer-encoding: chunked" if chunked else b"content-length: 1073741824"
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n%s\r\n\r\n" % framing)
        piece = b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK) if chunked else CHUNK
        while self.sent < SAFETY_STOP:
            writer.write(piece)
            await writer.drain()
            self.sent += len(CHUNK)


@pytest.fixture
async def huge_upstream() -> AsyncIterator[tuple[HugeUpstream, str]]:
    upstream = HugeUpstream()
    server = await asyncio.start_server(upstream.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield upstream, f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


def memory(process: Process) -> dict[str, int]:
    """The process's peak (VmHWM) and current (VmRSS) resident size, in bytes."""
    found = {}
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            found[name] = int(value.split()[0]) * 1024
    return found


async def test_answers_that_never_end_fail_the_sync_and_leave_the_worker_small_and_working(
    fault_database: str,
    redis_server: RedisServer,
    processes: Processes,
    huge_upstream: tuple[HugeUpstream, str],
) -> None:
    # given a gateway and a worker on Redis, the worker warmed up by a sync from the simulator
    upstream, upstream_url = huge_upstream
    env = environment(
        DATABASE_URL=fault_database, REDIS_URL=redis_server.url, GOCRM_ENV="production", **QUICK
    )
    location = await create_location(processes, env, "Huge answers")
    gateway = await processes.gateway(env)
    worker = await processes.worker(env)
    simulator_url = await processes.simulator("gopos", GOPOS_FIXTURE)
    fixture = json.loads(GOPOS_FIXTURE.read_text())
    hostile = {"client_id": "till", "client_secret": "hostile-secret-8e1d"}
    async with client(gateway.url) as http:
        admin = Api(http, location.key, location.id)

        async def sync(base_url: str, credentials: dict[str, Any]) -> dict[str, Any]:
            await configure_gopos(admin, base_url, credentials)
            run = await synchronize_gopos(admin)

            async def finished() -> dict[str, Any] | None:
                row = await job_row(fault_database, "sync_runs", run["id"])
                return row if row["status"] in ("SUCCEEDED", "FAILED") else None

            row = await eventually(finished, "the sync to end", processes, within=30)
            shown: dict[str, Any] = (await admin.data(SYNC_RUN, {"id": run["id"]}))["syncRun"]
            return {"attempts": row["attempts"], **shown}

        warm_up = await sync(simulator_url, fixture)
        before = memory(worker)

        # when GoPOS answers every page with a body declared as 1 GiB, then with a chunked body
        # without end
        pages = []
        declared = await sync(upstream_url, {**hostile, "organization_id": "declared"})
        pages.append(upstream.pages)
        chunked = await sync(upstream_url, {**hostile, "organization_id": "chunked"})
        pages.append(upstream.pages - pages[0])
        after = memory(worker)

        # and then the simulator again
        again = await sync(simulator_url, fixture)

    # then the worker's peak memory grew by less than 100 MB, eight pages being read at once
    growth = after["VmHWM"] - before["VmHWM"]
    print(f"worker memory: before {before}, after {after}, peak growth {growth / 2**20:.1f} MiB")
    assert growth < MAX_GROWTH, (before, after)
    # and each sync failed at once, saying what the upstream did
    failed = {
        "attempts": 1,
        "status": "FAILED",
        "fetched": 0,
        "linked": 0,
        "error": "GoPOS answered more than 8 MiB",
    }
    assert (declared, chunked) == (failed, failed)
    assert all(1 <= count <= PAGES_AT_ONCE for count in pages)  # no page was asked for again
    assert upstream.sent < SAFETY_STOP
    # and the same worker ran the next sync to the end, as it had the first
    ok = {"attempts": 1, "status": "SUCCEEDED", "fetched": 2, "linked": 0, "error": None}
    assert (warm_up, again) == (ok, ok)
    assert worker.returncode is None
    log = processes.output(worker)
    assert log.count("answered more than 8 MiB; the rest was not read") >= 2
    assert "Traceback" not in log
    assert "hostile-secret-8e1d" not in log
