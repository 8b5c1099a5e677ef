"""One location's tills, quiet and while another location at its mirror cap reads and re-syncs.

Seeds PostgreSQL with two locations. A is `bench.quote`'s shop: N customers with a card in
"Stały klient", linked to a mirrored GoPOS group with 10% off. B has 21 CRM groups and a GoPOS
mirror at the cap (`GOCRM_MIRROR_MAX_OBJECTS`, 20,000): 10,000 groups, 500 of them sharing the
reference of one CRM group, and 10,000 discounts; B's GoPOS is served by two `gocrm simulate
gopos` processes whose discounts differ, so that every re-sync rewrites 10,000 rows and moves
B's sync version on. One gateway (uvicorn, one process, production settings, rate limits off)
is pinned with `taskset` to one core; the load generator, one `gocrm worker` (which runs B's
syncs), the simulators and the PostgreSQL backends of the benchmark's database to the other.

In one run, each round measures A's `checkoutQuote` (random cards, `--rate` quotes per second
over `--connections` keep-alive connections, below the server's capacity: tills, not a flood)
twice: quiet, then under B's load — `--readers` connections each
reading `customerGroups { connections … }` and `integration { unmatchedReferences }` back to
back, and a client that points B's GoPOS at the other simulator and asks for a sync every half
second (a request while one runs answers CONFLICT), as in the issue. It prints A's requests
per second, p50 and p99 in both phases, the ratio of the p99s, B's reads per second and the
syncs that finished during the loaded phase. Target: A's p99 under B's load at most 2× quiet.

    python -m bench.tenants [--customers N] [--connections C] [--readers R] [--duration S]
                            [--warmup S] [--rounds R] [--database-url URL] [--redis-url URL]
                            [--server-core K] [--client-core K] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from uuid import UUID

import httpx

from adapters.secrets import new_key
from bench.credits import Connection, asyncpg_dsn, connect, drop_database, recreate_database
from bench.documents import manifest_path
from bench.quote import Quoted, mirror_group, pos_key, quote_requests
from bench.read import (
    ROOT,
    Measured,
    Seeded,
    _Client,
    _free_port,
    _request,
    _wait_for_port,
    load,
    pin_database_backends,
    seed,
    start_server,
)
from domain.sync import DiscountType, MirrorDiscount, MirrorPosGroup
from gateway.runtime import migrate, start_database, stop_database
from services.seeding import new_id, synced_pos_mirror
from settings import Settings

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/gocrm_bench_tenants"
GROUPS = 10_000  # B's upstream groups, and as many discounts: 20,000 objects, the cap
SHARED = 500  # of B's upstream groups with the reference "wspolny"
LINKED = 20  # B's CRM groups "grupa-1" … "grupa-20", each linked to one upstream group
CLIENT = {"organization_id": "1001", "client_id": "bench", "client_secret": "bench-secret"}
TARGET_RATIO = 2.0
QUEUE = "gocrm:bench-tenants"
B_READ = """{ customerGroups { reference connections { channel status detail
  posGroup { externalId dailyDiscountLimit { amount } discounts { externalId value } } } }
  integration(channel: GOPOS) { unmatchedReferences } }"""
CONFIGURE = """mutation($input: IntegrationInput!) {
  configureIntegration(channel: GOPOS, input: $input) { errors { code message } } }"""
SYNCHRONIZE = """mutation { synchronize(channel: GOPOS) { syncRun { id } errors { code } } }"""


def b_fixture(generation: int) -> dict[str, Any]:
    """B's upstream at the cap; the discounts' values differ from one generation to the next."""
    return {
        **CLIENT,
        "groups": [
            {
                "id": n,
                "name": f"Grupa {n}",
                "reference": "wspolny" if n > GROUPS - SHARED else f"grupa-{n}",
                "daily_discount_limit": {"amount": f"{n % 90 + 10}.00", "currency": "PLN"},
                "discount_ids": [n],
            }
            for n in range(1, GROUPS + 1)
        ],
        "discounts": [
            {
                "id": n,
                "name": f"Rabat {n}",
                "type": "PERCENT",
                "value": f"{(n + generation) % 50 + 1}.00",
                "status": "ENABLED",
            }
            for n in range(1, GROUPS + 1)
        ],
    }


async def seed_b(conn: Connection) -> tuple[UUID, str]:
    """Location B with an ADMIN key and its CRM groups; returns its id and the key."""
    location_id = new_id()
    secret = "gocrm_" + secrets.token_urlsafe(32)
    await conn.execute(
        "INSERT INTO locations (id, name, currency, timezone, created_at)"
        " VALUES ($1, 'Tenant B', 'PLN', 'Europe/Warsaw', now())",
        location_id,
    )
    await conn.execute(
        "INSERT INTO api_keys (id, location_id, name, role, key_hash, created_at)"
        " VALUES ($1, $2, 'admin', 'ADMIN', $3, now())",
        new_id(),
        location_id,
        hashlib.sha256(secret.encode()).hexdigest(),
    )
    references = [f"grupa-{n}" for n in range(1, LINKED + 1)] + ["wspolny"]
    for reference in references:
        await conn.execute(
            "INSERT INTO customer_groups (id, location_id, name, reference, created_at)"
            " VALUES ($1, $2, $3, $4, now())",
            new_id(),
            location_id,
            reference.title(),
            reference,
        )
    return location_id, secret


async def mirror_b(location_id: UUID) -> None:
    """B's mirror as its first sync leaves it (generation 0), and that sync, succeeded."""
    now = datetime.now(UTC)
    fixture = b_fixture(0)
    discounts = [
        MirrorDiscount(
            str(d["id"]), d["name"], DiscountType.PERCENT, int(float(d["value"]) * 100), True
        )
        for d in fixture["discounts"]
    ]
    groups = [
        MirrorPosGroup(
            str(g["id"]),
            g["name"],
            g["reference"],
            int(float(g["daily_discount_limit"]["amount"]) * 100),
            (str(g["id"]),),
        )
        for g in fixture["groups"]
    ]
    await synced_pos_mirror(location_id, discounts, groups, now)


