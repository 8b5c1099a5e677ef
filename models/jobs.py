"""The status writes of the job lifecycle (`domain.jobs`), for any job table.

A job table has the columns `status`, `attempts`, `error`, `created_at`, `started_at`,
`heartbeat_at` and `finished_at`. Every write is a compare-and-set naming the status and the
attempt it expects: a late copy of a job, or an attempt the periodic check has given up on,
changes nothing and learns so from the row count.

Locks on PostgreSQL. A chunk of a job's work `hold`s its job row with `FOR KEY SHARE`, which
conflicts with no `UPDATE` that leaves the primary key alone: the heartbeat (`beat`, on a
connection of its own) never waits for the work. The periodic check's writes (`requeue`,
`give_up`) pick the row with `FOR UPDATE SKIP LOCKED`, which that hold does conflict with: a
job in the middle of a chunk is skipped, never waited for, and never re-queued; and a job whose
heartbeat moved since the check read it is left alone (the write names the silence it saw).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F, Q
from tortoise.models import Model
from tortoise.transactions import in_transaction

from domain.jobs import UNFINISHED, JobStatus
from models import sql

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
    *,
    add: Mapping[str, int] | None = None,
    **progress: Any,
) -> bool:
    """A sign of life (and progress) from attempt `attempt`, in a statement of its own: columns
    set to `progress`, and counts in `add` added to theirs. False when it is no longer the
    running attempt."""
    counts = {column: F(column) + amount for column, amount in (add or {}).items()}
    query = model.filter(id=job_id, status=JobStatus.RUNNING, attempts=attempt)
    return await query.update(heartbeat_at=now, **progress, **counts) == 1


async def hold(model: JobModel, job_id: UUID, attempt: int, db: BaseDBAsyncClient) -> bool:
    """In a chunk's transaction `db`: whether attempt `attempt` is still the job's running
    attempt; on PostgreSQL the row stays held (`FOR KEY SHARE`) until the transaction ends, so
    that the check cannot re-queue the job under the chunk, while heartbeats go on."""
    held = sql.dialect().pick(postgres=_held_for_key_share, sqlite=_is_running)
    return await held(model, job_id, attempt, db)


async def _held_for_key_share(
    model: JobModel, job_id: UUID, attempt: int, db: BaseDBAsyncClient
) -> bool:
    table = model._meta.db_table
    statement = (
        f'SELECT 1 FROM "{table}" WHERE id = $1 AND status = $2 AND attempts = $3 FOR KEY SHARE'
    )
    return bool(await sql.fetch(db, statement, [job_id, JobStatus.RUNNING.value, attempt]))


async def _is_running(model: JobModel, job_id: UUID, attempt: int, db: BaseDBAsyncClient) -> bool:
    """SQLite has no row locks, and one writer at a time: only whether the attempt runs."""
    query = model.filter(id=job_id, status=JobStatus.RUNNING, attempts=attempt).using_db(db)
    return bool(await query.exists())


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


def _silent(cutoff: datetime) -> Q:
    """No sign of life since `cutoff`: the heartbeat, or the creation when there is none."""
    return Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)


async def silent_since(model: JobModel, cutoff: datetime, **scope: Any) -> list[Silent]:
    """Unfinished jobs (within `scope`, e.g. `schedule__paused=False`) whose last sign of life —
    the heartbeat, or the creation when there is none — is older than `cutoff`."""
    rows = await model.filter(_silent(cutoff), status__in=UNFINISHED, **scope).order_by(
        "created_at"
    )
    return [
        Silent(UUID(str(row.pk)), JobStatus(row.status), row.attempts, row)  # type: ignore[attr-defined]
        for row in rows
    ]


async def _if_still_silent(
    model: JobModel,
    job_id: UUID,
    status: JobStatus,
    attempts: int,
    cutoff: datetime,
    changes: Mapping[str, Any],
) -> bool:
    """Write `changes` to a job the check found silent, if it still is: the same status and
    attempt, no sign of life since `cutoff`, and (PostgreSQL) no chunk of its work holding the
    row, which is skipped rather than waited for."""
    async with in_transaction("default") as db:
        found = (
            await model.filter(_silent(cutoff), id=job_id, status=status, attempts=attempts)
            .select_for_update(skip_locked=True)
            .using_db(db)
            .first()
        )
        if found is None:
            return False
        await model.filter(id=job_id).using_db(db).update(**changes)
    return True


async def requeue(
    model: JobModel,
    job_id: UUID,
    status: JobStatus,
    attempts: int,
    now: datetime,
    cutoff: datetime,
    error: str | None = None,
) -> bool:
    """A job silent since `cutoff` back to QUEUED, unless something moved it or it showed a
    sign of life meanwhile. The heartbeat is set to now, so that the next check leaves it
    alone while it waits in the queue."""
    changes: dict[str, Any] = {"status": JobStatus.QUEUED, "heartbeat_at": now}
    if error is not None:
        changes["error"] = error
    return await _if_still_silent(model, job_id, status, attempts, cutoff, changes)


async def give_up(
    model: JobModel,
    job_id: UUID,
    status: JobStatus,
    attempts: int,
    now: datetime,
    cutoff: datetime,
    error: str,
) -> bool:
    """A job silent since `cutoff` that has used all its attempts: FAILED (unless it moved or
    showed a sign of life meanwhile)."""
    changes = {
        "status": JobStatus.FAILED,
        "error": error,
        "finished_at": now,
        "heartbeat_at": now,
    }
    return await _if_still_silent(model, job_id, status, attempts, cutoff, changes)


async def queued_count(model: JobModel) -> int:
    """How many jobs of the table wait in the queue (QUEUED)."""
    return await model.filter(status=JobStatus.QUEUED).count()


async def row(model: JobModel, job_id: UUID) -> Any:
    """The job's row read back by its id, as its kind's `enqueue` takes it: when a stopping
    process puts its job back in the queue at once (`services.lifecycle`). Off every hot path:
    one indexed read per interrupted attempt. A job that is gone raises the ORM's
    `DoesNotExist` (the caller leaves the job to the periodic check)."""
    return await model.get(id=job_id)
