"""A worker SIGKILLed in the middle of a bulk credit, and another started.

Nobody calls the periodic check by hand: the new worker's own check finds the operation's
heartbeat silent and queues it again, and the second attempt finishes the job. Every customer
is credited exactly once. With the default job settings, the second attempt commits its first
chunk of a 200,000-customer credit within 30 seconds of the kill.
"""

from __future__ import annotations

import time
from typing import Any

from tests.faults.data import client, create_group, credit_group, credited, job_row, seed_customers
from tests.faults.processes import (
    Processes,
    RedisServer,
    create_location,
    environment,
    eventually,
    sql,
)
from tests.helpers import Api

MEMBERS = 50_000
AMOUNT = 250  # 2.50
# Chunks of 1,000 customers, a heartbeat every second, dead after 3 silent seconds, a check
# every second: the kill lands between chunks of a long job, and recovery takes seconds.
QUICK = {
    "GOCRM_JOB_CHUNK_SIZE": "1000",
    "GOCRM_JOB_HEARTBEAT": "1",
    "GOCRM_JOB_STALE_AFTER": "3",
    "GOCRM_CHECK_SECONDS": "1",
}


async def test_a_worker_killed_mid_operation_is_resumed_and_credits_each_customer_once(
    fault_database: str, redis_server: RedisServer, processes: Processes
) -> None:
    # given 50,000 customers in a group, a gateway and a worker on Redis
    env = environment(
        DATABASE_URL=fault_database, REDIS_URL=redis_server.url, GOCRM_ENV="production", **QUICK
    )
    location = await create_location(processes, env, "Killed worker")
    gateway = await processes.gateway(env)
    first = await processes.worker(env)
    async with client(gateway.url) as http:
        admin = Api(http, location.key, location.id)
        group_id = await create_group(admin, "Wszyscy")
        await seed_customers(fault_database, location.id, MEMBERS, group_id=group_id)

        # when every member is credited 2.50 and the worker running it is SIGKILLed mid-way
        queued = await credit_group(admin, group_id, "2.50", "bulk-50k")
    assert (queued["status"], queued["total"], queued["processed"]) == ("QUEUED", MEMBERS, 0)

    async def mid_way() -> dict[str, Any] | None:
        row = await job_row(fault_database, "wallet_operations", queued["id"])
        return row if row["status"] == "RUNNING" and row["processed"] >= 5_000 else None

    await eventually(mid_way, "the operation to be mid-way", processes, interval=0.01)
    await processes.kill(first)
    killed_at = time.monotonic()
    at_kill = await job_row(fault_database, "wallet_operations", queued["id"])
    second = await processes.worker(env)

    # then the new worker resumes it within the stale threshold and a check, and finishes it
    async def resumed() -> dict[str, Any] | None:
        row = await job_row(fault_database, "wallet_operations", queued["id"])
        return row if row["attempts"] == 2 else None

    await eventually(resumed, "the operation to be resumed", processes, interval=0.05)
    resumed_after = time.monotonic() - killed_at

    async def finished() -> dict[str, Any] | None:
        row = await job_row(fault_database, "wallet_operations", queued["id"])
        return row if row["status"] in ("SUCCEEDED", "FAILED") else None

    done = await eventually(finished, "the operation to finish", processes)
    assert (at_kill["status"], at_kill["attempts"]) == ("RUNNING", 1)
    assert 0 < at_kill["processed"] < MEMBERS
    assert resumed_after < 3 + 1 + 8  # stale threshold, check interval, the worker's start-up
    assert (done["status"], done["attempts"], done["processed"], done["total"], done["error"]) == (
        "SUCCEEDED",
        2,
        MEMBERS,
        MEMBERS,
        None,
    )
    assert second.returncode is None
    # and every customer was credited exactly once
    book = await credited(fault_database, location.id, queued["id"])
    assert (book.entries, book.customers, book.delta_sum) == (MEMBERS, MEMBERS, MEMBERS * AMOUNT)
    assert book.balances == {AMOUNT: MEMBERS}
    assert book.off_ledger == 0


LARGE = 200_000


async def _entries(database_url: str, operation_id: str) -> int:
    (row,) = await sql(
        database_url, "SELECT count(*) AS n FROM wallet_entries WHERE source_id = $1", operation_id
    )
    n: int = row["n"]
    return n


async def test_with_the_defaults_a_killed_workers_credit_commits_its_next_chunk_within_30_s(
    fault_database: str, redis_server: RedisServer, processes: Processes
) -> None:
    # given 200,000 customers in a group, a gateway and a worker with the default job settings
    env = environment(
        DATABASE_URL=fault_database, REDIS_URL=redis_server.url, GOCRM_ENV="production"
    )
    location = await create_location(processes, env, "Killed worker, defaults")
    gateway = await processes.gateway(env)
    first = await processes.worker(env)
    async with client(gateway.url) as http:
        admin = Api(http, location.key, location.id)
        group_id = await create_group(admin, "Wszyscy")
        await seed_customers(fault_database, location.id, LARGE, group_id=group_id)
        queued = await credit_group(admin, group_id, "2.50", "bulk-200k")

    # when the worker running it is SIGKILLed halfway, and another one is started
    async def halfway() -> dict[str, Any] | None:
        row = await job_row(fault_database, "wallet_operations", queued["id"])
        return row if row["processed"] >= LARGE // 2 else None

    await eventually(halfway, "the operation to be halfway", processes, interval=0.01)
    await processes.kill(first)
    killed_at = time.monotonic()
    at_kill = await _entries(fault_database, queued["id"])
    await processes.worker(env)

    # then the next chunk is committed within 30 seconds of the kill
    async def next_chunk() -> int | None:
        entries = await _entries(fault_database, queued["id"])
        return entries if entries > at_kill else None

    await eventually(next_chunk, "the next chunk", processes, interval=0.1)
    next_chunk_after = time.monotonic() - killed_at
    print(f"the next chunk after the kill was committed {next_chunk_after:.1f} s later")

    async def finished() -> dict[str, Any] | None:
        row = await job_row(fault_database, "wallet_operations", queued["id"])
        return row if row["status"] in ("SUCCEEDED", "FAILED") else None

    done = await eventually(finished, "the operation to finish", processes)
    assert LARGE // 2 <= at_kill < LARGE
    assert next_chunk_after < 30
    assert (done["status"], done["attempts"], done["processed"], done["total"]) == (
        "SUCCEEDED",
        2,
        LARGE,
        LARGE,
    )
    # and every customer was credited exactly once
    book = await credited(fault_database, location.id, queued["id"])
    assert (book.entries, book.customers, book.delta_sum) == (LARGE, LARGE, LARGE * AMOUNT)
    assert book.off_ledger == 0