def spawn(
    command: list[str], core: int, env: dict[str, str], log: IO[bytes]
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["taskset", "-c", str(core), sys.executable, "-m", "gateway.cli", *command],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=log,
        stderr=log,
    )


class _Paced(_Client):
    """A till: a request every `interval` seconds (or as soon as the last one is answered,
    when that took longer), so that A's latency is measured below the server's capacity."""

    interval = 0.04
    _due = 0.0

    def _send(self) -> None:
        wait = self._due - time.perf_counter()
        if wait > 0:
            asyncio.get_running_loop().call_later(wait, self._fire)
        else:
            self._fire()

    def _fire(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        if not self.running:
            self.transport.close()
            return
        self._due = max(self._due + self.interval, time.perf_counter())
        super()._send()


@dataclass
class BLoad:
    """What B got done while it loaded the gateway."""

    reads: list[float]
    sync_requests: int = 0


async def b_load(
    port: int, b_key: str, upstreams: tuple[str, str], readers: int, stop: asyncio.Event
) -> BLoad:
    """B's admin: `readers` connections reading back to back, and the re-syncs, until `stop`."""
    loop = asyncio.get_running_loop()
    done = BLoad(reads=[])
    auth = {"Authorization": f"Bearer {b_key}", "Accept": "application/json"}
    read = _request("POST", "/graphql", json.dumps({"query": B_READ}).encode(), auth)
    clients = [
        (await loop.create_connection(lambda: _Client((read,), done.reads), "127.0.0.1", port))[1]
        for _ in range(readers)
    ]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=auth) as http:
        generation = 1
        while not stop.is_set():
            inputs = {**_inputs(upstreams[generation % 2])}
            await http.post("/graphql", json={"query": CONFIGURE, "variables": {"input": inputs}})
            answer = (await http.post("/graphql", json={"query": SYNCHRONIZE})).json()
            done.sync_requests += 1
            if not answer["data"]["synchronize"]["errors"]:
                generation += 1
            await asyncio.sleep(0.5)
    for client in clients:
        client.running = False
    await asyncio.wait_for(asyncio.gather(*(c.closed for c in clients)), 30)
    failures = {c.failed for c in clients if c.failed}
    if failures:
        raise SystemExit(f"B's reads: the server answered {sorted(failures)}")
    return done


