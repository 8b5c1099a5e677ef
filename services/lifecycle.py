"""The one lifecycle every background job follows (see `domain.jobs`).

`run_attempt` claims a QUEUED job, keeps its heartbeat going while the work runs, and records
how the attempt ended. `resume_silent` is the periodic check: it puts jobs whose heartbeat has
stopped back in the queue, and fails those that have used all their attempts. Wallet
operations, schedule runs, sync runs and expiry runs all go through these two functions; what
differs is the work, given as a function.

Work is done in chunks, each a short transaction of its own that starts with `Attempt.hold`:
an attempt that is no longer the job's writes nothing more, and while a chunk is in hand the
check cannot re-queue its job. Progress is recorded after the chunk commits
(`Attempt.beat`), and the heartbeat beats in a statement of its own: no lock that the work
takes can hold it up, so a job that is alive never looks silent. The check, for its part,
never waits for a job: it skips a job whose row is held, and re-queues a job only if it is
still as silent as when the check read it.

A process that is stopping (`Runtime.stop`) lets the chunk in hand commit and then ends the
attempt (`Attempt.stop_if_asked` raises `Interrupted`): the job goes back to QUEUED with its
progress, and is queued again at once for any worker to finish.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.jobs import JobStatus, attempt_died, attempt_failed
from domain.messages import Message, encode
from models import jobs
from models.db import Transaction
from services import metrics
from services.jobs import Dispatcher
from services.runtime import Runtime

log = logging.getLogger(__name__)


class PermanentFailure(Exception):  # noqa: N818 (not an error of the code: a verdict)
    """Raised by a job's work when no retry can succeed: the job ends FAILED at once with
    `message` as its error."""

    def __init__(self, message: Message) -> None:
        super().__init__(message.id)
        self.message = message


class AttemptLost(Exception):  # noqa: N818
    """This attempt is no longer the job's running attempt (the check resumed the job
    elsewhere): stop without writing anything more."""


class Interrupted(Exception):  # noqa: N818
    """The process is stopping: the attempt ends between two chunks, and the job is queued
    again for another attempt to carry on from what is committed."""


@dataclass(frozen=True)
class JobKind:
    """One kind of job: its table, its name in logs, and how to queue it again."""

    model: jobs.JobModel
    name: str
    enqueue: Callable[[Dispatcher, Any, int], Awaitable[None]]  # (dispatcher, row, attempts)
    scope: Mapping[str, Any] | None = None  # which unfinished rows the check looks at
    # Told when the check fails a job that used all its attempts (a schedule moves on).
    given_up: Callable[[Any], Awaitable[None]] | None = None


@dataclass(frozen=True)
class Attempt:
    kind: JobKind
    job_id: UUID
    number: int
    runtime: Runtime

    async def beat(self, *, add: Mapping[str, int] | None = None, **progress: Any) -> None:
        """A sign of life, with progress: columns set to `progress`, counts in `add` added to
        theirs (`add={"written": 500}`). A statement of its own: call it after a chunk has
        committed, never inside the chunk's transaction."""
        alive = await self.runtime.stores.jobs.beat(
            self.kind.model, self.job_id, self.number, self.runtime.clock(), add=add, **progress
        )
        if not alive:
            raise AttemptLost

    async def hold(self, db: Transaction) -> None:
        """First thing in a chunk's transaction: raises AttemptLost (and the chunk writes
        nothing) when this is no longer the job's running attempt; otherwise the check leaves
        the job alone until the chunk ends, and the heartbeat goes on meanwhile."""
        if not await self.runtime.stores.jobs.hold(self.kind.model, self.job_id, self.number, db):
            raise AttemptLost

    def stop_if_asked(self) -> None:
        """Before a chunk: end this attempt here when the process is stopping."""
        if self.runtime.stop.requested:
            raise Interrupted


Work = Callable[[Attempt], Awaitable[Mapping[str, Any]]]
Settled = Callable[[JobStatus, Transaction], Awaitable[None]]


