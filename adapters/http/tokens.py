"""The bearer-token cache shared by every sync in the process."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field

from adapters.errors import UpstreamError
from adapters.http.config import Clock

# Tokens are renewed this long before the upstream says they expire (at most half their life).
TOKEN_MARGIN_S = 30.0


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    renew_at: float


@dataclass(slots=True)
class _TokenSlot:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    token: _Token | None = None
    issues: int = 0  # token requests started so far
    failure: UpstreamError | None = None  # how the latest one failed


class TokenCache:
    """Bearer tokens per credentials key, shared by every sync in the process.

    A token is reused until shortly before it expires (on the injected clock). `get(...,
    stale=token)` replaces a token the upstream refused, unless a concurrent caller already
    did: a burst of 401s costs one token request. Callers that were waiting while a token
    request failed get that failure instead of asking again.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._slots: dict[Hashable, _TokenSlot] = {}

    async def get(
        self,
        key: Hashable,
        issue: Callable[[], Awaitable[tuple[str, float]]],
        *,
        stale: str | None = None,
    ) -> str:
        slot = self._slots.setdefault(key, _TokenSlot())
        issues_seen = slot.issues
        async with slot.lock:
            cached = slot.token
            if cached is not None and cached.value != stale and self._clock() < cached.renew_at:
                return cached.value
            if slot.failure is not None and slot.issues > issues_seen:
                raise slot.failure
            slot.issues += 1
            issued_at = self._clock()
            try:
                value, lifetime = await issue()
            except UpstreamError as exc:
                slot.token, slot.failure = None, exc
                raise
            margin = min(TOKEN_MARGIN_S, lifetime / 2)
            slot.token, slot.failure = _Token(value, issued_at + lifetime - margin), None
            return value
