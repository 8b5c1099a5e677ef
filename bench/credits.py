"""Bulk credits on PostgreSQL: the service path against raw set-based SQL, in the same run.

Seeds one location with one group holding every customer (asyncpg COPY; not measured), then
alternates two ways of giving each member 1.00:

- baseline: raw asyncpg, one transaction of `INSERT INTO wallet_entries … SELECT … FROM
  customers JOIN group_memberships`, `UPDATE customers … FROM group_memberships` and the
  credit lots of the new entries (`INSERT INTO credit_lots … SELECT … FROM wallet_entries`);
- service: `services.wallet.apply_once` for the group filter, which queues the operation (the
  dispatcher here only records the enqueue), then `services.wallet.run_operation` on it, timed
  from the `apply_once` call to the end of `run_operation`.

It prints the best time of each, entries per second, the ratio service/baseline, and checks that
every balance equals the sum of its ledger deltas and of its credit lots' remaining amounts. The
targets: the service within 2× of the baseline, and 1,000,000 customers in under 60 s end to end.

    python -m bench.credits [--customers N] [--database-url URL] [--rounds R]
                            [--chunk-size C] [--no-vacuum] [--keep]

The database in the URL (default postgres://postgres@127.0.0.1:5432/gocrm_bench) is dropped,
created, migrated, and dropped again at the end unless `--keep` is given. Every measured run
starts after `VACUUM ANALYZE` and `CHECKPOINT`, so that neither path pays for the dead rows or
dirty pages of the one before (`--no-vacuum` skips the VACUUM, as on a server with autovacuum
off). `--chunk-size` sets the runtime's chunk size (`GOCRM_JOB_CHUNK_SIZE`), for experiments.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID, uuid4

import asyncpg  # type: ignore[import-untyped]

from domain.access import Principal, Role
from domain.requests import CreditRequest, CustomerFilter, Target
from gateway.runtime import build_runtime, close_runtime, migrate, start_database, stop_database
from services import wallet
from services.seeding import new_id
from settings import Settings

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/gocrm_bench"
SEED_BATCH = 100_000
AMOUNT = Decimal("1.00")
AMOUNT_MINOR = 100


class Connection(Protocol):
    """The part of `asyncpg.Connection` used here (asyncpg ships no type information)."""

    async def execute(self, query: str, *args: object) -> str: ...

    async def fetchval(self, query: str, *args: object) -> Any: ...

    async def copy_records_to_table(
        self, table_name: str, *, records: Iterable[Sequence[object]], columns: Sequence[str]
    ) -> str: ...

    def transaction(self) -> AbstractAsyncContextManager[object]: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class Seeded:
    location_id: UUID
    group_id: UUID
    customers: int


@dataclass
class RecordingDispatcher:
    """Records what the service queues; the benchmark runs the operation itself."""

    jobs: list[tuple[str, tuple[str, ...], str]] = field(default_factory=list)

    async def enqueue(self, function: str, *args: str, job_id: str) -> None:
        self.jobs.append((function, args, job_id))


def asyncpg_dsn(url: str, database: str | None = None) -> str:
    """The URL for asyncpg: no Tortoise query options, optionally another database."""
    parts = urlsplit(url)
    path = f"/{database}" if database is not None else parts.path
    return urlunsplit(("postgresql", parts.netloc, path, "", ""))


def database_name(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if not name or '"' in name:
        raise SystemExit(f"Not a usable database name in {url!r}")
    return name


async def connect(dsn: str) -> Connection:
    conn: Connection = await asyncpg.connect(dsn)
    return conn


async def recreate_database(url: str) -> None:
    admin = await connect(asyncpg_dsn(url, "postgres"))
    try:
        name = database_name(url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def drop_database(url: str) -> None:
    admin = await connect(asyncpg_dsn(url, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')
    finally:
        await admin.close()


def batches(total: int, size: int) -> Iterator[int]:
    for start in range(0, total, size):
        yield min(size, total - start)


async def seed(conn: Connection, customers: int) -> Seeded:
    """One location, one group, `customers` customers all in it; ids are the app's UUIDv7s."""
    now = datetime.now(UTC)
    location_id, group_id = new_id(), new_id()
    await conn.execute(
        "INSERT INTO locations (id, name, currency, timezone, created_at)"
        " VALUES ($1, 'Bench', 'PLN', 'Europe/Warsaw', $2)",
        location_id,
        now,
    )
    await conn.execute(
        "INSERT INTO customer_groups (id, location_id, name, reference, created_at)"
        " VALUES ($1, $2, 'Everyone', 'everyone', $3)",
        group_id,
        location_id,
        now,
    )
    for size in batches(customers, SEED_BATCH):
        ids = [new_id() for _ in range(size)]
        await conn.copy_records_to_table(
            "customers",
            records=((c, location_id, "", 0, now, now) for c in ids),
            columns=(
                "id",
                "location_id",
                "search_text",
                "credit_balance",
                "created_at",
                "updated_at",
            ),
        )
        await conn.copy_records_to_table(
            "group_memberships",
            records=((group_id, c, now) for c in ids),
            columns=("group_id", "customer_id", "created_at"),
        )
    # Fresh statistics and visibility map, as a live database would have them.
    await conn.execute("VACUUM ANALYZE")
    return Seeded(location_id, group_id, customers)


