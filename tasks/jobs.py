"""Job functions, shared by the arq worker and the in-process runner.

Jobs take ids, never objects, and are idempotent: the database decides what is left to do.
`ctx["dispatcher"]` is how a job enqueues further work.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from services import schedules, wallet
from services.jobs import Dispatcher, enqueue_operation

log = logging.getLogger(__name__)


async def run_wallet_operation(ctx: dict[str, Any], operation_id: str) -> None:
    await wallet.run_operation(UUID(operation_id))


async def run_schedule_period(ctx: dict[str, Any], schedule_id: str, period: str) -> None:
    await schedules.run_period(UUID(schedule_id), int(period))


async def tick(ctx: dict[str, Any]) -> None:
    """Every minute: record due schedule periods and enqueue their runs; re-enqueue operations
    whose job died or was lost."""
    dispatcher: Dispatcher = ctx["dispatcher"]
    now = wallet.now_utc()
    runs = await schedules.queue_due_runs(dispatcher, now)
    stale = await wallet.stale_operations(now)
    for operation_id in stale:
        await enqueue_operation(dispatcher, operation_id)
    if runs or stale:
        log.info("tick: %d schedule runs enqueued, %d operations resumed", runs, len(stale))


JOBS: dict[str, Callable[..., Awaitable[None]]] = {
    "run_wallet_operation": run_wallet_operation,
    "run_schedule_period": run_schedule_period,
}
