"""An upstream that accepts the connection and never answers.

The sync fails once its deadline has passed, with an error an operator can read, and the tills'
quotes, served by the same process meanwhile (jobs run in-process without Redis), are neither
slowed down nor changed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from tests.faults.data import (
    QUOTE,
    SYNC_RUN,
    bill,
    card_code,
    client,
    configure_gopos,
    create_group,
    credit_group,
    job_row,
    pos_api,
    seed_customers,
    synchronize_gopos,
)
from tests.faults.processes import Processes, create_location, environment, eventually
from tests.helpers import Api

DEADLINE = 2.0
CUSTOMERS = 10
QUOTED = {
    "subtotal": {"amount": "43.90"},
    "total": {"amount": "38.90"},
    "credits": {"applied": {"amount": "5.00"}},
}


class SilentUpstream:
    """Accepts every connection, reads what it is sent, and never answers."""

    def __init__(self) -> None:
        self.accepted = 0
        self.received = 0
        self._held: list[asyncio.StreamWriter] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._held.append(writer)
        while chunk := await reader.read(65536):
            self.received += len(chunk)

    def release(self) -> None:
        for writer in self._held:
            writer.close()


@pytest.fixture
async def silent_upstream() -> AsyncIterator[tuple[SilentUpstream, str]]:
    upstream = SilentUpstream()
    server = await asyncio.start_server(upstream.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield upstream, f"http://127.0.0.1:{port}"
    finally:
        upstream.release()
        server.close()
        await server.wait_closed()


async def test_a_sync_against_a_silent_upstream_fails_at_its_deadline_and_quotes_carry_on(
    fault_database: str, processes: Processes, silent_upstream: tuple[SilentUpstream, str]
) -> None:
    # given a gateway that runs jobs in-process (no Redis), with a 2 s sync deadline, and a
    # GoPOS configured at an address that accepts connections and never answers
    upstream, upstream_url = silent_upstream
    env = environment(
        DATABASE_URL=fault_database, GOCRM_ENV="production", GOCRM_SYNC_DEADLINE=str(DEADLINE)
    )
    location = await create_location(processes, env, "Silent upstream")
    gateway = await processes.gateway(env)
    async with client(gateway.url) as http:
        admin = Api(http, location.key, location.id)
        group_id = await create_group(admin, "Stały klient")
        await seed_customers(fault_database, location.id, CUSTOMERS, group_id=group_id, cards="S")
        await credit_group(admin, group_id, "5.00", "silent")
        await configure_gopos(
            admin,
            upstream_url,
            {"client_id": "till", "client_secret": "s3cret-value", "organization_id": "1001"},
        )
        pos = await pos_api(admin)

        # when a sync starts, and the tills quote all the while it waits
        run = await synchronize_gopos(admin)
        quotes: list[tuple[float, dict[str, object]]] = []

        async def finished() -> dict[str, Any] | None:
            started = time.monotonic()
            answer = await pos.data(QUOTE, {"input": bill(card_code("S", len(quotes) % 10 + 1))})
            quotes.append((time.monotonic() - started, answer["checkoutQuote"]))
            row = await job_row(fault_database, "sync_runs", run["id"])
            return row if row["status"] in ("SUCCEEDED", "FAILED") else None

        row = await eventually(finished, "the sync to end", processes, within=DEADLINE + 10)
        shown = (await admin.data(SYNC_RUN, {"id": run["id"]}))["syncRun"]

    # then the sync failed once its deadline passed, with a readable error
    assert upstream.accepted >= 1
    assert shown == {
        "status": "FAILED",
        "fetched": 0,
        "linked": 0,
        "error": "GoPOS did not answer within 2 s",
    }
    assert (row["status"], row["attempts"]) == ("FAILED", 1)
    took = row["finished_at"] - row["started_at"]
    assert timedelta(seconds=DEADLINE) <= took < timedelta(seconds=DEADLINE + 1)
    # and no secret reached the log
    assert "s3cret-value" not in processes.output(gateway.process)
    # and every quote meanwhile was answered at once, with the right prices
    assert len(quotes) >= 10
    assert [answer for _, answer in quotes] == [QUOTED] * len(quotes)
    assert max(seconds for seconds, _ in quotes) < 0.5
