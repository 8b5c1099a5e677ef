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
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx
from httpx_retries import Retry, RetryTransport
from prometheus_client import Counter

from adapters.body import (
    ACCEPT_ENCODING,
    BodyTooLarge,
    CappedTransport,
    UndecodableBody,
    size_text,
)
from adapters.errors import (
    CredentialsRejected,
    MalformedResponse,
    UpstreamError,
    UpstreamUnavailable,
)
from adapters.redaction import Redactor
from adapters.wire import FieldError
from domain.egress import networks, refused_address
from domain.text import control_character

T = TypeVar("T")
A = TypeVar("A")
B = TypeVar("B")

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]
WallClock = Callable[[], datetime]
TransportFactory = Callable[[str], httpx.AsyncBaseTransport]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Tokens are renewed this long before the upstream says they expire (at most half their life).
TOKEN_MARGIN_S = 30.0
_EXCERPT_CHARS = 200
# How much of a body an excerpt is cut from (a body can be megabytes long).
_EXCERPT_WINDOW = 4096
_REPLACEMENT = "\ufffd"

logger = logging.getLogger(__name__)

# Every attempt at an upstream request, by upstream ("GoPOS", "GoOrder") and HTTP status
# ("error" when no answer came); and the attempts that were retries.
_REQUESTS = Counter(
    "gocrm_upstream_requests_total",
    "Requests sent to an upstream system (every attempt), by upstream and HTTP status; 'error'"
    " when the upstream could not be reached or did not answer.",
    ["upstream", "status"],
)
_RETRIES = Counter(
    "gocrm_upstream_retries_total",
    "Upstream requests that were retries of an earlier attempt, by upstream.",
    ["upstream"],
)
_counted: dict[tuple[str, str], Any] = {}


def _count_attempt(upstream: str, status: str, attempt: int) -> None:
    child = _counted.get((upstream, status))
    if child is None:
        child = _counted[upstream, status] = _REQUESTS.labels(upstream, status)
    child.inc()
    if attempt > 1:
        _RETRIES.labels(upstream).inc()


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
    # (see `_EgressGuard`).
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


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _base_key(base_url: str) -> str:
    return base_url.rstrip("/")


def _quotable(text: str, redactor: Redactor) -> str:
    """The start of a text from an upstream as a message may quote it: redacted, on one line,
    at most `_EXCERPT_CHARS` characters, control characters replaced."""
    flat = " ".join(redactor.redacted_head(text, _EXCERPT_WINDOW).split())
    cut = flat if len(flat) <= _EXCERPT_CHARS else flat[: _EXCERPT_CHARS - 1] + "…"
    return "".join(_REPLACEMENT if control_character(char) else char for char in cut)


def _excerpt(response: httpx.Response, redactor: Redactor) -> str:
    """All of a body that has been read that a message or a log line may quote."""
    head = response.content[: 4 * _EXCERPT_WINDOW]
    text = head.decode(response.encoding or "utf-8", errors="replace")
    return _quotable(text, redactor) or "(empty body)"


