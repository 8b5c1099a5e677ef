"""Per-API-key rate limits: 429 with Retry-After past a key's burst, admitted again as its bucket
refills, one key's flood never limiting another key, shared by two gateways through Redis, and
never a reason to refuse a till while Redis is down.

The buckets run on a settable clock (milliseconds), so no test sleeps for a refill.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from uuid import uuid4

import httpx
import pytest
from arq.connections import ArqRedis
from prometheus_client import REGISTRY
from pyrate_limiter import GCRA
from redis.asyncio import Redis
from starlette.applications import Starlette

from domain.access import Principal, Role
from gateway.app import create_app
from gateway.ratelimit import REDIS_TIMEOUT_SECONDS, KeyRateLimits
from settings import RateLimit, Settings, load_settings
from tests.helpers import Api, new_location
from tests.redis_fixtures import arq_redis as arq_redis

TYPENAME = {"query": "{ __typename }"}
REFUSED_BODY = {
    "errors": [
        {
            "message": "Too many requests with this API key; try again in 1 s.",
            "extensions": {"code": "RATE_LIMITED"},
        }
    ]
}


class Millis:
    """A settable clock in milliseconds."""

    def __init__(self, now: int = 1_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def _principal(role: Role = Role.POS) -> Principal:
    return Principal(location_id=uuid4(), api_key_id=uuid4(), api_key_name="till", role=role)


async def _admitted(limits: KeyRateLimits, principal: Principal, tries: int) -> int:
    """How many of `tries` requests at this instant the key may make."""
    return sum([await limits.wait(principal) is None for _ in range(tries)])


def _refused(role: str) -> float:
    return REGISTRY.get_sample_value("gocrm_rate_limited_total", {"role": role}) or 0.0


# ------------------------------------------------------------------------- settings


def test_the_defaults_are_30_a_second_for_tills_and_60_for_the_back_office() -> None:
    defaults = load_settings({})

    assert defaults.rate_limit_pos == Settings().rate_limit_pos == RateLimit(30, 60)
    assert defaults.rate_limit_admin == Settings().rate_limit_admin == RateLimit(60, 120)


@pytest.mark.parametrize(
    ("raw", "limit"),
    [
        ("30/60", RateLimit(30, 60)),
        (" 5 / 7 ", RateLimit(5, 7)),
        ("10", RateLimit(10, 20)),
        ("100/10", RateLimit(100, 10)),
        ("0", None),
    ],
)
def test_a_limit_is_rate_slash_burst_or_a_rate_alone_or_0_for_none(
    raw: str, limit: RateLimit | None
) -> None:
    settings = load_settings({"GOCRM_RATE_LIMIT_POS": raw, "GOCRM_RATE_LIMIT_ADMIN": raw})

    assert (settings.rate_limit_pos, settings.rate_limit_admin) == (limit, limit)


@pytest.mark.parametrize("raw", ["-1", "1.5", "30/", "/60", "0/60", "30/0", "x", "30/60/90", "²"])
def test_a_malformed_limit_is_refused_naming_the_setting(raw: str) -> None:
    with pytest.raises(ValueError, match=r"^GOCRM_RATE_LIMIT_POS takes requests a second"):
        load_settings({"GOCRM_RATE_LIMIT_POS": raw})


# ------------------------------------------------------------------------- the bucket


async def test_a_full_burst_then_the_rate_never_twice_the_burst_at_a_window_edge() -> None:
    # given a key limited to 20 a second with bursts of 40
    clock = Millis()
    limits = KeyRateLimits({Role.POS: RateLimit(20, 40)}, clock=clock)
    till = _principal()

    # then at one instant it makes 40 requests, not 41
    assert await _admitted(limits, till, 100) == 40
    # and a second later 20 more, not a whole new burst as a fixed window would give
    clock.now += 1_000
    assert await _admitted(limits, till, 100) == 20
    # and one every 50 ms after that
    clock.now += 49
    assert await _admitted(limits, till, 10) == 0
    clock.now += 1
    assert await _admitted(limits, till, 10) == 1
    # and after a quiet while, a full burst again (never more)
    clock.now += 60_000
    assert await _admitted(limits, till, 100) == 40


async def test_the_wait_is_whole_seconds_at_least_one() -> None:
    clock = Millis()
    limits = KeyRateLimits({Role.POS: RateLimit(1, 2)}, clock=clock)
    till = _principal()
    assert [await limits.wait(till) for _ in range(2)] == [None, None]

    assert await limits.wait(till) == 1  # 1,000 ms to the next request
    clock.now += 999
    assert await limits.wait(till) == 1  # 1 ms, said as a whole second
    clock.now += 1
    assert await limits.wait(till) is None
    assert await limits.wait(till) == 1

    slow = KeyRateLimits({Role.POS: RateLimit(1, 1)}, clock=clock)
    assert [await slow.wait(till), await slow.wait(till)] == [None, 1]


async def test_a_role_without_a_limit_is_never_counted() -> None:
    limits = KeyRateLimits({Role.POS: RateLimit(1, 1), Role.ADMIN: None}, clock=Millis())

    assert await _admitted(limits, _principal(Role.ADMIN), 1_000) == 1_000
    assert not KeyRateLimits({Role.POS: None, Role.ADMIN: None}).limited


# ------------------------------------------------------------------------- over HTTP


@pytest.fixture
async def make_app(database: Settings) -> AsyncIterator[Callable[..., Starlette]]:
    """Apps built with other settings and a rate clock; their dispatchers close after."""
    apps: list[Starlette] = []

    def make(clock: Millis, **changes: Any) -> Starlette:
        app = create_app(
            dataclasses.replace(database, **changes), manage_database=False, rate_clock=clock
        )
        apps.append(app)
        return app

    yield make
    for app in apps:
        await app.state.dispatcher.close()


@pytest.fixture
async def client() -> AsyncIterator[Callable[[Starlette], Awaitable[httpx.AsyncClient]]]:
    clients: list[httpx.AsyncClient] = []

    async def open_client(app: Starlette) -> httpx.AsyncClient:
        opened = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")
        clients.append(opened)
        return opened

    yield open_client
    for opened in clients:
        await opened.aclose()


async def _statuses(api: Api, count: int) -> list[int]:
    return [
        (await api.http.post("/graphql", json=TYPENAME, headers=api.headers)).status_code
        for _ in range(count)
    ]


async def test_past_its_burst_a_key_is_429_with_retry_after_until_its_bucket_refills(
    make_app: Callable[..., Starlette],
    client: Callable[[Starlette], Awaitable[httpx.AsyncClient]],
) -> None:
    # given a gateway whose tills may make 2 requests a second, 3 at once
    clock = Millis()
    app = make_app(clock, rate_limit_pos=RateLimit(2, 3))
    admin = await new_location(await client(app), "Rate limits")
    till = await admin.key_with_role(Role.POS)
    before = _refused("POS")

    # when the till sends 3 requests at once, then a fourth
    admitted = await _statuses(till, 3)
    refused = await till.http.post("/graphql", json=TYPENAME, headers=till.headers)

    # then the fourth is 429, with Retry-After and the gateway's JSON error body
    assert admitted == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["content-type"] == "application/json"
    assert refused.json() == REFUSED_BODY
    # (and its body is never read: a malformed one is refused for the rate, not the JSON)
    garbage = await till.http.post(
        "/graphql",
        content=b"{not json",
        headers={**till.headers, "content-type": "application/json"},
    )
    assert garbage.status_code == 429
    assert _refused("POS") == before + 2
    # when half a second passes (2 a second), one more request is admitted, and no second one
    clock.now += 499
    assert await _statuses(till, 1) == [429]
    clock.now += 1
    assert await _statuses(till, 2) == [200, 429]
    # and the back office's key, limited 60 a second by default, was never counted against it
    assert await _statuses(admin, 5) == [200] * 5


async def test_one_keys_flood_never_limits_another_key(
    make_app: Callable[..., Starlette],
    client: Callable[[Starlette], Awaitable[httpx.AsyncClient]],
) -> None:
    clock = Millis()
    app = make_app(clock, rate_limit_pos=RateLimit(2, 3))
    admin = await new_location(await client(app), "Flood")
    flooding = await admin.key_with_role(Role.POS, "till 1")
    other = await admin.key_with_role(Role.POS, "till 2")

    flood = await _statuses(flooding, 20)

    assert flood == [200] * 3 + [429] * 17
    assert await _statuses(other, 3) == [200] * 3


async def test_a_limit_of_0_turns_it_off(
    make_app: Callable[..., Starlette],
    client: Callable[[Starlette], Awaitable[httpx.AsyncClient]],
) -> None:
    app = make_app(Millis(), rate_limit_pos=None, rate_limit_admin=None)
    admin = await new_location(await client(app), "Unlimited")
    till = await admin.key_with_role(Role.POS)

    assert await _statuses(till, 130) == [200] * 130
    assert await _statuses(admin, 130) == [200] * 130


# ------------------------------------------------------------------------- through Redis


async def test_two_gateways_share_a_keys_bucket_through_redis(
    make_app: Callable[..., Starlette],
    client: Callable[[Starlette], Awaitable[httpx.AsyncClient]],
    arq_redis: ArqRedis,
) -> None:
    # given two gateways on one Redis (as their lifespans share it), 2 a second, 3 at once
    clock = Millis(time.time_ns() // 1_000_000)
    first = make_app(clock, rate_limit_pos=RateLimit(2, 3))
    second = make_app(clock, rate_limit_pos=RateLimit(2, 3))
    for app in (first, second):
        app.state.rate_limits.share_through(arq_redis)
    admin = await new_location(await client(first), "Shared")
    till_first = await admin.key_with_role(Role.POS)
    till_second = Api(await client(second), till_first.key, admin.location_id)

    # when the till sends 2 requests to one and 2 to the other
    statuses = await _statuses(till_first, 2) + await _statuses(till_second, 2)

    # then 3 are admitted between them, and both refuse after
    assert statuses == [200, 200, 200, 429]
    assert await _statuses(till_first, 1) == [429]
    # and the bucket is one key in Redis, which refills for both
    assert len([key async for key in arq_redis.scan_iter("gocrm:rate:*")]) == 1
    clock.now += 500
    assert await _statuses(till_second, 1) == [200]
    assert await _statuses(till_first, 1) == [429]


async def test_without_redis_a_key_is_limited_by_each_process_and_tills_are_served(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given limits meant to be shared through a Redis that refuses connections
    clock = Millis()
    seconds = [0.0]
    limits = KeyRateLimits({Role.POS: RateLimit(2, 3)}, clock=clock, monotonic=lambda: seconds[0])
    nowhere: Redis = Redis.from_url("redis://127.0.0.1:1/0")
    limits.share_through(nowhere)
    till = _principal()

    # when a till sends requests, across two of Redis's retry pauses
    with caplog.at_level(logging.INFO, logger="gateway.ratelimit"):
        began = time.perf_counter()
        first = [await limits.wait(till) for _ in range(4)]
        took = time.perf_counter() - began
        seconds[0] += 1.5
        clock.now += 10_000
        later = [await limits.wait(till) for _ in range(4)]
    await nowhere.aclose()

    # then it is served within its burst by this process's own bucket, and refused past it
    assert first == later == [None, None, None, 1]
    assert took < 1.0
    # and the outage is logged once
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith("rate limits: Redis did not answer")


async def test_a_redis_that_never_answers_costs_a_request_at_most_its_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given a "Redis" that accepts connections and never answers
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    stalled: Redis = Redis.from_url(f"redis://127.0.0.1:{port}/0")
    seconds = [0.0]
    limits = KeyRateLimits({Role.POS: RateLimit(2, 3)}, monotonic=lambda: seconds[0])
    limits.share_through(stalled)
    till = _principal()
    try:
        with caplog.at_level(logging.INFO, logger="gateway.ratelimit"):
            # when a till's requests are checked: two wait for Redis in vain, the rest do not
            waited = []
            for _ in range(5):
                began = time.perf_counter()
                assert await limits.wait(till) == (None if len(waited) < 3 else 1)
                waited.append(time.perf_counter() - began)
    finally:
        await stalled.aclose()
        server.close()
        await server.wait_closed()

    # then each of the first two waited no longer than the timeout (with a margin for a busy
    # machine), and the others, judged by this process's bucket, did not wait on Redis at all
    assert max(waited[:2]) < REDIS_TIMEOUT_SECONDS + 0.5
    assert min(waited[:2]) >= REDIS_TIMEOUT_SECONDS
    assert max(waited[2:]) < REDIS_TIMEOUT_SECONDS
    # and the outage was logged once, after the second late answer
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "rate limits: Redis did not answer (TimeoutError); each process limits"
        " API keys on its own until it does"
    ]


async def test_prepare_loads_the_bucket_script_before_the_first_request(
    arq_redis: ArqRedis,
) -> None:
    limits = KeyRateLimits({Role.POS: RateLimit(2, 3)})
    limits.share_through(arq_redis)
    script = GCRA().redis_script()
    assert script is not None
    sha = hashlib.sha1(script.encode()).hexdigest()
    await arq_redis.script_flush()  # (Redis keeps scripts across FLUSHDB)
    assert await arq_redis.script_exists(sha) == [False]

    await limits.prepare()

    assert await arq_redis.script_exists(sha) == [True]
