"""Recurring promotional credits: schedules, the tick that finds due periods, and period runs.

A period is due from 00:00 of its date in the location's time zone. The tick records each due
period once as a `ScheduleRun` (unique per schedule and period) and enqueues a job for every
unfinished run; the job applies the run's periods in order, each customer once per period
(the ledger key includes the period). Missed periods are caught up oldest first.

A schedule's `target` is CUSTOMERS (a fixed list), GROUPS (the live membership of groups) or
ALL (every live customer of the location at each period, those created after the schedule too).

The requests, the tick and the runs reach their repositories through `runtime.stores`
(`services.stores`), so that these rules are tested in memory (`tests/test_schedule_rules.py`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from domain import entities
from domain.access import Principal
from domain.credit_jobs import NewSchedule, ScheduleJob, ScheduleRunJob
from domain.credits import ParsedCredit
from domain.errors import not_found
from domain.ids import parse_id
from domain.jobs import JobStatus
from domain.ledger import CLAWBACK_DESCRIPTION, CreditOperation, EntryKind, EntrySource
from domain.messages import Message, decode, msg
from domain.requests import CreditRequest
from domain.schedule import local_today
from models import schedules as repository
from models.db import IntegrityError, Transaction
from models.ledger import Application, is_balance_out_of_range
from services import metrics
from services.customers import check_target
from services.idempotency import SCHEDULES as KEYED_SCHEDULES
from services.idempotency import earlier_request, record_key
from services.jobs import Dispatcher, enqueue_schedule_period
from services.lifecycle import Attempt, JobKind, PermanentFailure, run_attempt
from services.runtime import Runtime
from services.stores import ScheduleStore, Stores
from services.wallet import balance_overflow_message, checked_credit

log = logging.getLogger(__name__)

SCHEDULE_ACTOR = "schedule"


async def _checked_target(
    stores: Stores, principal: Principal, credit: ParsedCredit
) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """(target kind, customer ids, group ids): a fixed list, live membership of groups, or
    every customer; every id must be the location's."""
    target = credit.target
    await check_target(principal.location_id, target, "input.target", stores)
    if target.customer_ids is not None:
        return "CUSTOMERS", tuple(str(c) for c in target.distinct_customer_ids()), ()
    if target.all_customers:
        return "ALL", (), ()
    assert target.selection is not None
    assert target.selection.group_ids
    groups = dict.fromkeys(g for g in target.selection.group_ids if g is not None)
    return "GROUPS", (), tuple(str(g) for g in groups)


async def create_schedule(
    runtime: Runtime, principal: Principal, request: CreditRequest
) -> entities.CreditSchedule:
    stores = runtime.stores
    now = runtime.clock()
    credit = checked_credit(principal, request, now)
    recurrence = credit.parsed.recurrence
    assert recurrence is not None
    location_id = principal.location_id
    key, fingerprint = credit.idempotency_key, credit.request_hash
    earlier = await earlier_request(stores, KEYED_SCHEDULES, location_id, key, fingerprint)
    if earlier is not None:
        return earlier
    target, customer_ids, group_ids = await _checked_target(stores, principal, credit.parsed)
    try:
        async with stores.transaction() as db:
            created = await stores.schedules.create(
                db,
                credit.record(principal),
                NewSchedule(
                    every=recurrence.every,
                    unit=recurrence.unit.value,
                    start_date=recurrence.start_date,
                    end_date=recurrence.end_date,
                    target=target,
                    customer_ids=customer_ids,
                    group_ids=group_ids,
                    created_at=now,
                    expires_after_days=recurrence.expires_after_days,
                    replace_previous=recurrence.replace_previous,
                ),
            )
            await record_key(
                stores,
                db,
                KEYED_SCHEDULES,
                location_id,
                key,
                fingerprint,
                created.id,
                created.created_at,
            )
    except IntegrityError:  # the same key, submitted concurrently
        earlier = await earlier_request(stores, KEYED_SCHEDULES, location_id, key, fingerprint)
        if earlier is None:
            raise
        return earlier
    await queue_due_runs(runtime, schedule_id=created.id)
    return await stores.schedules.current(created.id)


async def list_schedules(location_id: UUID) -> list[entities.CreditSchedule]:
    return await repository.of_location(location_id)


async def own(schedules: ScheduleStore, location_id: UUID, schedule_id: str) -> ScheduleJob:
    """The location's schedule `schedule_id`; NOT_FOUND on `id` otherwise."""
    uid = parse_id(schedule_id)
    row = await schedules.job(uid, location_id) if uid else None
    if row is None:
        raise not_found("id", "schedule")
    return row


