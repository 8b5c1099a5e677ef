"""Connection limits in the HTTP server itself, so that no client can exhaust a process.

uvicorn's httptools protocol arms no timer until a first response has been sent: a socket that
sends half a request head (`POST /graphql HTTP/1.1\\r\\nHost: x\\r\\n`) and then nothing is
held for ever, and enough of them use up the process's open files. `GuardedHttpProtocol`
adds, per process:

- a deadline for every request head: a connection must send a complete head within
  `header_timeout_seconds` of opening, and a kept-alive one within as long of its previous
  response. Bytes that trickle in do not move the deadline (uvicorn's own keep-alive timer,
  which any byte stops, still closes a silent idle connection sooner). One timer per process
  looks for overdue heads every tenth of the timeout (at most every half second);
- caps on the connections open at once, in all (`max_connections`) and per client address
  as the socket sees it (`max_connections_per_client`; an IPv6 client counts by its /64, an
  IPv4-mapped address as the IPv4 one). A connection over either cap is answered at once with
  a fixed 503 (`Connection: close`, the code TOO_MANY_CONNECTIONS), unread; the server then
  ends its side and closes when the client does, or `LINGER_SECONDS` later, so that the client
  reads the answer rather than a reset (at most `MAX_LINGERING` at once; past that, at once).

Every close is counted (`gocrm_connections_closed_total{reason}`) and logged at most once per
`LOG_EVERY_SECONDS` per reason, with the count since the previous line, so that a flood does
not flood the log. Once many connections have closed, the memory they held goes back to the
system. The gateway serves no WebSocket: an `Upgrade` header is ignored and the request served
as plain HTTP, so every connection stays under these limits.

uvicorn takes the class as `http=`: `http_protocol(limits)` is a picklable partial, so it
reaches the worker processes that uvicorn's supervisor spawns along with the rest of its
`Config`.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import ipaddress
import json
import logging
import resource
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from prometheus_client import Counter
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

log = logging.getLogger(__name__)

LOG_EVERY_SECONDS = 10.0
LINGER_SECONDS = 1.0
MAX_LINGERING = 256
# Open files a process needs besides its client connections: database and Redis pools,
# upstream clients, metrics files, logs.
OTHER_OPEN_FILES = 256
# Once this many connections fewer are open than at the peak, the memory they held is handed
# back, a second later (the closes of a burst together).
TRIM_AFTER_CLOSED = 512
TRIM_DELAY_SECONDS = 1.0

HEADER_TIMEOUT = "header_timeout"
OVER_PROCESS_LIMIT = "over_process_limit"
OVER_CLIENT_LIMIT = "over_client_limit"

_CLOSED = Counter(
    "gocrm_connections_closed_total",
    "Connections the server closed to protect itself: header_timeout (no complete request"
    " head in time), over_process_limit and over_client_limit (answered 503 at once).",
    ["reason"],
)


def _refusal() -> bytes:
    body = json.dumps(
        {
            "errors": [
                {
                    "message": "The server has too many connections; try again shortly.",
                    "extensions": {"code": "TOO_MANY_CONNECTIONS"},
                }
            ]
        },
        separators=(",", ":"),
    ).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "retry-after: 1\r\n"
        "connection: close\r\n"
        "\r\n"
    )
    return head.encode() + body


REFUSAL = _refusal()


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout_seconds: float = 10.0
    max_connections: int = 2_048
    max_connections_per_client: int = 256


DEFAULT_LIMITS = ConnectionLimits()


def client_key(host: str) -> str:
    """What the per-client cap counts by: the address, an IPv6 one by its /64 (one client
    holds a whole /64), an IPv4-mapped IPv6 address as its IPv4 address."""
    if ":" not in host:  # IPv4, as the socket names it
        return host
    try:
        address = ipaddress.ip_address(host.partition("%")[0])
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class Throttle:
    """At most one log line per `every` seconds: `due()` says whether this event gets a line,
    and how many events went unlogged since the previous one."""

    def __init__(self, every: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self.clock = clock
        self._last: float | None = None
        self._unlogged = 0

    def due(self) -> int | None:
        now = self.clock()
        if self._last is not None and now - self._last < self.every:
            self._unlogged += 1
            return None
        self._last = now
        unlogged, self._unlogged = self._unlogged, 0
        return unlogged


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, from the symbols the process has loaded."""
    trim: Callable[[int], int] | None = getattr(ctypes.CDLL(None), "malloc_trim", None)
    return trim


