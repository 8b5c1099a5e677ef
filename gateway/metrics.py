"""Prometheus metrics: `GET /metrics`, the GraphQL operations, and a worker's own port.

`gocrm serve` and `gocrm worker` share one directory (`GOCRM_METRICS_DIR`) in which each
process keeps its counters (prometheus-client's multiprocess mode, `PROMETHEUS_MULTIPROC_DIR`):
`/metrics` on any gateway process of the host reports the sum over all of them. A process
started otherwise (the tests, `gocrm demo`, uvicorn run by hand) reports its own.

Only clients whose address is in `GOCRM_METRICS_ALLOW` (addresses or networks; loopback by
default) may read them; no API key is needed. The GraphQL operation label is the root field
an operation selects (`checkoutQuote`), never text of the client's: anything else is one of
the fixed labels below.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from ipaddress import IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import strawberry
from graphql import DocumentNode, FieldNode, GraphQLError, OperationDefinitionNode, parse
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    make_wsgi_app,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from strawberry.types import ExecutionResult

from gateway.graphql.execute import MAX_TOKENS, Schema, is_unexpected
from tasks.jobs import queue_depth

log = logging.getLogger(__name__)

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
FORBIDDEN = "Metrics are served to the addresses in GOCRM_METRICS_ALLOW only.\n"
# The queue depth is read from the database at each scrape, within this time.
QUEUE_DEPTH_TIMEOUT_SECONDS = 2.0

# Operation labels besides the schema's root fields.
MULTIPLE = "multiple"  # several root fields
INTROSPECTION = "introspection"
OTHER = "other"  # `__typename` alone, a field the schema lacks, a fragment at the root
INVALID = "invalid"  # no query, or one that does not parse or names no operation

OK, USER_ERROR, ERROR = "ok", "user_error", "error"

_OPERATIONS = Counter(
    "gocrm_graphql_operations_total",
    "GraphQL requests by operation (the root field selected) and outcome: ok; user_error"
    " (refused input, errors in a payload, a malformed request); error (an unexpected failure,"
    " a timeout, a client that went away).",
    ["operation", "outcome"],
)
_SECONDS = Histogram(
    "gocrm_graphql_duration_seconds",
    "Time to answer a GraphQL request, by operation.",
    ["operation"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0),
)
_RATE_LIMITED = Counter(
    "gocrm_rate_limited_total",
    "Requests refused with 429 because their API key was past its rate limit, by role.",
    ["role"],
)


def rate_limited(role: str) -> None:
    """One request refused for its key's rate limit (`role`: ADMIN or POS)."""
    _RATE_LIMITED.labels(role).inc()


def multiprocess_directory() -> str | None:
    """The directory this process's metrics are kept in, when they are shared."""
    if getattr(values.ValueClass, "_multiprocess", False):
        return os.environ.get(MULTIPROCESS_ENV)
    return None


def process_stopped() -> None:
    """At shutdown: this process's live gauges leave the shared directory."""
    directory = multiprocess_directory()
    if directory is not None:
        multiprocess.mark_process_dead(os.getpid(), directory)  # type: ignore[no-untyped-call]


def _source() -> Collector:
    """What a scrape reads: the shared directory, or this process's registry."""
    directory = multiprocess_directory()
    if directory is None:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, directory)  # type: ignore[no-untyped-call]
    return registry


class AddressAllowList:
    """Client addresses allowed to read the metrics: addresses and networks."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.networks: tuple[IPv4Network | IPv6Network, ...] = tuple(
            ip_network(entry, strict=False) for entry in entries
        )

    def allows(self, host: str | None) -> bool:
        if not host:
            return False
        try:
            address = ip_address(host.partition("%")[0])
        except ValueError:
            return False
        if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)


class _WithQueueDepth:
    """A scrape's metrics and the queue depth read for it."""

    def __init__(self, base: Collector, depth: dict[str, int]) -> None:
        self.base = base
        self.depth = depth

    def collect(self) -> Iterator[Metric]:
        yield from self.base.collect()
        family = GaugeMetricFamily(
            "gocrm_job_queue_depth",
            "Background jobs waiting to run (QUEUED in the database), by kind.",
            labels=["kind"],
        )
        for name, count in self.depth.items():
            family.add_metric([name.replace(" ", "_")], count)
        yield family


