"""Recurring promotional credits: schedules, the tick that finds due periods, and period runs.

A period is due from 00:00 of its date in the location's time zone. The tick records each due
period once as a `ScheduleRun` (unique per schedule and period) and enqueues a job for every
unfinished run; the job applies the run's periods in order, each customer once per period
(the ledger key includes the period). Missed periods are caught up oldest first.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial
from uuid import UUID

from domain import entities
from domain.access import Principal
from domain.errors import DomainError, ErrorCode, UserError, fail, not_found
from domain.inputs import CreditRequest
from domain.ledger import CreditOperation, EntrySource
from domain.schedule import (
    Recurrence,
    RecurrenceUnit,
    date_after_index,
    due_indices,
    last_index_before,
    local_today,
    recurrence_problems,
)
from models.db import IntegrityError, transaction
from models.entities import CustomerGroup, Location
from models.ids import parse_id
from models.ledger import Application, apply_chunk
from models.queries import CustomerQuery, credit_schedule_entity, customers_matching
from models.wallet import CreditSchedule, ScheduleRun
from services.customers import id_chunks
from services.groups import resolve_target
from services.jobs import Dispatcher, enqueue_schedule_period
from services.wallet import (
    CHUNK_SIZE,
    QUEUED,
    RUNNING,
    STALE_AFTER,
    SUCCEEDED,
    checked_credit,
    earlier_request,
    now_utc,
)

log = logging.getLogger(__name__)

SCHEDULE_ACTOR = "schedule"


def recurrence_of(row: CreditSchedule) -> Recurrence:
    return Recurrence(row.every, RecurrenceUnit(row.unit), row.start_date, row.end_date)


def _checked_recurrence(request: CreditRequest) -> Recurrence:
    recurrence = request.recurrence
    assert recurrence is not None
    problems = recurrence_problems(recurrence)
    if problems:
        raise DomainError(*(UserError(ErrorCode.INVALID, f, m) for f, m in problems))
    return recurrence


async def _checked_target(
    principal: Principal, request: CreditRequest
) -> tuple[str, list[str], list[str]]:
    """(target kind, customer ids, group ids): a fixed list, or live membership of groups."""
    target = request.target
    if (target.customer_ids is None) == (target.filter is None):
        raise fail(ErrorCode.INVALID, "input.target", "Give exactly one of customerIds and filter.")
    if target.customer_ids is not None:
        ids = await resolve_target(principal.location_id, target, "input.target")
        return "CUSTOMERS", [str(c) for c in ids], []
    criteria = target.filter
    assert criteria is not None
    if (
        not criteria.group_ids
        or criteria.ids is not None
        or criteria.search
        or criteria.has_credits is not None
    ):
        raise fail(
            ErrorCode.INVALID,
            "input.target.filter",
            "Recurring credits target listed customers or customer groups (filter.groupIds);"
            " other filters are not supported.",
        )
    wanted = [parse_id(g) for g in criteria.group_ids]
    known = {
        UUID(str(g))
        for g in await CustomerGroup.filter(
            location_id=principal.location_id, id__in=[g for g in wanted if g]
        ).values_list("id", flat=True)
    }
    missing = [i for i, g in enumerate(wanted) if g not in known]
    if missing:
        raise DomainError(
            *(
                UserError(
                    ErrorCode.NOT_FOUND,
                    f"input.target.filter.groupIds.{i}",
                    "Customer group not found.",
                )
                for i in missing
            )
        )
    return "GROUPS", [], [str(g) for g in dict.fromkeys(wanted) if g]


async def create_schedule(
    principal: Principal, request: CreditRequest, dispatcher: Dispatcher
) -> entities.CreditSchedule:
    credit = checked_credit(request)
    recurrence = _checked_recurrence(request)
    earlier = await earlier_request(CreditSchedule, principal.location_id, credit)
    if earlier is not None:
        return credit_schedule_entity(earlier)
    target, customer_ids, group_ids = await _checked_target(principal, request)
    try:
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
        )
        await row.save()
    except IntegrityError:  # the same key, submitted concurrently
        earlier = await earlier_request(CreditSchedule, principal.location_id, credit)
        if earlier is None:
            raise
        return credit_schedule_entity(earlier)
    await queue_due_runs(dispatcher, now_utc(), schedule_id=row.id)
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
        return customers_matching(row.location_id, group_ids=row.group_ids, after=after)
    return customers_matching(row.location_id, ids=row.customer_ids, after=after)


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
        today = local_today(now, timezones[row.location_id])
        due = due_indices(recurrence_of(row), row.last_period, today)
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


async def _apply_run(schedule: CreditSchedule, run: ScheduleRun) -> None:
    started = now_utc()
    targets = _targets(schedule)
    total = await targets.count()
    # As for operations: status writes name the status they expect, so a late copy of the
    # job cannot reopen a run another copy has finished.
    claimed = await ScheduleRun.filter(id=run.id, status__in=(QUEUED, RUNNING)).update(
        status=RUNNING, heartbeat_at=started, total=total
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
    async for chunk in id_chunks(partial(_targets, schedule), CHUNK_SIZE):
        async with transaction() as db:
            await apply_chunk(chunk, change, db)
            done += len(chunk)
            await running.using_db(db).update(processed=done, heartbeat_at=now_utc())
    recurrence = recurrence_of(schedule)
    async with transaction() as db:
        await running.using_db(db).update(
            status=SUCCEEDED, processed=done, total=max(total, done), finished_at=now_utc()
        )
        await (
            CreditSchedule.filter(id=schedule.id, last_period__lt=run.period)
            .using_db(db)
            .update(
                last_period=run.period,
                last_run_on=run.period_on,
                next_run_on=date_after_index(recurrence, run.period),
            )
        )
