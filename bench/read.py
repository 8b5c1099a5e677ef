"""The till's read over HTTP: the card lookup against two baselines, in the same run.

Seeds a PostgreSQL database with one location, three groups and N customers, each with a card
and one or two groups (`INSERT … SELECT`; not measured), then serves, one after the other, four
apps from one uvicorn process (one worker, uvloop, httptools) pinned with `taskset` to one core,
and loads each from this process pinned to another core, over keep-alive connections on loopback:

- (a) `bare`: a bare Starlette endpoint returning a small JSON object (GET);
- (b) `strawberry`: a bare Strawberry schema with `ParserCache` and `ValidationCache` (its
  ASGI app), answering `{ __typename }`;
- (c) `gateway-typename`: `{ __typename }` through the real gateway (production settings),
  with an API key;
- (d) `gateway-card`: `customer(cardCode:) { id firstName groups { reference } wallet { balance
  { amount } } }` through the real gateway, each request one of 1,000 random cards, sent as a
  till sends it: a trusted document (`bench.documents`), by its id.

For each it prints requests per second, p50 and p99 latency, the ratio to (a) and (b), and the
server's CPU per request (utime + stime of the server process from `/proc/<pid>/stat`, over the
measured window), and the share of its core that the server and the load generator each used:
a load generator near 100% is the bottleneck; a server well under 100% was starved (by other
processes on its core), and then CPU per request is the figure to compare.
Targets: (d) at least 80% of (b), at most 1.5 ms of server CPU per request and p99 under 20 ms
at 16 connections; (c) within 1.5× of (b).

    python -m bench.read [--customers N] [--database-url URL] [--connections C]
                         [--duration S] [--warmup S] [--rounds R] [--server-core K]
                         [--client-core K] [--database-core K] [--only NAME ...] [--keep]

Defaults: 100,000 customers, postgres://postgres@127.0.0.1:5432/gocrm_bench_read (dropped,
created, migrated, and dropped again at the end unless `--keep`), 16 connections, 10 s measured
after 2 s of warm-up, 3 rounds of the four apps in turn (each round a fresh server; the best
round of each app is reported), server on core 0, load generator on core 1, and the PostgreSQL
backends serving the benchmark's database moved to core 1 after warm-up (`--database-core`), so
that the database's own work does not share the measured core.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

import strawberry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp
from strawberry.asgi import GraphQL
from strawberry.extensions import ParserCache, ValidationCache

from bench.credits import Connection, asyncpg_dsn, connect, drop_database, recreate_database
from bench.documents import CARD, by_id, manifest_path
from gateway.runtime import migrate
from services.seeding import new_id
from settings import Settings

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/gocrm_bench_read"
TYPENAME = "{ __typename }"
ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------ the baseline apps


async def _hello(request: Request) -> JSONResponse:
    return JSONResponse({"hello": "world"})


def bare_app() -> Starlette:
    """(a) A bare Starlette endpoint returning JSON."""
    return Starlette(routes=[Route("/", _hello)])


@strawberry.type
class _Query:
    hello: str = "world"


def strawberry_app() -> ASGIApp:
    """(b) A bare Strawberry schema with its parser and validation caches."""
    schema = strawberry.Schema(
        query=_Query,
        extensions=[lambda: ParserCache(maxsize=512), lambda: ValidationCache(maxsize=512)],
    )
    app: ASGIApp = GraphQL(schema, graphql_ide=None)
    return app


# ------------------------------------------------------------------ the data


@dataclass(frozen=True)
class Seeded:
    api_key: str
    customers: int


def card_code(n: int) -> str:
    return f"CARD{n:07d}"


async def seed(conn: Connection, customers: int) -> Seeded:
    """One location with an ADMIN key, three groups, `customers` customers with one card each:
    every customer in the first group, every second one in the second too."""
    location_id = new_id()
    secret = "gocrm_" + secrets.token_urlsafe(32)
    await conn.execute(
        "INSERT INTO locations (id, name, currency, timezone, created_at)"
        " VALUES ($1, 'Bench', 'PLN', 'Europe/Warsaw', now())",
        location_id,
    )
    await conn.execute(
        "INSERT INTO api_keys (id, location_id, name, role, key_hash, created_at)"
        " VALUES ($1, $2, 'bench', 'ADMIN', $3, now())",
        new_id(),
        location_id,
        hashlib.sha256(secret.encode()).hexdigest(),
    )
    groups = [new_id() for _ in range(3)]
    for group_id, name in zip(groups, ("Stały klient", "VIP", "Pracownicy"), strict=True):
        await conn.execute(
            "INSERT INTO customer_groups (id, location_id, name, reference, created_at)"
            " VALUES ($1, $2, $3, $4, now())",
            group_id,
            location_id,
            name,
            name.lower().replace(" ", "-").replace("ł", "l"),
        )
    await conn.execute(
        """
        WITH c AS (
            INSERT INTO customers (id, location_id, first_name, last_name, search_text,
                                   credit_balance, created_at, updated_at)
            SELECT gen_random_uuid(), $1, 'Customer', lpad(i::text, 7, '0'),
                   'customer ' || lpad(i::text, 7, '0'), (i % 100) * 100, now(), now()
            FROM generate_series(1, $2) AS i
            RETURNING id, last_name
        )
        INSERT INTO customer_cards (id, location_id, customer_id, code, position)
        SELECT gen_random_uuid(), $1, c.id, 'CARD' || c.last_name, 0 FROM c
        """,
        location_id,
        customers,
    )
    await conn.execute(
        "INSERT INTO group_memberships (group_id, customer_id, created_at)"
        " SELECT $1::uuid, id, now() FROM customers WHERE location_id = $3"
        " UNION ALL SELECT $2::uuid, id, now() FROM customers"
        " WHERE location_id = $3 AND last_name::int % 2 = 0",
        groups[0],
        groups[1],
        location_id,
    )
    await conn.execute("VACUUM ANALYZE")
    return Seeded(api_key=secret, customers=customers)


# ------------------------------------------------------------------ the load generator


def _request(method: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class _Client(asyncio.Protocol):
    """One keep-alive connection sending the next request as soon as a response is complete."""

    def __init__(self, requests: Sequence[bytes], latencies: list[float]) -> None:
        self.requests = requests
        self.latencies = latencies
        self.buffer = b""
        self.expected = -1
        self.started = 0.0
        self.running = True
        self.failed: str | None = None
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        self.started = time.perf_counter()
        self.transport.write(random.choice(self.requests))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.expected < 0:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1").lower()
            if not head.startswith("http/1.1 200"):
                self.failed = head.splitlines()[0]
                self.running = False
            length = next(
                int(line.split(":", 1)[1])
                for line in head.split("\r\n")
                if line.startswith("content-length:")
            )
            self.expected = end + 4 + length
        if len(self.buffer) < self.expected:
            return
        self.latencies.append(time.perf_counter() - self.started)
        self.buffer = self.buffer[self.expected :]
        self.expected = -1
        if self.running:
            self._send()
        elif self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


@dataclass(frozen=True)
class Measured:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    server_cpu_ms: float
    client_cpu_share: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_per_request_ms(self) -> float:
        return self.server_cpu_ms / self.requests

    @property
    def server_cpu_share(self) -> float:
        """Of its core: well under 100% means the server waited, or others took the core."""
        return self.server_cpu_ms / 1000 / self.seconds


def _cpu_ms(pid: int) -> float:
    """utime + stime of a process, in milliseconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


