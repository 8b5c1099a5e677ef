"""The arq worker: `gocrm worker` runs `WorkerSettings`.

The tick runs every minute on whichever worker takes it (arq makes cron ticks unique across
workers); what it enqueues carries deterministic job ids.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from arq import cron
from arq.connections import ArqRedis, RedisSettings
from arq.worker import func

from models.db import close_database, open_database
from settings import load_settings
from tasks.jobs import run_schedule_period, run_wallet_operation, tick

log = logging.getLogger(__name__)

JOB_TIMEOUT_SECONDS = 3600


class ArqDispatcher:
    def __init__(self, redis: ArqRedis, queue_name: str | None = None) -> None:
        self.redis = redis
        self.queue_name = queue_name or load_settings().queue_name

    async def enqueue(self, function: str, *args: str, job_id: str) -> None:
        await self.redis.enqueue_job(function, *args, _job_id=job_id, _queue_name=self.queue_name)


async def startup(ctx: dict[str, Any]) -> None:
    await open_database(load_settings())
    ctx["dispatcher"] = ArqDispatcher(ctx["redis"])


async def shutdown(ctx: dict[str, Any]) -> None:
    await close_database()


def redis_settings() -> RedisSettings:
    url = load_settings().redis_url
    return RedisSettings.from_dsn(url) if url else RedisSettings()


class WorkerSettings:
    functions: ClassVar[list[Any]] = [
        func(run_wallet_operation, timeout=JOB_TIMEOUT_SECONDS, max_tries=10),
        func(run_schedule_period, timeout=JOB_TIMEOUT_SECONDS, max_tries=10),
    ]
    cron_jobs: ClassVar[list[Any]] = [cron(tick, second=0, run_at_startup=True, timeout=300)]
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = redis_settings()
    queue_name = load_settings().queue_name
    keep_result = 60
    max_jobs = 4
