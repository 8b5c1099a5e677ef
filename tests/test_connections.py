"""The server's own defence of its connections (`gateway.connections`): a deadline for every
request head, and caps on the connections open at once, in all and per client address.

Each test runs a real uvicorn server in this process on a free port, with the guarded protocol
and small limits, and talks to it over raw sockets. Clients from another address bind to
127.0.0.2 (Linux routes all of 127.0.0.0/8 to the loopback interface).
"""

from __future__ import annotations

import asyncio
import json
import logging
import pickle
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from prometheus_client import REGISTRY

from gateway.connections import (
    LINGER_SECONDS,
    REFUSAL,
    ConnectionLimits,
    Throttle,
    client_key,
    http_protocol,
)
from settings import Settings, load_settings
from tests.servers import PROJECT_ROOT, environment, free_port, start_serve

HEAD_TIMEOUT = 0.5
# How late a close may come on a busy two-core machine.
SLACK = 1.5
HALF_A_HEAD = b"POST /graphql HTTP/1.1\r\nHost: x\r\n"
REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
OTHER_ADDRESS = "127.0.0.2"
REFUSED_BODY = {
    "errors": [
        {
            "message": "The server has too many connections; try again shortly.",
            "extensions": {"code": "TOO_MANY_CONNECTIONS"},
        }
    ]
}

Scope = dict[str, Any]


class Hello:
    """An ASGI app answering `hello`, remembering each client (address, port) it served."""

    def __init__(self) -> None:
        self.clients: list[tuple[str, int]] = []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        self.clients.append(tuple(scope["client"]))  # type: ignore[arg-type]
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"5")],
            }
        )
        await send({"type": "http.response.body", "body": b"hello"})


@asynccontextmanager
async def serving(
    limits: ConnectionLimits, app: Hello | None = None, keep_alive: int = 30
) -> AsyncIterator[int]:
    """uvicorn with the guarded protocol, in this event loop; yields its port."""
    config = uvicorn.Config(
        app or Hello(),
        host="127.0.0.1",
        port=0,
        http=http_protocol(limits),
        lifespan="off",
        log_config=None,
        access_log=False,
        timeout_keep_alive=keep_alive,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the server did not start"
        await asyncio.sleep(0.01)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def connect(port: int, address: str = "127.0.0.1") -> Connection:
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(address, 0))


async def closed_after(reader: asyncio.StreamReader, within: float) -> tuple[float, bytes]:
    """Seconds until the server closes the connection, and what it sent before."""
    started = time.monotonic()
    sent = await asyncio.wait_for(reader.read(), within)
    return time.monotonic() - started, sent


async def response(connection: Connection) -> bytes:
    """Send a GET on a kept-alive connection and read its whole answer."""
    reader, writer = connection
    writer.write(REQUEST)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head + await asyncio.wait_for(reader.readexactly(length), 5)


def refused(answer: bytes) -> bool:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    return (
        lines[0] == b"HTTP/1.1 503 Service Unavailable"
        and b"connection: close" in lines
        and b"retry-after: 1" in lines
        and json.loads(body) == REFUSED_BODY
    )


def close(*connections: Connection) -> None:
    for _, writer in connections:
        writer.close()


def closed_count(reason: str) -> float:
    return REGISTRY.get_sample_value("gocrm_connections_closed_total", {"reason": reason}) or 0.0


# --- the head's deadline ----------------------------------------------------------------------


async def test_half_a_request_head_is_closed_at_the_header_timeout() -> None:
    async with serving(ConnectionLimits(header_timeout_seconds=HEAD_TIMEOUT)) as port:
        reader, writer = await connect(port)
        writer.write(HALF_A_HEAD)

        seconds, sent = await closed_after(reader, HEAD_TIMEOUT + SLACK)

        assert sent == b""
        assert HEAD_TIMEOUT - 0.05 <= seconds < HEAD_TIMEOUT + SLACK
        close((reader, writer))


async def test_a_connection_that_sends_nothing_is_closed_at_the_header_timeout() -> None:
    async with serving(ConnectionLimits(header_timeout_seconds=HEAD_TIMEOUT)) as port:
        connection = await connect(port)

        seconds, sent = await closed_after(connection[0], HEAD_TIMEOUT + SLACK)

        assert sent == b""
        assert HEAD_TIMEOUT - 0.05 <= seconds < HEAD_TIMEOUT + SLACK
        close(connection)


