"""A chain on one PostgreSQL: the month's top-ups of every location while tills keep selling.

Seeds PostgreSQL (`bench.chain_seed`, set-based SQL) with 1,000 locations sharing 2,000,000
customers and one location of 200,000, each customer with a card, two groups' memberships and
an opening balance in the ledger and its lots. Then runs the product as a chain deploys it:
one gateway (uvicorn, one process, production settings, rate limits off, the tills' documents
trusted and sent by id) pinned with `taskset` to one core; one `gocrm worker` (arq, a private
queue in the local Redis), the load generator and the database's backends on the other.

Tills in 50 locations quote and commit throughout, paced (`--rate` requests a second over one
keep-alive connection per till, a `--commit-share` of them commits of a new sale), on random
cards of their location. After `--quiet` seconds it is the first of the month: every
location's monthly SET of 50.00 (to every customer, or to "Stały klient") and the big
location's ADD of 10.00 to its 200,000 fall due at once, and the worker's periodic check runs
them as it runs any period (`services.schedules`, chunk by chunk). The tills go on for
`--after` seconds once the last period has ended.

It prints the top-up's duration (from falling due to the last period's end) and entries per
second; the tills' quote and commit rate, p50 and p99 before, during and after; the ratio of the
quote's p99 during the top-up to its quiet value (target under 2×); the database's size and
its largest tables; the slowest statements from `pg_stat_statements` when the server has it
loaded (`shared_preload_libraries`), or that it has not; and checks that every balance equals
the sum of its entries and of its lots, and that each customer got one entry per schedule.

    python -m bench.chain [--scale F] [--rate Q] [--commit-share S] [--quiet S] [--after S]
                          [--database-url URL] [--redis-url URL] [--keep]

`--scale 0.01` makes a quick run (22,000 customers, at least 50 locations). The worker and
the gateway take the environment's `GOCRM_*` settings (`GOCRM_JOB_CHUNK_SIZE`,
`GOCRM_JOB_CHUNK_PAUSE`, `GOCRM_WORKER_MAX_JOBS`), for experiments; `--wal-compression` turns
on `wal_compression` for the benchmark's database. The load generator raises its own priority
(it shares its core with the database's backends; the tills it plays are other machines), and
it prints the WAL the server wrote during the top-up and the checkpoints it began.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast
from urllib.parse import urlsplit

from adapters.secrets import new_key
from bench import chain_seed
from bench.chain_seed import Chain, Connection
from bench.credits import asyncpg_dsn, connect, drop_database, recreate_database
from bench.documents import COMMIT, QUOTE, by_id, manifest_path
from bench.quote import LINES, mirror_group
from bench.read import _Client, _free_port, _request, pin_database_backends, start_server
from bench.tenants import spawn
from gateway.runtime import migrate, start_database, stop_database
from settings import Settings

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/gocrm_bench_chain"
QUEUE = "gocrm:bench-chain"
TARGET_RATIO = 2.0
CARDS_PER_TILL = 500
WINDOW = 10.0  # seconds of the timeline of the quotes' p99

Sample = tuple[str, float, float]  # (quote | commit, answered at, seconds)


class _Till(_Client):
    """One till's connection: a request every `interval` seconds, a quote or (one in
    `1 / commit_share`) a commit of a new sale, each answer recorded with when it came."""

    interval = 0.25
    commit_share = 0.1
    _due = 0.0
    kind = "quote"
    key = ""
    cards: Sequence[str] = ()

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
        card = random.choice(self.cards)
        sale = {"cardCode": card, "lines": LINES}
        if random.random() < self.commit_share:
            self.kind = "commit"
            body = by_id(COMMIT, {"input": sale, "key": f"chain-{secrets.token_hex(8)}"})
        else:
            self.kind = "quote"
            body = by_id(QUOTE, {"input": sale})
        auth = {"Authorization": f"Bearer {self.key}", "Accept": "application/json"}
        self.started = time.perf_counter()
        assert self.transport is not None
        self.transport.write(_request("POST", "/graphql", json.dumps(body).encode(), auth))


class _Recorder:
    """Stands in for a client's list of latencies: records each with its kind and time."""

    def __init__(self, client: _Till, samples: list[Sample]) -> None:
        self.client = client
        self.samples = samples

    def append(self, seconds: float) -> None:
        self.samples.append((self.client.kind, time.perf_counter(), seconds))


async def open_tills(
    port: int, chain: Chain, args: argparse.Namespace, samples: list[Sample]
) -> list[_Till]:
    loop = asyncio.get_running_loop()
    _Till.interval = len(chain.till_keys) / args.rate
    _Till.commit_share = args.commit_share
    tills: list[_Till] = []
    for number, (_, key) in enumerate(chain.till_keys):
        cards = chain_seed.till_cards(chain, number, CARDS_PER_TILL)

        def make(cards: Sequence[str] = cards, key: str = key) -> _Till:
            till = _Till((), [])
            till.cards, till.key = cards, key
            till.latencies = cast(list[float], _Recorder(till, samples))
            till._due = time.perf_counter() + random.random() * _Till.interval
            return till

        tills.append((await loop.create_connection(make, "127.0.0.1", port))[1])
    return tills


