"""Job functions, shared by the arq worker and the in-process runner.

Jobs take ids, never objects, and are idempotent: the database decides what is left to do.
`ctx["dispatcher"]` is how a job enqueues further work.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from services import schedules, wallet
from services.jobs import Dispatcher

log = logging.getLogger(__name__)


async def run_wallet_operation(ctx: dict[str, Any], operation_id: str) -> None:
    await wallet.run_operation(UUID(operation_id))


async def run_schedule_period(ctx: dict[str, Any], schedule_id: str, period: str) -> None:
    await schedules.run_period(UUID(schedule_id), int(period))


async def check(dispatcher: Dispatcher, now: datetime) -> None:
    """Record due schedule periods and enqueue their runs; resume operations whose job died."""
    runs = await schedules.queue_due_runs(dispatcher, now)
    resumed = await wallet.resume_stale_operations(dispatcher, now)
    if runs or resumed:
        log.info("tick: %d schedule runs enqueued, %d operations resumed", runs, resumed)


async def tick(ctx: dict[str, Any]) -> None:
    """The periodic check, every minute (arq cron) or every 30 s (in-process)."""
    await check(ctx["dispatcher"], wallet.now_utc())


JOBS: dict[str, Callable[..., Awaitable[None]]] = {
    "run_wallet_operation": run_wallet_operation,
    "run_schedule_period": run_schedule_period,
}
