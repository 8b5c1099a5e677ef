"""The retry policy: httpx-retries' `Retry` with an injected clock and sleep, seeded jitter,
separate caps for backoff and Retry-After, and no waiting past the deadline of the sync that
asked. `Exchange` carries what one logical request went through to the transports below."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime

import httpx
from httpx_retries import Retry

from adapters.http.config import Clock, Sleep, WallClock
from adapters.redaction import Redactor

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(slots=True)
class Exchange:
    """What one logical request (all its attempts) went through, for messages and logs."""

    upstream: str
    deadline_at: float
    redactor: Redactor
    attempts: int = 0
    status: int | None = None
    excerpt: str = ""
    error: str = ""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    sleep: Sleep
    clock: Clock
    wall_clock: WallClock
    rng: random.Random
    backoff_cap: float


class RetryPastDeadlineError(Exception):
    def __init__(self, wait: float) -> None:
        super().__init__(wait)
        self.wait = wait


class SyncRetry(Retry):
    """httpx-retries' policy with an injected clock and sleep, seeded jitter, separate caps
    for backoff and Retry-After, and no waiting past the sync's deadline."""

    policy: RetryPolicy
    exchange: Exchange | None

    def increment(self) -> SyncRetry:
        following = super().increment()
        assert isinstance(following, SyncRetry)
        following.policy = self.policy
        following.exchange = self.exchange
        return following

    def parse_retry_after(self, retry_after: str) -> float:
        value = retry_after.strip()
        if value.isascii() and value.isdigit():
            return float(value)
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError) as exc:
            raise ValueError("Retry-After is neither seconds nor an HTTP date") from exc
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - self.policy.wall_clock()).total_seconds())

    def backoff_strategy(self) -> float:
        step = max(0, self.attempts_made - 1)
        ceiling = min(self.policy.backoff_cap, float(self.backoff_factor) * 2.0**step)
        return ceiling / 2 + self.policy.rng.uniform(0.0, ceiling / 2)

    def wait_after(self, response: httpx.Response | Exception) -> float:
        if isinstance(response, httpx.Response):
            header = response.headers.get("Retry-After", "").strip()
            if header:
                try:
                    asked = self.parse_retry_after(header)
                except ValueError:
                    asked = 0.0
                if asked > 0:
                    return min(asked, self.max_backoff_wait)
        return self.backoff_strategy()

    async def asleep(self, response: httpx.Response | Exception) -> None:
        wait = self.wait_after(response)
        if self.exchange is not None and self.policy.clock() + wait > self.exchange.deadline_at:
            raise RetryPastDeadlineError(wait)
        await self.policy.sleep(wait)
        self.elapsed_sleep += wait


def exchange_of(request: httpx.Request) -> Exchange | None:
    """The exchange a request belongs to, when a session sent it (None for a bare client)."""
    retry = request.extensions.get("retry")
    return retry.exchange if isinstance(retry, SyncRetry) else None