def _inputs(base_url: str) -> dict[str, str]:
    return {
        "baseUrl": base_url,
        "clientId": CLIENT["client_id"],
        "clientSecret": CLIENT["client_secret"],
        "organizationId": CLIENT["organization_id"],
    }


async def syncs_finished(url: str, location_id: UUID, since: datetime) -> tuple[int, int]:
    """B's syncs that finished since `since`: succeeded, and failed."""
    conn = await connect(asyncpg_dsn(url))
    counted = (
        "SELECT count(*) FROM sync_runs WHERE location_id = $1 AND finished_at >= $2"
        " AND status = $3"
    )
    try:
        succeeded = await conn.fetchval(counted, location_id, since, "SUCCEEDED")
        failed = await conn.fetchval(counted, location_id, since, "FAILED")
    finally:
        await conn.close()
    return int(succeeded), int(failed)


@dataclass(frozen=True)
class Round:
    quiet: Measured
    loaded: Measured
    b_reads_per_second: float
    b_read_p50_ms: float
    syncs: int
    failed_syncs: int


async def run_round(
    args: argparse.Namespace,
    port: int,
    server_pid: int,
    quoted: Quoted,
    b: tuple[UUID, str],
    upstreams: tuple[str, str],
) -> Round:
    requests = quote_requests(quoted)
    _Paced.interval = args.connections / args.rate
    quiet = await load("quiet", port, server_pid, requests, args, _Paced)
    stop = asyncio.Event()
    since = datetime.now(UTC)
    b_task = asyncio.create_task(b_load(port, b[1], upstreams, args.readers, stop))
    began = time.perf_counter()
    loaded = await load("under B", port, server_pid, requests, args, _Paced)
    stop.set()
    b_done = await b_task
    seconds = time.perf_counter() - began
    succeeded, failed = await syncs_finished(args.database_url, b[0], since)
    reads = b_done.reads
    return Round(
        quiet=quiet,
        loaded=loaded,
        b_reads_per_second=len(reads) / seconds,
        b_read_p50_ms=statistics.median(reads) * 1000 if reads else 0.0,
        syncs=succeeded,
        failed_syncs=failed,
    )


async def main(args: argparse.Namespace) -> int:
    os.sched_setaffinity(0, {args.client_core})
    url = args.database_url
    await recreate_database(url)
    settings = Settings(database_url=url)
    secret_key = new_key()
    rounds: list[Round] = []
    with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryFile() as log:
        started: list[subprocess.Popen[bytes]] = []
        try:
            await migrate(settings)
            conn = await connect(asyncpg_dsn(url))
            try:
                print(f"seeding {args.customers:,} customers …", file=sys.stderr, flush=True)
                seeded: Seeded = await seed(conn, args.customers)
                location_id = await conn.fetchval(
                    "SELECT location_id FROM customer_groups WHERE name = 'Stały klient'"
                )
                quoted = Quoted(await pos_key(conn, location_id), seeded.customers)
                b_location, b_key = await seed_b(conn)
            finally:
                await conn.close()
            await start_database(settings)
            try:
                await mirror_group(location_id, "staly-klient")
                await mirror_b(b_location)
            finally:
                await stop_database()
            env = {
                "DATABASE_URL": url,
                "REDIS_URL": args.redis_url,
                "GOCRM_QUEUE": QUEUE,
                "GOCRM_ENV": "production",
                "GOCRM_SECRET_KEY": secret_key,
                "GOCRM_UPSTREAM_ALLOW": "127.0.0.0/8",
                "GOCRM_RATE_LIMIT_POS": "0",
                "GOCRM_RATE_LIMIT_ADMIN": "0",
                "GOCRM_TRUSTED_DOCUMENTS": manifest_path(),
            }
            upstreams: list[str] = []
            for generation in (0, 1):
                path = Path(folder) / f"b{generation}.json"
                path.write_text(json.dumps(b_fixture(generation)), encoding="utf-8")
                sim_port = _free_port()
                command = ["simulate", "gopos", "--fixture", str(path), "--port", str(sim_port)]
                started.append(spawn(command, args.client_core, {}, log))
                _wait_for_port(sim_port, started[-1], timeout=60)
                upstreams.append(f"http://127.0.0.1:{sim_port}")
            started.append(spawn(["worker"], args.client_core, env, log))
            port = _free_port()
            server = start_server("gateway.app:app_factory", port, args.server_core, env, log)
            started.append(server)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                answer = await http.post(
                    "/graphql",
                    json={"query": CONFIGURE, "variables": {"input": _inputs(upstreams[0])}},
                    headers={"Authorization": f"Bearer {b_key}"},
                )
                if answer.json()["data"]["configureIntegration"]["errors"]:
                    raise SystemExit(f"B's GoPOS could not be configured: {answer.text}")
            await pin_database_backends(url, args.client_core)
            for round_no in range(1, args.rounds + 1):
                print(f"round {round_no} …", file=sys.stderr, flush=True)
                rounds.append(
                    await run_round(
                        args,
                        port,
                        server.pid,
                        quoted,
                        (b_location, b_key),
                        tuple(upstreams),  # type: ignore[arg-type]
                    )
                )
        except BaseException:
            log.seek(0)
            sys.stderr.write(log.read()[-6000:].decode(errors="replace"))
            raise
        finally:
            for process in reversed(started):
                process.terminate()
            for process in started:
                process.wait(20)
            if not args.keep:
                await drop_database(url)
    report(rounds, args)
    return 0


