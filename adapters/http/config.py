"""What every upstream call is allowed: timeouts, limits, the retry policy, where an upstream
may be; and the seams (sleep, clocks, transports) tests inject."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import httpx

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]
WallClock = Callable[[], datetime]
TransportFactory = Callable[[str], httpx.AsyncBaseTransport]


def base_key(base_url: str) -> str:
    """A base URL as the clients and sessions key it: one client for `http://x` and `http://x/`."""
    return base_url.rstrip("/")


@dataclass(frozen=True, slots=True)
class HttpConfig:
    """Timeouts, limits and the retry policy for every upstream call.

    `retry_attempts` counts every attempt, the first included. The n-th retry waits a random
    time between half and all of `min(backoff_cap, backoff_base * 2**(n-1))`, or what
    `Retry-After` asks for, at most `retry_after_cap`.
    """

    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    pool_timeout: float = 10.0
    max_connections: int = 10
    max_in_flight: int = 8
    retry_attempts: int = 5
    backoff_base: float = 0.5
    backoff_cap: float = 10.0
    retry_after_cap: float = 30.0
    read_ahead_pages: int = 4
    # The most one answer's body may hold, decompressed or not (8 MiB).
    max_response_bytes: int = 8 * 1024 * 1024
    # Where an upstream may be: None, anywhere; otherwise public addresses and these networks
    # (see `adapters.http.egress`).
    allowed_networks: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "read_timeout", "pool_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"HttpConfig.{name} must be positive")
        for name in (
            "max_connections",
            "max_in_flight",
            "retry_attempts",
            "read_ahead_pages",
            "max_response_bytes",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"HttpConfig.{name} must be at least 1")
        if self.backoff_base < 0 or self.backoff_cap <= 0 or self.retry_after_cap <= 0:
            raise ValueError("HttpConfig backoff and Retry-After caps must be positive")
