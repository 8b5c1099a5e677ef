"""The GoPOS adapter against its simulator: in process through httpx's ASGI transport, once as
a real server, and against a server that never answers. Retry waits go through a fake clock and
sleep: nothing here sleeps for real except where the test is about real time."""

from __future__ import annotations

import json
import logging
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from adapters.errors import (
    CredentialsRejected,
    MalformedResponse,
    UpstreamError,
    UpstreamUnavailable,
)
from adapters.gopos import fetch_gopos
from adapters.gopos.simulator import GoposSimulator, create_gopos_simulator
from adapters.http import HttpConfig, UpstreamClients
from domain.upstream import (
    GoposCredentials,
    GoposSnapshot,
    PosDiscountRecord,
    PosGroupRecord,
    UpstreamMoney,
)
from tests.upstream_helpers import FakeTime, open_clients, silent_server
from tests.upstream_helpers import fake as fake

FIXTURE_PATH = Path(__file__).parent / "fixtures" / "gopos.json"
FIXTURE: dict[str, Any] = json.loads(FIXTURE_PATH.read_text(encoding="utf-8"))
SECRET = FIXTURE["client_secret"]
CREDENTIALS = GoposCredentials(
    base_url="http://gopos.test", client_id="demo", client_secret=SECRET, organization_id="1001"
)
GROUPS = "/api/v3/1001/clients/groups"
DISCOUNTS = "/api/v3/1001/discounts"
FIXTURE_SNAPSHOT = GoposSnapshot(
    groups=(
        PosGroupRecord(
            external_id="17",
            name="Stały klient",
            reference="staly-klient",
            daily_discount_limit=UpstreamMoney(Decimal("50.00"), "PLN"),
            discount_ids=("3", "8"),
        ),
        PosGroupRecord(
            external_id="g-18",
            name="Pracownicy",
            reference=None,
            daily_discount_limit=None,
            discount_ids=(),
        ),
    ),
    discounts=(
        PosDiscountRecord("3", "10% stały klient", "PERCENT", Decimal("10.00"), enabled=True),
        PosDiscountRecord("8", "5 zł na kawę", "AMOUNT", Decimal("5.00"), enabled=False),
    ),
)


@pytest.fixture
def app() -> Starlette:
    return create_gopos_simulator(FIXTURE)


@pytest.fixture
def sim(app: Starlette) -> GoposSimulator:
    simulator: GoposSimulator = app.state.simulator
    return simulator


def requested_pages(sim: GoposSimulator, path: str) -> set[int]:
    pages = set()
    for _method, seen, query in sim.log:
        if seen == path:
            params = dict(pair.split("=") for pair in query.split("&"))
            assert params["size"] == "100"
            pages.add(int(params["page"]))
    return pages


async def test_fetch_reads_the_fixture_with_ids_as_strings(app: Starlette, fake: FakeTime) -> None:
    async with open_clients(app, fake) as clients:
        snapshot = await fetch_gopos(clients, CREDENTIALS, deadline=60)

    assert snapshot == FIXTURE_SNAPSHOT
    limit = snapshot.groups[0].daily_discount_limit
    assert limit is not None
    assert str(limit.amount) == "50.00"


async def test_an_exact_multiple_of_the_page_size_ends_with_an_empty_page(
    app: Starlette, sim: GoposSimulator, fake: FakeTime
) -> None:
    sim.generate(groups=200, discounts=0)

    async with open_clients(app, fake, read_ahead_pages=4) as clients:
        snapshot = await fetch_gopos(clients, CREDENTIALS, deadline=60)

    assert [group.external_id for group in snapshot.groups] == [str(n) for n in range(1, 201)]
    assert snapshot.discounts == ()
    pages = requested_pages(sim, GROUPS)
    assert {0, 1, 2} <= pages  # page 2 is the empty one that ends the list
    assert pages <= set(range(6))  # the window slides past a full page, never further
    assert requested_pages(sim, DISCOUNTS) <= set(range(4))


async def test_nothing_upstream_is_an_empty_snapshot(
    app: Starlette, sim: GoposSimulator, fake: FakeTime
) -> None:
    sim.generate(groups=0, discounts=0)

    async with open_clients(app, fake) as clients:
        snapshot = await fetch_gopos(clients, CREDENTIALS, deadline=60)

    assert snapshot == GoposSnapshot(groups=(), discounts=())
    assert 0 in requested_pages(sim, GROUPS)


