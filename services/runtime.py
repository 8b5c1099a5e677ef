"""What the use cases need from the process they run in, handed down by the composition root.

The gateway, the worker and the CLI each build one `Runtime` from `Settings` at start-up
(`gateway.runtime`) and pass it to every service call that queues work, reads the time, calls
an upstream or seals a secret. Nothing below the gateway reads the environment or a module
global for these: a test builds a runtime with its own clock, chunk size or upstream transport.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar
from uuid import UUID

from cachetools import LRUCache

from adapters.http import UpstreamClients
from adapters.secrets import SecretBox, load_or_create_key_file
from adapters.webhooks import WebhookSenders
from domain.jobs import JobPolicy
from services.jobs import Dispatcher
from services.offers import LocationOffers
from services.stores import Stores

if TYPE_CHECKING:
    # Only for the annotation: services.sync reads its cache from the runtime it is handed.
    from services.sync.links import MirrorReads

Clock = Callable[[], datetime]
K = TypeVar("K")
V = TypeVar("V")


def utc_now() -> datetime:
    return datetime.now(UTC)


class SecretsUnavailableError(Exception):
    """Integration secrets cannot be sealed or opened: no key is configured."""


@dataclass
class SecretKeys:
    """Where the key that seals integration secrets comes from: `GOCRM_SECRET_KEY`, or outside
    production a key file made on first use (shared by every process started in that working
    directory). The box is built once, when first needed."""

    keys: str | None
    key_file: Path | None
    _box: SecretBox | None = field(default=None, init=False, repr=False)

    @property
    def configured(self) -> bool:
        return self.keys is not None or self.key_file is not None

    def box(self) -> SecretBox:
        if self._box is None:
            if self.keys is not None:
                self._box = SecretBox(self.keys)
            elif self.key_file is not None:
                self._box = SecretBox(load_or_create_key_file(self.key_file))
            else:
                raise SecretsUnavailableError(
                    "GOCRM_SECRET_KEY is not set: integration credentials cannot be stored or read"
                )
        return self._box


class VersionedCache(Generic[K, V]):
    """Per-process values that go stale when a version stored in the database moves on (the
    sync version of a location, say): bounded, least recently used dropped first. Another
    process's write is seen at the next read of the version; nothing needs to be told."""

    def __init__(self, size: int) -> None:
        self._entries: LRUCache[K, tuple[int, V]] = LRUCache(maxsize=size)

    def get(self, key: K, version: int) -> V | None:
        entry = self._entries.get(key)
        return entry[1] if entry is not None and entry[0] == version else None

    def put(self, key: K, version: int, value: V) -> None:
        self._entries[key] = (version, value)


@dataclass
class Stop:
    """Whether this process has been asked to stop. A background job looks before each chunk
    and, once asked, ends its attempt between two chunks (each one transaction), leaving the
    rest to whichever process takes the job next."""

    requested: bool = False

    def request(self) -> None:
        self.requested = True


@dataclass(frozen=True)
class Runtime:
    dispatcher: Dispatcher
    upstreams: UpstreamClients
    secrets: SecretKeys
    # The repositories of the wallet and schedule services: the SQL modules, or in-memory ones
    # in their rule tests.
    stores: Stores
    clock: Clock = utc_now
    jobs: JobPolicy = field(default_factory=JobPolicy)
    # Customers per transaction in a background job, and the largest target applied before
    # the mutation returns.
    chunk_size: int = 5_000
    inline_limit: int = 500
    # Seconds a background job waits after each chunk it commits (0: it only lets this
    # process's requests run), so that the tills sharing the database get its CPU and the rows
    # the chunk held; `sleep` is how it waits (a test records the waits instead).
    chunk_pause_seconds: float = 0.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    # A sync's whole fetch from one upstream, retries included; and how often every configured
    # integration is synchronised by the periodic check (None: only when asked).
    sync_deadline_seconds: float = 60.0
    sync_interval_seconds: float | None = None
    # Days an idempotency key answers retries of its request before the periodic check forgets it.
    idempotency_retention_days: int = 30
    # The most objects one sync may mirror from an upstream (GoPOS groups and discounts
    # together, GoOrder promotions), and how long rows gone upstream are kept.
    mirror_max_objects: int = 20_000
    mirror_retention: timedelta = timedelta(days=30)
    # Each location's synced GoPOS and GoOrder offers, as the till prices with them, per sync
    # version (`services.offers`).
    mirrors: VersionedCache[UUID, LocationOffers] = field(
        default_factory=lambda: VersionedCache(1_000)
    )
    # Each location's connections and unmatched references, as the back office reads them, per
    # sync version.
    mirror_reads: VersionedCache[UUID, MirrorReads] = field(
        default_factory=lambda: VersionedCache(1_000)
    )
    # The client that delivers webhooks (`services.webhooks`), under the egress rules.
    webhooks: WebhookSenders = field(default_factory=lambda: WebhookSenders(None))
    # Set when the process is stopping (SIGTERM): jobs end their attempt after the chunk in hand.
    stop: Stop = field(default_factory=Stop)

    async def between_chunks(self) -> None:
        """After a job's chunk has committed: give way to requests (in this process, and on the
        database) for `chunk_pause_seconds` before the next chunk."""
        await self.sleep(self.chunk_pause_seconds)