async def pause_schedule(
    runtime: Runtime, location_id: UUID, schedule_id: str
) -> entities.CreditSchedule:
    schedules = runtime.stores.schedules
    row = await own(schedules, location_id, schedule_id)
    await schedules.pause(row.id)
    return await schedules.current(row.id)


async def resume_schedule(
    runtime: Runtime, location_id: UUID, schedule_id: str
) -> entities.CreditSchedule:
    """Resume without applying the periods that fell while paused; today's period still runs."""
    stores = runtime.stores
    row = await own(stores.schedules, location_id, schedule_id)
    if row.paused:
        location = await stores.locations.get(row.location_id)
        now = runtime.clock()
        resumed = row.resumed(local_today(now, location.timezone))
        async with stores.transaction() as db:
            await stores.schedules.resume(
                db,
                row.id,
                skip_through=resumed.skip_through,
                last_period=resumed.last_period,
                next_run_on=resumed.next_run_on,
                now=now,
            )
        await queue_due_runs(runtime, schedule_id=row.id)
    return await stores.schedules.current(row.id)


async def delete_schedule(runtime: Runtime, location_id: UUID, schedule_id: str) -> UUID:
    schedules = runtime.stores.schedules
    row = await own(schedules, location_id, schedule_id)
    await schedules.delete(row.id)
    return row.id


async def drop_group(
    schedules: ScheduleStore, db: Transaction, location_id: UUID, group_id: UUID, now: datetime
) -> None:
    """In the transaction that deletes group `group_id`: the schedules of that group only end
    after the last period they applied, their queued periods skipped; those of other groups
    too carry on without it (see `ScheduleJob.without_group`)."""
    for schedule in await schedules.of_group(db, location_id, group_id):
        removal = schedule.without_group(group_id)
        await schedules.remove_group(db, schedule.id, removal.group_ids, removal.ends_on, now)


async def active_by_group(
    stores: Stores, location_id: UUID, group_ids: Sequence[UUID]
) -> dict[UUID, list[entities.CreditSchedule]]:
    """For each of the location's groups `group_ids`, its schedules of that group with a
    period to come, paused or not, oldest first (what deleting the group would end or
    change)."""
    found = await stores.schedules.active_with_groups([location_id])
    return {g: [s for s in found if g in s.group_ids] for g in group_ids}


async def customer_counts(schedule_ids: list[UUID]) -> dict[UUID, int]:
    return await repository.customer_counts(schedule_ids)


async def last_failures(schedule_ids: list[UUID]) -> dict[UUID, Message]:
    """Per schedule, its latest period that ended FAILED: the date and the error."""
    failures = await repository.latest_failures(schedule_ids)
    return {
        uid: msg("schedule.failed_on", date=day.isoformat(), error=decode(error or ""))
        for uid, (day, error) in failures.items()
    }


async def queue_due_runs(runtime: Runtime, schedule_id: UUID | None = None) -> int:
    """The tick: record every due period once, and enqueue the runs that no job has seen yet
    (runs waiting for a retry, or silent, are the lifecycle check's). Returns how many runs
    were enqueued."""
    stores = runtime.stores
    schedules = stores.schedules
    now = runtime.clock()
    # Dates are local to each location, at most a day from UTC's: a bound, not the rule.
    by = (now + timedelta(days=1)).date()
    timezones = await stores.locations.location_timezones()
    for row in await schedules.due(by, schedule_id):
        periods = row.due_periods(now, timezones[row.location_id])
        if periods:
            await schedules.add_runs(row.id, periods)
    queued = 0
    for run in await schedules.fresh_runs(schedule_id):
        await enqueue_schedule_period(runtime.dispatcher, run.schedule_id, run.period, attempts=0)
        queued += 1
    return queued


async def run_period(runtime: Runtime, schedule_id: UUID, period: int) -> None:
    """Apply the schedule's unfinished periods, oldest first: the job for `period` also takes
    up the periods before it that are still queued, and those after it that fell due
    meanwhile, so the job of a period that had to wait for an earlier one finds it done. An
    attempt that fails stops the catch-up there: a later period never runs before an earlier
    one has ended, SUCCEEDED or FAILED."""
    schedules = runtime.stores.schedules
    while True:
        schedule = await schedules.job(schedule_id)
        if schedule is None or schedule.paused:
            return
        run = await schedules.first_unfinished_run(schedule_id)
        if run is None or run.status != JobStatus.QUEUED:
            return  # done, or an earlier period is running (or silent: the check resumes it)
        ended = await _apply_run(runtime, schedule, run)
        if ended not in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            return
        await asyncio.sleep(0)  # in-process, let requests run between periods


