"""Recurring promotional credits: schedules, the tick that finds due periods, and period runs.

A period is due from 00:00 of its date in the location's time zone. The tick records each due
period once as a `ScheduleRun` (unique per schedule and period) and enqueues a job for every
unfinished run; the job applies the run's periods in order, each customer once per period
(the ledger key includes the period). Missed periods are caught up oldest first.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from functools import partial
from uuid import UUID

from domain import entities
from domain.access import Principal
from domain.credits import ParsedCredit
from domain.errors import not_found
from domain.ids import parse_id
from domain.inputs import CreditRequest
from domain.ledger import CreditOperation, EntrySource
from domain.schedule import (
    Recurrence,
    RecurrenceUnit,
    date_after_index,
    due_indices,
    last_index_before,
    local_today,
)
from models.db import IntegrityError, transaction
from models.entities import Location
from models.ledger import Application, apply_chunk, is_balance_out_of_range
from models.queries import CustomerQuery, credit_schedule_entity, customers_matching, parse_ids
from models.wallet import CreditSchedule, ScheduleRun
from services.customers import check_target, id_chunks
from services.jobs import Dispatcher, enqueue_schedule_period
from services.wallet import (
    CHUNK_SIZE,
    FAILED,
    MAX_ATTEMPTS,
    QUEUED,
    RUNNING,
    STALE_AFTER,
    SUCCEEDED,
    attempt_failed_message,
    balance_overflow_message,
    checked_credit,
    earlier_request,
    now_utc,
    record_key,
)

log = logging.getLogger(__name__)

SCHEDULE_ACTOR = "schedule"


def recurrence_of(row: CreditSchedule) -> Recurrence:
    return Recurrence(row.every, RecurrenceUnit(row.unit), row.start_date, row.end_date)


async def _checked_target(
    principal: Principal, credit: ParsedCredit
) -> tuple[str, list[str], list[str]]:
    """(target kind, customer ids, group ids): a fixed list, or live membership of groups;
    every id must be the location's."""
    target = credit.target
    await check_target(principal.location_id, target, "input.target")
    if target.customer_ids is not None:
        return "CUSTOMERS", [str(c) for c in target.distinct_customer_ids()], []
    assert target.selection is not None
    assert target.selection.group_ids
    groups = dict.fromkeys(g for g in target.selection.group_ids if g is not None)
    return "GROUPS", [], [str(g) for g in groups]


async def create_schedule(
    principal: Principal, request: CreditRequest, dispatcher: Dispatcher
) -> entities.CreditSchedule:
    now = now_utc()
    credit = checked_credit(principal, request, now)
    recurrence = credit.parsed.recurrence
    assert recurrence is not None
    earlier = await earlier_request(CreditSchedule, principal.location_id, credit)
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
            await record_key(principal.location_id, credit, row)
    except IntegrityError:  # the same key, submitted concurrently
        earlier = await earlier_request(CreditSchedule, principal.location_id, credit)
        if earlier is None:
            raise
        return credit_schedule_entity(earlier)
    await queue_due_runs(dispatcher, now, schedule_id=row.id)
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
    location_id: UUID, schedule_id: str, dispatcher: Dispatcher
) -> entities.CreditSchedule:
    """Resume without applying the periods that fell while paused; today's period still runs."""
    row = await _own(location_id, schedule_id)
    if row.paused:
        location = await Location.get(id=row.location_id)
        recurrence = recurrence_of(row)
        skip_to = last_index_before(recurrence, local_today(now_utc(), location.timezone))
        async with transaction():
            if skip_to > row.last_period:
                await ScheduleRun.filter(
                    schedule_id=row.id, period__lte=skip_to, status="QUEUED"
                ).update(status="SKIPPED", finished_at=now_utc())
            last = max(row.last_period, skip_to)
            await CreditSchedule.filter(id=row.id).update(
                paused=False,
                last_period=last,
                next_run_on=date_after_index(recurrence, last),
            )
        await queue_due_runs(dispatcher, now_utc(), schedule_id=row.id)
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


def _targets(row: CreditSchedule, after: UUID | None = None) -> CustomerQuery:
    if row.target == "GROUPS":
        return customers_matching(row.location_id, group_ids=parse_ids(row.group_ids), after=after)
    return customers_matching(row.location_id, ids=parse_ids(row.customer_ids), after=after)