def metrics_endpoint(allow: AddressAllowList) -> Callable[[Request], Awaitable[Response]]:
    source = _source()

    async def endpoint(request: Request) -> Response:
        client = request.client
        if not allow.allows(client.host if client else None):
            return PlainTextResponse(FORBIDDEN, status_code=403)
        try:
            async with asyncio.timeout(QUEUE_DEPTH_TIMEOUT_SECONDS):
                depth = await queue_depth()
        except Exception:  # the database is down: everything else is still worth reading
            log.warning("/metrics: the queue depth could not be read")
            depth = {}
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        body = encoder(_WithQueueDepth(source, depth))
        return Response(body, media_type=content_type)

    return endpoint


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None


def serve_worker_metrics(port: int, allow: AddressAllowList, host: str = "0.0.0.0") -> WSGIServer:
    """A `gocrm worker`'s metrics on their own port (for a worker with no gateway on its
    host), from a thread; `shutdown()` the server returned to stop it."""
    app = make_wsgi_app(_source())

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not allow.allows(environ.get("REMOTE_ADDR")):
            start_response("403 Forbidden", [("Content-Type", "text/plain; charset=utf-8")])
            return [FORBIDDEN.encode()]
        result: Iterable[bytes] = app(environ, start_response)
        return result

    server = make_server(host, port, guarded, _Server, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    log.info("metrics served on %s:%d", host, server.server_port)
    return server


class GraphQLMetrics:
    """The GraphQL endpoint's counts and timings. Label children are made once per label
    value, on first use: a request costs two dictionary lookups and two updates."""

    def __init__(self, schema: strawberry.Schema) -> None:
        root = schema._schema
        fields: set[str] = set(root.query_type.fields) if root.query_type else set()
        if root.mutation_type is not None:
            fields.update(root.mutation_type.fields)
        self.known = frozenset(fields)
        # The schema's own cache of parsed documents, so that labelling parses nothing twice.
        self._parse: Callable[[str], DocumentNode] = (
            (lambda query: schema.limits.parsed(query, max_tokens=MAX_TOKENS))
            if isinstance(schema, Schema)
            else (lambda query: parse(query, max_tokens=MAX_TOKENS))
        )
        self._counts: dict[tuple[str, str], Any] = {}
        self._seconds: dict[str, Any] = {}

    def operation(self, query: str, operation_name: str | None) -> str:
        """The label of the operation `operation_name` (or the only one) of `query`."""
        try:
            document = self._parse(query)
        except GraphQLError:
            return INVALID
        chosen: OperationDefinitionNode | None = None
        for definition in document.definitions:
            if not isinstance(definition, OperationDefinitionNode):
                continue
            if operation_name is None:
                if chosen is not None:
                    return INVALID  # several operations and no name
                chosen = definition
            elif definition.name is not None and definition.name.value == operation_name:
                chosen = definition
                break
        if chosen is None:
            return INVALID
        names: set[str] = set()
        for selection in chosen.selection_set.selections:
            if not isinstance(selection, FieldNode):
                return OTHER
            if selection.name.value != "__typename":
                names.add(selection.name.value)
        if len(names) != 1:
            return MULTIPLE if names else OTHER
        (name,) = names
        if name in self.known:
            return name
        return INTROSPECTION if name in ("__schema", "__type") else OTHER

    def observe(self, operation: str, outcome: str, started: float) -> None:
        """One request for `operation`, answered with `outcome`, begun at `started`
        (`time.perf_counter()`)."""
        count = self._counts.get((operation, outcome))
        if count is None:
            count = self._counts[operation, outcome] = _OPERATIONS.labels(operation, outcome)
        timing = self._seconds.get(operation)
        if timing is None:
            timing = self._seconds[operation] = _SECONDS.labels(operation)
        count.inc()
        timing.observe(time.perf_counter() - started)


def outcome(result: ExecutionResult) -> str:
    """ok, user_error (a refusal: GraphQL errors raised on purpose, or a payload's `errors`),
    or error (a failure of the code)."""
    if result.errors:
        return ERROR if any(is_unexpected(error) for error in result.errors) else USER_ERROR
    if result.data:
        for payload in result.data.values():
            if isinstance(payload, dict) and payload.get("errors"):
                return USER_ERROR
    return OK
