"""HTTP plumbing shared by the GoPOS and GoOrder adapters.

`UpstreamClients` is built once by the composition root and owns one long-lived
`httpx.AsyncClient` per upstream base URL (shared by every location of the process), a cap on
the requests in flight per base URL, the bearer-token cache, and the retry policy: 429, 500,
502, 503, 504 and network errors are retried by httpx-retries with exponential backoff and
jitter, honouring `Retry-After` (seconds or an HTTP date) up to a cap, and never past the
deadline of the sync that asked.

Every body is read within `HttpConfig.max_response_bytes` (`adapters.body`), decompressed
included.

`UpstreamSession` is one sync's view of one upstream: its deadline, the secrets to keep out of
every message (`adapters.redaction`), and the one place where httpx exceptions, status codes,
oversized and undecodable bodies become the errors of `adapters.errors`. A message or log line
quotes an upstream's body only as a short excerpt, redacted, with control characters replaced.

One module per idea: `config` (what every call is allowed), `metrics` (the request counters),
`retry` (the retry policy), `observed` (the transport that counts attempts and keeps failures),
`tokens` (the token cache), `egress` (the egress guard), `clients` (the client pool),
`session` (one sync's calls), `quoting` (how messages quote an upstream) and `concurrency`.
Callers import from the package.
"""

from __future__ import annotations

from adapters.http.clients import UpstreamClients
from adapters.http.concurrency import both, gather_in_order
from adapters.http.config import Clock, HttpConfig, Sleep, TransportFactory, WallClock
from adapters.http.retry import RETRY_STATUSES
from adapters.http.session import UpstreamSession
from adapters.http.tokens import TOKEN_MARGIN_S, TokenCache

__all__ = [
    "RETRY_STATUSES",
    "TOKEN_MARGIN_S",
    "Clock",
    "HttpConfig",
    "Sleep",
    "TokenCache",
    "TransportFactory",
    "UpstreamClients",
    "UpstreamSession",
    "WallClock",
    "both",
    "gather_in_order",
]
