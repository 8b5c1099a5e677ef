"""Credits that expire: at the end of its expiry day, in the location's time zone, what is
left of a credit lot leaves the wallet through an EXPIRE entry, exactly once, by an expiry run
that follows the job lifecycle (`services.lifecycle`, kind `EXPIRY_RUNS`).

The periodic check (`queue_runs`) makes one run per location and local day: the first check
of the day that finds due lots of the location inserts the day's run (unique per location and
day, `ON CONFLICT DO NOTHING`, so of several workers' checks one makes it) and queues its job.
When nothing is due the check costs one statement for every location (`models.expiry_runs`).
A run covers every lot whose expiry day ended before its day, however many days back: a
worker that was down catches up with the next run, soonest-expiring first.

A run's work (`run_expiry`) takes the due lots in chunks, each expired in a transaction of its
own that starts with `Attempt.hold`, then holds the lots' customers and reads what is left of
the lots as they are now (`models.expiry`): a lot expired by one attempt has nothing left for
another, and the ledger's unique key (one EXPIRE per lot) backs it. The chunk adds what it
expired to the run's counts in the same transaction, so that the counts stay exact whatever
dies between two chunks; the heartbeat beats after it. A run left RUNNING by a worker that
died is queued again by the check (`resume_silent`); one that finds nothing left ends
SUCCEEDED with nothing expired. A run that ends FAILED leaves its lots to the next day's run.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol
from uuid import UUID

from domain.errors import ErrorCode, fail
from domain.expiry_runs import ExpiryRunInfo
from domain.jobs import JobStatus
from domain.ledger import EntryKind
from domain.paging import page_size_problem
from domain.schedule import local_today
from models import expiry_runs
from services import metrics
from services.jobs import Dispatcher, enqueue_expiry
from services.lifecycle import Attempt, JobKind, run_attempt
from services.runtime import Runtime

log = logging.getLogger(__name__)

# Lots per chunk: each chunk is one transaction.
EXPIRY_BATCH = 500


async def queue_runs(runtime: Runtime) -> int:
    """The periodic check's part: make today's run of every location that has due lots and
    no run for its today yet, and queue their jobs. Returns how many runs were made."""
    now = runtime.clock()
    timezones = await runtime.stores.locations.location_timezones()
    days = [(location_id, local_today(now, zone)) for location_id, zone in timezones.items()]
    made = 0
    for location_id, day in sorted(await expiry_runs.due(days)):
        run = await expiry_runs.create(location_id, day, now)
        if run is None:  # another worker's check made it first, and queued it
            continue
        await enqueue_expiry(runtime.dispatcher, run.id, attempts=0)
        made += 1
    return made


async def run_expiry(runtime: Runtime, run_id: UUID) -> JobStatus | None:
    """Run one attempt of a queued expiry run to the end; safe to run again, or twice at once
    (one claims it, the other does nothing). Returns the status written, if any."""
    run = await expiry_runs.job(run_id)
    if run is None:
        log.warning("expiry run %s does not exist; job ignored", run_id)
        return None
    if run.status != JobStatus.QUEUED:
        return None
    stores = runtime.stores
    location_id, day = run.location_id, run.day
    batch = EXPIRY_BATCH

    async def work(attempt: Attempt) -> Mapping[str, Any]:
        lots = amount = 0
        previous: list[int] = []
        while True:
            attempt.stop_if_asked()
            due = await stores.lots.due_lots(location_id, day, batch)
            if not due or due == previous:  # nothing left, or lots that no chunk expires
                break
            async with stores.transaction() as db:
                await attempt.hold(db)  # raises AttemptLost (and writes nothing) if taken over
                expired = await stores.lots.expire_due(location_id, due, day, runtime.clock(), db)
                await expiry_runs.add_expired(run_id, attempt.number, expired, db)
            metrics.entries_written(EntryKind.EXPIRE.value, expired.lots)
            lots, amount = lots + expired.lots, amount + expired.amount
            await attempt.beat()
            if len(due) < batch:
                break
            previous = due
            await runtime.between_chunks()
        log.info(
            "expiry run %s: location %s, day %s: attempt %d expired %d lots, %d in all",
            run_id,
            location_id,
            day.isoformat(),
            attempt.number,
            lots,
            amount,
        )
        return {}

    return await run_attempt(EXPIRY_RUNS, run_id, runtime, work, attempts=run.attempts)


async def latest_runs(location_id: UUID, first: int) -> list[ExpiryRunInfo]:
    """The location's `first` latest expiry runs, newest day first."""
    if problem := page_size_problem(first):
        raise fail(ErrorCode.INVALID, "first", problem)
    return await expiry_runs.latest(location_id, first)


class _Job(Protocol):
    """A job's row as the lifecycle hands it back to be queued again."""

    @property
    def id(self) -> UUID: ...


async def _enqueue(dispatcher: Dispatcher, row: _Job, attempts: int) -> None:
    await enqueue_expiry(dispatcher, row.id, attempts=attempts)


EXPIRY_RUNS = JobKind(expiry_runs.JOB_TABLE, "expiry run", _enqueue)
