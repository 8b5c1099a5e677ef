"""The GoOrder adapter against its simulator: in process through httpx's ASGI transport, once
as a real uvicorn server in a thread, and against a server that never answers. Retry waits go
through a fake clock and sleep: nothing here sleeps for real except where the test is about real
time."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from adapters.errors import (
    CredentialsRejected,
    MalformedResponse,
    UpstreamError,
    UpstreamUnavailable,
)
from adapters.goorder import fetch_goorder
from adapters.goorder.simulator import GoorderSimulator, create_goorder_simulator
from adapters.http import HttpConfig, UpstreamClients
from domain.upstream import GoorderCredentials, GoorderSnapshot, PromotionRecord
from tests.upstream_helpers import FakeTime, open_clients, silent_server
from tests.upstream_helpers import fake as fake

FIXTURE_PATH = Path(__file__).parent / "fixtures" / "goorder.json"
FIXTURE: dict[str, Any] = json.loads(FIXTURE_PATH.read_text(encoding="utf-8"))
API_KEY = FIXTURE["api_key"]
CREDENTIALS = GoorderCredentials(base_url="http://goorder.test", api_key=API_KEY, store_id="s1")
PROMOTIONS = "/api/v1/stores/s1/promotions"
FIXTURE_SNAPSHOT = GoorderSnapshot(
    promotions=(
        PromotionRecord(
            external_id="pr_81",
            name="10% rabatu dla stałych klientów",
            reference="staly-klient",
            type="ORDER_PERCENT",
            add_type="MANUAL",
            value=Decimal("10.00"),
            min_basket_value=Decimal("40.00"),
            active=True,
        ),
        PromotionRecord(
            external_id="82",
            name="5 zł na start",
            reference=None,
            type="ORDER_AMOUNT",
            add_type="AUTOMATIC",
            value=Decimal("5.00"),
            min_basket_value=None,
            active=False,
        ),
    )
)


@pytest.fixture
def app() -> Starlette:
    return create_goorder_simulator(FIXTURE)


@pytest.fixture
def sim(app: Starlette) -> GoorderSimulator:
    simulator: GoorderSimulator = app.state.simulator
    return simulator


def requested_pages(sim: GoorderSimulator) -> list[int]:
    pages = []
    for _method, path, query in sim.log:
        assert path == PROMOTIONS
        params = dict(pair.split("=") for pair in query.split("&"))
        assert params["per_page"] == "100"
        pages.append(int(params["page"]))
    return sorted(pages)


async def test_fetch_reads_the_fixture_with_ids_as_strings(
    app: Starlette, sim: GoorderSimulator, fake: FakeTime
) -> None:
    async with open_clients(app, fake) as clients:
        snapshot = await fetch_goorder(clients, CREDENTIALS, deadline=60)

    assert snapshot == FIXTURE_SNAPSHOT
    assert requested_pages(sim) == [1]


@pytest.mark.parametrize(
    ("count", "pages"),
    [(0, [1]), (100, [1]), (200, [1, 2]), (250, [1, 2, 3]), (1_001, list(range(1, 12)))],
)
async def test_every_page_is_read_once(
    app: Starlette, sim: GoorderSimulator, fake: FakeTime, count: int, pages: list[int]
) -> None:
    sim.generate(promotions=count)

    async with open_clients(app, fake) as clients:
        snapshot = await fetch_goorder(clients, CREDENTIALS, deadline=60)

    assert [p.external_id for p in snapshot.promotions] == [f"pr_{n}" for n in range(1, count + 1)]
    assert requested_pages(sim) == pages


async def test_generated_promotions_are_read_as_served(
    app: Starlette, sim: GoorderSimulator, fake: FakeTime
) -> None:
    sim.generate(promotions=5)

    async with open_clients(app, fake) as clients:
        snapshot = await fetch_goorder(clients, CREDENTIALS, deadline=60)

    assert snapshot.promotions[3] == PromotionRecord(
        external_id="pr_4",
        name="Promocja 4",
        reference="grupa-4",
        type="ORDER_AMOUNT",
        add_type="MANUAL",
        value=Decimal("5.00"),
        min_basket_value=None,
        active=True,
    )


@pytest.mark.parametrize(
    ("retry_after", "shortest", "longest"),
    [
        ("2", 2.0, 2.0),
        ("Wed, 02 Dec 2026 06:00:07 GMT", 7.0, 7.0),  # NOW + 7 s
        ("Wed, 02 Dec 2026 06:05:00 GMT", 30.0, 30.0),  # 300 s, capped
        ("Wed, 02 Dec 2026 05:00:00 GMT", 0.25, 0.5),  # in the past: the backoff applies
    ],
)
async def test_429_waits_as_retry_after_asks_up_to_the_cap(
    app: Starlette,
    sim: GoorderSimulator,
    fake: FakeTime,
    retry_after: str,
    shortest: float,
    longest: float,
) -> None:
    sim.faults.retry_after = retry_after
    sim.fail_next(429, 1)
    started = time.monotonic()

    async with open_clients(app, fake, retry_after_cap=30, backoff_base=0.5) as clients:
        snapshot = await fetch_goorder(clients, CREDENTIALS, deadline=100)

    assert snapshot == FIXTURE_SNAPSHOT
    (wait,) = fake.sleeps
    assert shortest <= wait <= longest
    assert sim.answered[429] == 1
    assert time.monotonic() - started < 1.0  # the wait was not slept for real


async def test_random_429s_and_5xx_are_ridden_out(
    app: Starlette, sim: GoorderSimulator, fake: FakeTime
) -> None:
    sim.generate(promotions=950)
    sim.faults.rate_429 = 0.2
    sim.faults.rate_5xx = 0.2

    async with open_clients(app, fake, retry_attempts=10) as clients:
        snapshot = await fetch_goorder(clients, CREDENTIALS, deadline=600)

    assert len(snapshot.promotions) == 950
    assert sim.answered[429] + sim.answered[500] + sim.answered[503] == len(fake.sleeps)
    assert len(fake.sleeps) > 0
    assert sim.answered[200] == 10


async def test_a_500_is_retried_after_a_backoff(
    app: Starlette, sim: GoorderSimulator, fake: FakeTime
) -> None:
    sim.fail_next(500, 1)

    async with open_clients(app, fake, backoff_base=1.0) as clients:
        snapshot = await fetch_goorder(clients, CREDENTIALS, deadline=60)

    assert snapshot == FIXTURE_SNAPSHOT
    assert sim.requests == 2
    assert len(fake.sleeps) == 1
    assert 0.5 <= fake.sleeps[0] <= 1.0


async def test_a_persistent_503_is_unavailable_after_the_configured_attempts(
    app: Starlette, sim: GoorderSimulator, fake: FakeTime
) -> None:
    sim.fail_next(503, 100)

    async with open_clients(
        app, fake, retry_attempts=4, backoff_base=1.0, backoff_cap=3
    ) as clients:
        with pytest.raises(UpstreamUnavailable) as caught:
            await fetch_goorder(clients, CREDENTIALS, deadline=60)

    assert str(caught.value) == "GoOrder answered 503 after 4 attempts: Service Unavailable"
    assert caught.value.upstream == "GoOrder"
    assert caught.value.status == 503
    assert sim.requests == 4
    first, second, third = fake.sleeps
    assert 0.5 <= first <= 1.0
    assert 1.0 <= second <= 2.0
    assert 1.5 <= third <= 3.0  # 4 s, capped at 3


async def test_backoff_stops_at_the_deadline(
    app: Starlette, sim: GoorderSimulator, fake: FakeTime
) -> None:
    sim.fail_next(502, 100)

    async with open_clients(app, fake, retry_attempts=10, backoff_base=4.0) as clients:
        with pytest.raises(UpstreamUnavailable) as caught:
            await fetch_goorder(clients, CREDENTIALS, deadline=10)

    assert sum(fake.sleeps) <= 10
    message = str(caught.value)
    assert message.startswith(f"GoOrder answered 502 after {sim.requests} attempts, and waiting ")
    assert message.endswith(
        " s more would pass the 10 s deadline: "
        "<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>"
    )


async def test_a_wrong_api_key_is_rejected_without_retrying(
    app: Starlette, sim: GoorderSimulator, fake: FakeTime
) -> None:
    wrong = GoorderCredentials("http://goorder.test", "not-the-key-4410", "s1")

    async with open_clients(app, fake) as clients:
        with pytest.raises(CredentialsRejected) as caught:
            await fetch_goorder(clients, wrong, deadline=60)

    assert str(caught.value) == "GoOrder rejected the credentials (401): Invalid API key"
    assert caught.value.status == 401
    assert sim.requests == 1


@pytest.mark.parametrize(
    ("corrupt", "expected"),
    [
        (
            lambda sim: sim.respond_next(200, "Service Unavailable"),
            "the body is not JSON: Service Unavailable",
        ),
        (
            lambda sim: sim.respond_next(200, '{"items": [], "page": 1, "total": 0}'),
            "pages: missing",
        ),
        (
            lambda sim: sim.respond_next(200, '{"items": [], "page": 1, "pages": "1", "total": 0}'),
            "pages: expected an integer",
        ),
        (
            lambda sim: sim.promotions[1].update(active="yes"),
            "items[1].active (promotion 82): expected true or false",
        ),
        (
            lambda sim: sim.promotions[0].update(min_basket_value=40),
            "items[0].min_basket_value (promotion pr_81): expected a decimal string such as"
            ' "12.50" or null',
        ),
        (
            lambda sim: sim.promotions[0].pop("add_type"),
            "items[0].add_type (promotion pr_81): missing",
        ),
        (
            lambda sim: sim.promotions[1].update(type="FREE_ITEM"),
            "items[1].type (promotion 82): expected one of ORDER_PERCENT, ORDER_AMOUNT",
        ),
        (
            lambda sim: sim.promotions[1].update(id=None),
            "items[1].id: expected an id (an integer or a non-empty string)",
        ),
        (
            lambda sim: sim.promotions[1].update(id=10**200),
            "items[1].id: expected at most 200 characters, not 201",
        ),
        (
            lambda sim: sim.promotions[0].update(reference="staly\x7fklient"),
            "items[0].reference (promotion pr_81): expected text without control characters,"
            " found U+007F",
        ),
    ],
)
async def test_a_malformed_response_names_the_field(
    app: Starlette, sim: GoorderSimulator, fake: FakeTime, corrupt: Any, expected: str
) -> None:
    corrupt(sim)

    async with open_clients(app, fake) as clients:
        with pytest.raises(MalformedResponse) as caught:
            await fetch_goorder(clients, CREDENTIALS, deadline=60)

    assert str(caught.value) == (
        f"GoOrder sent a malformed response: {expected} (GET {PROMOTIONS}?page=1&per_page=100)"
    )
    assert caught.value.field == (
        None if "JSON" in expected else expected.split(":")[0].split(" (")[0]
    )


async def test_an_upstream_that_never_answers_fails_within_the_deadline() -> None:
    async with silent_server() as port:
        credentials = GoorderCredentials(f"http://127.0.0.1:{port}", API_KEY, "s1")
        started = time.monotonic()
        async with UpstreamClients(HttpConfig(read_timeout=30)) as clients:
            with pytest.raises(UpstreamUnavailable) as caught:
                await fetch_goorder(clients, credentials, deadline=0.5)

    elapsed = time.monotonic() - started
    assert str(caught.value) == "GoOrder did not answer within 0.5 s"
    assert 0.5 <= elapsed < 1.5


async def test_a_slow_simulator_fails_within_the_deadline(
    app: Starlette, sim: GoorderSimulator
) -> None:
    sim.faults.latency_ms = 60_000
    started = time.monotonic()

    async with UpstreamClients(
        HttpConfig(), transport=lambda _base_url: httpx.ASGITransport(app=app)
    ) as clients:
        with pytest.raises(UpstreamUnavailable) as caught:
            await fetch_goorder(clients, CREDENTIALS, deadline=0.3)

    assert str(caught.value) == "GoOrder did not answer within 0.3 s"
    assert time.monotonic() - started < 1.5
    assert sim.in_flight == 0  # the request was cancelled, not left running


@pytest.mark.parametrize(("cap", "expected"), [(2, 2), (8, 8)])
async def test_requests_in_flight_stay_under_the_cap(
    app: Starlette, sim: GoorderSimulator, fake: FakeTime, cap: int, expected: int
) -> None:
    sim.generate(promotions=1_000)
    sim.faults.latency_ms = 5

    async with open_clients(app, fake, max_in_flight=cap) as clients:
        snapshot = await fetch_goorder(clients, CREDENTIALS, deadline=60)

    assert len(snapshot.promotions) == 1_000
    assert sim.max_in_flight == expected  # pages 2-10 go out together, 9 at most


async def test_the_api_key_stays_out_of_errors_and_logs(
    app: Starlette, sim: GoorderSimulator, fake: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors = []

    async with open_clients(app, fake, retry_attempts=2) as clients:
        sim.respond_next(403, f"key {API_KEY} is not allowed here")
        sim.fail_next(503, 2)
        sim.respond_next(200, f"<html>{API_KEY}</html>")
        for _ in range(3):
            with pytest.raises(
                (CredentialsRejected, UpstreamUnavailable, MalformedResponse)
            ) as caught:
                await fetch_goorder(clients, CREDENTIALS, deadline=60)
            errors.append(caught.value)

    assert [str(error) for error in errors] == [
        "GoOrder rejected the credentials (403): key [redacted] is not allowed here",
        "GoOrder answered 503 after 2 attempts: Service Unavailable",
        "GoOrder sent a malformed response: the body is not JSON: <html>[redacted]</html> "
        f"(GET {PROMOTIONS}?page=1&per_page=100)",
    ]
    logged = caplog.text + "".join(repr(record.args) for record in caplog.records)
    assert "GoOrder GET" in logged  # the failures were logged, with their raw text
    assert API_KEY not in logged
    for error in errors:
        assert API_KEY not in str(error)
        assert API_KEY not in repr(error)
    assert API_KEY not in repr(CREDENTIALS)


ODD_KEY = 'k3y/SEKRET+plus"q'


@pytest.mark.parametrize("status", [403, 400])
async def test_an_api_key_echoed_back_encoded_stays_out_of_errors_and_logs(
    fake: FakeTime, caplog: pytest.LogCaptureFixture, status: int
) -> None:
    caplog.set_level(logging.DEBUG)

    def echo(request: httpx.Request) -> httpx.Response:
        key = request.headers["X-Api-Key"]
        headers = json.dumps(dict(request.headers)).replace("/", "\\/")
        return httpx.Response(status, text=f"no access for {quote(key, safe='')} {headers}")

    credentials = GoorderCredentials("http://goorder.test", ODD_KEY, "s1")
    clients = UpstreamClients(
        HttpConfig(),
        transport=lambda _base_url: httpx.MockTransport(echo),
        sleep=fake.sleep,
        clock=fake.clock,
    )
    async with clients:
        with pytest.raises(UpstreamError) as caught:
            await fetch_goorder(clients, credentials, deadline=60)

    error = str(caught.value)
    assert error.startswith(
        f"GoOrder rejected the credentials ({status}): no access for [redacted] "
        if status == 403
        else f"GoOrder answered 400 to GET {PROMOTIONS}: no access for [redacted] "
    )
    assert '"x-api-key": "[redacted]"' in error
    logged = caplog.text + "".join(repr(record.args) for record in caplog.records)
    assert "no access for [redacted]" in logged
    for text in (error, repr(caught.value), logged):
        assert "SEKRET" not in text


async def test_a_protocol_error_quoting_the_answer_is_cut_short_and_redacted(
    fake: FakeTime,
) -> None:
    async def garble(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 2OO \x1b[2J" + ODD_KEY.encode() + b"y" * 3000 + b"\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(garble, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    credentials = GoorderCredentials(f"http://127.0.0.1:{port}", ODD_KEY, "s1")
    try:
        async with UpstreamClients(
            HttpConfig(retry_attempts=2), sleep=fake.sleep, clock=fake.clock
        ) as clients:
            with pytest.raises(UpstreamUnavailable) as caught:
                await fetch_goorder(clients, credentials, deadline=60)
    finally:
        server.close()
        await server.wait_closed()

    prefix = (
        "GoOrder could not be reached after 2 attempts: RemoteProtocolError: illegal status line:"
        " bytearray(b'HTTP/1.1 2OO \\x1b[2J[redacted]yyy"
    )
    quoted = "illegal status line: bytearray(b'HTTP/1.1 2OO \\x1b[2J[redacted]"
    assert str(caught.value) == prefix + "y" * (199 - len(quoted) - 3) + "…"


@pytest.fixture
def goorder_server() -> Iterator[tuple[str, GoorderSimulator]]:
    """The simulator served by uvicorn in a thread on a free loopback port."""
    app = create_goorder_simulator(FIXTURE_PATH)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", ws="none", lifespan="off", loop="asyncio")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive(), "the simulator stopped"
            assert time.monotonic() < deadline, "the simulator did not start"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}", app.state.simulator
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
    assert not thread.is_alive()


async def test_fetch_from_the_simulator_served_by_uvicorn(
    goorder_server: tuple[str, GoorderSimulator], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    base_url, sim = goorder_server
    credentials = GoorderCredentials(base_url, API_KEY, "s1")

    async with UpstreamClients(HttpConfig(max_in_flight=3)) as clients:
        assert await fetch_goorder(clients, credentials, deadline=10) == FIXTURE_SNAPSHOT
        sim.generate(promotions=1_000)
        sim.faults.latency_ms = 50  # long enough for requests to overlap on real sockets
        snapshot = await fetch_goorder(clients, credentials, deadline=10)

    assert [p.external_id for p in snapshot.promotions] == [f"pr_{n}" for n in range(1, 1_001)]
    assert sim.max_in_flight == 3
    assert "send_request_headers" in caplog.text  # httpcore logged the exchange...
    assert API_KEY not in caplog.text  # ...without the key
