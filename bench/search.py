"""Customer search at scale on PostgreSQL: a four-letter term over 100,000 customers.

Seeds one location with N customers with Polish names, e-mail addresses, phones and cards
(`services.seeding.seed_people`, written as the API writes them; not measured), runs `VACUUM
ANALYZE`, then measures, in this order and in the same run:

- id lookup: `services.customers.customer_view` of a random customer (the floor: one indexed
  read);
- search: `services.customers.list_customers` with `filter.search` a four-letter term (the
  first page of 50 in name order and the total, as the console asks), the terms in turn;
- HTTP: the same page through the app in-process (`httpx.ASGITransport`: GraphQL parsing,
  validation and serialisation included, no network and no second process to pin);

the three taken in turn, call by call, so that a shared machine's changing load weighs on each
alike; then, with the trigram index dropped (and put back afterwards), id lookups and searches
in turn again.

It prints p50 and p95 of each, the machine's load, what each term matches, and the ratios
search/id lookup with and without the index (the index's gain, measured against the same
floor). The target: search p50 under 20 ms.

    python -m bench.search [--customers N] [--rounds R] [--database-url URL] [--keep]

The database in the URL (default postgres://postgres@127.0.0.1:5432/gocrm_bench_search) is
dropped, created, migrated, and dropped again at the end unless `--keep` is given.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence

import httpx

from bench.credits import asyncpg_dsn, connect, drop_database, recreate_database
from domain.paging import CustomerOrder
from domain.requests import CustomerFilter
from gateway.app import create_app
from gateway.runtime import migrate, start_database, stop_database
from services import access, customers
from services.seeding import seed_people
from settings import Settings

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/gocrm_bench_search"
# Four letters as people type them: parts of common surnames and first names, with and
# without their Polish letters, and a run of a phone's digits.
TERMS = ("kowa", "wisn", "wiśn", "zofi", "łuka", "nowa", "abło", "krol", "6001")
PAGE = 50
SEARCH = """
query($search: String!) {
  customers(first: 50, filter: {search: $search}) {
    totalCount
    edges { node { id firstName lastName phone } }
  }
}"""
TRIGRAM_INDEX = "customers_search_text_trgm"
Call = Callable[[], Awaitable[object]]


def summary(name: str, seconds: Sequence[float]) -> tuple[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    p50 = statistics.median(ms)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"{name:<22} n={len(ms):4d}  p50 {p50:7.2f} ms  p95 {p95:7.2f} ms", p50


async def interleaved(*streams: Sequence[Call]) -> list[list[float]]:
    """The time of each call of each stream, the streams taken in turn call by call, so that
    the machine's load (shared here) weighs on each of them alike."""
    times: list[list[float]] = [[] for _ in streams]
    for calls in zip(*streams, strict=True):
        for stream, call in zip(times, calls, strict=True):
            began = time.perf_counter()
            await call()
            stream.append(time.perf_counter() - began)
    return times


async def main(args: argparse.Namespace) -> int:
    url = args.database_url
    settings = Settings(database_url=url, rate_limit_pos=None, rate_limit_admin=None)
    await recreate_database(url)
    await migrate(settings)
    await start_database(settings)
    conn = await connect(asyncpg_dsn(url))
    try:
        location, secret = await access.create_location("Bench")
        print(f"seeding {args.customers:,} customers …", file=sys.stderr, flush=True)
        await seed_people(location.id, args.customers)
        await conn.execute("VACUUM ANALYZE customers")
        page = await customers.list_customers(location.id, None, 200, None)
        ids = [str(c.id) for c in page.items]
        terms = [TERMS[n % len(TERMS)] for n in range(args.rounds)]
        rng = random.Random(1)
        picked = [rng.choice(ids) for _ in range(args.rounds)]

        def search(term: str) -> Call:
            criteria = CustomerFilter(search=term)
            return lambda: customers.list_customers(
                location.id, criteria, PAGE, None, order=CustomerOrder.NAME_ASC
            )

        def lookup(customer_id: str) -> Call:
            return lambda: customers.customer_view(location.id, customer_id)

        matches = {
            t: (
                await customers.list_customers(location.id, CustomerFilter(search=t), 1, None)
            ).total_count
            for t in TERMS
        }
        load_before = os.getloadavg()[0]
        app = create_app(settings, manage_database=False)
        headers = {"Authorization": f"Bearer {secret}"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

            def over_http(term: str) -> Call:
                body = {"query": SEARCH, "variables": {"search": term}}
                return lambda: client.post("/graphql", json=body, headers=headers)

            answer = await client.post(
                "/graphql", json={"query": SEARCH, "variables": {"search": "kowa"}}, headers=headers
            )
            if answer.status_code != 200 or "errors" in answer.json():
                raise RuntimeError(f"the search failed: {answer.text}")
            id_times, search_times, http_times = await interleaved(
                [lookup(i) for i in picked],
                [search(t) for t in terms],
                [over_http(t) for t in terms],
            )

        await conn.execute(f'DROP INDEX "{TRIGRAM_INDEX}"')
        await conn.execute("ANALYZE customers")
        quarter = max(4, args.rounds // 4)
        id_times_2, unindexed = await interleaved(
            [lookup(i) for i in picked[:quarter]], [search(t) for t in terms[:quarter]]
        )
        await conn.execute(
            f'CREATE INDEX "{TRIGRAM_INDEX}" ON "customers" USING gin ("search_text" gin_trgm_ops)'
        )
        load_after = os.getloadavg()[0]
    finally:
        await conn.close()
        await stop_database()
        if not args.keep:
            await drop_database(url)

    print(f"PostgreSQL, {args.customers:,} customers, first page of {PAGE} in name order + total")
    cores = os.cpu_count()
    print(f"load average (1 min) {load_before:.1f} before, {load_after:.1f} after, {cores} cores")
    print("terms: " + ", ".join(f"{t!r} {n:,}" for t, n in matches.items()))
    line, id_p50 = summary("id lookup (service)", id_times)
    print(line)
    line, search_p50 = summary("search (service)", search_times)
    print(line)
    print(summary("search (HTTP, ASGI)", http_times)[0])
    line, id_p50_2 = summary("id lookup, no index", id_times_2)
    print(line)
    line, unindexed_p50 = summary("search, no index", unindexed)
    print(line)
    indexed_ratio, unindexed_ratio = search_p50 / id_p50, unindexed_p50 / id_p50_2
    print(f"ratio search/id lookup              {indexed_ratio:.1f}x")
    print(f"ratio search/id lookup, no index    {unindexed_ratio:.1f}x")
    print(f"so the index makes search           {unindexed_ratio / indexed_ratio:.1f}x faster")
    verdict = "met" if search_p50 < 20 else "MISSED"
    print(f"target search p50 < 20 ms: {verdict}")
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=200, help="searches (and lookups) timed")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    if args.rounds < 4 or args.customers < 200:
        parser.error("--rounds must be at least 4 and --customers at least 200")
    return args


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse_args())))
