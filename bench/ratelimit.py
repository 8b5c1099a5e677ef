"""What a key's rate-limit check costs a request, in this process and through Redis.

Runs `KeyRateLimits.wait` N times for one key and prints microseconds per check against two
baselines measured in the same run:

- (a) `noop`: awaiting a coroutine that does nothing (what any async check costs at least);
- (b) `ping`: one Redis `PING` round trip on the same connection pool;
- `local`: the in-process bucket, admitting (a limit the run never reaches);
- `local, refusing`: the same past its burst, every check refused;
- `redis`: the shared bucket (the GCRA script by `EVALSHA`), admitting; and the commands one
  check sent to Redis, from `INFO commandstats` (the script's own HMGET, HSET and PEXPIRE run
  inside Redis and are not sent).

Each row also gives the CPU a check costs this process (a Redis check mostly waits, and the
process serves other requests meanwhile); the till's quote costs about 750 µs of CPU
(`bench.quote`), and the last column puts a check next to it.

    python -m bench.ratelimit [--checks N] [--redis-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from uuid import uuid4

from redis.asyncio import Redis

from domain.access import Principal, Role
from gateway.ratelimit import KeyRateLimits
from settings import RateLimit

QUOTE_CPU_US = 750.0
UNREACHED = RateLimit(1_000_000_000, 1_000_000_000)


def _till() -> Principal:
    return Principal(location_id=uuid4(), api_key_id=uuid4(), api_key_name="till", role=Role.POS)


async def _per_call_us(call: Callable[[], Awaitable[object]], count: int) -> tuple[float, float]:
    """Wall-clock and CPU microseconds per call."""
    for _ in range(min(count, 1_000)):  # warm up
        await call()
    began, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        await call()
    return (
        (time.perf_counter() - began) / count * 1e6,
        (time.process_time() - cpu) / count * 1e6,
    )


# Commands a script runs inside Redis, counted in `INFO commandstats` like the ones sent.
IN_SCRIPT = ("cmdstat_hmget", "cmdstat_hset", "cmdstat_pexpire")


async def _commands_sent(redis: Redis) -> int:
    """Commands the server has run for its clients so far, not counting those a script ran."""
    stats = await redis.info("commandstats")
    return sum(
        int(value["calls"])
        for name, value in stats.items()
        if isinstance(value, dict) and name not in IN_SCRIPT
    )


async def main(checks: int, redis_url: str) -> None:
    async def noop() -> None:
        return None

    rows: list[tuple[str, tuple[float, float], str]] = [
        ("(a) noop", await _per_call_us(noop, checks), "")
    ]

    local = KeyRateLimits({Role.POS: UNREACHED})
    till = _till()
    rows.append(("local", await _per_call_us(lambda: local.wait(till), checks), ""))
    refusing = KeyRateLimits({Role.POS: RateLimit(1, 1)})
    flooder = _till()
    await refusing.wait(flooder)
    rows.append(("local, refusing", await _per_call_us(lambda: refusing.wait(flooder), checks), ""))

    redis: Redis = Redis.from_url(redis_url)
    try:
        shared = KeyRateLimits({Role.POS: UNREACHED}, redis_timeout=1.0)
        shared.share_through(redis)
        await shared.prepare()
        remote = _till()
        trips = max(1_000, checks // 20)
        rows.append(("(b) ping", await _per_call_us(redis.ping, trips), ""))
        before = await _commands_sent(redis)
        per_check = await _per_call_us(lambda: shared.wait(remote), trips)
        # (less the INFO that read `before`)
        sent = (await _commands_sent(redis) - before - 1) / (trips + min(trips, 1_000))
        rows.append(("redis", per_check, f"{sent:.2f} commands/check"))
        await redis.delete(f"gocrm:rate:{remote.api_key_id}")
    finally:
        await redis.aclose()

    noop_us = rows[0][1][0]
    ping_us = next(us for name, (us, _), _ in rows if name == "(b) ping")
    print(f"{checks:,} checks in this process, {max(1_000, checks // 20):,} through Redis")
    header = (
        f"{'check':<18}{'µs/check':>10}{'÷ (a)':>8}{'÷ (b)':>8}{'CPU µs':>9}"
        f"{'CPU of a quote':>16}  note"
    )
    print(header)
    print("-" * len(header))
    for name, (us, cpu), note in rows:
        print(
            f"{name:<18}{us:>10.2f}{us / noop_us:>8.1f}{us / ping_us:>8.2f}{cpu:>9.2f}"
            f"{cpu / QUOTE_CPU_US:>16.1%}  {note}"
        )


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=200_000)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args()
    asyncio.run(main(args.checks, args.redis_url))


if __name__ == "__main__":
    run()
