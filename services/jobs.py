"""How services hand work to the background: a dispatcher the entry point provides.

The gateway and the worker give an arq-backed dispatcher when `REDIS_URL` is set, and an
in-process one otherwise; both run the same job functions in `tasks/`. Job ids are deterministic,
so enqueuing the same work twice while it is pending is a no-op; the jobs are idempotent anyway.
"""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

RUN_WALLET_OPERATION = "run_wallet_operation"
RUN_SCHEDULE_PERIOD = "run_schedule_period"


class Dispatcher(Protocol):
    async def enqueue(self, function: str, *args: str, job_id: str) -> None: ...


def _suffix(resume: str | None) -> str:
    return f":resume-{resume}" if resume else ""


def operation_job_id(operation_id: UUID, resume: str | None = None) -> str:
    return f"wallet-operation:{operation_id}{_suffix(resume)}"


def schedule_job_id(schedule_id: UUID, period: int, resume: str | None = None) -> str:
    return f"schedule-run:{schedule_id}:{period}{_suffix(resume)}"


async def enqueue_operation(
    dispatcher: Dispatcher, operation_id: UUID, resume: str | None = None
) -> None:
    """`resume` names a stale state (its last heartbeat) when a dead job's work is taken over:
    a new job id, since the dead job's id may stay reserved in the queue until it times out."""
    await dispatcher.enqueue(
        RUN_WALLET_OPERATION, str(operation_id), job_id=operation_job_id(operation_id, resume)
    )


async def enqueue_schedule_period(
    dispatcher: Dispatcher, schedule_id: UUID, period: int, resume: str | None = None
) -> None:
    await dispatcher.enqueue(
        RUN_SCHEDULE_PERIOD,
        str(schedule_id),
        str(period),
        job_id=schedule_job_id(schedule_id, period, resume),
    )