async def test_reading_ahead_continues_past_the_first_window(
    app: Starlette, sim: GoposSimulator, fake: FakeTime
) -> None:
    sim.generate(groups=1_050, discounts=150)

    async with open_clients(app, fake, read_ahead_pages=3) as clients:
        snapshot = await fetch_gopos(clients, CREDENTIALS, deadline=60)

    assert [group.external_id for group in snapshot.groups] == [str(n) for n in range(1, 1_051)]
    assert [d.external_id for d in snapshot.discounts] == [str(n) for n in range(1, 151)]
    assert set(range(11)) <= requested_pages(sim, GROUPS)  # page 10 holds the last 50
    assert snapshot.groups[1] == PosGroupRecord(
        external_id="2",
        name="Grupa 2",
        reference="grupa-2",
        daily_discount_limit=UpstreamMoney(Decimal("12.00"), "PLN"),
        discount_ids=("3",),
    )


async def test_the_token_is_reused_by_the_next_sync(
    app: Starlette, sim: GoposSimulator, fake: FakeTime
) -> None:
    async with open_clients(app, fake) as clients:
        await fetch_gopos(clients, CREDENTIALS, deadline=60)
        await fetch_gopos(clients, CREDENTIALS, deadline=60)

    assert sim.token_requests == 1


async def test_the_token_is_renewed_shortly_before_it_expires(
    app: Starlette, sim: GoposSimulator, fake: FakeTime
) -> None:
    sim.token_ttl_s = 100  # renewed 30 s early, at 70 s

    async with open_clients(app, fake) as clients:
        await fetch_gopos(clients, CREDENTIALS, deadline=60)
        fake.now += 69
        await fetch_gopos(clients, CREDENTIALS, deadline=60)
        assert sim.token_requests == 1
        fake.now += 2
        snapshot = await fetch_gopos(clients, CREDENTIALS, deadline=60)

    assert snapshot == FIXTURE_SNAPSHOT
    assert sim.token_requests == 2
    assert sim.answered[401] == 0


async def test_a_token_the_upstream_expired_is_renewed_exactly_once(fake: FakeTime) -> None:
    upstream_time = FakeTime()
    app = create_gopos_simulator(FIXTURE, clock=upstream_time.clock)
    sim: GoposSimulator = app.state.simulator
    sim.generate(groups=350, discounts=250)
    sim.faults.latency_ms = 1  # requests overlap, so several meet the expired token
    sim.token_ttl_s = 600

    async with open_clients(app, fake, read_ahead_pages=4) as clients:
        await fetch_gopos(clients, CREDENTIALS, deadline=60)
        upstream_time.now += 600  # the token lifetime: GoPOS now answers 401
        snapshot = await fetch_gopos(clients, CREDENTIALS, deadline=60)

    assert len(snapshot.groups) == 350
    assert len(snapshot.discounts) == 250
    assert sim.token_requests == 2
    assert sim.answered[401] >= 2  # several requests met the expired token; one renewal served all


async def test_a_401_that_persists_after_a_new_token_rejects_the_credentials(
    app: Starlette, sim: GoposSimulator, fake: FakeTime
) -> None:
    sim.reject_tokens = True

    async with open_clients(app, fake, read_ahead_pages=1) as clients:
        with pytest.raises(CredentialsRejected) as caught:
            await fetch_gopos(clients, CREDENTIALS, deadline=60)

    assert str(caught.value) == 'GoPOS rejected the credentials (401): {"error":"invalid_token"}'
    assert caught.value.upstream == "GoPOS"
    assert caught.value.status == 401
    assert sim.token_requests == 2


async def test_a_wrong_client_secret_rejects_the_credentials_without_retrying(
    app: Starlette, sim: GoposSimulator, fake: FakeTime
) -> None:
    wrong = GoposCredentials("http://gopos.test", "demo", "not-the-secret-91", "1001")

    async with open_clients(app, fake) as clients:
        with pytest.raises(CredentialsRejected) as caught:
            await fetch_gopos(clients, wrong, deadline=60)

    assert str(caught.value) == 'GoPOS rejected the credentials (401): {"error":"invalid_client"}'
    assert sim.token_requests == 1
    assert sim.requests_by_path[GROUPS] == 0