async def test_a_head_dripped_a_byte_at_a_time_is_closed_at_its_deadline() -> None:
    async with serving(ConnectionLimits(header_timeout_seconds=HEAD_TIMEOUT)) as port:
        reader, writer = await connect(port)
        started = time.monotonic()

        async def drip() -> int:
            head = HALF_A_HEAD + b"X-Padding: " + b"a" * 200 + b"\r\n\r\n"
            for sent, byte in enumerate(head):
                if writer.is_closing() or reader.at_eof():
                    return sent
                writer.write(bytes([byte]))
                await asyncio.sleep(0.02)
            return len(head)

        dripping = asyncio.create_task(drip())
        _, answer = await closed_after(reader, HEAD_TIMEOUT + SLACK)
        closed_at = time.monotonic() - started
        dripping.cancel()

        # each byte came well within the timeout of the previous one, yet the head's deadline
        # from the connection's start held
        assert answer == b""
        assert HEAD_TIMEOUT - 0.05 <= closed_at < HEAD_TIMEOUT + SLACK
        close((reader, writer))


async def test_a_kept_alive_connection_that_starts_a_head_and_stops_is_closed() -> None:
    async with serving(ConnectionLimits(header_timeout_seconds=HEAD_TIMEOUT)) as port:
        connection = await connect(port)
        assert (await response(connection)).endswith(b"hello")

        connection[1].write(b"GET / HTTP/1.1\r\nHost: x\r\n")
        seconds, sent = await closed_after(connection[0], HEAD_TIMEOUT + SLACK)

        assert sent == b""
        assert HEAD_TIMEOUT - 0.05 <= seconds < HEAD_TIMEOUT + SLACK
        close(connection)


async def test_a_kept_alive_connection_sending_only_blank_lines_is_closed() -> None:
    # uvicorn's keep-alive timer stops at any byte; the head's deadline does not
    async with serving(ConnectionLimits(header_timeout_seconds=HEAD_TIMEOUT)) as port:
        reader, writer = await connect(port)
        assert (await response((reader, writer))).endswith(b"hello")
        answered = time.monotonic()

        async def blank_lines() -> None:
            while not writer.is_closing():
                writer.write(b"\r\n")
                await asyncio.sleep(0.05)

        sending = asyncio.create_task(blank_lines())
        _, sent = await closed_after(reader, HEAD_TIMEOUT + SLACK)
        sending.cancel()

        assert sent == b""
        assert HEAD_TIMEOUT - 0.05 <= time.monotonic() - answered < HEAD_TIMEOUT + SLACK
        close((reader, writer))


async def test_a_kept_alive_client_is_served_for_longer_than_the_header_timeout() -> None:
    app = Hello()
    async with serving(ConnectionLimits(header_timeout_seconds=HEAD_TIMEOUT), app) as port:
        # a head sent in two parts, within the timeout, is served
        reader, writer = await connect(port)
        writer.write(b"GET / HTTP/1.1\r\n")
        await asyncio.sleep(HEAD_TIMEOUT / 2)
        writer.write(b"Host: x\r\n\r\n")
        assert (await asyncio.wait_for(reader.readuntil(b"hello"), 5)).startswith(
            b"HTTP/1.1 200 OK"
        )
        close((reader, writer))
        # and a client that keeps its connection and asks every 0.2 s for 3 timeouts' time
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            answers = []
            for _ in range(8):
                answers.append((await http.get("/")).text)
                await asyncio.sleep(0.2)

    assert answers == ["hello"] * 8
    assert len(set(app.clients[1:])) == 1  # one connection served them all


# --- the caps ---------------------------------------------------------------------------------


