"""Recurring promotional credits: schedules, the tick that finds due periods, and period runs.

A period is due from 00:00 of its date in the location's time zone. The tick records each due
period once as a `ScheduleRun` (unique per schedule and period) and enqueues a job for every
unfinished run; the job applies the run's periods in order, each customer once per period
(the ledger key includes the period). Missed periods are caught up oldest first.

A schedule's `target` is CUSTOMERS (a fixed list), GROUPS (the live membership of groups) or
ALL (every live customer of the location at each period, those created after the schedule too).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import timedelta
from functools import partial
from typing import Any
from uuid import UUID

from domain import entities
from domain.access import Principal
from domain.credits import ParsedCredit
from domain.errors import not_found
from domain.ids import parse_id
from domain.jobs import JobStatus
from domain.ledger import CreditOperation, EntrySource
from domain.requests import CreditRequest
from domain.schedule import (
    Recurrence,
    RecurrenceUnit,
    date_after_index,
    due_indices,
    last_index_before,
    local_today,
)
from models.customers import id_chunks
from models.db import IntegrityError, Transaction, transaction
from models.entities import Location
from models.ledger import Application, apply_chunk, is_balance_out_of_range
from models.queries import CustomerQuery, credit_schedule_entity, customers_matching, parse_ids
from models.wallet import CreditSchedule, ScheduleRun
from services import metrics
from services.customers import check_target
from services.idempotency import earlier_request, record_key
from services.jobs import Dispatcher, enqueue_schedule_period
from services.lifecycle import Attempt, JobKind, PermanentFailure, run_attempt
from services.runtime import Runtime
from services.wallet import CLAWBACK_DESCRIPTION, balance_overflow_message, checked_credit

log = logging.getLogger(__name__)

SCHEDULE_ACTOR = "schedule"
# A period that fell while its schedule was paused, never applied.
SKIPPED = "SKIPPED"


def recurrence_of(row: CreditSchedule) -> Recurrence:
    return Recurrence(row.every, RecurrenceUnit(row.unit), row.start_date, row.end_date)


async def _checked_target(
    principal: Principal, credit: ParsedCredit
) -> tuple[str, list[str], list[str]]:
    """(target kind, customer ids, group ids): a fixed list, live membership of groups, or
    every customer; every id must be the location's."""
    target = credit.target
    await check_target(principal.location_id, target, "input.target")
    if target.customer_ids is not None:
        return "CUSTOMERS", [str(c) for c in target.distinct_customer_ids()], []
    if target.all_customers:
        return "ALL", [], []
    assert target.selection is not None
    assert target.selection.group_ids
    groups = dict.fromkeys(g for g in target.selection.group_ids if g is not None)
    return "GROUPS", [], [str(g) for g in groups]


async def create_schedule(
    runtime: Runtime, principal: Principal, request: CreditRequest
) -> entities.CreditSchedule:
    now = runtime.clock()
    credit = checked_credit(principal, request, now)
    recurrence = credit.parsed.recurrence
    assert recurrence is not None
    earlier = await earlier_request(
        CreditSchedule, principal.location_id, credit.idempotency_key, credit.request_hash
    )
    if earlier is not None:
        return credit_schedule_entity(earlier)
    target, customer_ids, group_ids = await _checked_target(principal, credit.parsed)
    try:
        async with transaction():
            row = CreditSchedule(
                **credit.columns(principal),
                every=recurrence.every,
                unit=recurrence.unit.value,
                start_date=recurrence.start_date,
                end_date=recurrence.end_date,
                target=target,
                customer_ids=customer_ids,
                group_ids=group_ids,
                next_run_on=recurrence.start_date,
                created_at=now,
            )
            await row.save()
            await record_key(
                principal.location_id, credit.idempotency_key, credit.request_hash, row
            )
    except IntegrityError:  # the same key, submitted concurrently
        earlier = await earlier_request(
            CreditSchedule, principal.location_id, credit.idempotency_key, credit.request_hash
        )
        if earlier is None:
            raise
        return credit_schedule_entity(earlier)
    await queue_due_runs(runtime, schedule_id=row.id)
    return credit_schedule_entity(await CreditSchedule.get(id=row.id))


async def list_schedules(location_id: UUID) -> list[entities.CreditSchedule]:
    rows = await CreditSchedule.filter(location_id=location_id).order_by("created_at", "id")
    return [credit_schedule_entity(r) for r in rows]


