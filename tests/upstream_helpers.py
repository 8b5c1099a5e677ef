"""What the GoPOS and GoOrder adapter tests share: a fake clock that moves only when something
sleeps on it, clients that reach a simulator in process and retry on that clock, and a server
that accepts connections and never answers."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from adapters.http import HttpConfig, UpstreamClients

# The wall clock of the clients (an HTTP-date `Retry-After` is read against it).
NOW = datetime(2026, 12, 2, 6, 0, 0, tzinfo=UTC)


@dataclass
class FakeTime:
    """A monotonic clock that moves only when something sleeps on it."""

    now: float = 1_000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def open_clients(app: Starlette, fake: FakeTime, **config: Any) -> UpstreamClients:
    """Clients whose every base URL reaches `app` in process, retrying on `fake`'s clock with
    seeded jitter; `config` sets `HttpConfig` fields."""
    return UpstreamClients(
        HttpConfig(**config),
        transport=lambda _base_url: httpx.ASGITransport(app=app),
        sleep=fake.sleep,
        clock=fake.clock,
        wall_clock=lambda: NOW,
        rng=random.Random(7),
    )


@contextlib.asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """The port of a local server that reads every request and never answers."""

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(65_536):
            pass
        writer.close()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()
