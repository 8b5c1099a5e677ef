"""Editing a credit schedule, and the history of its periods.

An edit (amount, description, end date) is checked as creation checks those fields
(`domain.schedule_edits`) and applies from the next period: a period under way keeps the amount
and description its run took when it started (`services.schedules._apply_run`). An edit writes
absolute values, so repeating it changes nothing more.

The history lists the periods that were recorded and not skipped, newest first, each with what
its entries of the schedule's operation sum to.
"""

from __future__ import annotations

from uuid import UUID

from domain import entities
from domain.access import Principal
from domain.errors import ErrorCode, Validator
from domain.messages import msg
from domain.paging import decode_cursor, page_of, page_size_problem
from domain.requests import ScheduleUpdate
from domain.schedule import local_today
from domain.schedule_edits import schedule_changes
from services.runtime import Runtime
from services.schedules import own


async def update_schedule(
    runtime: Runtime, principal: Principal, schedule_id: str, update: ScheduleUpdate
) -> entities.CreditSchedule:
    """Edit the location's schedule `schedule_id` (NOT_FOUND otherwise); nothing is written
    when the edit is refused."""
    stores = runtime.stores
    schedule = await own(stores.schedules, principal.location_id, schedule_id)
    today = local_today(runtime.clock(), principal.timezone)
    columns = schedule_changes(schedule, update, minor_units=principal.minor_units, today=today)
    if columns:
        async with stores.transaction() as db:
            await stores.schedules.update(db, schedule.id, columns)
    return await stores.schedules.current(schedule.id)


async def schedule_runs(
    runtime: Runtime, location_id: UUID, schedule_id: UUID, first: int, after: str | None
) -> entities.Page[entities.ScheduleRun]:
    """A page of the schedule's periods, newest first; INVALID for a page size out of range
    or a cursor that is not of this list."""
    checks = Validator()
    if problem := page_size_problem(first):
        checks.add(ErrorCode.INVALID, "first", problem)
    before: int | None = None
    if after is not None:
        key = decode_cursor(after)
        if key is None or not key.isdigit():
            checks.add(ErrorCode.INVALID, "after", msg("page.bad_cursor"))
        else:
            before = int(key)
    checks.check()
    schedules = runtime.stores.schedules
    schedule = await own(schedules, location_id, str(schedule_id))
    found = await schedules.runs(schedule, before, first + 1)
    return page_of(found, first, 0, key=lambda r: r.period)
