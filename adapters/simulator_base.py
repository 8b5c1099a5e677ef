"""What the GoPOS and GoOrder simulators share: fixtures, fault injection and bookkeeping.

A simulator answers from in-memory data and can be told, at run time, to be slow (latency per
request), to answer a share of requests with 429 (with `Retry-After`) or 500/503, or to answer
the next N requests with a given status and body. Its random choices come from
`random.Random(seed)`. It counts requests per path, the statuses it answered and the most
requests it had in flight at once.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from os import PathLike
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

Endpoint = Callable[[Request], Awaitable[Response]]
Fixture = Mapping[str, Any]

# Error bodies as the real upstreams send them: plain text or a proxy's HTML, not JSON.
ERROR_BODIES = {
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
FAULT_KEYS = frozenset({"latency_ms", "rate_429", "retry_after", "rate_5xx"})
_LOG_SIZE = 10_000


def load_fixture(source: Fixture | str | PathLike[str]) -> dict[str, Any]:
    """A fixture as a dict: given as one, or read from a JSON file."""
    if isinstance(source, Mapping):
        return dict(source)
    data = json.loads(Path(source).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{source}: a fixture is a JSON object")
    return data


def fixture_text(fixture: Fixture, key: str) -> str:
    value = fixture.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"the fixture needs {key!r} as a non-empty string")
    return value


def fixture_objects(fixture: Fixture, key: str) -> list[dict[str, Any]]:
    value = fixture.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ValueError(f"the fixture's {key!r} is a list of objects")
    copied: list[dict[str, Any]] = json.loads(json.dumps(value))  # a deep copy
    return copied


@dataclass(slots=True)
class Faults:
    """The knobs of `faults` in a fixture; tests change them at run time."""

    latency_ms: float = 0.0
    rate_429: float = 0.0
    retry_after: str = "1"  # seconds or an HTTP date, sent with every 429
    rate_5xx: float = 0.0

    @classmethod
    def from_fixture(cls, raw: Mapping[str, Any], *, extra: frozenset[str] = frozenset()) -> Faults:
        unknown = set(raw) - FAULT_KEYS - extra
        if unknown:
            raise ValueError(f"unknown fault knobs: {', '.join(sorted(unknown))}")
        faults = cls(
            latency_ms=float(raw.get("latency_ms", 0.0)),
            rate_429=float(raw.get("rate_429", 0.0)),
            retry_after=str(raw.get("retry_after", "1")),
            rate_5xx=float(raw.get("rate_5xx", 0.0)),
        )
        if (
            not 0.0 <= faults.rate_429 + faults.rate_5xx <= 1.0
            or min(faults.rate_429, faults.rate_5xx) < 0
        ):
            raise ValueError(
                "rate_429 and rate_5xx are shares between 0 and 1 (together at most 1)"
            )
        return faults


@dataclass(slots=True)
class _Scripted:
    status: int
    body: str
    headers: dict[str, str]
    media_type: str
    remaining: int
    path_prefix: str


class SimulatorBase:
    """Fault injection and counters; subclasses add the upstream's routes."""

    def __init__(self, faults: Faults, *, seed: int) -> None:
        self.faults = faults
        self.rng = random.Random(seed)
        self.requests = 0
        self.requests_by_path: Counter[str] = Counter()
        self.answered: Counter[int] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.log: deque[tuple[str, str, str]] = deque(maxlen=_LOG_SIZE)  # method, path, query
        self._scripted: list[_Scripted] = []

    def fail_next(self, status: int, count: int = 1, *, path_prefix: str = "") -> None:
        """Answer the next `count` requests (under `path_prefix`) with `status` and its usual
        body; a 429 carries `faults.retry_after`."""
        body = ERROR_BODIES.get(status) or HTTPStatus(status).phrase
        self.respond_next(status, body, count=count, path_prefix=path_prefix)

    def respond_next(
        self,
        status: int,
        body: str,
        *,
        count: int = 1,
        headers: Mapping[str, str] | None = None,
        media_type: str = "text/plain",
        path_prefix: str = "",
    ) -> None:
        """Answer the next `count` requests (under `path_prefix`) with exactly this."""
        self._scripted.append(
            _Scripted(status, body, dict(headers or {}), media_type, count, path_prefix)
        )

    def guard(self, endpoint: Endpoint) -> Endpoint:
        """`endpoint` with the counters, latency and injected faults applied."""

        async def guarded(request: Request) -> Response:
            path = request.url.path
            self.requests += 1
            self.requests_by_path[path] += 1
            self.log.append((request.method, path, request.url.query))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                if self.faults.latency_ms > 0:
                    await asyncio.sleep(self.faults.latency_ms / 1000)
                response = self._injected(path) or await endpoint(request)
            finally:
                self.in_flight -= 1
            self.answered[response.status_code] += 1
            return response

        return guarded

    def _injected(self, path: str) -> Response | None:
        for scripted in self._scripted:
            if scripted.remaining > 0 and path.startswith(scripted.path_prefix):
                scripted.remaining -= 1
                self._scripted = [each for each in self._scripted if each.remaining > 0]
                headers = dict(scripted.headers)
                if scripted.status == 429:
                    headers.setdefault("Retry-After", self.faults.retry_after)
                return Response(
                    scripted.body, scripted.status, headers=headers, media_type=scripted.media_type
                )
        faults = self.faults
        if faults.rate_429 <= 0 and faults.rate_5xx <= 0:
            return None
        roll = self.rng.random()
        if roll < faults.rate_429:
            return Response(
                ERROR_BODIES[429],
                429,
                headers={"Retry-After": faults.retry_after},
                media_type="text/plain",
            )
        if roll < faults.rate_429 + faults.rate_5xx:
            status = self.rng.choice((500, 503))
            return Response(ERROR_BODIES[status], status, media_type="text/plain")
        return None


def query_int(request: Request, name: str, default: int) -> int | None:
    """An integer query parameter, its default when absent, or None when it is not one."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        return None