@pytest.mark.parametrize(
    ("retry_after", "expected_waits"),
    [
        ("2", [2.0, 2.0]),
        ("Wed, 02 Dec 2026 06:00:07 GMT", [7.0, 7.0]),  # NOW + 7 s
        ("Wed, 02 Dec 2026 06:05:00 GMT", [30.0, 30.0]),  # 300 s, capped
        ("120", [30.0, 30.0]),
    ],
)
async def test_429_waits_as_retry_after_asks_up_to_the_cap(
    app: Starlette,
    sim: GoposSimulator,
    fake: FakeTime,
    retry_after: str,
    expected_waits: list[float],
) -> None:
    sim.faults.retry_after = retry_after
    sim.fail_next(429, 2, path_prefix="/api/")
    started = time.monotonic()

    async with open_clients(app, fake, retry_after_cap=30) as clients:
        snapshot = await fetch_gopos(clients, CREDENTIALS, deadline=100)

    assert snapshot == FIXTURE_SNAPSHOT
    assert fake.sleeps == expected_waits
    assert sim.answered[429] == 2
    assert time.monotonic() - started < 1.0  # the waits were not slept for real


async def test_a_retry_after_beyond_the_deadline_fails_at_once(
    app: Starlette, sim: GoposSimulator, fake: FakeTime
) -> None:
    sim.faults.retry_after = "120"
    sim.fail_next(429, 1, path_prefix=GROUPS)

    async with open_clients(app, fake, retry_after_cap=100, read_ahead_pages=1) as clients:
        with pytest.raises(UpstreamUnavailable) as caught:
            await fetch_gopos(clients, CREDENTIALS, deadline=60)

    assert str(caught.value) == (
        "GoPOS answered 429 after 1 attempt, and waiting 100 s more would pass the 60 s "
        "deadline: Too Many Requests"
    )
    assert caught.value.status == 429
    assert fake.sleeps == []


async def test_a_500_is_retried_after_a_backoff(
    app: Starlette, sim: GoposSimulator, fake: FakeTime
) -> None:
    sim.fail_next(500, 1, path_prefix=GROUPS)

    async with open_clients(app, fake, backoff_base=0.5) as clients:
        snapshot = await fetch_gopos(clients, CREDENTIALS, deadline=60)

    assert snapshot == FIXTURE_SNAPSHOT
    assert sim.answered[500] == 1
    assert len(fake.sleeps) == 1
    assert 0.25 <= fake.sleeps[0] <= 0.5


async def test_a_persistent_503_is_unavailable_after_the_configured_attempts(
    app: Starlette, sim: GoposSimulator, fake: FakeTime
) -> None:
    sim.fail_next(503, 100, path_prefix=GROUPS)

    async with open_clients(
        app, fake, retry_attempts=3, backoff_base=0.5, read_ahead_pages=1
    ) as clients:
        with pytest.raises(UpstreamUnavailable) as caught:
            await fetch_gopos(clients, CREDENTIALS, deadline=60)

    assert str(caught.value) == "GoPOS answered 503 after 3 attempts: Service Unavailable"
    assert caught.value.status == 503
    assert sim.requests_by_path[GROUPS] == 3
    first, second = fake.sleeps
    assert 0.25 <= first <= 0.5
    assert 0.5 <= second <= 1.0


async def test_the_token_request_is_retried_on_503(
    app: Starlette, sim: GoposSimulator, fake: FakeTime
) -> None:
    sim.fail_next(503, 1, path_prefix="/oauth/token")

    async with open_clients(app, fake) as clients:
        snapshot = await fetch_gopos(clients, CREDENTIALS, deadline=60)

    assert snapshot == FIXTURE_SNAPSHOT
    assert sim.token_requests == 2
    assert len(sim.issued_tokens) == 1


async def test_an_unexpected_status_is_an_upstream_error(
    app: Starlette, sim: GoposSimulator, fake: FakeTime
) -> None:
    sim.fail_next(404, 1, path_prefix=GROUPS)

    async with open_clients(app, fake, read_ahead_pages=1) as clients:
        with pytest.raises(UpstreamError) as caught:
            await fetch_gopos(clients, CREDENTIALS, deadline=60)

    assert type(caught.value) is UpstreamError
    assert str(caught.value) == f"GoPOS answered 404 to GET {GROUPS}: Not Found"
    assert sim.requests_by_path[GROUPS] == 1