async def _apply_run(
    runtime: Runtime, schedule: ScheduleJob, run: ScheduleRunJob
) -> JobStatus | None:
    """One attempt at one period. A balance past the maximum ends the run FAILED at once;
    any other failure is retried by the lifecycle, up to its maximum. A run that ends, either
    way, moves the schedule on to its next period."""
    stores = runtime.stores
    total = await stores.schedules.target_count(schedule)
    # What the period applies: what its first attempt took from the schedule, so that an edit
    # made since applies from the next period (`services.schedule_edits`).
    if run.amount is None:
        run = replace(run, amount=schedule.amount, description=schedule.description)
    taken = {"amount": run.amount, "description": run.description}

    async def work(attempt: Attempt) -> Mapping[str, Any]:
        change = _application(schedule, run, runtime.clock())
        done = 0
        try:
            async for chunk in stores.schedules.target_chunks(schedule, runtime.chunk_size):
                attempt.stop_if_asked()
                async with stores.transaction() as db:
                    await attempt.hold(db)
                    if schedule.replace_previous:
                        await _replace_previous(stores, schedule, run, chunk, change.now, db)
                    applied = await stores.ledger.apply_chunk(chunk, change, db)
                done += len(chunk)
                await attempt.beat(processed=done)
                metrics.entries_written(change.kind, applied)
                await runtime.between_chunks()
        except Exception as exc:
            if is_balance_out_of_range(exc):  # no retry can succeed
                raise PermanentFailure(
                    await balance_overflow_message(stores, schedule.location_id)
                ) from exc
            raise
        return {"processed": done, "total": max(total, done)}

    async def settled(status: JobStatus, db: Transaction) -> None:
        await _advance(stores.schedules, schedule, run, db)

    return await run_attempt(
        SCHEDULE_RUNS,
        run.id,
        runtime,
        work,
        attempts=run.attempts,
        claim_columns={"total": total, **taken},
        settled=settled,
    )


def _application(schedule: ScheduleJob, run: ScheduleRunJob, now: datetime) -> Application:
    """What one period of the schedule writes for each of its customers: the amount and the
    description the run took from the schedule."""
    assert run.amount is not None
    return Application(
        location_id=schedule.location_id,
        operation=CreditOperation(schedule.operation),
        amount=run.amount,
        kind=schedule.operation,
        source=EntrySource.SCHEDULE.value,
        source_id=schedule.id,
        period=run.period,
        description=run.description,
        actor=SCHEDULE_ACTOR,
        now=now,
        netting_description=CLAWBACK_DESCRIPTION,
        expires_on=_top_up_expiry(schedule, run),
    )


def _top_up_expiry(schedule: ScheduleJob, run: ScheduleRunJob) -> date | None:
    """A top-up expires `expires_after_days` after its period's date (location's time zone)."""
    days = schedule.expires_after_days
    return None if days is None else run.period_on + timedelta(days=days)


async def _replace_previous(
    stores: Stores,
    schedule: ScheduleJob,
    run: ScheduleRunJob,
    chunk: Sequence[UUID],
    now: datetime,
    db: Transaction,
) -> None:
    """What is left of the schedule's earlier top-ups to the chunk's customers expires
    (EXPIRE entries) before the period's own top-up, in its transaction: exactly once, as a
    lot expired has nothing left, and a retried chunk whose top-up is written finds none."""
    written = await stores.lots.expire_replaced(
        schedule.location_id, schedule.id, run.period, chunk, now, db
    )
    metrics.entries_written(EntryKind.EXPIRE.value, written)


class _Run(Protocol):
    """A run as the job lifecycle hands it back: what queueing it and giving it up need."""

    @property
    def schedule_id(self) -> UUID: ...
    @property
    def period(self) -> int: ...
    @property
    def period_on(self) -> date: ...


async def _advance(
    schedules: ScheduleStore, schedule: ScheduleJob, run: _Run, db: Transaction | None = None
) -> None:
    """Record that the run's period is done with (unless a later one is already). The next
    period is the schedule's as it is now: an edit of its end date, or its end when its group
    was deleted, made while the period ran, holds."""
    schedule = await schedules.job(schedule.id) or schedule
    next_run_on = schedule.next_run_after(run.period)
    await schedules.advance(schedule.id, run.period, run.period_on, next_run_on, db)


async def _enqueue(dispatcher: Dispatcher, run: _Run, attempts: int) -> None:
    await enqueue_schedule_period(dispatcher, run.schedule_id, run.period, attempts=attempts)


async def _given_up(run: _Run) -> None:
    schedule = await repository.job(run.schedule_id)
    if schedule is not None:
        await _advance(repository, schedule, run)


SCHEDULE_RUNS = JobKind(
    repository.RUN_TABLE,
    "schedule run",
    _enqueue,
    scope=repository.RUN_SCOPE,
    given_up=_given_up,
)