BASELINE_INSERT = """
INSERT INTO wallet_entries (location_id, customer_id, kind, requested_amount, delta,
                            balance_after, description, source, source_id, period, actor,
                            created_at)
SELECT c.location_id, c.id, 'ADD', $3::bigint, $3::bigint, c.credit_balance + $3::bigint,
       NULL, 'BULK', $4, 0, 'bench', $5
FROM customers c JOIN group_memberships m ON m.customer_id = c.id
WHERE m.group_id = $1 AND c.location_id = $2
"""

BASELINE_UPDATE = """
UPDATE customers c SET credit_balance = c.credit_balance + $3::bigint, wallet_updated_at = $4
FROM group_memberships m
WHERE m.customer_id = c.id AND m.group_id = $1 AND c.location_id = $2
"""

BASELINE_LOTS = """
INSERT INTO credit_lots (location_id, customer_id, entry_id, source, amount, remaining,
                         expires_on, created_at)
SELECT location_id, customer_id, id, source, delta, delta, NULL, created_at
FROM wallet_entries WHERE source_id = $1
"""


async def run_baseline(conn: Connection, seeded: Seeded) -> float:
    started = time.perf_counter()
    now = datetime.now(UTC)
    source = uuid4()
    async with conn.transaction():
        await conn.execute(
            BASELINE_INSERT, seeded.group_id, seeded.location_id, AMOUNT_MINOR, source, now
        )
        await conn.execute(BASELINE_UPDATE, seeded.group_id, seeded.location_id, AMOUNT_MINOR, now)
        await conn.execute(BASELINE_LOTS, source)
    return time.perf_counter() - started


async def run_service(seeded: Seeded, settings: Settings) -> float:
    principal = Principal(
        location_id=seeded.location_id,
        api_key_id=uuid4(),
        api_key_name="bench",
        role=Role.ADMIN,
    )
    request = CreditRequest(
        target=Target(filter=CustomerFilter(group_ids=(str(seeded.group_id),))),
        operation="ADD",
        amount=AMOUNT,
    )
    dispatcher = RecordingDispatcher()
    runtime = build_runtime(settings, dispatcher)
    started = time.perf_counter()
    queued = await wallet.apply_once(runtime, principal, request)
    if len(dispatcher.jobs) != 1 or dispatcher.jobs[0][1] != (str(queued.id),):
        raise SystemExit(f"Expected the operation to be queued once, got {dispatcher.jobs!r}")
    await wallet.run_operation(runtime, queued.id)
    await close_runtime(runtime)
    elapsed = time.perf_counter() - started
    done = await wallet.get_operation(seeded.location_id, str(queued.id))
    if done is None or done.status != "SUCCEEDED" or done.processed != seeded.customers:
        raise SystemExit(f"The operation did not finish as expected: {done!r}")
    return elapsed


CHECK_SQL = """
SELECT count(*) FILTER (WHERE c.credit_balance IS DISTINCT FROM e.total
                           OR e.entries IS DISTINCT FROM $1::bigint
                           OR c.credit_balance IS DISTINCT FROM l.total)
FROM customers c
LEFT JOIN (SELECT customer_id, sum(delta) AS total, count(*) AS entries
           FROM wallet_entries GROUP BY customer_id) e ON e.customer_id = c.id
LEFT JOIN (SELECT customer_id, sum(remaining) AS total
           FROM credit_lots GROUP BY customer_id) l ON l.customer_id = c.id
"""