async def test_past_the_per_client_cap_a_connection_gets_503_while_another_address_is_served(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limits = ConnectionLimits(header_timeout_seconds=30, max_connections_per_client=3)
    before = closed_count("over_client_limit")
    async with serving(limits) as port:
        held = [await connect(port) for _ in range(3)]

        # when one more connection comes from the same address
        with caplog.at_level(logging.INFO, logger="gateway.connections"):
            fourth = await connect(port)
            fourth[1].write(REQUEST)
            _, answer = await closed_after(fourth[0], 5)
        # and one from another address
        other = await connect(port, OTHER_ADDRESS)
        served_elsewhere = await response(other)
        # and, once one of the three has gone, another from the first address
        close(held.pop())
        await asyncio.sleep(0.2)
        after_one_left = await response(again := await connect(port))
        close(*held, other, again, fourth)

    # then the one over the cap was answered 503 and closed, the others were served
    assert answer == REFUSAL
    assert refused(answer)
    assert served_elsewhere.endswith(b"hello")
    assert after_one_left.endswith(b"hello")
    assert [r.getMessage() for r in caplog.records] == [
        "refused a connection from 127.0.0.1: over the cap of 3 connections per client"
        " address, answered 503"
    ]
    assert closed_count("over_client_limit") - before == 1


async def test_past_the_process_cap_every_address_gets_503() -> None:
    limits = ConnectionLimits(
        header_timeout_seconds=30, max_connections=4, max_connections_per_client=100
    )
    async with serving(limits) as port:
        held = [await connect(port, f"127.0.0.{1 + n % 2}") for n in range(4)]

        refusals = []
        for address in ("127.0.0.3", "127.0.0.1"):
            reader, writer = await connect(port, address)
            writer.write(REQUEST)
            refusals.append((await closed_after(reader, 5))[1])
            writer.close()
        close(held.pop())
        await asyncio.sleep(0.2)
        after_one_left = await response(again := await connect(port, "127.0.0.3"))
        close(*held, again)

    assert [refused(answer) for answer in refusals] == [True, True]
    assert after_one_left.endswith(b"hello")


async def test_a_refused_client_reads_the_answer_then_a_clean_end_not_a_reset() -> None:
    # A server that closes with the client's request unread resets the connection; a client
    # may then lose the answer it had not read yet (Windows drops it).
    limits = ConnectionLimits(header_timeout_seconds=30, max_connections_per_client=1)
    async with serving(limits) as port:
        held = await connect(port)
        # (a blocking socket: the request is there before the server accepts the connection)
        with socket.create_connection(("127.0.0.1", port)) as client:
            client.sendall(REQUEST)
            await asyncio.sleep(0.3)
            client.settimeout(2)
            received = [client.recv(65536)]
            while received[-1]:
                received.append(client.recv(65536))  # a reset raises ConnectionResetError
        close(held)

    assert b"".join(received) == REFUSAL


async def test_a_refused_client_that_stays_is_closed_after_a_second() -> None:
    limits = ConnectionLimits(header_timeout_seconds=30, max_connections_per_client=1)
    async with serving(limits) as port:
        held = await connect(port)
        reader, writer = await connect(port)
        answer = await asyncio.wait_for(reader.readexactly(len(REFUSAL)), 5)
        assert await asyncio.wait_for(reader.read(), 5) == b""  # the server ended its side

        # the client neither reads on nor closes: the server closes a second later, so that
        # what the client writes next is answered with a reset
        await asyncio.sleep(LINGER_SECONDS + 1.0)
        for _ in range(2):
            writer.write(REQUEST)
            await asyncio.sleep(0.1)
        gone = writer.transport.is_closing()
        close(held, (reader, writer))

    assert answer == REFUSAL
    assert gone


async def test_a_flood_of_refusals_writes_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    limits = ConnectionLimits(header_timeout_seconds=30, max_connections_per_client=1)
    before = closed_count("over_client_limit")
    async with serving(limits) as port:
        held = await connect(port)
        with caplog.at_level(logging.INFO, logger="gateway.connections"):
            for _ in range(50):
                reader, writer = await connect(port)
                await closed_after(reader, 5)
                writer.close()
        close(held)

    assert len(caplog.records) == 1
    assert closed_count("over_client_limit") - before == 50


def test_the_throttle_logs_once_per_interval_with_the_count_it_held_back() -> None:
    now = [100.0]
    throttle = Throttle(10.0, clock=lambda: now[0])

    seen = [throttle.due()]
    for at in (101.0, 105.0, 109.9, 110.0, 111.0, 125.0):
        now[0] = at
        seen.append(throttle.due())

    assert seen == [0, None, None, None, 3, None, 1]


def test_clients_count_by_address_an_ipv6_one_by_its_64() -> None:
    assert client_key("127.0.0.1") == "127.0.0.1"
    assert client_key("::ffff:10.0.0.7") == "10.0.0.7"
    assert client_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") == "2001:db8:1:3::/64"
    assert client_key("fe80::1%eth0") == "fe80::/64"


async def test_an_upgrade_request_is_served_as_http_and_frees_its_place(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limits = ConnectionLimits(header_timeout_seconds=30, max_connections_per_client=1)
    upgrade = (
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    async with serving(limits) as port:
        with caplog.at_level(logging.INFO):
            reader, writer = await connect(port)
            writer.write(upgrade)
            answer = await asyncio.wait_for(reader.readuntil(b"hello"), 5)
            writer.close()
            await asyncio.sleep(0.2)
            after = await response(again := await connect(port))
            close(again)

    assert answer.startswith(b"HTTP/1.1 200 OK")
    assert after.endswith(b"hello")
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


# --- settings and the processes of `gocrm serve` ---------------------------------------------


def test_the_connection_settings_and_their_defaults() -> None:
    defaults = load_settings({})
    chosen = load_settings(
        {
            "GOCRM_HEADER_TIMEOUT": "2.5",
            "GOCRM_MAX_CONNECTIONS": "10000",
            "GOCRM_MAX_CONNECTIONS_PER_CLIENT": "4000",
        }
    )

    assert (
        defaults.header_timeout_seconds,
        defaults.max_connections,
        defaults.max_connections_per_client,
    ) == (10.0, 2_048, 256)
    assert (
        chosen.header_timeout_seconds,
        chosen.max_connections,
        chosen.max_connections_per_client,
    ) == (2.5, 10_000, 4_000)
    with pytest.raises(ValueError, match="GOCRM_HEADER_TIMEOUT must be greater than 0"):
        load_settings({"GOCRM_HEADER_TIMEOUT": "0"})
    with pytest.raises(ValueError, match="GOCRM_MAX_CONNECTIONS must be a whole number"):
        load_settings({"GOCRM_MAX_CONNECTIONS": "2k"})
    with pytest.raises(ValueError, match="GOCRM_MAX_CONNECTIONS_PER_CLIENT must be greater"):
        load_settings({"GOCRM_MAX_CONNECTIONS_PER_CLIENT": "-1"})


def test_the_limits_reach_uvicorns_worker_processes_with_its_config() -> None:
    limits = ConnectionLimits(3.0, 100, 10)
    config = uvicorn.Config("gateway.app:app_factory", factory=True, http=http_protocol(limits))

    copied = pickle.loads(pickle.dumps(config))

    assert copied.http.keywords == {"limits": limits}


def test_serve_raises_its_open_file_limit_and_warns_when_it_is_too_low() -> None:
    script = (
        "import resource\n"
        "from gateway.connections import ConnectionLimits, raise_open_file_limit\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (512, 1024))\n"
        "print(raise_open_file_limit(ConnectionLimits(max_connections=700)))\n"
        "print(resource.getrlimit(resource.RLIMIT_NOFILE))\n"
        "print(raise_open_file_limit(ConnectionLimits(max_connections=800)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()

    assert out == [
        "None",
        "(1024, 1024)",
        "the open-file limit (1,024) leaves too little room for 800 connections (the cap per"
        " process) and 256 other files: raise it (ulimit -n, LimitNOFILE=) or lower the cap",
    ]


async def test_every_serve_process_closes_half_open_connections(
    database: Settings, tmp_path: Path
) -> None:
    # given `gocrm serve` as it runs: two processes on PostgreSQL, a 1 s header timeout
    workers = "1" if database.is_sqlite else "2"
    port = free_port()
    env = environment(
        database.database_url,
        tmp_path / "metrics",
        GOCRM_WORKERS=workers,
        GOCRM_KEY_FILE=database.key_file,
        GOCRM_HEADER_TIMEOUT="1",
    )
    server = await start_serve(port, tmp_path, env)
    try:
        # when 24 connections each send half a request head, spread over its processes
        connections = [await connect(port) for _ in range(24)]
        for _, writer in connections:
            writer.write(HALF_A_HEAD)
        started = time.monotonic()
        closed = await asyncio.wait_for(
            asyncio.gather(*(reader.read() for reader, _ in connections)), 10
        )
        took = time.monotonic() - started
        close(*connections)
    finally:
        server.send_signal(signal.SIGTERM)
        await asyncio.wait_for(server.wait(), timeout=30)

    # then every process closed its share at the deadline
    assert closed == [b""] * 24
    assert took < 1 + SLACK
    assert server.returncode == 0
