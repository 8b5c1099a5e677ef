"""The arq worker that `gocrm worker` runs.

The command's composition root hands `worker_options` the runtime's start and stop; nothing
here reads settings. The periodic check runs every `check_seconds` on whichever worker takes
the tick (arq makes cron ticks unique across workers); what it enqueues carries deterministic
job ids.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from arq import cron
from arq.connections import ArqRedis, RedisSettings
from arq.worker import func

from services.jobs import Dispatcher
from services.runtime import Runtime
from tasks.jobs import run_schedule_period, run_sync, run_wallet_operation, tick

log = logging.getLogger(__name__)


class ArqDispatcher:
    def __init__(self, redis: ArqRedis, queue_name: str) -> None:
        self.redis = redis
        self.queue_name = queue_name

    async def enqueue(self, function: str, *args: str, job_id: str) -> None:
        await self.redis.enqueue_job(function, *args, _job_id=job_id, _queue_name=self.queue_name)


def worker_options(
    *,
    start: Callable[[Dispatcher], Awaitable[Runtime]],
    stop: Callable[[], Awaitable[None]],
    redis_settings: RedisSettings,
    queue_name: str,
    check_seconds: int,
    job_timeout_seconds: int,
    max_jobs: int,
) -> dict[str, Any]:
    """The keyword arguments of `arq.Worker`. `start` opens what the runtime holds, given the
    dispatcher that enqueues on this worker's Redis; `stop` closes it."""

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
    ]
    seconds = set(range(0, 60, check_seconds))
    return {
        "functions": functions,
        "cron_jobs": [cron(tick, second=seconds, run_at_startup=True, timeout=300)],
        "on_startup": startup,
        "on_shutdown": shutdown,
        "redis_settings": redis_settings,
        "queue_name": queue_name,
        "keep_result": 60,
        "max_jobs": max_jobs,
    }
