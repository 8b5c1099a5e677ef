"""The status writes of the job lifecycle (`domain.jobs`), for any job table.

A job table has the columns `status`, `attempts`, `error`, `created_at`, `started_at`,
`heartbeat_at` and `finished_at`. Every write is a compare-and-set naming the status and the
attempt it expects: a late copy of a job, or an attempt the periodic check has given up on,
changes nothing and learns so from the row count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.models import Model

from domain.jobs import UNFINISHED, JobStatus

JobModel = type[Model]


async def claim(
    model: JobModel, job_id: UUID, *, attempts: int, now: datetime, **columns: Any
) -> bool:
    """QUEUED with `attempts` made → RUNNING with one more. The first claim sets `started_at`."""
    started = {"started_at": now} if attempts == 0 else {}
    updated = await model.filter(id=job_id, status=JobStatus.QUEUED, attempts=attempts).update(
        status=JobStatus.RUNNING, attempts=attempts + 1, heartbeat_at=now, **started, **columns
    )
    return updated == 1


async def beat(
    model: JobModel,
    job_id: UUID,
    attempt: int,
    now: datetime,
    db: BaseDBAsyncClient | None = None,
    **progress: Any,
) -> bool:
    """A sign of life (and progress) from attempt `attempt`; False when it is no longer the
    running attempt."""
    query = model.filter(id=job_id, status=JobStatus.RUNNING, attempts=attempt)
    if db is not None:
        query = query.using_db(db)
    return await query.update(heartbeat_at=now, **progress) == 1


async def settle(
    model: JobModel,
    job_id: UUID,
    attempt: int,
    status: JobStatus,
    now: datetime,
    db: BaseDBAsyncClient | None = None,
    **columns: Any,
) -> bool:
    """How attempt `attempt` ended: SUCCEEDED, FAILED, or QUEUED to be retried."""
    query = model.filter(id=job_id, status=JobStatus.RUNNING, attempts=attempt)
    if db is not None:
        query = query.using_db(db)
    finished = now if status in (JobStatus.SUCCEEDED, JobStatus.FAILED) else None
    updated = await query.update(status=status, heartbeat_at=now, finished_at=finished, **columns)
    return updated == 1


@dataclass(frozen=True, slots=True)
class Silent:
    """An unfinished job with no sign of life since the cutoff."""

    id: UUID
    status: JobStatus
    attempts: int
    row: Any


async def silent_since(model: JobModel, cutoff: datetime, **scope: Any) -> list[Silent]:
    """Unfinished jobs (within `scope`, e.g. `schedule__paused=False`) whose last sign of life —
    the heartbeat, or the creation when there is none — is older than `cutoff`."""
    quiet = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)
    rows = await model.filter(quiet, status__in=UNFINISHED, **scope).order_by("created_at")
    return [
        Silent(UUID(str(row.pk)), JobStatus(row.status), row.attempts, row)  # type: ignore[attr-defined]
        for row in rows
    ]


async def requeue(
    model: JobModel,
    job_id: UUID,
    status: JobStatus,
    attempts: int,
    now: datetime,
    error: str | None = None,
) -> bool:
    """A silent job back to QUEUED, unless something else moved it meanwhile. The heartbeat
    is set to now, so that the next check leaves it alone while it waits in the queue."""
    changes: dict[str, Any] = {"status": JobStatus.QUEUED, "heartbeat_at": now}
    if error is not None:
        changes["error"] = error
    updated = await model.filter(id=job_id, status=status, attempts=attempts).update(**changes)
    return updated == 1


async def give_up(
    model: JobModel, job_id: UUID, status: JobStatus, attempts: int, now: datetime, error: str
) -> bool:
    """A silent job that has used all its attempts: FAILED."""
    updated = await model.filter(id=job_id, status=status, attempts=attempts).update(
        status=JobStatus.FAILED, error=error, finished_at=now, heartbeat_at=now
    )
    return updated == 1


async def queued_count(model: JobModel) -> int:
    """How many jobs of the table wait in the queue (QUEUED)."""
    return await model.filter(status=JobStatus.QUEUED).count()