async def test_unreachable_gopos_is_retried_then_unavailable(fake: FakeTime) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    credentials = GoposCredentials(f"http://127.0.0.1:{port}", "demo", SECRET, "1001")
    clients = UpstreamClients(
        HttpConfig(retry_attempts=3), sleep=fake.sleep, clock=fake.clock, rng=random.Random(1)
    )

    async with clients:
        with pytest.raises(UpstreamUnavailable) as caught:
            await fetch_gopos(clients, credentials, deadline=60)

    assert str(caught.value).startswith("GoPOS could not be reached after 3 attempts: ConnectError")
    assert len(fake.sleeps) == 2


@pytest.mark.parametrize(
    ("corrupt", "path", "expected"),
    [
        (
            lambda sim: sim.respond_next(200, "<html>oops</html>", path_prefix=GROUPS),
            GROUPS,
            "the body is not JSON: <html>oops</html>",
        ),
        (
            lambda sim: sim.respond_next(200, '{"data": {}}', path_prefix=GROUPS),
            GROUPS,
            "data: expected a list",
        ),
        (lambda sim: sim.groups[1].pop("name"), GROUPS, "data[1].name (group g-18): missing"),
        (
            lambda sim: sim.groups[1].update(reference=5),
            GROUPS,
            "data[1].reference (group g-18): expected a string or null",
        ),
        (
            lambda sim: sim.groups[0]["daily_discount_limit"].update(amount="1e3"),
            GROUPS,
            "data[0].daily_discount_limit.amount (group 17): expected a decimal string such as"
            ' "12.50"',
        ),
        (
            lambda sim: sim.groups[0]["discount_ids"].append(True),
            GROUPS,
            "data[0].discount_ids[2] (group 17): expected an id (an integer or a non-empty string)",
        ),
        (
            lambda sim: sim.discounts[1].update(value=5),
            DISCOUNTS,
            'data[1].value (discount 8): expected a decimal string such as "12.50"',
        ),
        (
            lambda sim: sim.discounts[0].update(status="ON"),
            DISCOUNTS,
            "data[0].status (discount 3): expected one of ENABLED, DISABLED",
        ),
        (
            lambda sim: sim.groups[1].update(name="Pracownicy\x00"),
            GROUPS,
            "data[1].name (group g-18): expected text without control characters, found U+0000",
        ),
        (
            lambda sim: sim.groups[0].update(reference="r" * 501),
            GROUPS,
            "data[0].reference (group 17): expected at most 500 characters, not 501",
        ),
        (
            lambda sim: sim.groups[0].update(id="1" * 201),
            GROUPS,
            "data[0].id: expected at most 200 characters, not 201",
        ),
        (
            lambda sim: sim.groups[0]["discount_ids"].append("3\n"),
            GROUPS,
            "data[0].discount_ids[2] (group 17): expected text without control characters,"
            " found U+000A",
        ),
        (
            lambda sim: sim.respond_next(
                200,
                '{"data": [{"id": 5, "name": "Grupa \\ud800", "reference": null,'
                ' "daily_discount_limit": null, "discount_ids": []}]}',
                path_prefix=GROUPS,
            ),
            GROUPS,
            "data[0].name (group 5): expected text without unpaired surrogates, found U+D800",
        ),
        (
            lambda sim: sim.discounts[1].update(name="\u202e%05 k\u202c"),
            DISCOUNTS,
            "data[1].name (discount 8): expected text without control characters, found U+202E",
        ),
    ],
)
async def test_a_malformed_response_names_the_field(
    app: Starlette,
    sim: GoposSimulator,
    fake: FakeTime,
    corrupt: Any,
    path: str,
    expected: str,
) -> None:
    corrupt(sim)

    async with open_clients(app, fake, read_ahead_pages=1) as clients:
        with pytest.raises(MalformedResponse) as caught:
            await fetch_gopos(clients, CREDENTIALS, deadline=60)

    assert str(caught.value) == (
        f"GoPOS sent a malformed response: {expected} (GET {path}?page=0&size=100)"
    )
    assert caught.value.field == (
        expected.split(":")[0].split(" (")[0] if "JSON" not in expected else None
    )


