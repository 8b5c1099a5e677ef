"""Per-API-key rate limits, checked once a request's key is known and before its body is read.

Each key spends from a bucket of its role's `RateLimit` (`GOCRM_RATE_LIMIT_POS`,
`GOCRM_RATE_LIMIT_ADMIN`): `per_second` requests a second on average, at most `burst` at once.
The algorithm is GCRA (pyrate-limiter's), a token bucket kept as one timestamp per key: it
refills continuously, so no window boundary ever lets twice the burst through. A request past
the limit is answered 429 with `Retry-After` by the endpoint (`gateway.graphql.endpoint`).

With Redis (`share_through`, done by the lifespan when `REDIS_URL` is set) every gateway process
spends from the same buckets: one atomic Lua script, one round trip. Their timestamps are the
hosts' wall clocks (kept in step by NTP; a skew of Δ ms shifts a key's budget by Δ × rate / 1000
requests). Without Redis each process keeps its own buckets in memory.

Redis is never a reason to refuse or slow a till. When it does not answer within
`REDIS_TIMEOUT_SECONDS` (or refuses the connection), the request is checked against this
process's own buckets instead. Once Redis has refused a connection, or failed twice in a row
(one late answer may be this process's own busy event loop), it is left alone for
`REDIS_RETRY_SECONDS` at a time, and one line is logged when that outage starts and one when it
ends.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from inspect import isawaitable
from math import ceil
from uuid import UUID

from cachetools import LRUCache
from pyrate_limiter import (
    GCRA,
    Decision,
    Duration,
    InMemoryStateStore,
    Rate,
    RedisStateStore,
    StateStore,
)
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from domain.access import Principal, Role
from gateway.metrics import rate_limited
from settings import RateLimit

log = logging.getLogger(__name__)

# A Redis round trip takes well under a millisecond; past this the request goes on without it.
REDIS_TIMEOUT_SECONDS = 0.02
REDIS_RETRY_SECONDS = 1.0
FAILURES_FOR_AN_OUTAGE = 2
# How long `prepare` may take, at start-up.
PREPARE_TIMEOUT_SECONDS = 1.0
# Keys whose buckets a process keeps (the least recently used go first: a key forgotten starts
# again with a full burst).
KEYS_KEPT = 10_000
REDIS_PREFIX = "gocrm:rate:"

Milliseconds = Callable[[], int]


def _monotonic_ms() -> int:
    return time.monotonic_ns() // 1_000_000


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class KeyRateLimits:
    """The buckets of every API key seen by this process, or shared through Redis.

    `clock` (milliseconds) replaces both the monotonic clock of the in-process buckets and the
    wall clock of the shared ones: tests pass theirs; `monotonic` (seconds) times the pause
    after Redis failed.
    """

    def __init__(
        self,
        limits: Mapping[Role, RateLimit | None],
        *,
        clock: Milliseconds | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        redis_timeout: float = REDIS_TIMEOUT_SECONDS,
        size: int = KEYS_KEPT,
    ) -> None:
        self._rates = {
            role: [Rate(limit.per_second, Duration.SECOND, limit.burst)]
            for role, limit in limits.items()
            if limit is not None
        }
        self._algorithm = GCRA()
        self._local_clock = clock or _monotonic_ms
        self._shared_clock = clock or _wall_ms
        self._monotonic = monotonic
        self._redis_timeout = redis_timeout
        self._local: LRUCache[UUID, StateStore] = LRUCache(maxsize=size)
        self._shared: LRUCache[UUID, StateStore] = LRUCache(maxsize=size)
        self._redis: Redis | None = None
        self._redis_skipped_until = 0.0
        self._redis_failures = 0
        self._redis_failing = False

    @property
    def limited(self) -> bool:
        """Whether any role is limited at all."""
        return bool(self._rates)

    def share_through(self, redis: Redis | None) -> None:
        """Spend from buckets in `redis`, shared by every process using it (None: this
        process's own)."""
        self._redis = redis
        self._shared.clear()

    async def prepare(self) -> None:
        """Load the bucket script into Redis ahead of the first request, whose round trip would
        otherwise carry the load too. Whatever goes wrong is left for the first request."""
        script = self._algorithm.redis_script()
        if self._redis is None or script is None:
            return
        try:
            async with asyncio.timeout(PREPARE_TIMEOUT_SECONDS):
                await self._redis.script_load(script)
        except (RedisError, OSError, TimeoutError):
            pass

    async def wait(self, principal: Principal) -> int | None:
        """None when the key may go on (the request is counted); otherwise the whole seconds,
        at least 1, after which it may try again."""
        rates = self._rates.get(principal.role)
        if rates is None:
            return None
        decision: Decision | None = None
        if self._redis is not None and self._monotonic() >= self._redis_skipped_until:
            decision = await self._shared_decision(self._redis, principal.api_key_id, rates)
        if decision is None:
            decision = self._local_decision(principal.api_key_id, rates)
        if decision.allowed:
            return None
        rate_limited(principal.role.value)
        return max(1, ceil((decision.retry_after_ms or 1_000) / 1_000))

    def _local_decision(self, key_id: UUID, rates: list[Rate]) -> Decision:
        store = self._local.get(key_id)
        if store is None:
            store = self._local[key_id] = InMemoryStateStore()
        decision = store.check(self._algorithm, rates, self._local_clock(), 1)
        assert isinstance(decision, Decision)  # an in-memory store decides at once
        return decision

    async def _shared_decision(
        self, redis: Redis, key_id: UUID, rates: list[Rate]
    ) -> Decision | None:
        """The decision of the shared bucket, or None when Redis did not give one in time."""
        store = self._shared.get(key_id)
        if store is None:
            store = self._shared[key_id] = RedisStateStore(redis, f"{REDIS_PREFIX}{key_id}")
        try:
            async with asyncio.timeout(self._redis_timeout):
                decision = store.check(self._algorithm, rates, self._shared_clock(), 1)
                if isawaitable(decision):
                    decision = await decision
        except (RedisError, OSError, TimeoutError) as error:
            self._redis_failures += 1
            refused = isinstance(error, (RedisConnectionError, ConnectionError))
            if refused or self._redis_failures >= FAILURES_FOR_AN_OUTAGE:
                self._redis_skipped_until = self._monotonic() + REDIS_RETRY_SECONDS
                if not self._redis_failing:
                    self._redis_failing = True
                    log.warning(
                        "rate limits: Redis did not answer (%s); each process limits API keys"
                        " on its own until it does",
                        str(error) or type(error).__name__,
                    )
            return None
        self._redis_failures = 0
        if self._redis_failing:
            self._redis_failing = False
            log.info("rate limits: Redis answers again; API keys are limited across processes")
        assert isinstance(decision, Decision)
        return decision
