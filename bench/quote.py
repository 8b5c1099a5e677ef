"""The till's checkout quote over HTTP against two baselines, and commits per second.

Seeds PostgreSQL as `bench.read` does (one location, three groups, N customers with a card and
a balance, every customer in "Stały klient", every second one in "VIP"), then mirrors a GoPOS
group linked to "Stały klient" (10% off, a daily limit of 50.00) as a sync would leave it. One
uvicorn worker pinned with `taskset` to one core serves in turn:

- (a) `bare`: a bare Starlette JSON endpoint;
- (b) `strawberry`: a bare Strawberry schema with `ParserCache` and `ValidationCache` answering
  `{ __typename }` (the baseline of `bench.read`);
- (c) `quote`: `checkoutQuote` for a random card and a three-line bill, through the gateway
  (production settings, a POS key): the group discount and the credits apply;
- (d) `commit`: `commitCheckout` of such a bill, each request a different customer and a new
  idempotency key (the figure is commits per second for distinct customers).

The load generator runs on another core with 16 keep-alive connections. It prints requests per
second, p50/p99, the ratio to (a) and (b) and the server's CPU per request.
Targets: (c) at least 60% of (b) with p99 under 15 ms; (d) at least 1,000 commits/s.

    python -m bench.quote [--customers N] [--database-url URL] [--connections C]
                          [--duration S] [--warmup S] [--rounds R] [--only NAME ...] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import secrets
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from bench.credits import Connection, asyncpg_dsn, connect, drop_database, recreate_database
from bench.documents import COMMIT, QUOTE, by_id
from bench.read import (
    Measured,
    Seeded,
    Target,
    _Client,
    _request,
    card_code,
    measure,
    seed,
    targets,
)
from domain.sync import DiscountType, MirrorDiscount, MirrorPosGroup
from gateway.runtime import migrate, start_database, stop_database
from services.seeding import new_id, synced_pos_mirror
from settings import Settings

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/gocrm_bench_quote"
LINES = [
    {"productId": "kawa", "quantity": "2", "unitPrice": "12.50"},
    {"productId": "sernik", "quantity": "1", "unitPrice": "18.90"},
    {"productId": "woda", "quantity": "3", "unitPrice": "4.20"},
]


@dataclass(frozen=True)
class Quoted:
    api_key: str
    customers: int


async def mirror_group(location_id: UUID, reference: str) -> None:
    """A GoPOS group with the reference of a CRM group and one 10% discount, as synced."""
    now = datetime.now(UTC)
    await synced_pos_mirror(
        location_id,
        [MirrorDiscount("3", "10% stały klient", DiscountType.PERCENT, 1000, True)],
        [MirrorPosGroup("17", "Stały klient", reference, 5000, ("3",))],
        now,
    )


async def pos_key(
    conn: Connection, location_id: UUID, name: str = "till", channels: str = "POS,KIOSK"
) -> str:
    """A new POS key's secret: a till's (POS and KIOSK) unless `channels` says otherwise."""
    secret = "gocrm_" + secrets.token_urlsafe(32)
    await conn.execute(
        "INSERT INTO api_keys (id, location_id, name, role, channels, key_hash, created_at)"
        " VALUES ($1, $2, $3, 'POS', $4, $5, now())",
        new_id(),
        location_id,
        name,
        channels,
        hashlib.sha256(secret.encode()).hexdigest(),
    )
    return secret


def quote_requests(quoted: Quoted) -> tuple[bytes, ...]:
    auth = {"Authorization": f"Bearer {quoted.api_key}", "Accept": "application/json"}
    sample = random.Random(7).sample(range(1, quoted.customers + 1), min(quoted.customers, 1000))
    return tuple(
        _request(
            "POST",
            "/graphql",
            json.dumps(
                by_id(QUOTE, {"input": {"cardCode": card_code(n), "lines": LINES}})
            ).encode(),
            auth,
        )
        for n in sample
    )


def commit_requests(quoted: Quoted, count: int) -> tuple[bytes, ...]:
    """`count` commits, each for another customer and with its own key (round-robin over the
    customers when there are fewer)."""
    auth = {"Authorization": f"Bearer {quoted.api_key}", "Accept": "application/json"}
    order = list(range(1, quoted.customers + 1))
    random.Random(11).shuffle(order)
    return tuple(
        _request(
            "POST",
            "/graphql",
            json.dumps(
                by_id(
                    COMMIT,
                    {
                        "input": {"cardCode": card_code(order[i % len(order)]), "lines": LINES},
                        "key": f"bench-{i}-{secrets.token_hex(4)}",
                    },
                )
            ).encode(),
            auth,
        )
        for i in range(count)
    )


class _InOrder(_Client):
    """A connection sending requests from a shared iterator: none is sent twice."""

    source: Iterator[bytes]

    def _send(self) -> None:
        assert self.transport is not None
        self.started = time.perf_counter()
        self.transport.write(next(self.source))


async def main(args: argparse.Namespace) -> int:
    os.sched_setaffinity(0, {args.client_core})
    url = args.database_url
    await recreate_database(url)
    settings = Settings(database_url=url)
    results: list[Measured] = []
    try:
        await migrate(settings)
        conn = await connect(asyncpg_dsn(url))
        try:
            print(f"seeding {args.customers:,} customers …", file=sys.stderr, flush=True)
            seeded: Seeded = await seed(conn, args.customers)
            location_id = await conn.fetchval(
                "SELECT location_id FROM customer_groups WHERE name = 'Stały klient'"
            )
            reference = await conn.fetchval(
                "SELECT reference FROM customer_groups WHERE name = 'Stały klient'"
            )
            quoted = Quoted(await pos_key(conn, location_id), seeded.customers)
        finally:
            await conn.close()
        await start_database(settings)
        try:
            await mirror_group(location_id, reference)
        finally:
            await stop_database()
        baseline = [
            t
            for t in _baselines()
            if not args.only or t.name in args.only  # (a) and (b), as bench.read serves them
        ]
        chosen: list[Target] = [*baseline]
        if not args.only or "quote" in args.only:
            chosen.append(Target("quote", "gateway.app:app_factory", quote_requests(quoted)))
        rounds: list[Measured] = []
        for round_no in range(1, args.rounds + 1):
            for target in chosen:
                print(f"round {round_no}: {target.name} …", file=sys.stderr, flush=True)
                rounds.append(await measure(target, url, args))
        results = [
            max((m for m in rounds if m.name == t.name), key=lambda m: m.per_second) for t in chosen
        ]
        if not args.only or "commit" in args.only:
            print("commits …", file=sys.stderr, flush=True)
            results.append(await _measure_commits(quoted, url, args))
    finally:
        if not args.keep:
            await drop_database(url)
    report(results, args)
    return 0


def _baselines() -> list[Target]:
    return [t for t in targets(Seeded("unused", 1), "") if t.name in ("bare", "strawberry")]


async def _measure_commits(quoted: Quoted, url: str, args: argparse.Namespace) -> Measured:
    """Commits, each request once: the first checks the server, then the connections share one
    iterator of the rest."""
    budget = int(2_000 * (args.duration + args.warmup + 5))
    requests = commit_requests(quoted, budget)
    _InOrder.source = iter(requests[1:])
    target = Target("commit", "gateway.app:app_factory", requests[:1])
    return await measure(target, url, args, protocol=_InOrder)


def report(results: list[Measured], args: argparse.Namespace) -> None:
    by_name = {m.name: m for m in results}
    bare, cached = by_name.get("bare"), by_name.get("strawberry")
    print(
        f"{args.customers:,} customers, {args.connections} connections, {args.duration:g} s each;"
        f" server on core {args.server_core}, load generator on core {args.client_core}"
    )
    header = (
        f"{'app':<12}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'÷ (a)':>8}{'÷ (b)':>8}"
        f"{'CPU ms/req':>12}{'server CPU':>12}"
    )
    print(header)
    print("-" * len(header))
    for m in results:
        to_bare = f"{m.per_second / bare.per_second:.0%}" if bare else "-"
        to_cached = f"{m.per_second / cached.per_second:.0%}" if cached else "-"
        print(
            f"{m.name:<12}{m.per_second:>9,.0f}{m.p50_ms:>9.2f}{m.p99_ms:>9.2f}{to_bare:>8}"
            f"{to_cached:>8}{m.cpu_per_request_ms:>12.3f}{m.server_cpu_share:>12.0%}"
        )
    quote, commit = by_name.get("quote"), by_name.get("commit")
    if quote and cached:
        print(
            f"quote: {quote.per_second / cached.per_second:.0%} of (b) (target ≥ 60%),"
            f" p99 {quote.p99_ms:.1f} ms (target < 15)"
        )
    if commit:
        print(f"commits: {commit.per_second:,.0f}/s for distinct customers (target ≥ 1,000/s)")


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
    parser.add_argument("--database-core", type=int, default=1)
    parser.add_argument(
        "--only", nargs="+", choices=["bare", "strawberry", "quote", "commit"], help="only these"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    if min(args.customers, args.connections, args.rounds) < 1 or args.duration <= 0:
        parser.error("--customers, --connections, --rounds and --duration must be positive")
    return args


if __name__ == "__main__":
    import uvloop

    uvloop.install()
    sys.exit(asyncio.run(main(parse_args())))