def hand_back_memory() -> None:
    """Let glibc return the free pages that closed connections left in the middle of its heap,
    which it otherwise keeps (a few milliseconds; a C library without `malloc_trim` keeps
    them). A connection leaves no reference cycle behind, and a full `gc.collect()` would pause
    the process for 100 ms and more while thousands of others are open."""
    if (trim := _malloc_trim()) is not None:
        trim(0)


class _Connections:
    """One server's (one process's) connections: how many are open, in all and per client;
    which have a deadline; and the log's throttles."""

    def __init__(self) -> None:
        self.open = 0
        self.per_client: dict[str, int] = {}
        self.peak = 0  # the most open at once since memory was last handed back
        self.handing_back = False
        self.lingering = 0
        # Connections with a deadline (a head due, or a refusal lingering): the loop time it
        # falls at. One timer looks for the overdue ones.
        self.deadlines: dict[GuardedHttpProtocol, float] = {}
        self.sweeper: asyncio.TimerHandle | None = None
        self.throttles = {
            reason: Throttle(LOG_EVERY_SECONDS)
            for reason in (HEADER_TIMEOUT, OVER_PROCESS_LIMIT, OVER_CLIENT_LIMIT)
        }

    def admit(self, key: str | None, limits: ConnectionLimits) -> str | None:
        """Counts the connection in, or says which cap refuses it."""
        if self.open >= limits.max_connections:
            return OVER_PROCESS_LIMIT
        if key is not None:
            held = self.per_client.get(key, 0)
            if held >= limits.max_connections_per_client:
                return OVER_CLIENT_LIMIT
            self.per_client[key] = held + 1
        self.open += 1
        self.peak = max(self.peak, self.open)
        return None

    def release(self, key: str | None, loop: asyncio.AbstractEventLoop) -> None:
        self.open -= 1
        if key is not None:
            held = self.per_client.pop(key) - 1
            if held:
                self.per_client[key] = held
        if self.peak - self.open >= TRIM_AFTER_CLOSED and not self.handing_back:
            self.handing_back = True
            loop.call_later(TRIM_DELAY_SECONDS, self._hand_back)

    def _hand_back(self) -> None:
        self.handing_back = False
        self.peak = self.open
        hand_back_memory()

    def set_deadline(self, protocol: GuardedHttpProtocol, seconds: float, tick: float) -> None:
        loop = protocol.loop
        self.deadlines[protocol] = loop.time() + seconds
        if self.sweeper is None:
            self.sweeper = loop.call_later(tick, self._sweep, loop, tick)

    def _sweep(self, loop: asyncio.AbstractEventLoop, tick: float) -> None:
        now = loop.time()
        overdue = [protocol for protocol, due in self.deadlines.items() if due <= now]
        for protocol in overdue:
            del self.deadlines[protocol]
            protocol.overdue()
        self.sweeper = loop.call_later(tick, self._sweep, loop, tick) if self.deadlines else None

    def closed(self, reason: str, message: str, level: int = logging.WARNING) -> None:
        _CLOSED.labels(reason).inc()
        unlogged = self.throttles[reason].due()
        if unlogged is not None:
            more = f" ({unlogged:,} more since the previous line)" if unlogged else ""
            log.log(level, "%s%s", message, more)


_servers: weakref.WeakKeyDictionary[ServerState, _Connections] = weakref.WeakKeyDictionary()


