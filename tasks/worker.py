"""The arq worker that `gocrm worker` runs.

The command's composition root hands `worker_options` the runtime's start and stop; nothing
here reads settings. The periodic check runs every `check_seconds` on whichever worker takes
the tick (arq makes cron ticks unique across workers); what it enqueues carries deterministic
job ids. A tick that a worker takes while its previous check is still running is skipped, so
checks never pile up on a worker's job slots.

Redis only carries the queue; the database says what is left to do. So a job that cannot be
queued (Redis down or restarting) stays QUEUED in the database and the periodic check queues it
again, and a worker rides out a Redis restart instead of exiting (see `riding_out_outages`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from signal import Signals
from typing import Any, TypeVar

from arq import cron
from arq.connections import ArqRedis, RedisSettings
from arq.worker import Worker, func
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from services.jobs import Dispatcher
from services.runtime import Runtime
from tasks.jobs import (
    deliver_webhooks,
    run_expiry,
    run_schedule_period,
    run_sync,
    run_wallet_operation,
    tick,
)

log = logging.getLogger(__name__)


T = TypeVar("T")

# How long a gateway waits for Redis when it queues a job: a request never waits longer.
CONNECT_TIMEOUT_SECONDS = 1.0
COMMAND_TIMEOUT_SECONDS = 2.0
# The longest one periodic check may run before arq cancels it (it takes milliseconds).
CHECK_TIMEOUT_SECONDS = 60
# A worker retries a Redis command that lost its connection, backing off to one try every
# `OUTAGE_BACKOFF_CAP` seconds, for `OUTAGE_SECONDS` before it gives up (and exits).
OUTAGE_BACKOFF_CAP = 2.0
OUTAGE_SECONDS = 120.0


class ArqDispatcher:
    """Queues jobs on arq's Redis. A job that cannot be queued is logged and left QUEUED in the
    database, where the periodic check finds it: the caller's request or job goes on."""

    def __init__(self, redis: ArqRedis, queue_name: str) -> None:
        self.redis = redis
        self.queue_name = queue_name

    async def enqueue(self, function: str, *args: str, job_id: str) -> None:
        try:
            await self.redis.enqueue_job(
                function, *args, _job_id=job_id, _queue_name=self.queue_name
            )
        except (RedisError, OSError) as error:
            log.warning(
                "could not queue %s on Redis (%s); it stays QUEUED in the database and the"
                " periodic check queues it again",
                job_id,
                error,
            )


def dispatcher_pool(url: str) -> ArqRedis:
    """The gateway's pool on `url`. It connects on first use, and again after Redis restarts,
    so that a gateway starts and serves while Redis is down (`/readyz` reports it)."""
    pool: ArqRedis = ArqRedis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        socket_timeout=COMMAND_TIMEOUT_SECONDS,
    )
    return pool


class OutageRetry(Retry):
    """redis-py's retry, for `give_up_after` seconds rather than a number of times, saying in
    the log when Redis went away and when it came back."""

    def __init__(self, backoff: ExponentialBackoff, give_up_after: float) -> None:
        super().__init__(backoff, -1)
        self.give_up_after = give_up_after

    async def call_with_retry(
        self, do: Callable[[], Awaitable[T]], fail: Callable[[RedisError], Any]
    ) -> T:
        failures = 0
        give_up_at = 0.0
        while True:
            try:
                result = await do()
            except self._supported_errors as error:
                await fail(error)
                now = time.monotonic()
                if not failures:
                    log.warning("Redis is unreachable (%s); retrying", error)
                    give_up_at = now + self.give_up_after
                failures += 1
                if now >= give_up_at:
                    raise
                await asyncio.sleep(self._backoff.compute(failures))
                continue
            if failures:
                log.info("Redis is reachable again")
            return result


def riding_out_outages(settings: RedisSettings) -> RedisSettings:
    """`settings` with every command retried through a Redis restart: arq's worker would
    otherwise exit at its next poll. An outage longer than `OUTAGE_SECONDS` still stops it."""
    return dataclasses.replace(
        settings,
        retry=OutageRetry(ExponentialBackoff(cap=OUTAGE_BACKOFF_CAP, base=0.1), OUTAGE_SECONDS),
        # OSError: a refused connection, which redis-py raises as it is while reconnecting.
        retry_on_error=[RedisConnectionError, RedisTimeoutError, OSError],
    )


class GracefulWorker(Worker):
    """arq's worker, stopping as a deploy needs: on SIGTERM (or SIGINT) it takes no new job,
    tells the running ones to end after the chunk in hand (`Runtime.stop`), gives them
    `job_completion_wait` seconds and cancels what is left. An ended or cancelled attempt
    leaves its job to the next worker: the chunks it committed stay done."""

    def handle_sig_wait_for_completion(self, signum: Signals) -> None:
        runtime = self.ctx.get("runtime")
        if isinstance(runtime, Runtime):
            runtime.stop.request()
        super().handle_sig_wait_for_completion(signum)


def worker_options(
    *,
    start: Callable[[Dispatcher], Awaitable[Runtime]],
    stop: Callable[[], Awaitable[None]],
    redis_settings: RedisSettings,
    queue_name: str,
    check_seconds: int,
    job_timeout_seconds: int,
    max_jobs: int,
    shutdown_grace_seconds: int = 20,
) -> dict[str, Any]:
    """The keyword arguments of `GracefulWorker`. `start` opens what the runtime holds, given
    the dispatcher that enqueues on this worker's Redis; `stop` closes it."""

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["runtime"] = await start(ArqDispatcher(ctx["redis"], queue_name))

    async def shutdown(ctx: dict[str, Any]) -> None:
        await stop()

    # Our lifecycle retries failed attempts itself (`services.lifecycle`): a job that raises
    # is a bug, and arq should not run it again on top.
    functions = [
        func(run_wallet_operation, timeout=job_timeout_seconds, max_tries=1),
        func(run_schedule_period, timeout=job_timeout_seconds, max_tries=1),
        func(run_sync, timeout=job_timeout_seconds, max_tries=1),
        func(run_expiry, timeout=job_timeout_seconds, max_tries=1),
        func(deliver_webhooks, timeout=job_timeout_seconds, max_tries=1),
    ]
    seconds = set(range(0, 60, check_seconds))
    checking = asyncio.Lock()

    async def tick_unless_checking(ctx: dict[str, Any]) -> None:
        if checking.locked():
            log.info("the periodic check is still running on this worker; this tick is skipped")
            return
        async with checking:
            await tick(ctx)

    check = cron(
        tick_unless_checking,
        name="tick",
        second=seconds,
        run_at_startup=True,
        timeout=CHECK_TIMEOUT_SECONDS,
    )
    return {
        "functions": functions,
        "cron_jobs": [check],
        "on_startup": startup,
        "on_shutdown": shutdown,
        "redis_settings": riding_out_outages(redis_settings),
        "queue_name": queue_name,
        "keep_result": 60,
        "max_jobs": max_jobs,
        "job_completion_wait": shutdown_grace_seconds,
    }
