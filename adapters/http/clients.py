"""The process's HTTP clients for upstream systems: one long-lived `httpx.AsyncClient` per base
URL, a cap on the requests in flight per base URL, the token cache and the retry policy."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterable
from datetime import UTC, datetime

import httpx
from httpx_retries import RetryTransport

from adapters.body import ACCEPT_ENCODING, CappedTransport
from adapters.http.config import (
    Clock,
    HttpConfig,
    Sleep,
    TransportFactory,
    WallClock,
    base_key,
)
from adapters.http.egress import EgressGuard
from adapters.http.observed import ObservedTransport
from adapters.http.retry import RETRY_STATUSES, Exchange, RetryPolicy, SyncRetry
from adapters.http.session import UpstreamSession
from adapters.http.tokens import TokenCache


def _utc_now() -> datetime:
    return datetime.now(UTC)


class UpstreamClients:
    """The process's HTTP clients for upstream systems, one per base URL; close on shutdown.

    Tests inject `transport` (base URL → transport, e.g. `httpx.ASGITransport(app=simulator)`),
    `sleep`, `clock` (monotonic seconds), `wall_clock` (for HTTP-date `Retry-After`) and `rng`.
    """

    def __init__(
        self,
        config: HttpConfig,
        *,
        transport: TransportFactory | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        wall_clock: WallClock = _utc_now,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.tokens = TokenCache(clock)
        self._transport = transport
        self._policy = RetryPolicy(
            sleep, clock, wall_clock, rng or random.Random(), config.backoff_cap
        )
        self._clients: dict[str, httpx.AsyncClient] = {}
        self._limits: dict[str, asyncio.Semaphore] = {}
        self._closed = False

    def client_for(self, base_url: str) -> httpx.AsyncClient:
        if self._closed:
            raise RuntimeError("the upstream clients are closed")
        key = base_key(base_url)
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = self._new_client(key)
        return client

    def limit_for(self, base_url: str) -> asyncio.Semaphore:
        key = base_key(base_url)
        limit = self._limits.get(key)
        if limit is None:
            limit = self._limits[key] = asyncio.Semaphore(self.config.max_in_flight)
        return limit

    def session(
        self, upstream: str, base_url: str, *, deadline: float, secrets: Iterable[str] = ()
    ) -> UpstreamSession:
        return UpstreamSession(self, upstream, base_url, deadline=deadline, secrets=secrets)

    async def aclose(self) -> None:
        self._closed = True
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    async def __aenter__(self) -> UpstreamClients:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _new_client(self, base_url: str) -> httpx.AsyncClient:
        config = self.config
        if self._transport is not None:
            inner = self._transport(base_url)
        else:
            limits = httpx.Limits(
                max_connections=config.max_connections,
                max_keepalive_connections=config.max_connections,
            )
            inner = httpx.AsyncHTTPTransport(limits=limits)
            if config.allowed_networks is not None:
                inner = EgressGuard(inner, config.allowed_networks)
        capped = CappedTransport(inner, config.max_response_bytes)
        return httpx.AsyncClient(
            base_url=base_url,
            transport=RetryTransport(transport=ObservedTransport(capped), retry=self.retry(None)),
            timeout=httpx.Timeout(
                connect=config.connect_timeout,
                read=config.read_timeout,
                write=config.read_timeout,
                pool=config.pool_timeout,
            ),
            headers={"User-Agent": "gocrm-gateway", "Accept-Encoding": ACCEPT_ENCODING},
            follow_redirects=False,
            trust_env=False,
        )

    def retry(self, exchange: Exchange | None) -> SyncRetry:
        """The retry policy of one request (`exchange`), or the clients' default (None)."""
        config = self.config
        retry = SyncRetry(
            total=config.retry_attempts - 1,
            allowed_methods=("GET", "POST"),
            status_forcelist=RETRY_STATUSES,
            backoff_factor=config.backoff_base,
            max_backoff_wait=config.retry_after_cap,
        )
        retry.policy = self._policy
        retry.exchange = exchange
        return retry
