"""A worker SIGKILLed while a webhook is in flight, and another started.

The receiver is a real HTTP server in this process; the gateway and the workers are real
processes on PostgreSQL and Redis. The receiver holds the first worker's requests open, the
worker is killed mid-delivery, and the receiver answers from then on. The new worker's own
periodic check queues the webhook job: the deliveries no attempt had claimed go at once, the
one that was in flight once its attempt's lease has run out. Every event arrives at least once,
and a message sent twice carries the same webhook-id, body and a valid signature each time.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from standardwebhooks import Webhook

from domain.webhooks import ATTEMPT_LEASE
from tests.faults.data import client
from tests.faults.processes import (
    Processes,
    RedisServer,
    create_location,
    environment,
    eventually,
    sql,
)
from tests.helpers import Api, create_customer
from tests.wallet_helpers import credit_ok
from tests.webhook_helpers import create_endpoint

EVENTS = 3


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class HoldingReceiver:
    """Records every request; holds them open (no answer) while `holding`, else answers 200."""

    holding: bool = True
    received: list[Received] = field(default_factory=list)
    held: list[asyncio.StreamWriter] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")[1:]
                headers = {
                    name.strip().lower(): value.strip()
                    for name, _, value in (line.partition(":") for line in lines if line)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.received.append(Received(headers, body))
                if self.holding:
                    self.held.append(writer)
                    return
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.received]


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[HoldingReceiver, str]]:
    found = HoldingReceiver()
    server = await asyncio.start_server(found.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield found, f"http://127.0.0.1:{port}/hooks"
    for writer in found.held:
        writer.close()
    server.close()


async def test_a_worker_killed_mid_delivery_leaves_every_event_delivered_with_its_id(
    fault_database: str,
    redis_server: RedisServer,
    processes: Processes,
    receiver: tuple[HoldingReceiver, str],
) -> None:
    hooks, url = receiver
    env = environment(
        DATABASE_URL=fault_database,
        REDIS_URL=redis_server.url,
        GOCRM_ENV="production",
        GOCRM_CHECK_SECONDS="1",
    )
    location = await create_location(processes, env, "Webhooks")
    gateway = await processes.gateway(env)
    first = await processes.worker(env)

    # given an endpoint and three wallet changes
    async with client(gateway.url) as http:
        admin = Api(http, location.key, location.id)
        _, secret = await create_endpoint(admin, url=url)
        customer = await create_customer(admin, firstName="Anna")
        for _ in range(EVENTS):
            await credit_ok(admin, {"customerIds": [customer["id"]]}, "ADD", "1.00")

    # when the worker is killed while the first delivery is in flight
    async def in_flight() -> int | None:
        return len(hooks.received) or None

    await eventually(in_flight, "a delivery to be in flight", processes)
    await processes.kill(first)
    killed_id = hooks.ids()[0]
    hooks.holding = False
    await processes.worker(env)

    # then every delivery succeeds, the one in flight after its attempt's lease
    async def delivered() -> list[dict[str, Any]] | None:
        rows = await sql(
            fault_database,
            "SELECT message_id, status, attempts FROM webhook_deliveries ORDER BY id",
        )
        return rows if rows and all(r["status"] == "SUCCEEDED" for r in rows) else None

    within = ATTEMPT_LEASE.total_seconds() + 60
    rows = await eventually(delivered, "every delivery to succeed", processes, within=within)
    assert len(rows) == EVENTS
    assert {r["message_id"] for r in rows} == set(hooks.ids())
    assert [r["attempts"] for r in rows if r["message_id"] == killed_id] == [2]
    # and the one sent twice carried the same id and body, each signed validly
    twice = [r for r in hooks.received if r.headers["webhook-id"] == killed_id]
    assert len(twice) == 2
    assert twice[0].body == twice[1].body
    payloads = [Webhook(secret).verify(r.body, r.headers) for r in hooks.received]
    entries = [p["data"]["entries"][0] for p in payloads]
    assert sorted({e["entryId"] for e in entries}) == sorted(e["entryId"] for e in entries[1:])
    assert sorted(e["balanceAfter"] for e in entries[1:]) == ["1.00", "2.00", "3.00"]
    assert json.loads(twice[0].body)["type"] == "wallet.changed"
