"""One API key's rate limit across two gateway processes: shared through Redis while it runs,
kept by each process on its own while it is stopped, never a reason to refuse a till."""

from __future__ import annotations

import time

import httpx

from tests.faults import till_documents
from tests.faults.data import client, pos_api
from tests.faults.processes import (
    Process,
    Processes,
    RedisServer,
    create_location,
    environment,
    eventually,
)
from tests.helpers import Api

# A till key may make 1 request a second, 10 at once.
RATE, BURST = 1, 10
TYPENAME = {"query": till_documents.TYPENAME}
OUTAGE = "rate limits: Redis did not answer"
BACK = "rate limits: Redis answers again"


async def _statuses(http: httpx.AsyncClient, till: Api, count: int) -> list[int]:
    return [
        (await http.post("/graphql", json=TYPENAME, headers=till.headers)).status_code
        for _ in range(count)
    ]


async def test_two_gateways_share_a_keys_limit_through_redis_and_each_keeps_it_without(
    fault_database: str, redis_server: RedisServer, processes: Processes
) -> None:
    # given two gateways on one Redis, and a till key limited to 1 a second, 10 at once
    await redis_server.flushall()
    env = environment(
        DATABASE_URL=fault_database,
        REDIS_URL=redis_server.url,
        GOCRM_ENV="production",
        GOCRM_RATE_LIMIT_POS=f"{RATE}/{BURST}",
    )
    location = await create_location(processes, env, "Rate limits")
    first = await processes.gateway(env)
    second = await processes.gateway(env)
    async with client(first.url) as one, client(second.url) as other:
        admin = Api(one, location.key, location.id)
        till = await pos_api(admin)
        keys = (await admin.data("{ apiKeys { id name } }"))["apiKeys"]
        (till_id,) = [key["id"] for key in keys if key["name"] == "Till"]

        # when the till sends 8 requests to each, one after another
        began = time.monotonic()
        shared = await _statuses(one, till, 8) + await _statuses(other, till, 8)
        took = time.monotonic() - began

        # then the burst is spent once between them: the second refuses once it is gone
        admitted = shared.count(200)
        assert BURST <= admitted <= BURST + int(took * RATE) + 1, (admitted, took)
        assert shared[:BURST] == [200] * BURST
        assert shared[-1] == 429
        assert f"gocrm:rate:{till_id}" in await redis_server.keys()

        # when Redis stops
        await redis_server.stop()
        began = time.monotonic()
        alone = [await _statuses(one, till, 12), await _statuses(other, till, 12)]
        took = time.monotonic() - began

        # then each gateway serves the till from a bucket of its own, within a burst each
        for statuses in alone:
            assert statuses[:BURST] == [200] * BURST
            assert statuses.count(200) <= BURST + int(took * RATE) + 1, (statuses, took)
            assert statuses[-1] == 429
        assert took < 5.0

        # and when Redis is back, they share the key's bucket again
        await redis_server.start()
        await eventually(
            lambda: _said(processes, first.process, BACK, one, till),
            "shared limits again",
            processes,
        )

    # and each gateway said so once per outage
    for gateway in (first, second):
        output = processes.output(gateway.process)
        assert output.count(OUTAGE) == 1, output
    assert processes.output(first.process).count(BACK) == 1


async def _said(
    processes: Processes, gateway: Process, line: str, http: httpx.AsyncClient, till: Api
) -> bool:
    """Whether `gateway` has logged `line`, after one more request of the till."""
    await http.post("/graphql", json=TYPENAME, headers=till.headers)
    return line in processes.output(gateway)
