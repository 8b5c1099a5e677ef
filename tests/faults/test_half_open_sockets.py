"""Slowloris against a real gateway: thousands of sockets from one address, each sending half
a request head (`POST /graphql HTTP/1.1\\r\\nHost: x\\r\\n`) and then nothing, while a till on
another address (127.0.0.2) keeps quoting.

With the per-client cap raised above the flood, the process holds every socket until its header
timeout, closes each within it, and hands the memory they held back. With the default cap, the
sockets past it are answered 503 at once. Either way every quote is answered, and fast, and the
log gets one line, not thousands.
"""

from __future__ import annotations

import asyncio
import json
import resource
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from gateway.connections import REFUSAL
from tests.faults.data import (
    QUOTE,
    bill,
    card_code,
    create_group,
    credit_group,
    pos_api,
    seed_customers,
)
from tests.faults.processes import Gateway, Processes, create_location, environment
from tests.helpers import Api

SOCKETS = 3_000
HEADER_TIMEOUT = 2.0
HALF_A_HEAD = b"POST /graphql HTTP/1.1\r\nHost: x\r\n"
TILL_ADDRESS = "127.0.0.2"
CUSTOMERS = 10
# A till's pace: 20 quotes a second, under any per-key rate limit.
QUOTE_EVERY = 0.05
QUOTED = {
    "subtotal": {"amount": "43.90"},
    "total": {"amount": "38.90"},
    "credits": {"applied": {"amount": "5.00"}},
}


@contextmanager
def open_files(needed: int) -> Iterator[None]:
    """This test process may hold `needed` more sockets (the gateway it starts inherits it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = soft + needed if hard == resource.RLIM_INFINITY else min(hard, soft + needed)
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


@dataclass
class Till:
    """Quotes one bill after another from its own address, each answer and its time kept."""

    api: Api
    answers: list[tuple[float, int, Any]] = field(default_factory=list)
    running: bool = True

    async def quoting(self) -> None:
        n = 0
        while self.running:
            n += 1
            variables = {"input": bill(card_code("H", n % CUSTOMERS + 1))}
            started = time.monotonic()
            response = await self.api.http.post(
                "/graphql", json={"query": QUOTE, "variables": variables}, headers=self.api.headers
            )
            body = response.json()
            self.answers.append((time.monotonic() - started, response.status_code, body))
            await asyncio.sleep(QUOTE_EVERY)

    def p99(self) -> float:
        seconds = sorted(answer[0] for answer in self.answers)
        return seconds[int(len(seconds) * 0.99)]


@dataclass(frozen=True)
class Socket:
    opened: float
    closed: float
    received: bytes
    reset: bool  # the end was a reset rather than the server's FIN


async def until_closed(sock: socket.socket, opened: float) -> Socket:
    """Read to the end, keeping what came before a reset (a client's kernel hands it over
    first; asyncio's streams would drop it)."""
    loop = asyncio.get_running_loop()
    received, reset = b"", False
    try:
        while chunk := await asyncio.wait_for(loop.sock_recv(sock, 65536), 90):
            received += chunk
    except ConnectionResetError:
        reset = True
    finally:
        sock.close()
    return Socket(opened, time.monotonic(), received, reset)


async def flood(port: int, count: int) -> list[asyncio.Task[Socket]]:
    """`count` sockets opened one after another, each sending half a head; each task ends
    with what the server sent back before it closed the socket."""
    loop = asyncio.get_running_loop()
    sockets = []
    for _ in range(count):
        sock = socket.socket()
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", port))
        opened = time.monotonic()
        await loop.sock_sendall(sock, HALF_A_HEAD)
        sockets.append(asyncio.create_task(until_closed(sock, opened)))
    return sockets


async def a_quoting_till(processes: Processes, env: dict[str, str]) -> tuple[Gateway, Till]:
    """A production gateway with a location whose customers hold 5.00, and a POS key quoting
    from 127.0.0.2."""
    location = await create_location(processes, env, "Slowloris")
    gateway = await processes.gateway(env)
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10.0) as http:
        admin = Api(http, location.key, location.id)
        group_id = await create_group(admin, "Stały klient")
        await seed_customers(
            env["DATABASE_URL"], location.id, CUSTOMERS, group_id=group_id, cards="H"
        )
        await credit_group(admin, group_id, "5.00", "slowloris")
        pos = await pos_api(admin)
    till_http = httpx.AsyncClient(
        base_url=gateway.url,
        timeout=10.0,
        transport=httpx.AsyncHTTPTransport(local_address=TILL_ADDRESS),
    )
    return gateway, Till(Api(till_http, pos.key, location.id))


def log_lines(processes: Processes, gateway: Gateway, logger: str) -> list[str]:
    lines = []
    for line in processes.output(gateway.process).splitlines():
        if line.startswith("{") and (entry := json.loads(line))["logger"] == logger:
            lines.append(entry["message"])
    return lines


async def closed_total(gateway: Gateway, reason: str) -> float:
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        scraped = (await http.get("/metrics")).text
    prefix = f'gocrm_connections_closed_total{{reason="{reason}"}} '
    (total,) = [line[len(prefix) :] for line in scraped.splitlines() if line.startswith(prefix)]
    return float(total)


