"""Job functions, shared by the arq worker and the in-process runner.

Jobs take ids, never objects, and are idempotent: the database decides what is left to do.
`ctx["runtime"]` is the process's runtime (`services.runtime.Runtime`): the clock, the
dispatcher through which a job enqueues further work, the upstream clients.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from services import checkout, expiry, idempotency, schedules, sync, wallet, webhooks
from services.jobs import (
    DELIVER_WEBHOOKS,
    RUN_EXPIRY,
    RUN_SCHEDULE_PERIOD,
    RUN_SYNC,
    RUN_WALLET_OPERATION,
    enqueue_webhooks,
)
from services.lifecycle import JobKind, queued, resume_silent
from services.runtime import Runtime

log = logging.getLogger(__name__)

# Every kind of job the periodic check watches.
KINDS: tuple[JobKind, ...] = (
    wallet.OPERATIONS,
    schedules.SCHEDULE_RUNS,
    sync.SYNC_RUNS,
    expiry.EXPIRY_RUNS,
)


async def run_wallet_operation(ctx: dict[str, Any], operation_id: str) -> None:
    await wallet.run_operation(ctx["runtime"], UUID(operation_id))


async def run_schedule_period(ctx: dict[str, Any], schedule_id: str, period: str) -> None:
    await schedules.run_period(ctx["runtime"], UUID(schedule_id), int(period))


async def run_sync(ctx: dict[str, Any], sync_run_id: str) -> None:
    await sync.run_sync(ctx["runtime"], UUID(sync_run_id))


async def run_expiry(ctx: dict[str, Any], expiry_run_id: str) -> None:
    await expiry.run_expiry(ctx["runtime"], UUID(expiry_run_id))


async def deliver_webhooks(ctx: dict[str, Any]) -> None:
    taken, sent = await webhooks.deliver(ctx["runtime"])
    if taken or sent:
        log.info("webhooks: %d events taken from the outbox, %d attempts made", taken, sent)


async def check(runtime: Runtime) -> None:
    """Record due schedule periods and enqueue their runs; queue the periodic syncs when they
    are on; make and enqueue the day's expiry run of every location with credits whose expiry
    day has ended; queue again every job whose heartbeat has stopped (or that waits for a
    retry), or fail it after its last attempt; release the cashback whose hold has ended;
    forget idempotency keys past their retention; purge mirror rows removed upstream past
    theirs; write the day's `credits.expiring` webhook notices; queue a run of the webhook job
    when it has work."""
    runs = await schedules.queue_due_runs(runtime)
    syncs = await sync.queue_periodic_syncs(runtime)
    expiries = await expiry.queue_runs(runtime)
    await sync.purge_removed(runtime)
    resumed = {kind.name: await resume_silent(kind, runtime) for kind in KINDS}
    released = await checkout.release_held_cashback(runtime)
    await idempotency.purge_expired_keys(runtime)
    await webhooks.emit_expiring(runtime)
    if await webhooks.has_work(runtime):
        await enqueue_webhooks(runtime.dispatcher, runtime.clock())
    if runs or syncs or expiries or released or any(resumed.values()):
        log.info(
            "check: %d schedule runs, %d periodic syncs and %d expiry runs enqueued; %d held "
            "cashbacks released; resumed %s",
            runs,
            syncs,
            expiries,
            released,
            ", ".join(f"{n} × {name}" for name, n in resumed.items() if n) or "none",
        )


async def queue_depth() -> dict[str, int]:
    """QUEUED jobs per kind of job, by the name the logs use ("wallet operation")."""
    return {kind.name: await queued(kind) for kind in KINDS}


async def tick(ctx: dict[str, Any]) -> None:
    """The periodic check (arq cron, or the in-process ticker)."""
    await check(ctx["runtime"])


JOBS: dict[str, Callable[..., Awaitable[None]]] = {
    RUN_WALLET_OPERATION: run_wallet_operation,
    RUN_SCHEDULE_PERIOD: run_schedule_period,
    RUN_SYNC: run_sync,
    RUN_EXPIRY: run_expiry,
    DELIVER_WEBHOOKS: deliver_webhooks,
}
