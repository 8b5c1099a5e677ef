"""How long `{ viewer }` waits while a large bulk operation runs in-process on SQLite.

Seeds one location with N customers in a fresh SQLite file (not measured), then, through the
real app with jobs in-process (no `REDIS_URL`):

- idle: `{ viewer }` R times with nothing else running;
- bulk: ADD 1.00 to every customer (one bulk operation, queued and run in-process), and
  `{ viewer }` every `--interval` seconds until the operation has finished;
- catch-up: a daily schedule for a group of `--members` customers with `--periods` periods
  due (written directly, as a schedule left behind by a long outage), the tick enqueuing a job
  per period, and `{ viewer }` as above until every period has run.

It prints p50, p99 and the maximum of each, and how long the jobs took.

    python -m bench.inprocess [--customers N] [--members M] [--periods P] [--interval S]
                              [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from gateway.app import create_app
from gateway.runtime import migrate, start_database, stop_database
from services import access, schedules
from services.seeding import overdue_schedule, seed_customers
from settings import Settings
from tasks.inprocess import InProcessDispatcher

VIEWER = "{ viewer { location { id } } }"
CREDIT_ALL = """
mutation {
  setPromotionalCredits(input: {target: {allCustomers: true}, operation: ADD, amount: "1.00"}) {
    operation { id status total }
    errors { code field message }
  }
}"""


async def _viewer(client: httpx.AsyncClient, headers: dict[str, str]) -> float:
    began = time.perf_counter()
    response = await client.post("/graphql", json={"query": VIEWER}, headers=headers)
    elapsed = time.perf_counter() - began
    if response.status_code != 200 or "errors" in response.json():
        raise RuntimeError(f"viewer failed: {response.text}")
    return elapsed


def _summary(name: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    return (
        f"{name:>8}: n={len(ms):4d}  p50 {statistics.median(ms):7.1f} ms  "
        f"p99 {p99:7.1f} ms  max {ms[-1]:7.1f} ms"
    )


async def _while_busy(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    dispatcher: InProcessDispatcher,
    interval: float,
    start: Callable[[], Awaitable[None]],
) -> tuple[list[float], float]:
    """`{ viewer }` timings while the jobs `start` sets off run, and how long they ran."""
    began = time.perf_counter()
    await start()
    busy: list[float] = []
    drained = asyncio.ensure_future(dispatcher.drain())
    while not drained.done():
        busy.append(await _viewer(client, headers))
        await asyncio.sleep(interval)
    await drained
    return busy, time.perf_counter() - began


async def main(customers: int, members: int, periods: int, interval: float, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        settings = Settings(
            database_url=f"sqlite://{Path(directory) / 'bench.sqlite3'}",
            rate_limit_pos=None,
            rate_limit_admin=None,
        )
        await migrate(settings)
        await start_database(settings)
        try:
            location, secret = await access.create_location("Bench")
            await seed_customers(location.id, customers)
            app = create_app(settings, manage_database=False)
            dispatcher: InProcessDispatcher = app.state.dispatcher
            headers = {"Authorization": f"Bearer {secret}"}
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                idle = [await _viewer(client, headers) for _ in range(rounds)]

                async def credit_all() -> None:
                    response = await client.post(
                        "/graphql", json={"query": CREDIT_ALL}, headers=headers
                    )
                    body = response.json()
                    payload = (body.get("data") or {}).get("setPromotionalCredits")
                    if not payload or payload["errors"]:
                        raise RuntimeError(f"the credit failed: {body}")

                bulk, bulk_took = await _while_busy(
                    client, headers, dispatcher, interval, credit_all
                )
                schedule_id = await overdue_schedule(location.id, members, periods)

                async def tick() -> None:
                    await schedules.queue_due_runs(app.state.runtime, schedule_id=schedule_id)

                catch_up, catch_up_took = await _while_busy(
                    client, headers, dispatcher, interval, tick
                )
            await dispatcher.close()
        finally:
            await stop_database()
    print(f"SQLite, jobs in-process; {{ viewer }} every {interval * 1000:.0f} ms")
    print(_summary("idle", idle))
    print(_summary("bulk", bulk) + f"  ({customers:,} customers: {bulk_took:.2f} s)")
    print(
        _summary("catch-up", catch_up)
        + f"  ({periods} periods x {members:,} members: {catch_up_took:.2f} s)"
    )


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--members", type=int, default=1_000)
    parser.add_argument("--periods", type=int, default=100)
    parser.add_argument("--interval", type=float, default=0.02)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.customers, args.members, args.periods, args.interval, args.rounds))


if __name__ == "__main__":
    run()