def _seconds(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _attempts(count: int) -> str:
    return "1 attempt" if count == 1 else f"{count} attempts"


def _describe(exc: BaseException, redactor: Redactor) -> str:
    """An httpx exception, whose text may hold what the upstream sent, as a message quotes it."""
    detail = _quotable(str(exc), redactor)
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


@dataclass(slots=True)
class _Exchange:
    """What one logical request (all its attempts) went through, for messages and logs."""

    upstream: str
    deadline_at: float
    redactor: Redactor
    attempts: int = 0
    status: int | None = None
    excerpt: str = ""
    error: str = ""


@dataclass(frozen=True, slots=True)
class _Policy:
    sleep: Sleep
    clock: Clock
    wall_clock: WallClock
    rng: random.Random
    backoff_cap: float


class _RetryPastDeadlineError(Exception):
    def __init__(self, wait: float) -> None:
        super().__init__(wait)
        self.wait = wait


class _SyncRetry(Retry):
    """httpx-retries' policy with an injected clock and sleep, seeded jitter, separate caps
    for backoff and Retry-After, and no waiting past the sync's deadline."""

    policy: _Policy
    exchange: _Exchange | None

    def increment(self) -> _SyncRetry:
        following = super().increment()
        assert isinstance(following, _SyncRetry)
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
            raise _RetryPastDeadlineError(wait)
        await self.policy.sleep(wait)
        self.elapsed_sleep += wait


class _ObservedTransport(httpx.AsyncBaseTransport):
    """Below the retries: counts attempts and keeps the status and raw text of failures."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        retry = request.extensions.get("retry")
        exchange = retry.exchange if isinstance(retry, _SyncRetry) else None
        if exchange is None:
            return await self._inner.handle_async_request(request)
        exchange.attempts += 1
        try:
            response = await self._inner.handle_async_request(request)
        except asyncio.CancelledError:  # the sync's deadline passed while it waited
            _count_attempt(exchange.upstream, "error", exchange.attempts)
            raise
        except httpx.HTTPError as exc:
            _count_attempt(exchange.upstream, "error", exchange.attempts)
            exchange.error = _describe(exc, exchange.redactor)
            logger.info(
                "%s %s %s failed (attempt %d): %s",
                exchange.upstream,
                request.method,
                request.url.path,
                exchange.attempts,
                exchange.error,
            )
            raise
        _count_attempt(exchange.upstream, str(response.status_code), exchange.attempts)
        if response.status_code >= 400:
            await response.aread()
            exchange.status = response.status_code
            exchange.excerpt = _excerpt(response, exchange.redactor)
            logger.info(
                "%s %s %s answered %d (attempt %d): %s",
                exchange.upstream,
                request.method,
                request.url.path,
                response.status_code,
                exchange.attempts,
                exchange.excerpt,
            )
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


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


class _EgressGuard(httpx.AsyncBaseTransport):
    """Keeps upstream requests off the gateway's own network: a base URL is configured by a
    location's admin, so a host that resolves to a loopback, private, link-local or otherwise
    non-public address (a metadata service, a database, another tenant's internal system) is
    refused before the request is sent, unless it lies in `allowed`; an IPv6 address that
    carries an IPv4 address is judged by that one (`domain.egress`). The refusal is an
    `UpstreamError`, which no retry repeats and which ends the sync FAILED with its message.

    The host is resolved here and again when the connection opens: a name whose DNS answer
    changes between the two could still slip through, which the network's own egress rules
    must cover."""

    def __init__(self, inner: httpx.AsyncBaseTransport, allowed: tuple[str, ...]) -> None:
        self._inner = inner
        self._allowed = networks(allowed)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host, port = request.url.host, request.url.port or 443
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port)
        except OSError:
            infos = []  # unresolvable: the connection attempt below reports it
        for info in infos:
            address = ipaddress.ip_address(info[4][0])
            refused = refused_address(address, self._allowed)
            if refused is not None:
                retry = request.extensions.get("retry")
                exchange = retry.exchange if isinstance(retry, _SyncRetry) else None
                upstream = exchange.upstream if exchange is not None else "The upstream"
                carried = "" if refused == address else f", which carries {refused}"
                raise UpstreamError(
                    upstream,
                    f"{upstream}'s base URL host {host} resolves to {address}{carried}, which is"
                    " not a public address; the gateway only calls public addresses"
                    " (GOCRM_UPSTREAM_ALLOW lists networks to allow besides).",
                )
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


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
        self._policy = _Policy(sleep, clock, wall_clock, rng or random.Random(), config.backoff_cap)
        self._clients: dict[str, httpx.AsyncClient] = {}
        self._limits: dict[str, asyncio.Semaphore] = {}
        self._closed = False

    def client_for(self, base_url: str) -> httpx.AsyncClient:
        if self._closed:
            raise RuntimeError("the upstream clients are closed")
        key = _base_key(base_url)
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = self._new_client(key)
        return client

    def limit_for(self, base_url: str) -> asyncio.Semaphore:
        key = _base_key(base_url)
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
                inner = _EgressGuard(inner, config.allowed_networks)
        capped = CappedTransport(inner, config.max_response_bytes)
        return httpx.AsyncClient(
            base_url=base_url,
            transport=RetryTransport(transport=_ObservedTransport(capped), retry=self._retry(None)),
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

    def _retry(self, exchange: _Exchange | None) -> _SyncRetry:
        config = self.config
        retry = _SyncRetry(
            total=config.retry_attempts - 1,
            allowed_methods=("GET", "POST"),
            status_forcelist=RETRY_STATUSES,
            backoff_factor=config.backoff_base,
            max_backoff_wait=config.retry_after_cap,
        )
        retry.policy = self._policy
        retry.exchange = exchange
        return retry


class UpstreamSession:
    """One sync's calls to one upstream: the deadline, retries and the mapping to our errors."""

    def __init__(
        self,
        clients: UpstreamClients,
        upstream: str,
        base_url: str,
        *,
        deadline: float,
        secrets: Iterable[str] = (),
    ) -> None:
        if not deadline > 0:
            raise ValueError("deadline must be positive")
        self.upstream = upstream
        self.base_url = _base_key(base_url)
        self.deadline = deadline
        self._clients = clients
        self._deadline_at = clients.clock() + deadline
        self._redactor = Redactor(secrets)

    def hide(self, secret: str) -> None:
        """Keep `secret` out of every message and log line this session writes, however the
        upstream spells it (see `adapters.redaction`)."""
        self._redactor.hide(secret)

    def redact(self, text: str) -> str:
        return self._redactor.redact(text)

    async def within_deadline(self, work: Awaitable[T]) -> T:
        """Await `work`, or fail with `UpstreamUnavailable` once the deadline has passed."""
        scope = asyncio.timeout(self.deadline)
        try:
            async with scope:
                return await work
        except TimeoutError:
            if not scope.expired():
                raise
            message = f"{self.upstream} did not answer within {_seconds(self.deadline)} s"
            raise UpstreamUnavailable(self.upstream, message) from None

    async def get_json(
        self,
        path: str,
        parse: Callable[[object], T],
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        rejected: Iterable[int] = (401, 403),
    ) -> T:
        response = await self._send("GET", path, params=params, headers=headers, rejected=rejected)
        return self._decode(response, parse)

    async def post_form_json(
        self,
        path: str,
        parse: Callable[[object], T],
        *,
        data: Mapping[str, str],
        rejected: Iterable[int] = (401, 403),
    ) -> T:
        response = await self._send("POST", path, data=data, rejected=rejected)
        return self._decode(response, parse)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        rejected: Iterable[int],
    ) -> httpx.Response:
        upstream = self.upstream
        exchange = _Exchange(upstream, self._deadline_at, self._redactor)
        client = self._clients.client_for(self.base_url)
        try:
            async with self._clients.limit_for(self.base_url):
                response = await client.request(
                    method,
                    path,
                    params=params,
                    headers=headers,
                    data=data,
                    extensions={"retry": self._clients._retry(exchange)},
                )
        except _RetryPastDeadlineError as exc:
            last = f"answered {exchange.status}" if exchange.status else "could not be reached"
            detail = exchange.excerpt if exchange.status else exchange.error
            message = (
                f"{upstream} {last} after {_attempts(exchange.attempts)}, and waiting "
                f"{_seconds(exc.wait)} s more would pass the {_seconds(self.deadline)} s "
                f"deadline: {detail}"
            )
            raise self._error(UpstreamUnavailable, message, exchange.status) from None
        except httpx.HTTPError as exc:
            message = f"{upstream} could not be reached after {_attempts(exchange.attempts)}: "
            raise self._error(
                UpstreamUnavailable, message + _describe(exc, self._redactor)
            ) from None
        except BodyTooLarge as exc:
            message = f"{upstream} answered more than {size_text(exc.limit)}"
            logger.warning("%s %s %s: %s; the rest was not read", upstream, method, path, message)
            raise self._malformed(message, None) from None
        except UndecodableBody as exc:
            message = f"{upstream} sent a malformed response: {exc.problem} ({method} {path})"
            raise self._malformed(message, None) from None
        status = response.status_code
        if 200 <= status < 300:
            return response
        excerpt = _excerpt(response, self._redactor)
        if status in set(rejected):
            message = f"{upstream} rejected the credentials ({status}): {excerpt}"
            raise self._error(CredentialsRejected, message, status)
        if status in RETRY_STATUSES:
            attempts = _attempts(exchange.attempts)
            message = f"{upstream} answered {status} after {attempts}: {excerpt}"
            raise self._error(UpstreamUnavailable, message, status)
        message = f"{upstream} answered {status} to {method} {response.url.path}: {excerpt}"
        raise self._error(UpstreamError, message, status)

    def _decode(self, response: httpx.Response, parse: Callable[[object], T]) -> T:
        request = f"{response.request.method} {response.url.raw_path.decode('ascii', 'replace')}"
        prefix = f"{self.upstream} sent a malformed response"
        try:
            payload: object = json.loads(response.content)
        except (ValueError, RecursionError):
            text = _excerpt(response, self._redactor)
            message = f"{prefix}: the body is not JSON: {text} ({request})"
            raise self._malformed(message, None) from None
        try:
            return parse(payload)
        except FieldError as exc:
            about = f" ({exc.subject})" if exc.subject else ""
            message = f"{prefix}: {exc.path}{about}: {exc.problem} ({request})"
            raise self._malformed(message, exc.path) from None

    def _error(
        self, kind: type[UpstreamError], message: str, status: int | None = None
    ) -> UpstreamError:
        return kind(self.upstream, self.redact(message), status=status)

    def _malformed(self, message: str, path: str | None) -> MalformedResponse:
        redacted_path = None if path is None else self.redact(path)
        return MalformedResponse(self.upstream, self.redact(message), field=redacted_path)


async def gather_in_order(work: Iterable[Awaitable[T]]) -> list[T]:
    """Run `work` concurrently; on the first failure cancel the rest and raise it."""
    tasks = [asyncio.ensure_future(item) for item in work]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        await _cancel(tasks)


async def both(first: Awaitable[A], second: Awaitable[B]) -> tuple[A, B]:
    """Run two reads concurrently; on the first failure cancel the other and raise it."""
    task_a, task_b = asyncio.ensure_future(first), asyncio.ensure_future(second)
    try:
        return await asyncio.gather(task_a, task_b)
    finally:
        await _cancel((task_a, task_b))


async def _cancel(tasks: Iterable[asyncio.Future[Any]]) -> None:
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