async def run_attempt(
    kind: JobKind,
    job_id: UUID,
    runtime: Runtime,
    work: Work,
    *,
    attempts: int,
    claim_columns: Mapping[str, Any] | None = None,
    settled: Settled | None = None,
) -> JobStatus | None:
    """Claim the job (QUEUED after `attempts` attempts), run `work`, record the outcome.

    `work` returns the columns to write with SUCCEEDED. It raises `PermanentFailure` to end
    the job FAILED now; any other exception fails this attempt, which is retried until the
    policy's maximum; `Interrupted` (the process is stopping) puts it back in the queue, to
    be carried on by the next attempt. `settled` runs in the transaction that writes
    SUCCEEDED or FAILED. Returns the status written, or None when the job was not this call's
    to run.
    """
    policy = runtime.jobs
    number = attempts + 1
    claimed = await runtime.stores.jobs.claim(
        kind.model, job_id, attempts=attempts, now=runtime.clock(), **(claim_columns or {})
    )
    if not claimed:
        return None
    attempt = Attempt(kind, job_id, number, runtime)
    heart = asyncio.create_task(_heartbeats(attempt), name=f"heartbeat {kind.name} {job_id}")
    started = time.perf_counter()
    columns: Mapping[str, Any] = {}
    interrupted = False
    error: Message | None = None
    try:
        columns = await work(attempt)
        status, error = JobStatus.SUCCEEDED, None
    except PermanentFailure as failure:
        log.warning("%s %s failed: %s", kind.name, job_id, failure.message)
        status, error = JobStatus.FAILED, failure.message
    except AttemptLost:
        log.warning("%s %s: attempt %d was taken over; stopping it", kind.name, job_id, number)
        metrics.job_attempt(kind.name, "lost", time.perf_counter() - started)
        return None
    except Interrupted:
        log.info("%s %s: stopping between chunks; the job is queued again", kind.name, job_id)
        status, error, interrupted = JobStatus.QUEUED, None, True
    except Exception:
        log.exception("%s %s: attempt %d failed", kind.name, job_id, number)
        last = number >= policy.max_attempts
        status = JobStatus.FAILED if last else JobStatus.QUEUED
        error = attempt_failed(number, policy.max_attempts)
    finally:
        heart.cancel()
        await asyncio.gather(heart, return_exceptions=True)
    written = await _record(attempt, status, error, columns, settled)
    result = metrics.job_result(status if written else None, interrupted=interrupted)
    metrics.job_attempt(kind.name, result, time.perf_counter() - started)
    if written and interrupted:
        await _queue_again(kind, job_id, number, runtime)
    return status if written else None


async def _record(
    attempt: Attempt,
    status: JobStatus,
    error: Message | None,
    columns: Mapping[str, Any],
    settled: Settled | None,
) -> bool:
    """Write the attempt's outcome, with `settled` in the same transaction when the job ends;
    False when the attempt was no longer the job's to settle."""
    kind, job_id, stores = attempt.kind, attempt.job_id, attempt.runtime.stores
    async with stores.transaction() as db:
        written = await stores.jobs.settle(
            kind.model,
            job_id,
            attempt.number,
            status,
            attempt.runtime.clock(),
            db,
            error=None if error is None else encode(error),
            **columns,
        )
        if written and settled is not None and status is not JobStatus.QUEUED:
            await settled(status, db)
    return written


async def _queue_again(kind: JobKind, job_id: UUID, attempts: int, runtime: Runtime) -> None:
    """An interrupted job to the queue now; should that fail, the periodic check queues it."""
    try:
        row = await runtime.stores.jobs.row(kind.model, job_id)
        await kind.enqueue(runtime.dispatcher, row, attempts)
    except Exception:
        log.warning("%s %s: not queued again; the periodic check will", kind.name, job_id)


async def _heartbeats(attempt: Attempt) -> None:
    interval = attempt.runtime.jobs.heartbeat_seconds
    while True:
        await asyncio.sleep(interval)
        try:
            await attempt.beat()
        except AttemptLost:
            return
        except Exception:  # a missed beat is not the work's failure; the next one may land
            log.warning("%s %s: heartbeat failed", attempt.kind.name, attempt.job_id)


async def resume_silent(kind: JobKind, runtime: Runtime) -> int:
    """The periodic check for one kind of job: every unfinished job silent for longer than the
    policy's threshold is queued again (its worker died, Redis lost it, or its last attempt
    failed and waited its turn), or FAILED once it has used all its attempts.
    Returns how many were queued."""
    policy = runtime.jobs
    now = runtime.clock()
    cutoff = now - policy.stale_after
    queued = 0
    for job in await jobs.silent_since(kind.model, cutoff, **(kind.scope or {})):
        model, status, attempts = kind.model, job.status, job.attempts
        if status is JobStatus.RUNNING:
            error = attempt_died(attempts, policy.max_attempts)
            if attempts >= policy.max_attempts:
                stored = encode(error)
                if await jobs.give_up(model, job.id, status, attempts, now, cutoff, stored):
                    log.warning("%s %s: %s", kind.name, job.id, error)
                    if kind.given_up is not None:
                        await kind.given_up(job.row)
                continue
            if not await jobs.requeue(model, job.id, status, attempts, now, cutoff, encode(error)):
                continue
            log.warning("%s %s: attempt %d went silent; resuming", kind.name, job.id, attempts)
        elif not await jobs.requeue(model, job.id, status, attempts, now, cutoff):
            continue
        await kind.enqueue(runtime.dispatcher, job.row, job.attempts)
        queued += 1
    return queued


async def queued(kind: JobKind) -> int:
    """How many jobs of `kind` the database holds as QUEUED: the queue's true depth, whatever
    Redis holds."""
    return await jobs.queued_count(kind.model)