async def test_an_upstream_that_never_answers_fails_within_the_deadline() -> None:
    async with silent_server() as port:
        credentials = GoposCredentials(f"http://127.0.0.1:{port}", "demo", SECRET, "1001")
        started = time.monotonic()
        async with UpstreamClients(HttpConfig(read_timeout=30)) as clients:
            with pytest.raises(UpstreamUnavailable) as caught:
                await fetch_gopos(clients, credentials, deadline=0.5)

    elapsed = time.monotonic() - started
    assert str(caught.value) == "GoPOS did not answer within 0.5 s"
    assert 0.5 <= elapsed < 1.5


@pytest.mark.parametrize(("cap", "expected"), [(3, 3), (8, 8)])
async def test_requests_in_flight_stay_under_the_cap(
    app: Starlette, sim: GoposSimulator, fake: FakeTime, cap: int, expected: int
) -> None:
    sim.generate(groups=1_000, discounts=1_000)
    sim.faults.latency_ms = 5

    async with open_clients(app, fake, max_in_flight=cap, read_ahead_pages=4) as clients:
        snapshot = await fetch_gopos(clients, CREDENTIALS, deadline=60)

    assert (len(snapshot.groups), len(snapshot.discounts)) == (1_000, 1_000)
    assert sim.max_in_flight == expected  # 8 = two lists with four pages ahead each