async def _own(location_id: UUID, schedule_id: str) -> CreditSchedule:
    uid = parse_id(schedule_id)
    row = await CreditSchedule.get_or_none(id=uid, location_id=location_id) if uid else None
    if row is None:
        raise not_found("id", "Credit schedule")
    return row


async def pause_schedule(location_id: UUID, schedule_id: str) -> entities.CreditSchedule:
    row = await _own(location_id, schedule_id)
    await CreditSchedule.filter(id=row.id).update(paused=True)
    return credit_schedule_entity(await CreditSchedule.get(id=row.id))


async def resume_schedule(
    runtime: Runtime, location_id: UUID, schedule_id: str
) -> entities.CreditSchedule:
    """Resume without applying the periods that fell while paused; today's period still runs."""
    row = await _own(location_id, schedule_id)
    if row.paused:
        location = await Location.get(id=row.location_id)
        recurrence = recurrence_of(row)
        now = runtime.clock()
        skip_to = last_index_before(recurrence, local_today(now, location.timezone))
        async with transaction():
            if skip_to > row.last_period:
                await ScheduleRun.filter(
                    schedule_id=row.id, period__lte=skip_to, status=JobStatus.QUEUED
                ).update(status=SKIPPED, finished_at=now)
            last = max(row.last_period, skip_to)
            await CreditSchedule.filter(id=row.id).update(
                paused=False,
                last_period=last,
                next_run_on=date_after_index(recurrence, last),
            )
        await queue_due_runs(runtime, schedule_id=row.id)
    return credit_schedule_entity(await CreditSchedule.get(id=row.id))


async def delete_schedule(location_id: UUID, schedule_id: str) -> UUID:
    row = await _own(location_id, schedule_id)
    await CreditSchedule.filter(id=row.id).delete()
    return row.id


async def customer_counts(schedule_ids: list[UUID]) -> dict[UUID, int]:
    counts: dict[UUID, int] = {}
    for row in await CreditSchedule.filter(id__in=schedule_ids):
        counts[row.id] = await _targets(row).count()
    return counts


async def last_failures(schedule_ids: list[UUID]) -> dict[UUID, str]:
    """Per schedule, its latest period that ended FAILED: the date and the error."""
    rows = (
        await ScheduleRun.filter(schedule_id__in=schedule_ids, status=JobStatus.FAILED)
        .order_by("-period")
        .values_list("schedule_id", "period_on", "error")
    )
    failures: dict[UUID, str] = {}
    for schedule_id, period_on, error in rows:
        failures.setdefault(UUID(str(schedule_id)), f"{period_on.isoformat()}: {error}")
    return failures


def _targets(row: CreditSchedule, after: UUID | None = None) -> CustomerQuery:
    if row.target == "ALL":
        return customers_matching(row.location_id, after=after)
    if row.target == "GROUPS":
        return customers_matching(row.location_id, group_ids=parse_ids(row.group_ids), after=after)
    return customers_matching(row.location_id, ids=parse_ids(row.customer_ids), after=after)


async def queue_due_runs(runtime: Runtime, schedule_id: UUID | None = None) -> int:
    """The tick: record every due period once, and enqueue the runs that no job has seen yet
    (runs waiting for a retry, or silent, are the lifecycle check's). Returns how many runs
    were enqueued."""
    now = runtime.clock()
    # Dates are local to each location, at most a day from UTC's: a bound, not the rule.
    query = CreditSchedule.filter(paused=False, next_run_on__lte=(now + timedelta(days=1)).date())
    if schedule_id is not None:
        query = query.filter(id=schedule_id)
    timezones = dict(await Location.all().values_list("id", "timezone"))
    for row in await query:
        timezone = timezones[row.location_id]
        recurrence = recurrence_of(row)
        # Never a period dated before the schedule was created: catching up covers only what
        # fell due while nothing ticked, whatever start date an older row was given.
        before_creation = last_index_before(recurrence, local_today(row.created_at, timezone))
        last = max(row.last_period, before_creation)
        due = due_indices(recurrence, last, local_today(now, timezone))
        if due:
            await ScheduleRun.bulk_create(
                [ScheduleRun(schedule_id=row.id, period=i, period_on=d) for i, d in due],
                ignore_conflicts=True,
            )
    fresh = ScheduleRun.filter(
        status=JobStatus.QUEUED, attempts=0, heartbeat_at__isnull=True, schedule__paused=False
    )
    if schedule_id is not None:
        fresh = fresh.filter(schedule_id=schedule_id)
    queued = 0
    for run in await fresh.order_by("schedule_id", "period"):
        await enqueue_schedule_period(runtime.dispatcher, run.schedule_id, run.period, attempts=0)
        queued += 1
    return queued


