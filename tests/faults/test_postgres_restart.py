"""PostgreSQL restarted under load (a cluster of this module's own), with a gateway and a
worker running on it.

While it is down every request that needs it fails fast with 503 DATABASE_UNAVAILABLE, and
nothing else (no hang, no 500, no driver message). Once it is back the same gateway and the
same worker serve and work again, without a restart; the tills' retried commits land once.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.faults.data import (
    COMMIT,
    QUOTE,
    bill,
    card_code,
    client,
    create_group,
    credit_group,
    credited,
    give_cards,
    job_row,
    off_ledger,
    pos_api,
    sales,
    seed_customers,
)
from tests.faults.processes import (
    QUICK,
    PostgresCluster,
    Processes,
    RedisServer,
    create_location,
    environment,
    eventually,
    sql,
)
from tests.helpers import Api

MEMBERS = 600
TILL_CUSTOMERS = 20
UNAVAILABLE = {
    "errors": [
        {
            "message": "The database is unavailable; try again shortly.",
            "extensions": {"code": "DATABASE_UNAVAILABLE"},
        }
    ]
}


@dataclass(frozen=True)
class Answer:
    sent: float  # monotonic seconds
    seconds: float
    status: int | None  # None: no HTTP answer at all
    body: dict[str, Any] | None


@dataclass
class Load:
    """Quotes and commits from a few tills, every answer recorded."""

    answers: list[Answer] = field(default_factory=list)
    committed: dict[str, str] = field(default_factory=dict)  # idempotency key -> checkout id
    running: bool = True

    async def request(self, api: Api, query: str, variables: dict[str, Any]) -> Answer:
        sent = time.monotonic()
        try:
            response = await api.http.post(
                "/graphql", json={"query": query, "variables": variables}, headers=api.headers
            )
        except httpx.TransportError:
            answer = Answer(sent, time.monotonic() - sent, None, None)
        else:
            answer = Answer(sent, time.monotonic() - sent, response.status_code, response.json())
        self.answers.append(answer)
        return answer

    async def quoting(self, api: Api) -> None:
        n = 0
        while self.running:
            n += 1
            await self.request(api, QUOTE, {"input": bill(card_code("P", n % TILL_CUSTOMERS + 1))})
            await asyncio.sleep(0.02)

    async def committing(self, api: Api, till: int) -> None:
        """Bills one after another; a bill that got no checkout is sent again with its key."""
        n = 0
        while self.running:
            n += 1
            key = f"till-{till}-bill-{n}"
            card = card_code("P", (n * 2 + till) % TILL_CUSTOMERS + 1)
            while True:
                answer = await self.request(api, COMMIT, {"input": bill(card), "key": key})
                if answer.status == 200 and answer.body is not None and answer.body.get("data"):
                    self.committed[key] = answer.body["data"]["commitCheckout"]["checkout"]["id"]
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.02)


async def test_postgres_restarted_under_load_fails_fast_then_serves_again_without_restarts(
    postgres_cluster: PostgresCluster, redis_server: RedisServer, processes: Processes
) -> None:
    # given a gateway and a worker on a PostgreSQL of this test's own, and tills at work
    await redis_server.flushall()
    database = postgres_cluster.url("gocrm")
    await sql(postgres_cluster.url("postgres"), "CREATE DATABASE gocrm")
    # (the load's four tills share one key, past its rate limit: off)
    env = environment(
        DATABASE_URL=database,
        REDIS_URL=redis_server.url,
        GOCRM_ENV="production",
        GOCRM_RATE_LIMIT_POS="0",
        **QUICK,
    )
    await processes.command("migrate", env=env)
    location = await create_location(processes, env, "Restarted PostgreSQL")
    gateway = await processes.gateway(env)
    worker = await processes.worker(env)
    load = Load()
    async with client(gateway.url) as http:
        admin = Api(http, location.key, location.id)
        everyone = await create_group(admin, "Wszyscy")
        tills = await create_group(admin, "Karta")
        await seed_customers(database, location.id, MEMBERS, group_id=everyone)
        await give_cards(database, location.id, TILL_CUSTOMERS, cards="P", group_id=tills)
        await credit_group(admin, tills, "10.00", "till-credits")
        pos = await pos_api(admin)
        fresh = await pos_api(admin, "Till never used")
        tasks = [
            asyncio.create_task(load.quoting(pos)),
            asyncio.create_task(load.quoting(pos)),
            asyncio.create_task(load.committing(pos, 1)),
            asyncio.create_task(load.committing(pos, 2)),
        ]
        await asyncio.sleep(1.0)

        # when PostgreSQL stops for three seconds under that load, and starts again
        stopping_at = time.monotonic()
        await postgres_cluster.stop()
        down_at = time.monotonic()
        await asyncio.sleep(3.0)
        health_down = await http.get("/healthz")
        unknown_key = await load.request(fresh, QUOTE, {"input": bill(card_code("P", 1))})
        starting_at = time.monotonic()
        await postgres_cluster.start()
        up_at = time.monotonic()

        async def served() -> Answer | None:
            answers = [a for a in load.answers if a.sent > up_at and a.status == 200]
            return answers[0] if answers else None

        first_served = await eventually(served, "a request served again", processes, within=30)
        await asyncio.sleep(1.0)
        load.running = False
        await asyncio.wait_for(asyncio.gather(*tasks), 30)
        health_up = await http.get("/healthz")

        # and a bulk credit is asked for afterwards
        operation = await credit_group(admin, everyone, "1.00", "after-restart")

        async def finished() -> dict[str, Any] | None:
            row = await job_row(database, "wallet_operations", operation["id"])
            return row if row["status"] in ("SUCCEEDED", "FAILED") else None

        op_row = await eventually(finished, "the bulk credit to finish", processes)

    before = [a for a in load.answers if a.sent + a.seconds < stopping_at]
    during = [a for a in load.answers if down_at < a.sent and a.sent + a.seconds < starting_at]
    after = [a for a in load.answers if a.sent >= first_served.sent]
    # then before the stop every request was served
    assert len(before) >= 20
    assert {a.status for a in before} == {200}
    # while it was down, every request failed at once with 503 DATABASE_UNAVAILABLE
    assert len(during) >= 20
    assert {(a.status, str(a.body)) for a in during} == {(503, str(UNAVAILABLE))}
    assert max(a.seconds for a in during) < 1.0
    assert (unknown_key.status, unknown_key.body) == (503, UNAVAILABLE)
    assert (health_down.status_code, health_up.status_code) == (503, 200)
    # and no request ever got anything but a 200 with no errors, or that 503
    assert {a.status for a in load.answers} == {200, 503}
    assert [a.body for a in load.answers if a.status == 200 and "errors" in (a.body or {})] == []
    # once it was back, the same gateway served again within seconds, and every request since
    assert first_served.sent - up_at < 5.0
    assert len(after) >= 20
    assert {a.status for a in after} == {200}
    # and the same worker ran a bulk credit to the end
    assert (gateway.process.returncode, worker.returncode) == (None, None)
    assert (op_row["status"], op_row["attempts"], op_row["processed"]) == ("SUCCEEDED", 1, MEMBERS)
    book = await credited(database, location.id, operation["id"])
    assert (book.entries, book.customers) == (MEMBERS, MEMBERS)
    # and every bill the tills sent has exactly one checkout, with its entries
    till_book = await sales(database, location.id)
    assert till_book.checkouts_by_key == {key: [i] for key, i in load.committed.items()}
    assert till_book.unmatched == []
    assert till_book.orphan_entries == 0
    assert await off_ledger(database, location.id) == 0
