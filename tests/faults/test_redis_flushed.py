"""Redis flushed (FLUSHALL) while a bulk operation and a sync wait in its queue.

The jobs are gone from Redis but their records are QUEUED in the database: a worker's periodic
check finds them silent, queues them again, and each runs to the end once.
"""

from __future__ import annotations

import json
from typing import Any

from tests.faults.data import (
    SYNC_RUN,
    client,
    configure_gopos,
    create_group,
    credit_group,
    credited,
    job_row,
    seed_customers,
    synchronize_gopos,
)
from tests.faults.processes import (
    PROJECT_ROOT,
    QUICK,
    Processes,
    RedisServer,
    create_location,
    environment,
    eventually,
    sql,
)
from tests.helpers import Api

MEMBERS = 2_000
AMOUNT = 125  # 1.25
GOPOS_FIXTURE = PROJECT_ROOT / "tests" / "fixtures" / "gopos.json"


async def test_jobs_lost_in_a_redis_flush_are_queued_again_from_the_database_and_run_once(
    fault_database: str, redis_server: RedisServer, processes: Processes
) -> None:
    # given a gateway on Redis with no worker running, and a GoPOS upstream
    await redis_server.flushall()
    env = environment(
        DATABASE_URL=fault_database, REDIS_URL=redis_server.url, GOCRM_ENV="production", **QUICK
    )
    location = await create_location(processes, env, "Flushed Redis")
    gateway = await processes.gateway(env)
    gopos_url = await processes.simulator("gopos", GOPOS_FIXTURE)
    fixture = json.loads(GOPOS_FIXTURE.read_text())
    async with client(gateway.url) as http:
        admin = Api(http, location.key, location.id)
        group_id = await create_group(admin, "Stały klient")
        await seed_customers(fault_database, location.id, MEMBERS, group_id=group_id)
        await configure_gopos(admin, gopos_url, fixture)

        # when a bulk credit and a sync are queued, and Redis is flushed before any worker runs
        operation = await credit_group(admin, group_id, "1.25", "flushed")
        run = await synchronize_gopos(admin)
        queued_keys = await redis_server.keys()
        await redis_server.flushall()
        flushed_keys = await redis_server.keys()
        worker = await processes.worker(env)

        async def both_finished() -> list[dict[str, Any]] | None:
            rows = [
                await job_row(fault_database, "wallet_operations", operation["id"]),
                await job_row(fault_database, "sync_runs", run["id"]),
            ]
            return rows if all(r["status"] in ("SUCCEEDED", "FAILED") for r in rows) else None

        op_row, run_row = await eventually(both_finished, "both jobs to finish", processes)
        shown = (await admin.data(SYNC_RUN, {"id": run["id"]}))["syncRun"]

    # then both had been queued on Redis, and the flush emptied it
    assert (operation["status"], operation["total"], run["status"]) == ("QUEUED", MEMBERS, "QUEUED")
    assert f"arq:job:wallet-operation:{operation['id']}:0" in queued_keys
    assert f"arq:job:sync-run:{run['id']}:0" in queued_keys
    assert flushed_keys == []
    # and each ran once, in its first attempt, to the end
    assert (op_row["status"], op_row["attempts"], op_row["processed"], op_row["error"]) == (
        "SUCCEEDED",
        1,
        MEMBERS,
        None,
    )
    assert (run_row["status"], run_row["attempts"], run_row["error"]) == ("SUCCEEDED", 1, None)
    assert shown == {"status": "SUCCEEDED", "fetched": 2, "linked": 1, "error": None}
    runs = await sql(
        fault_database, "SELECT count(*) AS n FROM sync_runs WHERE location_id = $1", location.id
    )
    assert runs == [{"n": 1}]
    mirrored = await sql(
        fault_database,
        "SELECT external_id, reference, removed FROM pos_customer_groups"
        " WHERE location_id = $1 ORDER BY external_id",
        location.id,
    )
    assert mirrored == [
        {"external_id": "17", "reference": "staly-klient", "removed": False},
        {"external_id": "g-18", "reference": None, "removed": False},
    ]
    # and every member was credited once
    book = await credited(fault_database, location.id, operation["id"])
    assert (book.entries, book.customers, book.delta_sum) == (MEMBERS, MEMBERS, MEMBERS * AMOUNT)
    assert book.balances == {AMOUNT: MEMBERS}
    assert book.off_ledger == 0
    assert worker.returncode is None