async def run_period(runtime: Runtime, schedule_id: UUID, period: int) -> None:
    """Apply the schedule's unfinished periods, oldest first: the job for `period` also takes
    up the periods before it that are still queued, and those after it that fell due
    meanwhile, so the job of a period that had to wait for an earlier one finds it done. An
    attempt that fails stops the catch-up there: a later period never runs before an earlier
    one has ended, SUCCEEDED or FAILED."""
    while True:
        schedule = await CreditSchedule.get_or_none(id=schedule_id)
        if schedule is None or schedule.paused:
            return
        run = (
            await ScheduleRun.filter(
                schedule_id=schedule_id, status__in=(JobStatus.QUEUED, JobStatus.RUNNING)
            )
            .order_by("period")
            .first()
        )
        if run is None or run.status != JobStatus.QUEUED:
            return  # done, or an earlier period is running (or silent: the check resumes it)
        ended = await _apply_run(runtime, schedule, run)
        if ended not in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            return
        await asyncio.sleep(0)  # in-process, let requests run between periods


async def _apply_run(
    runtime: Runtime, schedule: CreditSchedule, run: ScheduleRun
) -> JobStatus | None:
    """One attempt at one period. A balance past the maximum ends the run FAILED at once;
    any other failure is retried by the lifecycle, up to its maximum. A run that ends, either
    way, moves the schedule on to its next period."""
    total = await _targets(schedule).count()

    async def work(attempt: Attempt) -> Mapping[str, Any]:
        change = Application(
            location_id=schedule.location_id,
            operation=CreditOperation(schedule.operation),
            amount=schedule.amount,
            kind=schedule.operation,
            source=EntrySource.SCHEDULE.value,
            source_id=schedule.id,
            period=run.period,
            description=schedule.description,
            actor=SCHEDULE_ACTOR,
            now=runtime.clock(),
            netting_description=CLAWBACK_DESCRIPTION,
        )
        done = 0
        try:
            async for chunk in id_chunks(partial(_targets, schedule), runtime.chunk_size):
                attempt.stop_if_asked()
                async with transaction() as db:
                    await attempt.hold(db)
                    applied = await apply_chunk(chunk, change, db)
                done += len(chunk)
                await attempt.beat(processed=done)
                metrics.entries_written(change.kind, applied)
                await asyncio.sleep(0)  # in-process, let requests run between chunks
        except Exception as exc:
            if is_balance_out_of_range(exc):  # no retry can succeed
                raise PermanentFailure(
                    await balance_overflow_message(schedule.location_id)
                ) from exc
            raise
        return {"processed": done, "total": max(total, done)}

    async def settled(status: JobStatus, db: Transaction) -> None:
        await _advance(schedule, run, db)

    return await run_attempt(
        SCHEDULE_RUNS,
        run.id,
        runtime,
        work,
        attempts=run.attempts,
        claim_columns={"total": total},
        settled=settled,
    )


async def _advance(
    schedule: CreditSchedule, run: ScheduleRun, db: Transaction | None = None
) -> None:
    """Record that the run's period is done with (unless a later one is already)."""
    recurrence = recurrence_of(schedule)
    query = CreditSchedule.filter(id=schedule.id, last_period__lt=run.period)
    if db is not None:
        query = query.using_db(db)
    await query.update(
        last_period=run.period,
        last_run_on=run.period_on,
        next_run_on=date_after_index(recurrence, run.period),
    )


async def _enqueue(dispatcher: Dispatcher, run: ScheduleRun, attempts: int) -> None:
    await enqueue_schedule_period(dispatcher, run.schedule_id, run.period, attempts=attempts)


async def _given_up(run: ScheduleRun) -> None:
    schedule = await CreditSchedule.get_or_none(id=run.schedule_id)
    if schedule is not None:
        await _advance(schedule, run)


SCHEDULE_RUNS = JobKind(
    ScheduleRun,
    "schedule run",
    _enqueue,
    scope={"schedule__paused": False},
    given_up=_given_up,
)
