"""How services hand work to the background: a dispatcher the entry point provides.

The gateway and the worker give an arq-backed dispatcher when `REDIS_URL` is set, and an
in-process one otherwise; both run the same job functions in `tasks/`. Job ids are deterministic,
so enqueuing the same work twice while it is pending is a no-op; the jobs are idempotent anyway,
and each follows the lifecycle of `services.lifecycle`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

RUN_WALLET_OPERATION = "run_wallet_operation"
RUN_SCHEDULE_PERIOD = "run_schedule_period"
RUN_SYNC = "run_sync"
RUN_EXPIRY = "run_expiry"
DELIVER_WEBHOOKS = "deliver_webhooks"


class Dispatcher(Protocol):
    async def enqueue(self, function: str, *args: str, job_id: str) -> None: ...


def operation_job_id(operation_id: UUID, attempts: int) -> str:
    """Job ids name the attempts made so far: a retry or a resumed job gets a new id, since a
    dead job's id may stay reserved in the queue until it times out."""
    return f"wallet-operation:{operation_id}:{attempts}"


def schedule_job_id(schedule_id: UUID, period: int, attempts: int) -> str:
    return f"schedule-run:{schedule_id}:{period}:{attempts}"


def sync_job_id(sync_run_id: UUID, attempts: int) -> str:
    return f"sync-run:{sync_run_id}:{attempts}"


def expiry_job_id(expiry_run_id: UUID, attempts: int) -> str:
    return f"expiry-run:{expiry_run_id}:{attempts}"


async def enqueue_operation(dispatcher: Dispatcher, operation_id: UUID, *, attempts: int) -> None:
    await dispatcher.enqueue(
        RUN_WALLET_OPERATION, str(operation_id), job_id=operation_job_id(operation_id, attempts)
    )


async def enqueue_schedule_period(
    dispatcher: Dispatcher, schedule_id: UUID, period: int, *, attempts: int
) -> None:
    await dispatcher.enqueue(
        RUN_SCHEDULE_PERIOD,
        str(schedule_id),
        str(period),
        job_id=schedule_job_id(schedule_id, period, attempts),
    )


async def enqueue_sync(dispatcher: Dispatcher, sync_run_id: UUID, *, attempts: int) -> None:
    await dispatcher.enqueue(RUN_SYNC, str(sync_run_id), job_id=sync_job_id(sync_run_id, attempts))


async def enqueue_expiry(dispatcher: Dispatcher, expiry_run_id: UUID, *, attempts: int) -> None:
    await dispatcher.enqueue(
        RUN_EXPIRY, str(expiry_run_id), job_id=expiry_job_id(expiry_run_id, attempts)
    )


async def enqueue_webhooks(dispatcher: Dispatcher, now: datetime) -> None:
    """A run of the webhook job (outbox to deliveries, then the due deliveries). Runs that
    overlap are harmless: each delivery's attempt is claimed in the database."""
    await dispatcher.enqueue(DELIVER_WEBHOOKS, job_id=f"webhooks:{now.timestamp():.3f}")
