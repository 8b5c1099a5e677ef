"""Redis stopped while gateways and a worker run, and a gateway started while it is down.

Tills need no Redis: quotes and commits go on. `synchronize` and a large bulk credit are
accepted as QUEUED, because the database is the source of truth; nothing runs them while Redis
is down, and the worker, which rides out the outage, runs each once when Redis is back.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.faults.data import (
    COMMIT,
    QUOTE,
    SYNC_RUN,
    bill,
    card_code,
    client,
    configure_gopos,
    create_group,
    credit_group,
    credited,
    give_cards,
    job_row,
    off_ledger,
    pos_api,
    sales,
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
)
from tests.helpers import Api

MEMBERS = 1_000
TILL_CUSTOMERS = 20
GOPOS_FIXTURE = PROJECT_ROOT / "tests" / "fixtures" / "gopos.json"
QUOTED = {
    "subtotal": {"amount": "43.90"},
    "total": {"amount": "33.90"},
    "credits": {"applied": {"amount": "10.00"}},
}


async def test_without_redis_tills_work_and_queued_jobs_run_once_when_it_is_back(
    fault_database: str, redis_server: RedisServer, processes: Processes
) -> None:
    # given a gateway and a worker on Redis; 1,000 customers, the first 20 with cards and 10.00
    await redis_server.flushall()
    env = environment(
        DATABASE_URL=fault_database, REDIS_URL=redis_server.url, GOCRM_ENV="production", **QUICK
    )
    location = await create_location(processes, env, "Redis down")
    first = await processes.gateway(env)
    worker = await processes.worker(env)
    gopos_url = await processes.simulator("gopos", GOPOS_FIXTURE)
    async with client(first.url) as http:
        admin = Api(http, location.key, location.id)
        everyone = await create_group(admin, "Stały klient")
        tills = await create_group(admin, "Karta")
        await seed_customers(fault_database, location.id, MEMBERS, group_id=everyone)
        await give_cards(fault_database, location.id, TILL_CUSTOMERS, cards="C", group_id=tills)
        credits = await credit_group(admin, tills, "10.00", "till-credits")
        assert (credits["status"], credits["processed"]) == ("SUCCEEDED", TILL_CUSTOMERS)
        await configure_gopos(admin, gopos_url, json.loads(GOPOS_FIXTURE.read_text()))
        pos = await pos_api(admin)

        # when Redis stops
        await redis_server.stop()

        # then the running gateway still quotes and commits, and accepts a sync as QUEUED
        ready = (await http.get("/readyz")).json()
        quotes = [
            (await pos.data(QUOTE, {"input": bill(card_code("C", n))}))["checkoutQuote"]
            for n in range(1, TILL_CUSTOMERS + 1)
        ]
        commits = [
            await pos.mutate(COMMIT, {"input": bill(card_code("C", n)), "key": f"down-{n}"})
            for n in range(1, TILL_CUSTOMERS + 1)
        ]
        run = await synchronize_gopos(admin)

    # and a gateway started while Redis is down serves, and accepts a large credit as QUEUED
    second = await processes.gateway(env)
    async with client(second.url) as http:
        admin = Api(http, location.key, location.id)
        second_ready = (await http.get("/readyz")).json()
        operation = await credit_group(admin, everyone, "1.00", "while-down")

        # and nothing runs them while Redis is down (longer than the stale threshold and a check)
        await asyncio.sleep(2 + 1 + 1)
        while_down = [
            await job_row(fault_database, "wallet_operations", operation["id"]),
            await job_row(fault_database, "sync_runs", run["id"]),
        ]

        # when Redis is back (empty: it saves nothing)
        await redis_server.start()

        async def both_finished() -> list[dict[str, Any]] | None:
            rows = [
                await job_row(fault_database, "wallet_operations", operation["id"]),
                await job_row(fault_database, "sync_runs", run["id"]),
            ]
            return rows if all(r["status"] in ("SUCCEEDED", "FAILED") for r in rows) else None

        op_row, run_row = await eventually(both_finished, "both jobs to finish", processes)
        shown = (await admin.data(SYNC_RUN, {"id": run["id"]}))["syncRun"]

    assert ready["status"] == second_ready["status"] == "ready"
    assert ready["redis"] == second_ready["redis"] == "down"
    assert quotes == [QUOTED] * TILL_CUSTOMERS
    assert [c["errors"] for c in commits] == [[]] * TILL_CUSTOMERS
    sold = {
        (c["checkout"]["total"]["amount"], c["checkout"]["creditsUsed"]["amount"]) for c in commits
    }
    assert sold == {("33.90", "10.00")}
    assert (run["status"], operation["status"], operation["total"]) == ("QUEUED", "QUEUED", MEMBERS)
    assert [(r["status"], r["attempts"]) for r in while_down] == [("QUEUED", 0), ("QUEUED", 0)]
    # (the gateways could not queue them, and said so)
    assert f"could not queue sync-run:{run['id']}:0" in processes.output(first.process)
    assert f"could not queue wallet-operation:{operation['id']}:0" in processes.output(
        second.process
    )
    # then the same worker, still running, rode the outage out and ran each job once, in its
    # first attempt
    assert worker.returncode is None
    assert "Redis is unreachable" in processes.output(worker)
    assert "Redis is reachable again" in processes.output(worker)
    assert (op_row["status"], op_row["attempts"], op_row["processed"]) == ("SUCCEEDED", 1, MEMBERS)
    assert (run_row["status"], run_row["attempts"]) == ("SUCCEEDED", 1)
    assert shown == {"status": "SUCCEEDED", "fetched": 2, "linked": 1, "error": None}
    book = await credited(fault_database, location.id, operation["id"])
    assert (book.entries, book.customers, book.delta_sum) == (MEMBERS, MEMBERS, MEMBERS * 100)
    # and the tills' sales are whole: one checkout per bill, each with its entries
    till_book = await sales(fault_database, location.id)
    assert sorted(till_book.checkouts_by_key) == sorted(f"down-{n}" for n in range(1, 21))
    assert all(len(ids) == 1 for ids in till_book.checkouts_by_key.values())
    assert till_book.unmatched == []
    assert till_book.credits_used == TILL_CUSTOMERS * 1_000
    assert await off_ledger(fault_database, location.id) == 0
