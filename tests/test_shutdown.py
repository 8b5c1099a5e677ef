"""Stopping on SIGTERM: the gateway finishes the requests in flight within the grace and exits
0; a background job ends between two chunks and is queued again for the next worker."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import signal
import sys
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from arq.connections import RedisSettings

from domain.jobs import JobStatus
from gateway.app import create_app
from gateway.runtime import build_runtime, close_runtime
from models.tables.wallet import WalletOperation
from services import wallet
from services.lifecycle import Attempt, run_attempt
from services.runtime import Runtime
from settings import Settings
from tasks.jobs import run_wallet_operation
from tasks.worker import GracefulWorker, worker_options
from tests.helpers import Api, create_customer, new_location
from tests.servers import environment, free_port, start_serve
from tests.test_metrics import Counts, Recorder
from tests.wallet_helpers import balance_of, credit_ok

LIST_GROUPS = json.dumps({"query": "{ customerGroups { name } }"}).encode()


async def _gocrm(cwd: Path, env: Mapping[str, str], *args: str) -> dict[str, Any]:
    command = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway.cli",
        *args,
        cwd=cwd,
        env=dict(env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await command.communicate()
    assert command.returncode == 0
    answer: dict[str, Any] = json.loads(out)
    return answer


def _request_head(key: str, length: int) -> bytes:
    return (
        "POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {key}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


async def _refused(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except ConnectionRefusedError:
        return True
    writer.close()
    return False


async def _served(tmp_path: Path, grace: int) -> tuple[asyncio.subprocess.Process, int, str, Path]:
    """`gocrm serve` on a SQLite file of its own; the process, its port, an ADMIN key, its log."""
    env = environment(
        f"sqlite://{tmp_path / 'gocrm.sqlite3'}",
        tmp_path / "metrics",
        GOCRM_SHUTDOWN_GRACE=str(grace),
        GOCRM_KEY_FILE=str(tmp_path / "gocrm.key"),
    )
    key = (await _gocrm(tmp_path, env, "create-location", "--name", "Bistro"))["api_key"]
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        server = await start_serve(port, tmp_path, env, stderr=sink.fileno())
    return server, port, key, log


async def test_sigterm_lets_the_request_in_flight_finish_and_exits_0(tmp_path: Path) -> None:
    # given the gateway serving, and a till whose request is half sent (a slow network)
    server, port, key, log = await _served(tmp_path, grace=5)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(_request_head(key, len(LIST_GROUPS)) + LIST_GROUPS[:10])
    await writer.drain()
    await asyncio.sleep(0.3)

    # when the process is told to stop
    stopped_at = time.monotonic()
    server.send_signal(signal.SIGTERM)
    await asyncio.sleep(0.5)

    # then it takes no new connection, and the request in flight is answered in full
    assert await _refused(port)
    writer.write(LIST_GROUPS[10:])
    await writer.drain()
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
    length = int(head.split("content-length:")[1].split("\r\n")[0])
    body = json.loads(await reader.readexactly(length))
    writer.close()
    assert head.startswith("http/1.1 200 ok")
    assert "connection: close" in head
    assert body == {"data": {"customerGroups": []}}
    # and the process ends, within the grace, with status 0, its lifespan shut down
    assert await asyncio.wait_for(server.wait(), timeout=10) == 0
    assert time.monotonic() - stopped_at < 5
    logged = log.read_text()
    assert "POST /graphql 200" in logged
    assert "Application shutdown complete." in logged


async def test_a_request_still_running_at_the_end_of_the_grace_is_cut(tmp_path: Path) -> None:
    # given a request whose body never comes, and a grace of 1 s
    server, port, key, log = await _served(tmp_path, grace=1)
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(_request_head(key, len(LIST_GROUPS)) + LIST_GROUPS[:10])
    await writer.drain()
    await asyncio.sleep(0.3)

    # when the process is told to stop
    stopped_at = time.monotonic()
    server.send_signal(signal.SIGTERM)
    status = await asyncio.wait_for(server.wait(), timeout=10)

    # then it waited out the grace, no longer, and still shut down in order
    elapsed = time.monotonic() - stopped_at
    writer.close()
    assert status == 0
    assert 1 <= elapsed < 4
    logged = log.read_text()
    assert "timeout graceful shutdown exceeded" in logged
    assert "Application shutdown complete." in logged


# ------------------------------------------------------------------------ background jobs


@pytest.fixture
async def queue(database: Settings) -> AsyncIterator[tuple[Api, Runtime, Recorder]]:
    """A gateway whose bulk operations (over one customer) wait in a queue nobody reads,
    worked in chunks of one customer."""
    recorder = Recorder()
    settings = dataclasses.replace(database, job_inline_limit=1, job_chunk_size=1)
    runtime = build_runtime(settings, recorder)
    app = create_app(settings, manage_database=False, runtime=runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        yield await new_location(http, "Chunk Bistro"), runtime, recorder
    await close_runtime(runtime)


async def _queued_operation(api: Api, customers: int) -> tuple[UUID, list[str]]:
    ids = [(await create_customer(api, firstName=f"C{n}"))["id"] for n in range(customers)]
    operation = await credit_ok(api, {"customerIds": ids}, "ADD", "5.00")
    assert operation["status"] == "QUEUED"
    return UUID(operation["id"]), ids


async def test_a_stopping_attempt_ends_between_chunks_and_queues_the_job_again(
    queue: tuple[Api, Runtime, Recorder],
) -> None:
    # given a queued job whose work is three chunks
    api, runtime, recorder = queue
    operation_id, _ = await _queued_operation(api, 3)
    recorder.jobs.clear()
    done: list[int] = []

    async def work(attempt: Attempt) -> Mapping[str, Any]:
        for chunk in range(3):
            attempt.stop_if_asked()
            done.append(chunk)
            if chunk == 0:  # SIGTERM arrives while the first chunk is in hand
                runtime.stop.request()
        return {}

    counts = Counts(("gocrm_job_runs_total", {"kind": "wallet_operation", "result": "interrupted"}))

    # when an attempt runs
    status = await run_attempt(wallet.OPERATIONS, operation_id, runtime, work, attempts=0)

    # then the chunk in hand was finished, no other begun, and the job is queued again
    row = await WalletOperation.get(id=operation_id)
    assert done == [0]
    assert status is JobStatus.QUEUED
    assert (row.status, row.attempts, row.error) == (JobStatus.QUEUED, 1, None)
    assert recorder.jobs == [
        (
            "run_wallet_operation",
            (str(operation_id),),
            f"wallet-operation:{operation_id}:1",
        )
    ]
    assert counts.grown() == [1]


async def test_a_stopping_worker_leaves_the_rest_of_an_operation_to_the_next(
    queue: tuple[Api, Runtime, Recorder], database: Settings
) -> None:
    # given a bulk operation queued for three customers, and a worker told to stop
    api, runtime, recorder = queue
    operation_id, ids = await _queued_operation(api, 3)
    runtime.stop.request()

    # when the stopping worker takes the job
    await run_wallet_operation({"runtime": runtime}, str(operation_id))

    # then it credits nobody and leaves the job queued, with one more attempt made
    stopped = await WalletOperation.get(id=operation_id)
    assert (stopped.status, stopped.attempts, stopped.processed) == (JobStatus.QUEUED, 1, 0)
    assert [await balance_of(api, customer) for customer in ids] == ["0.00"] * 3

    # and the next worker finishes it, crediting each customer once
    successor = build_runtime(dataclasses.replace(database, job_chunk_size=1), recorder)
    try:
        await run_wallet_operation({"runtime": successor}, str(operation_id))
    finally:
        await close_runtime(successor)
    finished = await WalletOperation.get(id=operation_id)
    assert (finished.status, finished.processed, finished.total) == (JobStatus.SUCCEEDED, 3, 3)
    assert [await balance_of(api, customer) for customer in ids] == ["5.00"] * 3


async def test_sigterm_makes_a_worker_take_no_new_job_and_stop_its_jobs() -> None:
    runtime = build_runtime(Settings())
    options = worker_options(
        start=lambda dispatcher: asyncio.sleep(0, runtime),
        stop=lambda: asyncio.sleep(0),
        redis_settings=RedisSettings(),
        queue_name="gocrm:test-shutdown",
        check_seconds=10,
        job_timeout_seconds=60,
        max_jobs=4,
        shutdown_grace_seconds=7,
    )
    worker = GracefulWorker(**options, handle_signals=False, ctx={"runtime": runtime})

    worker.handle_sig_wait_for_completion(signal.SIGTERM)
    await asyncio.sleep(0.05)  # its wait for the running jobs (none) ends

    assert runtime.stop.requested
    assert worker.allow_pick_jobs is False
    assert options["job_completion_wait"] == 7
    await close_runtime(runtime)
