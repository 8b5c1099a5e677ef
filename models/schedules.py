"""The credit schedules repository: recurring credits and their period runs, as `domain` values,
so that services never hold a Tortoise model or build a query.

A schedule is written once with its idempotency key (`create`), then moved on by the tick and
its runs (`add_runs`, `advance`) and by pause and resume. A run is a row per (schedule, period),
unique, so that the tick records each due period once however often it runs; the job lifecycle
(`services.lifecycle`, through `RUN_TABLE`) moves a run's status and progress. The hot
statements are the tick's (`due`, `add_runs`, `fresh_runs`, beside the locations' time zones
of `models.locations.location_timezones`) and the chunk pages of `target_chunks` (one keyset
page of ids per chunk, see `models.customers.id_chunks`).

Writes that are part of a service's transaction take it (`create`, `resume`, and `advance` when
a run settles); the others are one statement each (`pause`, `delete`, `add_runs`), atomic on
their own, and run without one, as they always have.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import asdict
from datetime import date, datetime
from functools import partial
from typing import Any
from uuid import UUID

from tortoise.expressions import RawSQL
from tortoise.functions import Count, Sum

from domain import entities
from domain.credit_jobs import CreditRecord, NewSchedule, ScheduleJob, ScheduleRunJob
from domain.jobs import JobStatus
from models.customers import id_chunks
from models.db import Transaction
from models.jobs import JobModel
from models.queries import (
    CustomerQuery,
    credit_schedule_entity,
    customers_matching,
    entity_of,
    parse_ids,
)
from models.tables.wallet import CreditSchedule, ScheduleRun, WalletEntry

# The table whose rows the job lifecycle claims, beats and settles, and the unfinished rows its
# periodic check looks at: the runs of schedules that are not paused.
RUN_TABLE: JobModel = ScheduleRun
RUN_SCOPE: Mapping[str, Any] = {"schedule__paused": False}
# A period that fell while its schedule was paused, never applied.
SKIPPED = "SKIPPED"


def _job(row: CreditSchedule) -> ScheduleJob:
    ids, groups = tuple(row.customer_ids), tuple(row.group_ids)
    return entity_of(ScheduleJob, row, customer_ids=ids, group_ids=groups)


def _run(row: ScheduleRun) -> ScheduleRunJob:
    return entity_of(ScheduleRunJob, row)


# Reads


async def view(schedule_id: UUID) -> entities.CreditSchedule | None:
    """The schedule `schedule_id`; None when there is none."""
    row = await CreditSchedule.get_or_none(id=schedule_id)
    return credit_schedule_entity(row) if row else None


async def current(schedule_id: UUID) -> entities.CreditSchedule:
    """The schedule as it is now, after a change to it: one the caller knows exists (a missing
    one raises the ORM's `DoesNotExist`, an internal error)."""
    return credit_schedule_entity(await CreditSchedule.get(id=schedule_id))


async def keyed(location_id: UUID, key: str) -> tuple[entities.CreditSchedule, str | None] | None:
    """The location's schedule that carries idempotency key `key`, with its request's
    fingerprint."""
    row = await CreditSchedule.get_or_none(location_id=location_id, idempotency_key=key)
    return (credit_schedule_entity(row), row.request_hash) if row else None


async def of_location(location_id: UUID) -> list[entities.CreditSchedule]:
    """The location's schedules, oldest first."""
    rows = await CreditSchedule.filter(location_id=location_id).order_by("created_at", "id")
    return [credit_schedule_entity(r) for r in rows]


async def active_with_groups(location_ids: Sequence[UUID]) -> list[entities.CreditSchedule]:
    """The locations' schedules of groups that have a period to come (paused or not), oldest
    first: those a group's deletion would end or change."""
    rows = await CreditSchedule.filter(
        location_id__in=list(location_ids), target="GROUPS", next_run_on__isnull=False
    ).order_by("created_at", "id")
    return [credit_schedule_entity(r) for r in rows]


async def of_group(db: Transaction, location_id: UUID, group_id: UUID) -> list[ScheduleJob]:
    """The location's schedules of groups that name group `group_id`, in `db`."""
    rows = await CreditSchedule.filter(location_id=location_id, target="GROUPS").using_db(db)
    return [job for job in map(_job, rows) if str(group_id) in job.group_ids]


async def runs(schedule: ScheduleJob, before: int | None, limit: int) -> list[entities.ScheduleRun]:
    """Up to `limit` of the schedule's runs that were not skipped, newest period first (those
    before period `before`, when given), each with the count and the sum of its entries of the
    schedule's operation: two statements."""
    query = ScheduleRun.filter(schedule_id=schedule.id).exclude(status=SKIPPED)
    if before is not None:
        query = query.filter(period__lt=before)
    rows = await query.order_by("-period").limit(limit)
    totals = {
        row["period"]: (int(row["customers"]), int(row["total"] or 0))
        for row in await WalletEntry.filter(
            source_id=schedule.id, kind=schedule.operation, period__in=[r.period for r in rows]
        )
        .annotate(customers=Count("id"), total=Sum("delta"))
        .group_by("period")
        .values("period", "customers", "total")
    }
    return [
        entities.ScheduleRun(
            period=r.period,
            period_on=r.period_on,
            status=r.status,
            customer_count=totals.get(r.period, (0, 0))[0],
            total=totals.get(r.period, (0, 0))[1],
            finished_at=r.finished_at,
            id=r.id,
        )
        for r in rows
    ]


async def job(schedule_id: UUID, location_id: UUID | None = None) -> ScheduleJob | None:
    """What the tick and the runs need of the schedule (of the location, when given)."""
    rows = CreditSchedule.filter(id=schedule_id)
    if location_id is not None:
        rows = rows.filter(location_id=location_id)
    row = await rows.get_or_none()
    return _job(row) if row else None


def _targets(schedule: ScheduleJob, after: UUID | None = None) -> CustomerQuery:
    location_id = schedule.location_id
    if schedule.target == "ALL":
        return customers_matching(location_id, after=after)
    if schedule.target == "GROUPS":
        return customers_matching(location_id, group_ids=parse_ids(schedule.group_ids), after=after)
    return customers_matching(location_id, ids=parse_ids(schedule.customer_ids), after=after)


async def target_count(schedule: ScheduleJob) -> int:
    """How many live customers the schedule reaches now."""
    return await _targets(schedule).count()


def target_chunks(schedule: ScheduleJob, size: int) -> AsyncIterator[list[UUID]]:
    """The live customers the schedule reaches, in id order, `size` at a time."""
    return id_chunks(partial(_targets, schedule), size)


async def live_of_location(location_id: UUID) -> list[ScheduleJob]:
    """The location's schedules that are not paused and have a period to come."""
    rows = CreditSchedule.filter(location_id=location_id, paused=False, next_run_on__isnull=False)
    return [_job(row) for row in await rows.order_by("created_at", "id")]


async def target_shortfall(schedule: ScheduleJob) -> tuple[int, int]:
    """How many live customers the schedule reaches now, and what raising each one's balance to
    its amount would add in all (what a SET's next period credits)."""
    amount = int(schedule.amount)
    shortfall = RawSQL(
        f"COALESCE(SUM(CASE WHEN credit_balance < {amount} "
        f"THEN {amount} - credit_balance ELSE 0 END), 0)"
    )
    rows = await _targets(schedule).annotate(n=Count("id"), short=shortfall).values("n", "short")
    return int(rows[0]["n"]), int(rows[0]["short"])


async def customer_counts(schedule_ids: Sequence[UUID]) -> dict[UUID, int]:
    """How many live customers each schedule reaches now (a count per schedule)."""
    counts: dict[UUID, int] = {}
    for row in await CreditSchedule.filter(id__in=list(schedule_ids)):
        counts[row.id] = await target_count(_job(row))
    return counts


async def latest_failures(schedule_ids: Sequence[UUID]) -> dict[UUID, tuple[date, str | None]]:
    """Per schedule, its latest period that ended FAILED: the period's date and the error."""
    rows = (
        await ScheduleRun.filter(schedule_id__in=list(schedule_ids), status=JobStatus.FAILED)
        .order_by("-period")
        .values_list("schedule_id", "period_on", "error")
    )
    failures: dict[UUID, tuple[date, str | None]] = {}
    for schedule_id, period_on, error in rows:
        failures.setdefault(UUID(str(schedule_id)), (period_on, error))
    return failures


async def due(by: date, schedule_id: UUID | None = None) -> list[ScheduleJob]:
    """The schedules that are not paused and whose next period falls on `by` or before (only
    `schedule_id`, when given)."""
    query = CreditSchedule.filter(paused=False, next_run_on__lte=by)
    if schedule_id is not None:
        query = query.filter(id=schedule_id)
    return [_job(row) for row in await query]


async def fresh_runs(schedule_id: UUID | None = None) -> list[ScheduleRunJob]:
    """The QUEUED runs of schedules not paused that no job has seen yet (no attempt, no
    heartbeat), by schedule and period (only those of `schedule_id`, when given)."""
    fresh = ScheduleRun.filter(
        status=JobStatus.QUEUED, attempts=0, heartbeat_at__isnull=True, schedule__paused=False
    )
    if schedule_id is not None:
        fresh = fresh.filter(schedule_id=schedule_id)
    return [_run(row) for row in await fresh.order_by("schedule_id", "period")]


async def first_unfinished_run(schedule_id: UUID) -> ScheduleRunJob | None:
    """The schedule's earliest run that is QUEUED or RUNNING."""
    row = (
        await ScheduleRun.filter(
            schedule_id=schedule_id, status__in=(JobStatus.QUEUED, JobStatus.RUNNING)
        )
        .order_by("period")
        .first()
    )
    return _run(row) if row else None


# Writes


async def create(
    db: Transaction, record: CreditRecord, schedule: NewSchedule
) -> entities.CreditSchedule:
    """Insert a schedule, due first on its start date."""
    row = CreditSchedule(
        **asdict(record),
        every=schedule.every,
        unit=schedule.unit,
        start_date=schedule.start_date,
        end_date=schedule.end_date,
        target=schedule.target,
        customer_ids=list(schedule.customer_ids),
        group_ids=list(schedule.group_ids),
        next_run_on=schedule.start_date,
        created_at=schedule.created_at,
        expires_after_days=schedule.expires_after_days,
        replace_previous=schedule.replace_previous,
    )
    await row.save(using_db=db)
    return credit_schedule_entity(row)


async def update(db: Transaction, schedule_id: UUID, columns: Mapping[str, Any]) -> None:
    """Write an edit's columns (`domain.schedule_edits.schedule_changes`)."""
    await CreditSchedule.filter(id=schedule_id).using_db(db).update(**columns)


async def pause(schedule_id: UUID) -> None:
    await CreditSchedule.filter(id=schedule_id).update(paused=True)


async def resume(
    db: Transaction,
    schedule_id: UUID,
    *,
    skip_through: int | None,
    last_period: int,
    next_run_on: date | None,
    now: datetime,
) -> None:
    """Resume the schedule at `last_period`; the QUEUED runs up to `skip_through` (when given)
    end SKIPPED, never applied."""
    if skip_through is not None:
        await (
            ScheduleRun.filter(
                schedule_id=schedule_id, period__lte=skip_through, status=JobStatus.QUEUED
            )
            .using_db(db)
            .update(status=SKIPPED, finished_at=now)
        )
    await (
        CreditSchedule.filter(id=schedule_id)
        .using_db(db)
        .update(paused=False, last_period=last_period, next_run_on=next_run_on)
    )


async def delete(schedule_id: UUID) -> None:
    """Delete the schedule with its runs."""
    await CreditSchedule.filter(id=schedule_id).delete()


async def remove_group(
    db: Transaction,
    schedule_id: UUID,
    group_ids: Sequence[str],
    ends_on: date | None,
    now: datetime,
) -> None:
    """Write the schedule's groups less a deleted one; with `ends_on`, end it there: no period
    to come, and its runs still QUEUED end SKIPPED, never applied."""
    rows = CreditSchedule.filter(id=schedule_id).using_db(db)
    if ends_on is None:
        await rows.update(group_ids=list(group_ids))
        return
    await rows.update(group_ids=list(group_ids), end_date=ends_on, next_run_on=None)
    await (
        ScheduleRun.filter(schedule_id=schedule_id, status=JobStatus.QUEUED)
        .using_db(db)
        .update(status=SKIPPED, finished_at=now)
    )


async def add_runs(schedule_id: UUID, periods: Sequence[tuple[int, date]]) -> None:
    """Record the (index, date) periods as QUEUED runs; periods recorded already stay as they
    are."""
    await ScheduleRun.bulk_create(
        [ScheduleRun(schedule_id=schedule_id, period=i, period_on=d) for i, d in periods],
        ignore_conflicts=True,
    )


async def advance(
    schedule_id: UUID,
    period: int,
    period_on: date,
    next_run_on: date | None,
    db: Transaction | None = None,
) -> None:
    """Record that period `period` (of date `period_on`) is done with, unless a later one is
    already; in the transaction `db` when given."""
    query = CreditSchedule.filter(id=schedule_id, last_period__lt=period)
    if db is not None:
        query = query.using_db(db)
    await query.update(last_period=period, last_run_on=period_on, next_run_on=next_run_on)