async def pin_database_backends(url: str, core: int) -> int:
    """Move the PostgreSQL backends serving the benchmark's database onto `core`, away from
    the server's: otherwise the database's own work shares the measured core, and its cache
    misses and context switches count as the server's CPU. Returns how many were moved."""
    conn = await connect(asyncpg_dsn(url))
    try:
        pids: list[int] = await conn.fetchval(
            "SELECT coalesce(array_agg(pid), '{}') FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    moved = 0
    for pid in pids:
        try:
            os.sched_setaffinity(pid, {core})
            moved += 1
        except (PermissionError, ProcessLookupError):
            pass
    return moved


async def load(
    name: str,
    port: int,
    pid: int,
    requests: Sequence[bytes],
    args: argparse.Namespace,
    protocol: type[_Client] | None = None,
) -> Measured:
    """`args.connections` connections of `protocol` (by default `_Client`) on the server."""
    loop = asyncio.get_running_loop()
    warmup: list[float] = []
    make = protocol or _Client
    clients = [
        (await loop.create_connection(lambda: make(requests, warmup), "127.0.0.1", port))[1]
        for _ in range(args.connections)
    ]
    await asyncio.sleep(args.warmup)
    await pin_database_backends(args.database_url, args.database_core)
    measured: list[float] = []
    for client in clients:
        client.latencies = measured
    cpu_before, client_before = _cpu_ms(pid), time.process_time()
    began = time.perf_counter()
    await asyncio.sleep(args.duration)
    for client in clients:
        client.latencies = []
    seconds = time.perf_counter() - began
    cpu = _cpu_ms(pid) - cpu_before
    client_share = (time.process_time() - client_before) / seconds
    for client in clients:
        client.running = False
    await asyncio.wait_for(asyncio.gather(*(c.closed for c in clients)), 10)
    failures = {c.failed for c in clients if c.failed}
    if failures:
        raise SystemExit(f"{name}: the server answered {sorted(failures)}")
    if not measured:
        raise SystemExit(f"{name}: no response in {seconds:.1f} s")
    cuts = statistics.quantiles(measured, n=100)
    return Measured(
        name=name,
        requests=len(measured),
        seconds=seconds,
        p50_ms=cuts[49] * 1000,
        p99_ms=cuts[98] * 1000,
        server_cpu_ms=cpu,
        client_cpu_share=client_share,
    )


# ------------------------------------------------------------------ servers


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_port(port: int, server: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server on port {port} exited with {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the server on port {port} did not start in {timeout:.0f} s")


def start_server(
    factory: str, port: int, core: int, env: dict[str, str], log: IO[bytes]
) -> subprocess.Popen[bytes]:
    """uvicorn serving `factory` on one core; its log (the gateway's access log too) to `log`."""
    command = [
        "taskset", "-c", str(core),
        sys.executable, "-m", "uvicorn", "--factory", factory,
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=log)
    _wait_for_port(port, server)
    return server


@dataclass(frozen=True)
class Target:
    name: str
    factory: str
    requests: tuple[bytes, ...]


def targets(seeded: Seeded, url: str) -> list[Target]:
    auth = {"Authorization": f"Bearer {seeded.api_key}", "Accept": "application/json"}
    typename = json.dumps({"query": TYPENAME}).encode()
    sample = random.Random(7).sample(range(1, seeded.customers + 1), min(seeded.customers, 1000))
    cards = tuple(
        _request(
            "POST",
            "/graphql",
            json.dumps(by_id(CARD, {"code": card_code(n)})).encode(),
            auth,
        )
        for n in sample
    )
    return [
        Target("bare", "bench.read:bare_app", (_request("GET", "/", b"", {}),)),
        Target(
            "strawberry",
            "bench.read:strawberry_app",
            (_request("POST", "/graphql", typename, {"Accept": "application/json"}),),
        ),
        Target(
            "gateway-typename",
            "gateway.app:app_factory",
            (_request("POST", "/graphql", typename, auth),),
        ),
        Target("gateway-card", "gateway.app:app_factory", cards),
    ]


def gateway_env(url: str) -> dict[str, str]:
    # One key sends every request: its rate limit would measure itself, so it is off.
    return {
        "DATABASE_URL": url,
        "GOCRM_ENV": "production",
        "REDIS_URL": "",
        "GOCRM_RATE_LIMIT_POS": "0",
        "GOCRM_RATE_LIMIT_ADMIN": "0",
        "GOCRM_TRUSTED_DOCUMENTS": manifest_path(),
    }


async def check(port: int, target: Target) -> None:
    """One request answered 200 without GraphQL errors, before anything is measured."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(target.requests[0])
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
        length = next(
            int(line.split(":", 1)[1]) for line in head.split("\r\n") if "content-length:" in line
        )
        body = await reader.readexactly(length)
    finally:
        writer.close()
    if not head.startswith("http/1.1 200") or _refused(json.loads(body)):
        raise SystemExit(f"{target.name}: {head.splitlines()[0]} {body[:300]!r}")


def _refused(answer: object) -> bool:
    """Whether a GraphQL answer carries errors: at the top, or in a mutation payload."""
    if not isinstance(answer, dict):
        return False
    data = answer.get("data")
    payloads = data.values() if isinstance(data, dict) else ()
    return "errors" in answer or any(isinstance(p, dict) and p.get("errors") for p in payloads)


# ------------------------------------------------------------------ report


def report(results: list[Measured], args: argparse.Namespace, load_before: float) -> None:
    by_name = {m.name: m for m in results}
    bare, cached = by_name.get("bare"), by_name.get("strawberry")
    print(
        f"{args.customers:,} customers, {args.connections} connections, {args.duration:g} s each;"
        f" server on core {args.server_core}, load generator on core {args.client_core};"
        f" load average before {load_before:.2f}, after {os.getloadavg()[0]:.2f}"
    )
    header = (
        f"{'app':<18}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'÷ (a)':>8}{'÷ (b)':>8}"
        f"{'CPU ms/req':>12}{'server CPU':>12}{'client CPU':>12}"
    )
    print(header)
    print("-" * len(header))
    for m in results:
        to_bare = f"{m.per_second / bare.per_second:.0%}" if bare else "-"
        to_cached = f"{m.per_second / cached.per_second:.0%}" if cached else "-"
        print(
            f"{m.name:<18}{m.per_second:>9,.0f}{m.p50_ms:>9.2f}{m.p99_ms:>9.2f}{to_bare:>8}"
            f"{to_cached:>8}{m.cpu_per_request_ms:>12.3f}{m.server_cpu_share:>12.0%}"
            f"{m.client_cpu_share:>12.0%}"
        )
    card, typename = by_name.get("gateway-card"), by_name.get("gateway-typename")
    if cached and card:
        print(
            f"card lookup: {card.per_second / cached.per_second:.0%} of (b) (target ≥ 80%),"
            f" {card.cpu_per_request_ms:.2f} ms CPU/request (target ≤ 1.5),"
            f" p99 {card.p99_ms:.1f} ms (target < 20)"
        )
    if cached and typename:
        print(
            f"gateway {{ __typename }}: (b) is {cached.per_second / typename.per_second:.2f}×"
            f" its rate (target ≤ 1.5×); CPU/request {typename.cpu_per_request_ms:.3f} ms"
            f" against {cached.cpu_per_request_ms:.3f} ms"
        )
    saturated = [m.name for m in results if m.client_cpu_share > 0.9]
    if saturated:
        print(f"the load generator was near 100% of its core for: {', '.join(saturated)}")
    starved = [m.name for m in results if m.server_cpu_share < 0.8]
    if starved:
        print(
            f"the server had under 80% of its core for: {', '.join(starved)}"
            " (other processes on it?): compare CPU ms/req rather than req/s"
        )


# ------------------------------------------------------------------ main


async def main(args: argparse.Namespace) -> int:
    os.sched_setaffinity(0, {args.client_core})
    url = args.database_url
    load_before = os.getloadavg()[0]
    await recreate_database(url)
    try:
        await migrate(Settings(database_url=url))
        conn = await connect(asyncpg_dsn(url))
        try:
            print(f"seeding {args.customers:,} customers …", file=sys.stderr, flush=True)
            seeded = await seed(conn, args.customers)
        finally:
            await conn.close()
        rounds: list[Measured] = []
        chosen = [t for t in targets(seeded, url) if not args.only or t.name in args.only]
        for round_no in range(1, args.rounds + 1):
            for target in chosen:
                print(f"round {round_no}: {target.name} …", file=sys.stderr, flush=True)
                rounds.append(await measure(target, url, args))
    finally:
        if not args.keep:
            await drop_database(url)
    # The best round of each app: on a shared machine, noise only ever makes a round slower.
    best = {
        t.name: max((m for m in rounds if m.name == t.name), key=lambda m: m.per_second)
        for t in chosen
    }
    report(list(best.values()), args, load_before)
    return 0


async def measure(
    target: Target, url: str, args: argparse.Namespace, protocol: type[_Client] | None = None
) -> Measured:
    """Start the target's server, check one answer, and load it (with `protocol`'s
    connections when given)."""
    port = _free_port()
    env = gateway_env(url) if target.factory.startswith("gateway") else {}
    with tempfile.TemporaryFile() as log:
        server = start_server(target.factory, port, args.server_core, env, log)
        try:
            await check(port, target)
            return await load(target.name, port, server.pid, target.requests, args, protocol)
        except BaseException:
            log.seek(0)
            sys.stderr.write(log.read()[-4000:].decode(errors="replace"))
            raise
        finally:
            server.terminate()
            server.wait(10)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per app")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each app; the best counts")
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--client-core", type=int, default=1)
    parser.add_argument(
        "--database-core",
        type=int,
        default=1,
        help="core for the PostgreSQL backends serving the benchmark (after warm-up)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=["bare", "strawberry", "gateway-typename", "gateway-card"],
        help="measure only these apps",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    if min(args.customers, args.connections, args.rounds) < 1 or args.duration <= 0:
        parser.error("--customers, --connections, --rounds and --duration must be positive")
    return args


if __name__ == "__main__":
    import uvloop  # uvicorn[standard] brings it; the load generator needs its speed

    sys.exit(uvloop.run(main(parse_args())))