def _connections(server_state: ServerState) -> _Connections:
    counted = _servers.get(server_state)
    if counted is None:
        counted = _servers[server_state] = _Connections()
    return counted


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline per request head and connection caps
    (the defaults, when uvicorn is given the class by name: `--http
    gateway.connections:GuardedHttpProtocol`)."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: ConnectionLimits = DEFAULT_LIMITS,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits
        self._counted = _connections(server_state)
        self._tick = min(limits.header_timeout_seconds / 10, 0.5)
        self._client_key: str | None = None
        self._admitted = False
        self._lingering = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._client_key = client_key(self.client[0]) if self.client else None
        refused = self._counted.admit(self._client_key, self.limits)
        if refused is None:
            self._admitted = True
            self._await_head()
        else:
            self._refuse(refused)

    def connection_lost(self, exc: Exception | None) -> None:
        self._counted.deadlines.pop(self, None)
        if self._admitted:
            self._admitted = False
            self._counted.release(self._client_key, self.loop)
        if self._lingering:
            self._lingering = False
            self._counted.lingering -= 1
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._admitted:  # a refused connection's bytes are dropped unread
            super().data_received(data)

    def on_headers_complete(self) -> None:
        self._counted.deadlines.pop(self, None)
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # uvicorn arms its keep-alive timer when the connection is left idle, waiting for the
        # next request: the next head is due within the header timeout too.
        if self.timeout_keep_alive_task is not None:
            self._await_head()

    def _should_upgrade_to_ws(self) -> bool:
        return False

    def _unsupported_upgrade_warning(self) -> None:
        """An `Upgrade` header is ignored (RFC 9110, 7.8): nothing worth a log line."""

    def _await_head(self) -> None:
        self._counted.set_deadline(self, self.limits.header_timeout_seconds, self._tick)

    def overdue(self) -> None:
        """The head did not come in time, or a refusal has lingered long enough."""
        if self.transport.is_closing():
            return
        self.transport.close()
        if self._admitted:
            self._counted.closed(
                HEADER_TIMEOUT,
                f"closed a connection from {self._client_address()} that sent no complete"
                f" request head within {self.limits.header_timeout_seconds:g} s",
                logging.INFO,
            )

    def _refuse(self, reason: str) -> None:
        self.transport.write(REFUSAL)
        if self._counted.lingering < MAX_LINGERING and self.transport.can_write_eof():
            # End our side only: closing with the client's request unread would reset the
            # connection, and a reset may reach the client before it has read the answer.
            self.transport.write_eof()
            self._lingering = True
            self._counted.lingering += 1
            self._counted.set_deadline(self, LINGER_SECONDS, self._tick)
        else:
            self.transport.close()
        # (Log lines never name a GOCRM_ setting: the scrubber takes it for an API key.)
        if reason == OVER_PROCESS_LIMIT:
            cap = f"{self.limits.max_connections:,} connections per process"
        else:
            cap = f"{self.limits.max_connections_per_client:,} connections per client address"
        self._counted.closed(
            reason,
            f"refused a connection from {self._client_address()}: over the cap of {cap},"
            " answered 503",
        )

    def _client_address(self) -> str:
        return self.client[0] if self.client else "an unknown address"


def http_protocol(limits: ConnectionLimits) -> type[asyncio.Protocol]:
    """uvicorn's `http=`: the guarded protocol bound to `limits`, picklable for its workers."""
    return cast("type[asyncio.Protocol]", functools.partial(GuardedHttpProtocol, limits=limits))


def raise_open_file_limit(limits: ConnectionLimits) -> str | None:
    """Raise this process's soft limit on open files to its hard limit (the processes it
    starts inherit it), so that the connection caps, not the file limit, decide. Returns a
    warning when even the hard limit leaves too little room for `max_connections`."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    needed = limits.max_connections + OTHER_OPEN_FILES
    if hard != resource.RLIM_INFINITY and hard < needed:
        return (
            f"the open-file limit ({hard:,}) leaves too little room for"
            f" {limits.max_connections:,} connections (the cap per process) and"
            f" {OTHER_OPEN_FILES} other files: raise it (ulimit -n, LimitNOFILE=) or lower the cap"
        )
    return None