async def test_secrets_stay_out_of_errors_and_logs(
    app: Starlette, sim: GoposSimulator, fake: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[UpstreamError] = []
    wrong = GoposCredentials("http://gopos.test", "demo", "wrong-secret-0c11", "1001")

    async with open_clients(app, fake, retry_attempts=2, read_ahead_pages=1) as clients:
        await fetch_gopos(clients, CREDENTIALS, deadline=60)  # a token is cached
        token = sim.issued_tokens[0]
        sim.respond_next(400, f"bad request from {token}", path_prefix=GROUPS)
        sim.fail_next(503, 10, path_prefix=DISCOUNTS)
        for credentials in (CREDENTIALS, CREDENTIALS):
            with pytest.raises(UpstreamError) as caught:
                await fetch_gopos(clients, credentials, deadline=60)
            errors.append(caught.value)
        sim.respond_next(401, f"no such client: {wrong.client_secret}", path_prefix="/oauth/")
        with pytest.raises(CredentialsRejected) as rejected:
            await fetch_gopos(clients, wrong, deadline=60)
        errors.append(rejected.value)
        sim.reject_tokens = True
        with pytest.raises(CredentialsRejected) as rejected:
            await fetch_gopos(clients, CREDENTIALS, deadline=60)
        errors.append(rejected.value)

    assert [type(error) for error in errors] == [
        UpstreamError,
        UpstreamUnavailable,
        CredentialsRejected,
        CredentialsRejected,
    ]
    assert str(errors[0]) == f"GoPOS answered 400 to GET {GROUPS}: bad request from [redacted]"
    assert str(errors[2]) == "GoPOS rejected the credentials (401): no such client: [redacted]"
    secrets = [SECRET, wrong.client_secret, *sim.issued_tokens]
    assert len(sim.issued_tokens) == 2
    logged = caplog.text + "".join(repr(record.args) for record in caplog.records)
    assert "GoPOS GET" in logged  # the failures were logged, with their raw text
    for secret in secrets:
        assert secret not in logged
        for error in errors:
            assert secret not in str(error)
            assert secret not in repr(error)
    assert SECRET not in repr(CREDENTIALS)


ODD_SECRET = 'Zq9+SEKRET/ä "x"\\'
ODD_TOKEN = "tok/EN+xyz=="


def spellings(secret: str) -> list[str]:
    """How an upstream may spell a secret back: as sent in a form, URL-encoded, JSON-escaped."""
    escaped = json.dumps(secret)[1:-1]
    return [
        secret,
        urllib.parse.quote(secret),
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        escaped,
        escaped.replace("/", "\\/"),
        json.dumps(secret, ensure_ascii=False)[1:-1],
    ]


def echoing(statuses: dict[str, int]) -> httpx.MockTransport:
    """An upstream that answers each path with its status and echoes the request it was sent,
    its form as sent and parsed into JSON (escaped as PHP does), and its headers."""

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path not in statuses:
            return httpx.Response(200, json={"access_token": ODD_TOKEN, "expires_in": 600})
        form = request.content.decode()
        parsed = json.dumps(dict(urllib.parse.parse_qsl(form))).replace("/", "\\/")
        headers = json.dumps(dict(request.headers)).replace("/", "\\/")
        return httpx.Response(statuses[path], text=f"bad request {form} {parsed} {headers}")

    return httpx.MockTransport(handle)


@pytest.mark.parametrize(
    ("statuses", "kind", "message"),
    [
        (
            {"/oauth/token": 400},
            CredentialsRejected,
            "GoPOS rejected the credentials (400): bad request grant_type=organization"
            "&client_id=demo&client_secret=[redacted]&organization_id=1001",
        ),
        (
            {"/oauth/token": 418},
            UpstreamError,
            "GoPOS answered 418 to POST /oauth/token: bad request grant_type=organization"
            "&client_id=demo&client_secret=[redacted]&organization_id=1001",
        ),
        ({GROUPS: 400}, UpstreamError, f"GoPOS answered 400 to GET {GROUPS}: bad request"),
    ],
)
async def test_a_secret_or_token_echoed_back_encoded_stays_out_of_errors_and_logs(
    fake: FakeTime,
    caplog: pytest.LogCaptureFixture,
    statuses: dict[str, int],
    kind: type[UpstreamError],
    message: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    credentials = GoposCredentials("http://gopos.test", "demo", ODD_SECRET, "1001")
    clients = UpstreamClients(
        HttpConfig(read_ahead_pages=1),
        transport=lambda _base_url: echoing(statuses),
        sleep=fake.sleep,
        clock=fake.clock,
    )

    async with clients:
        with pytest.raises(UpstreamError) as caught:
            await fetch_gopos(clients, credentials, deadline=60)

    error = caught.value
    assert type(error) is kind
    assert str(error).startswith(message)
    assert len(str(error)) <= len(message.split(": bad request")[0]) + 2 + 200
    logged = caplog.text + "".join(repr(record.args) for record in caplog.records)
    assert "bad request" in logged  # the answer was logged, as an excerpt
    for text in (str(error), repr(error), logged):
        assert "SEKRET" not in text
        assert "tok/EN" not in text
        for spelled in spellings(ODD_SECRET) + spellings(ODD_TOKEN):
            assert spelled not in text


async def test_one_long_lived_client_per_base_url_closed_on_shutdown() -> None:
    clients = UpstreamClients(HttpConfig())

    first = clients.client_for("http://gopos.test/")
    assert clients.client_for("http://gopos.test") is first
    other = clients.client_for("http://other.test")
    assert other is not first
    assert clients.limit_for("http://gopos.test/") is clients.limit_for("http://gopos.test")
    await clients.aclose()

    assert first.is_closed
    assert other.is_closed
    with pytest.raises(RuntimeError):
        clients.client_for("http://gopos.test")


@pytest.fixture
def gopos_server(tmp_path: Path) -> Iterator[str]:
    """`serve_simulator` in a child process on a free loopback port, stopped with SIGTERM."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = (
        "from adapters.simulator_server import serve_simulator; "
        f"serve_simulator('gopos', {str(FIXTURE_PATH)!r}, {port})"
    )
    log_path = tmp_path / "simulator.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=Path(__file__).parent.parent,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, "the simulator exited"
                assert time.monotonic() < deadline, "the simulator did not start"
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        returncode = process.wait(timeout=10)
    # uvicorn shuts down, then re-raises the signal it caught
    assert returncode == -signal.SIGTERM
    assert "Finished server process" in log_path.read_text()


async def test_fetch_from_the_simulator_served_by_uvicorn(gopos_server: str) -> None:
    credentials = GoposCredentials(gopos_server, "demo", SECRET, "1001")

    async with UpstreamClients(HttpConfig()) as clients:
        snapshot = await fetch_gopos(clients, credentials, deadline=10)
        again = await fetch_gopos(clients, credentials, deadline=10)

    assert snapshot == FIXTURE_SNAPSHOT
    assert again == FIXTURE_SNAPSHOT