def report(rounds: Sequence[Round], args: argparse.Namespace) -> None:
    print(
        f"A: {args.customers:,} customers, {args.rate:g} quotes/s over {args.connections}"
        " connections;"
        f" B: {2 * GROUPS:,} mirrored objects, {args.readers} connections reading and a"
        f" re-sync asked every 0.5 s; {args.duration:g} s measured per phase;"
        f" server on core {args.server_core}, the rest on core {args.client_core}"
    )
    header = (
        f"{'round':<7}{'phase':<10}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'B reads/s':>11}{'B read p50':>12}{'B syncs':>9}"
    )
    print(header)
    print("-" * len(header))
    for number, done in enumerate(rounds, 1):
        q, lo = done.quiet, done.loaded
        print(f"{number:<7}{'quiet':<10}{q.per_second:>9,.0f}{q.p50_ms:>9.2f}{q.p99_ms:>9.2f}")
        print(
            f"{'':<7}{'under B':<10}{lo.per_second:>9,.0f}{lo.p50_ms:>9.2f}{lo.p99_ms:>9.2f}"
            f"{done.b_reads_per_second:>11.1f}{done.b_read_p50_ms:>10.0f}ms"
            f"{done.syncs:>6}{f' ({done.failed_syncs} failed)' if done.failed_syncs else ''}"
        )
    quiet = min(r.quiet.p99_ms for r in rounds)
    loaded = min(r.loaded.p99_ms for r in rounds)
    ratio = loaded / quiet
    print(
        f"A's quote p99: {quiet:.2f} ms quiet, {loaded:.2f} ms under B's load (best of"
        f" {len(rounds)}): {ratio:.2f}× (target ≤ {TARGET_RATIO:g}×:"
        f" {'met' if ratio <= TARGET_RATIO else 'MISSED'})"
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=8, help="A's quoting connections")
    parser.add_argument("--rate", type=float, default=200.0, help="A's quotes per second")
    parser.add_argument("--readers", type=int, default=8, help="B's reading connections")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds measured a phase")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--client-core", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    if min(args.customers, args.connections, args.readers, args.rounds) < 1:
        parser.error("--customers, --connections, --readers and --rounds must be at least 1")
    if args.duration <= 0 or args.rate <= 0:
        parser.error("--duration and --rate must be positive")
    # `bench.read.load` pins the benchmark's database backends to this core after warm-up.
    args.database_core = args.client_core
    return args


if __name__ == "__main__":
    import uvloop

    sys.exit(uvloop.run(main(parse_args())))