async def close_tills(tills: Sequence[_Till]) -> None:
    for till in tills:
        till.running = False
    await asyncio.wait_for(asyncio.gather(*(t.closed for t in tills)), 30)
    failures = {t.failed for t in tills if t.failed}
    if failures:
        raise SystemExit(f"the tills: the server answered {sorted(failures)}")


@dataclass(frozen=True)
class Phase:
    name: str
    seconds: float
    quotes: list[float]
    commits: list[float]
    windows: list[float]  # the quotes' p99 in each `WINDOW` seconds, ms


def phase(name: str, samples: Sequence[Sample], begin: float, end: float) -> Phase:
    inside = [s for s in samples if begin <= s[1] < end]
    quotes = [s for s in inside if s[0] == "quote"]
    windows = [
        cut([s[2] for s in quotes if start <= s[1] < start + WINDOW], 99)
        for start in [begin + WINDOW * k for k in range(max(1, int((end - begin) // WINDOW)))]
    ]
    return Phase(
        name,
        end - begin,
        [s[2] for s in quotes],
        [s[2] for s in inside if s[0] == "commit"],
        windows,
    )


def cut(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] * 1000 if values else 0.0
    return statistics.quantiles(values, n=100)[q - 1] * 1000


@dataclass(frozen=True)
class TopUp:
    due_at: datetime
    runs: chain_seed.Runs
    seen_done: float  # perf_counter when the bench saw the last period end
    wal_bytes: int  # WAL the server wrote meanwhile (all its databases)
    checkpoints: int  # checkpoints it began meanwhile

    @property
    def seconds(self) -> float:
        assert self.runs.last_finished is not None
        return (self.runs.last_finished - self.due_at).total_seconds()


async def pin_backends(url: str, core: int, stop: asyncio.Event) -> None:
    """Keep the database's backends on the load's core: the worker opens connections as its
    jobs need them."""
    while not stop.is_set():
        await pin_database_backends(url, core)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


async def top_up(conn: Connection, chain: Chain, limit: float) -> TopUp:
    """The first of the month: the schedules fall due; wait for every period to end."""
    wal, checkpoints = await wal_position(conn)
    due_at = datetime.now(UTC)
    await chain_seed.due_schedules(conn, chain, due_at)
    deadline = time.perf_counter() + limit
    while True:
        found = await chain_seed.runs(conn, chain)
        if found.done:
            seen = time.perf_counter()
            wal_after, checkpoints_after = await wal_position(conn)
            return TopUp(due_at, found, seen, wal_after - wal, checkpoints_after - checkpoints)
        if time.perf_counter() > deadline:
            raise SystemExit(f"the top-up did not end in {limit:.0f} s: {found}")
        await asyncio.sleep(0.5)


async def wal_position(conn: Connection) -> tuple[int, int]:
    """Where the server's WAL is, in bytes, and how many checkpoints it has begun."""
    row = await conn.fetchrow(
        "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn,"
        " checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter"
    )
    return int(row[0]), int(row[1])


async def statements(conn: Connection) -> list[tuple[float, int, float, str]] | str:
    """The slowest statements by total time, or why there are none to show."""
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        rows = await conn.fetch(
            "SELECT total_exec_time, calls, mean_exec_time, query FROM pg_stat_statements"
            " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " ORDER BY total_exec_time DESC LIMIT 8"
        )
    except Exception as error:  # any refusal is reported, never fatal
        return f"pg_stat_statements is not available: {str(error).splitlines()[0]}"
    return [(r[0], r[1], r[2], " ".join(r[3].split())[:110]) for r in rows]


async def reset_statements(conn: Connection) -> None:
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        await conn.execute("SELECT pg_stat_statements_reset()")
    except Exception:  # reported by `statements` at the end
        return


async def sizes(conn: Connection) -> tuple[int, list[tuple[str, int, int]]]:
    total = int(await conn.fetchval("SELECT pg_database_size(current_database())"))
    rows = await conn.fetch(
        "SELECT relname, pg_total_relation_size(oid), pg_indexes_size(oid) FROM pg_class"
        " WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"
        " ORDER BY pg_total_relation_size(oid) DESC LIMIT 6"
    )
    return total, [(r[0], int(r[1]), int(r[2])) for r in rows]


def environment(url: str, redis_url: str, secret_key: str) -> dict[str, str]:
    return {
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "GOCRM_QUEUE": QUEUE,
        "GOCRM_ENV": "production",
        "GOCRM_SECRET_KEY": secret_key,
        "GOCRM_RATE_LIMIT_POS": "0",
        "GOCRM_RATE_LIMIT_ADMIN": "0",
        "GOCRM_TRUSTED_DOCUMENTS": manifest_path(),
        "GOCRM_LOG_FORMAT": "text",
    }


async def prepare(args: argparse.Namespace) -> Chain:
    """A fresh database with the chain in it and the tills' GoPOS mirrors."""
    url = args.database_url
    small_locations = max(50, round(1_000 * args.scale))
    await recreate_database(url)
    settings = Settings(database_url=url)
    await migrate(settings)
    if args.wal_compression:
        name = urlsplit(url).path.lstrip("/")
        admin = await connect(asyncpg_dsn(url))
        try:
            await admin.execute(f'ALTER DATABASE "{name}" SET wal_compression = on')
        finally:
            await admin.close()
    conn = cast(Connection, await connect(asyncpg_dsn(url)))
    try:
        started = time.perf_counter()
        print("seeding …", file=sys.stderr, flush=True)
        chain = await chain_seed.seed(
            conn,
            small_locations,
            round(2_000_000 * args.scale),
            round(200_000 * args.scale),
            min(args.tills, small_locations),
        )
        args.seed_seconds = time.perf_counter() - started
    finally:
        await conn.close()
    await start_database(settings)
    try:
        for location_id, _ in chain.till_keys:
            await mirror_group(location_id, "staly-klient")
    finally:
        await stop_database()
    return chain


@dataclass(frozen=True)
class Outcome:
    phases: list[Phase]
    top_up: TopUp
    entries: int
    checkouts: int
    size: tuple[int, list[tuple[str, int, int]]]
    slowest: list[tuple[float, int, float, str]] | str
    bad: tuple[int, int] | None


async def measure(
    args: argparse.Namespace, chain: Chain, port: int, conn: Connection
) -> tuple[list[Phase], TopUp]:
    samples: list[Sample] = []
    stop = asyncio.Event()
    pinning = asyncio.create_task(pin_backends(args.database_url, args.client_core, stop))
    tills = await open_tills(port, chain, args, samples)
    try:
        await asyncio.sleep(args.warmup)
        began = time.perf_counter()
        await reset_statements(conn)
        await asyncio.sleep(args.quiet)
        print("the first of the month …", file=sys.stderr, flush=True)
        due = time.perf_counter()
        done = await top_up(conn, chain, args.timeout)
        print(f"top-up done in {done.seconds:.1f} s; after …", file=sys.stderr, flush=True)
        await asyncio.sleep(args.after)
        ended = time.perf_counter()
    finally:
        await close_tills(tills)
        stop.set()
        await pinning
    phases = [
        phase("before", samples, began, due),
        phase("during", samples, due, done.seen_done),
        phase("after", samples, done.seen_done, ended),
    ]
    return phases, done


async def run(args: argparse.Namespace, chain: Chain) -> Outcome:
    url = args.database_url
    env = environment(url, args.redis_url, new_key())
    with tempfile.TemporaryFile() as log:
        started: list[subprocess.Popen[bytes]] = []
        conn = cast(Connection, await connect(asyncpg_dsn(url)))
        try:
            started.append(spawn(["worker"], args.client_core, env, log))
            port = _free_port()
            started.append(
                start_server("gateway.app:app_factory", port, args.server_core, env, log)
            )
            phases, done = await measure(args, chain, port, conn)
            slowest = await statements(conn)
            entries = await conn.fetchval(
                "SELECT count(*) FROM wallet_entries WHERE source = 'SCHEDULE'"
            )
            checkouts = await conn.fetchval("SELECT count(*) FROM checkouts")
            size = await sizes(conn)
            bad = None if args.no_check else await chain_seed.mismatches(conn, chain)
        except BaseException:
            log.seek(0)
            sys.stderr.write(log.read()[-6000:].decode(errors="replace"))
            raise
        finally:
            await conn.close()
            for process in reversed(started):
                process.terminate()
            for process in started:
                process.wait(30)
    return Outcome(phases, done, int(entries), int(checkouts), size, slowest, bad)


def report(args: argparse.Namespace, chain: Chain, outcome: Outcome) -> None:
    top = outcome.top_up
    print(
        f"{len(chain.locations):,} locations, {chain.customers:,} customers (the big location"
        f" {chain.big_customers:,}); seeded in {args.seed_seconds:.0f} s;"
        f" {len(chain.till_keys)} tills, {args.rate:g} requests/s, {args.commit_share:.0%}"
        f" commits; gateway on core {args.server_core}, worker, load and database backends on"
        f" core {args.client_core}; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}"
    )
    runs = top.runs
    start_lag = (runs.first_started - top.due_at).total_seconds() if runs.first_started else 0
    print(
        f"top-up: {runs.schedules:,} periods ({runs.succeeded:,} SUCCEEDED, {runs.failed} FAILED),"
        f" {outcome.entries:,} entries (expected {chain_seed.expected_entries(chain):,}) in"
        f" {top.seconds:.1f} s from falling due ({start_lag:.1f} s to the first start):"
        f" {outcome.entries / top.seconds:,.0f} entries/s"
    )
    print(
        f"WAL written meanwhile: {top.wal_bytes / 2**20:,.0f} MB"
        f" ({top.wal_bytes / max(1, outcome.entries):,.0f} bytes an entry),"
        f" {top.checkpoints} checkpoints begun"
    )
    header = f"{'phase':<8}{'s':>7}{'quotes/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
    header += f"{'commits/s':>11}{'p50 ms':>9}{'p99 ms':>9}"
    print(header)
    print("-" * len(header))
    for p in outcome.phases:
        print(
            f"{p.name:<8}{p.seconds:>7.1f}{len(p.quotes) / p.seconds:>10.1f}"
            f"{cut(p.quotes, 50):>9.2f}{cut(p.quotes, 99):>9.2f}"
            f"{len(p.commits) / p.seconds:>11.1f}{cut(p.commits, 50):>9.2f}"
            f"{cut(p.commits, 99):>9.2f}"
        )
    for p in outcome.phases:
        windows = " ".join(f"{ms:.0f}" for ms in p.windows)
        print(f"quote p99 by {WINDOW:g} s, {p.name}: {windows} ms")
    before, during = outcome.phases[0], outcome.phases[1]
    ratio = cut(during.quotes, 99) / max(cut(before.quotes, 99), 1e-9)
    verdict = "met" if ratio < TARGET_RATIO else "MISSED"
    print(f"quote p99 during / before: {ratio:.2f}× (target < {TARGET_RATIO:g}×: {verdict})")
    print(f"checkouts written: {outcome.checkouts:,}")
    report_database(chain, outcome)


def report_database(chain: Chain, outcome: Outcome) -> None:
    """The database's size, its slowest statements and the ledger's checks."""
    total, tables = outcome.size
    print(
        f"database: {total / 2**20:,.0f} MB, {total / chain.customers:,.0f} bytes a customer;"
        " largest tables (with indexes): "
        + ", ".join(f"{name} {size / 2**20:,.0f} MB" for name, size, _ in tables)
    )
    if isinstance(outcome.slowest, str):
        print(outcome.slowest)
    else:
        print("slowest statements (pg_stat_statements, total ms, calls, mean ms):")
        for total_ms, calls, mean, query in outcome.slowest:
            print(f"  {total_ms:>10,.0f} {calls:>9,} {mean:>9.2f}  {query}")
    if outcome.bad is not None:
        unbalanced, untopped = outcome.bad
        print(
            "balances == sum(deltas) == sum(lots): "
            + ("OK" if not unbalanced else f"FAIL ({unbalanced:,} customers)")
            + "; one entry per customer and schedule: "
            + ("OK" if not untopped else f"FAIL ({untopped:,} customers)")
        )


async def main(args: argparse.Namespace) -> int:
    os.sched_setaffinity(0, {args.client_core})
    # The tills are other machines: the load generator shares its core with the database's
    # backends here, and must not be the one kept waiting by them.
    with contextlib.suppress(PermissionError):
        os.nice(-10)
    chain = await prepare(args)
    try:
        outcome = await run(args, chain)
    finally:
        if not args.keep:
            await drop_database(args.database_url)
    report(args, chain, outcome)
    return 1 if outcome.bad and any(outcome.bad) else 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scale", type=float, default=1.0, help="of 2,200,000 customers")
    parser.add_argument("--tills", type=int, default=50, help="locations whose tills sell")
    parser.add_argument("--rate", type=float, default=200.0, help="the tills' requests/s")
    parser.add_argument("--commit-share", type=float, default=0.1, help="of them commits")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before measuring")
    parser.add_argument("--quiet", type=float, default=30.0, help="seconds before the top-up")
    parser.add_argument("--after", type=float, default=30.0, help="seconds after it")
    parser.add_argument("--timeout", type=float, default=3_600.0, help="the top-up's limit")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--client-core", type=int, default=1)
    parser.add_argument(
        "--wal-compression",
        action="store_true",
        help="compress the full-page images in the WAL of the benchmark's database",
    )
    parser.add_argument("--no-check", action="store_true", help="skip the ledger checks")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 10 or args.rate <= 0 or not 0 <= args.commit_share <= 1:
        parser.error("--scale in (0, 10], --rate positive, --commit-share in [0, 1]")
    return args


if __name__ == "__main__":
    import uvloop

    sys.exit(uvloop.run(main(parse_args())))