async def test_thousands_of_half_open_sockets_are_closed_in_time_while_quotes_carry_on(
    fault_database: str, processes: Processes
) -> None:
    # given a production gateway that admits the whole flood (caps above it) with a 2 s header
    # timeout, and a till quoting from another address
    env = environment(
        DATABASE_URL=fault_database,
        GOCRM_ENV="production",
        GOCRM_HEADER_TIMEOUT=str(HEADER_TIMEOUT),
        GOCRM_MAX_CONNECTIONS=str(SOCKETS + 500),
        GOCRM_MAX_CONNECTIONS_PER_CLIENT=str(SOCKETS + 100),
    )
    with open_files(SOCKETS + 100):
        gateway, till = await a_quoting_till(processes, env)
        pid = gateway.process.pid
        async with till.api.http:
            for _ in range(50):  # warm up, then take the process's memory as it serves
                await till.api.data(QUOTE, {"input": bill(card_code("H", 1))})
            before = rss_mb(pid)
            quoting = asyncio.create_task(till.quoting())
            await asyncio.sleep(0.5)

            # when 3,000 sockets from one address each send half a head and stop
            sockets = await flood(gateway.port, SOCKETS)
            peak = before
            while not all(task.done() for task in sockets):
                peak = max(peak, rss_mb(pid))
                await asyncio.sleep(0.05)
            closed = [task.result() for task in sockets]
            await asyncio.sleep(2.0)  # the memory is handed back a second after the closes
            after = rss_mb(pid)
            till.running = False
            await quoting
        timeouts = await closed_total(gateway, "header_timeout")

    held = [one.closed - one.opened for one in closed]
    print(
        f"\ngateway RSS: {before:.0f} MB before, {peak:.0f} MB with the sockets open,"
        f" {after:.0f} MB after; sockets closed {min(held):.2f}-{max(held):.2f} s after opening;"
        f" {len(till.answers)} quotes, p99 {till.p99() * 1000:.0f} ms"
    )
    # then the server closed every socket, answering nothing, within the header timeout
    assert [(one.received, one.reset) for one in closed] == [(b"", False)] * SOCKETS
    # (timed from this end, which may see the connection open a little after the server did)
    assert HEADER_TIMEOUT - 0.5 <= min(held) <= max(held) < HEADER_TIMEOUT + 1.0
    assert timeouts == SOCKETS
    # and wrote one log line about it, not thousands
    assert log_lines(processes, gateway, "gateway.connections") == [
        "closed a connection from 127.0.0.1 that sent no complete request head within 2 s"
    ]
    # and every quote meanwhile was answered, right and fast
    assert len(till.answers) >= 40
    assert [(status, body) for _, status, body in till.answers] == [
        (200, {"data": {"checkoutQuote": QUOTED}})
    ] * len(till.answers)
    assert till.p99() < 1.0
    # and most of the memory the sockets held went back to the system
    assert peak - before > 10
    assert after - before < (peak - before) * 0.75


async def test_past_the_per_client_cap_a_flood_is_refused_at_once_and_quotes_carry_on(
    fault_database: str, processes: Processes
) -> None:
    # given a production gateway with the default caps (256 connections per client address)
    # and a long header timeout, and a till quoting from another address
    env = environment(
        DATABASE_URL=fault_database, GOCRM_ENV="production", GOCRM_HEADER_TIMEOUT="60"
    )
    with open_files(SOCKETS + 100):
        gateway, till = await a_quoting_till(processes, env)
        async with till.api.http:
            quoting = asyncio.create_task(till.quoting())
            await asyncio.sleep(0.5)

            # when 3,000 sockets from one address each send half a head and stop
            sockets = await flood(gateway.port, SOCKETS)
            await asyncio.sleep(3.0)
            refused = [task.result() for task in sockets if task.done()]
            held = [task for task in sockets if not task.done()]
            till.running = False
            await quoting
            # (the held ones would wait for the 60 s timeout: let them go, which also lets this
            # address read the metrics)
            for task in held:
                task.cancel()
            await asyncio.gather(*held, return_exceptions=True)
            await asyncio.sleep(0.5)
            refusals = await closed_total(gateway, "over_client_limit")

    resets = sum(one.reset for one in refused)
    print(f"\n{resets} of the refused sockets ended with a reset after the answer")
    # then 256 were held, and the rest answered 503 at once and closed (each read its answer,
    # then the server's end, or a reset once more than 256 refusals waited for their clients)
    assert (len(held), len(refused)) == (256, SOCKETS - 256)
    assert {one.received for one in refused} == {REFUSAL}
    assert max(one.closed - one.opened for one in refused) < 1.0
    assert refusals == SOCKETS - 256
    assert log_lines(processes, gateway, "gateway.connections") == [
        "refused a connection from 127.0.0.1: over the cap of 256 connections per client"
        " address, answered 503"
    ]
    # and every quote meanwhile was answered, right and fast
    assert len(till.answers) >= 40
    assert [(status, body) for _, status, body in till.answers] == [
        (200, {"data": {"checkoutQuote": QUOTED}})
    ] * len(till.answers)
    assert till.p99() < 1.0