async def queue_due_runs(
    dispatcher: Dispatcher, now: datetime, schedule_id: UUID | None = None
) -> int:
    """The tick: record every due period once and enqueue each unfinished run.
    Returns how many runs were enqueued."""
    query = CreditSchedule.filter(paused=False)
    if schedule_id is not None:
        query = query.filter(id=schedule_id)
    timezones = dict(await Location.all().values_list("id", "timezone"))
    for row in await query.filter(next_run_on__not_isnull=True):
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
    runs = ScheduleRun.filter(status__in=("QUEUED", "RUNNING"), schedule__paused=False)
    if schedule_id is not None:
        runs = runs.filter(schedule_id=schedule_id)
    stale = now - STALE_AFTER
    queued = 0
    for run in await runs.order_by("schedule_id", "period"):
        resume = None
        if run.status == "RUNNING":
            last_sign = run.heartbeat_at or run.created_at
            if last_sign > stale:
                continue  # a live job is on it
            resume = str(int(last_sign.timestamp()))
        await enqueue_schedule_period(dispatcher, run.schedule_id, run.period, resume)
        queued += 1
    return queued


async def run_period(schedule_id: UUID, period: int) -> None:
    """Apply every unfinished period of the schedule up to `period`, oldest first."""
    while True:
        schedule = await CreditSchedule.get_or_none(id=schedule_id)
        if schedule is None or schedule.paused:
            return
        run = (
            await ScheduleRun.filter(
                schedule_id=schedule_id, period__lte=period, status__in=("QUEUED", "RUNNING")
            )
            .order_by("period")
            .first()
        )
        if run is None:
            return
        await _apply_run(schedule, run)
        await asyncio.sleep(0)  # in-process, let requests run between periods


async def _apply_run(schedule: CreditSchedule, run: ScheduleRun) -> None:
    """Apply one period. A balance past the maximum ends the run FAILED at once; any other
    failure leaves it RUNNING for the tick to resume, up to `MAX_ATTEMPTS` attempts in all,
    after which it ends FAILED. A FAILED run, like a SUCCEEDED one, is done with."""
    started = now_utc()
    unfinished = ScheduleRun.filter(id=run.id, status__in=(QUEUED, RUNNING))
    if run.attempts >= MAX_ATTEMPTS:  # the last attempt died without a word
        if await unfinished.update(
            status=FAILED, error=attempt_failed_message(run.attempts), finished_at=started
        ):
            await _advance(schedule, run)
        return
    targets = _targets(schedule)
    total = await targets.count()
    # As for operations: status writes name the status they expect, so a late copy of the
    # job cannot reopen a run another copy has finished.
    claimed = await unfinished.update(
        status=RUNNING, heartbeat_at=started, total=total, attempts=run.attempts + 1
    )
    if not claimed:
        return
    running = ScheduleRun.filter(id=run.id, status=RUNNING)
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
        now=started,
    )
    done = 0
    attempt = run.attempts + 1
    try:
        async for chunk in id_chunks(partial(_targets, schedule), CHUNK_SIZE):
            async with transaction() as db:
                await apply_chunk(chunk, change, db)
                done += len(chunk)
                await running.using_db(db).update(processed=done, heartbeat_at=now_utc())
            await asyncio.sleep(0)  # in-process, let requests run between chunks
    except Exception as exc:
        overflow = is_balance_out_of_range(exc)
        if overflow:
            error = await balance_overflow_message(schedule.location_id)
            log.warning("schedule run %s stopped: a balance would exceed the maximum", run.id)
        else:
            error = attempt_failed_message(attempt)
            log.exception("schedule run %s failed (attempt %d)", run.id, attempt)
        failed = overflow or attempt >= MAX_ATTEMPTS
        async with transaction():
            await running.update(
                status=FAILED if failed else RUNNING,
                error=error,
                finished_at=now_utc() if failed else None,
            )
            if failed:
                await _advance(schedule, run)
        if overflow:
            return
        raise
    async with transaction():
        await running.update(
            status=SUCCEEDED, processed=done, total=max(total, done), finished_at=now_utc()
        )
        await _advance(schedule, run)


async def _advance(schedule: CreditSchedule, run: ScheduleRun) -> None:
    """Record that the run's period is done with (unless a later one is already); in the
    caller's transaction, when there is one."""
    recurrence = recurrence_of(schedule)
    await CreditSchedule.filter(id=schedule.id, last_period__lt=run.period).update(
        last_period=run.period,
        last_run_on=run.period_on,
        next_run_on=date_after_index(recurrence, run.period),
    )