async def mismatches(conn: Connection, runs: int) -> int:
    """Customers whose balance is not the sum of their deltas, or without one entry per run."""
    return int(await conn.fetchval(CHECK_SQL, runs))


async def settle(conn: Connection, vacuum: bool) -> None:
    """The same starting state for every measured run: dead row versions of the previous run
    reclaimed (what autovacuum does between bulk operations on a live server) and no
    checkpoint pending from its writes."""
    if vacuum:
        await conn.execute("VACUUM ANALYZE customers, wallet_entries, wallet_operations")
    await conn.execute("CHECKPOINT")


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f} entries/s"


def report(
    seeded: Seeded,
    settings: Settings,
    baseline: list[float],
    service: list[float],
    bad: int,
    vacuum: bool,
) -> None:
    n = seeded.customers
    best_base, best_service = min(baseline), min(service)

    def runs(times: list[float]) -> str:
        return ", ".join(f"{t:.2f}" for t in times)

    print(f"customers                 {n:,}")
    print(f"chunk size                {settings.job_chunk_size:,}")
    print(f"VACUUM before each run    {'yes' if vacuum else 'no'}")
    print(
        f"baseline (raw SQL)        best {best_base:7.2f} s  {rate(n, best_base):>19}"
        f"   runs: {runs(baseline)}"
    )
    print(
        f"service (apply+run)       best {best_service:7.2f} s  {rate(n, best_service):>19}"
        f"   runs: {runs(service)}"
    )
    print(f"ratio service/baseline    {best_service / best_base:.2f}x  (target <= 2)")
    if n >= 1_000_000:
        per_million = best_service * 1_000_000 / n
        verdict = "met" if per_million < 60 else "MISSED"
        print(f"service per 1,000,000     {per_million:.1f} s  (target < 60 s: {verdict})")
    verdict = "OK" if bad == 0 else f"FAIL ({bad:,} customers)"
    print(f"balances == sum(deltas) == sum(lots)  {verdict}")


async def main(
    customers: int, url: str, rounds: int, keep: bool, vacuum: bool, chunk_size: int | None
) -> int:
    settings = Settings(database_url=url)
    if chunk_size is not None:
        settings = replace(settings, job_chunk_size=chunk_size)
    await recreate_database(url)
    await migrate(settings)
    conn = await connect(asyncpg_dsn(url))
    try:
        print(f"seeding {customers:,} customers …", file=sys.stderr, flush=True)
        seeded = await seed(conn, customers)
        await start_database(settings)
        baseline: list[float] = []
        service: list[float] = []
        try:
            for round_no in range(1, rounds + 1):
                await settle(conn, vacuum)
                baseline.append(await run_baseline(conn, seeded))
                await settle(conn, vacuum)
                service.append(await run_service(seeded, settings))
                print(
                    f"round {round_no}: baseline {baseline[-1]:.2f} s, service {service[-1]:.2f} s",
                    file=sys.stderr,
                    flush=True,
                )
        finally:
            await stop_database()
        bad = await mismatches(conn, 2 * rounds)
    finally:
        await conn.close()
        if not keep:
            await drop_database(url)
    report(seeded, settings, baseline, service, bad, vacuum)
    return 0 if bad == 0 else 1


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--rounds", type=int, default=2, help="baseline/service pairs")
    parser.add_argument(
        "--chunk-size", type=int, default=None, help="customers per chunk (default: the setting's)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--no-vacuum", action="store_true", help="no VACUUM between runs (autovacuum off)"
    )
    args = parser.parse_args(argv)
    inline = Settings().job_inline_limit
    if args.customers <= inline:
        parser.error(f"--customers must exceed {inline} so the operation is queued")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


if __name__ == "__main__":
    options = parse_args()
    sys.exit(
        asyncio.run(
            main(
                options.customers,
                options.database_url,
                options.rounds,
                options.keep,
                not options.no_vacuum,
                options.chunk_size,
            )
        )
    )
