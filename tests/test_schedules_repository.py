"""The credit schedules repository on both databases: what each function reads and writes,
exactly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from tortoise.exceptions import DoesNotExist

from domain import entities
from domain.credit_jobs import CreditRecord, NewSchedule, ScheduleJob, ScheduleRunJob
from models import locations
from models import schedules as repository
from models.db import transaction
from models.tables.crm import Customer, CustomerGroup, GroupMembership
from models.tables.wallet import CreditSchedule, ScheduleRun
from services import access
from settings import Settings
from tests.builders import sql_statements

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
START = date(2026, 3, 2)


@pytest.fixture
async def location(database: Settings) -> AsyncIterator[UUID]:
    created, _ = await access.create_location("Schedules Bistro")
    yield created.id
    # The schedules here start months ago and are never paused: left behind in the run's shared
    # database, every later worker's tick would catch up hundreds of their periods.
    await CreditSchedule.filter(location_id=created.id).delete()


async def create(
    location_id: UUID,
    *,
    key: str | None = None,
    target: str = "ALL",
    customer_ids: list[str] | None = None,
    group_ids: list[str] | None = None,
    created_at: datetime = T0,
    start_date: date = START,
) -> entities.CreditSchedule:
    record = CreditRecord(location_id, "ADD", 100, "Daily", "admin", key, "hash-1")
    schedule = NewSchedule(
        every=1,
        unit="DAY",
        start_date=start_date,
        end_date=None,
        target=target,
        customer_ids=tuple(customer_ids or ()),
        group_ids=tuple(group_ids or ()),
        created_at=created_at,
    )
    async with transaction() as db:
        return await repository.create(db, record, schedule)


async def job(schedule_id: UUID) -> ScheduleJob:
    found = await repository.job(schedule_id)
    assert found is not None
    return found


async def runs(schedule_id: UUID) -> list[tuple[int, str]]:
    rows = await ScheduleRun.filter(schedule_id=schedule_id).order_by("period")
    return [(row.period, row.status) for row in rows]


async def test_create_writes_a_schedule_read_back_by_id_key_location_and_job(
    location: UUID,
) -> None:
    listed = str(uuid4())
    created = await create(location, key="daily", target="CUSTOMERS", customer_ids=[listed])
    later = await create(location, created_at=T0 + timedelta(seconds=1))

    assert (created.operation, created.amount, created.every, created.unit) == (
        "ADD",
        100,
        1,
        "DAY",
    )
    assert (created.start_date, created.next_run_on, created.last_run_on) == (START, START, None)
    assert (created.paused, created.created_at) == (False, T0)
    assert await repository.view(created.id) == created
    assert await repository.view(uuid4()) is None
    assert await repository.current(created.id) == created
    with pytest.raises(DoesNotExist):
        await repository.current(uuid4())
    assert await repository.keyed(location, "daily") == (created, "hash-1")
    assert await repository.keyed(location, "weekly") is None
    assert await repository.of_location(location) == [created, later]
    assert await repository.job(created.id, uuid4()) is None
    assert await repository.job(created.id, location) == ScheduleJob(
        id=created.id,
        location_id=location,
        operation="ADD",
        amount=100,
        description="Daily",
        every=1,
        unit="DAY",
        start_date=START,
        end_date=None,
        target="CUSTOMERS",
        customer_ids=(listed,),
        group_ids=(),
        paused=False,
        last_period=-1,
        created_at=T0,
    )


async def test_due_leaves_out_paused_and_later_schedules(location: UUID) -> None:
    today = await create(location)
    later = await create(location, start_date=START + timedelta(days=2))
    paused = await create(location)
    await repository.pause(paused.id)

    with sql_statements() as statements:
        due = {s.id for s in await repository.due(START)}
        timezones = await locations.location_timezones()
        await repository.fresh_runs()

    assert len(statements) == 3  # the tick's reads: one statement each

    assert today.id in due
    assert later.id not in due
    assert paused.id not in due
    assert [s.id for s in await repository.due(START, later.id)] == []
    assert [s.id for s in await repository.due(START, today.id)] == [today.id]
    assert timezones[location] == "Europe/Warsaw"


async def test_runs_are_recorded_once_and_read_in_order(location: UUID) -> None:
    schedule = await create(location)
    days = [(i, START + timedelta(days=i)) for i in range(3)]

    await repository.add_runs(schedule.id, days[1:])
    await repository.add_runs(schedule.id, days)
    fresh = await repository.fresh_runs(schedule.id)

    assert [(r.schedule_id, r.period, r.period_on, r.status, r.attempts) for r in fresh] == [
        (schedule.id, i, d, "QUEUED", 0) for i, d in days
    ]
    first = await repository.first_unfinished_run(schedule.id)
    assert first == ScheduleRunJob(fresh[0].id, schedule.id, 0, START, "QUEUED", 0)
    await ScheduleRun.filter(id=fresh[0].id).update(status="FAILED", error="first")
    await ScheduleRun.filter(id=fresh[1].id).update(status="FAILED", error="second")
    assert await repository.first_unfinished_run(schedule.id) == fresh[2]
    assert await repository.latest_failures([schedule.id, uuid4()]) == {
        schedule.id: (days[1][1], "second")
    }
    await repository.pause(schedule.id)
    assert await repository.fresh_runs(schedule.id) == []
    assert schedule.id not in {r.schedule_id for r in await repository.fresh_runs()}


async def test_resume_skips_the_queued_runs_up_to_the_given_period(location: UUID) -> None:
    schedule = await create(location)
    await repository.add_runs(schedule.id, [(i, START + timedelta(days=i)) for i in range(3)])
    await repository.pause(schedule.id)

    async with transaction() as db:
        await repository.resume(
            db, schedule.id, skip_through=1, last_period=1, next_run_on=START, now=T0
        )

    resumed = await job(schedule.id)
    assert (resumed.paused, resumed.last_period) == (False, 1)
    assert await runs(schedule.id) == [(0, "SKIPPED"), (1, "SKIPPED"), (2, "QUEUED")]
    async with transaction() as db:
        await repository.resume(
            db, schedule.id, skip_through=None, last_period=1, next_run_on=START, now=T0
        )
    assert await runs(schedule.id) == [(0, "SKIPPED"), (1, "SKIPPED"), (2, "QUEUED")]


async def test_advance_moves_a_schedule_forward_only(location: UUID) -> None:
    schedule = await create(location)
    day_2, day_3 = START + timedelta(days=2), START + timedelta(days=3)

    await repository.advance(schedule.id, 2, day_2, day_3)
    async with transaction() as db:
        await repository.advance(schedule.id, 1, START, day_2, db)

    moved, seen = await job(schedule.id), await repository.view(schedule.id)
    assert moved.last_period == 2
    assert seen is not None
    assert (seen.last_run_on, seen.next_run_on) == (day_2, day_3)


async def test_targets_are_the_live_customers_of_a_list_groups_or_everyone(
    location: UUID,
) -> None:
    rows = [await Customer.create(location_id=location, first_name=f"C{n}") for n in range(4)]
    listed, member, other, gone = (row.id for row in rows)
    await Customer.filter(id=gone).update(deleted_at=T0)
    group = await CustomerGroup.create(location_id=location, name="VIP", reference="vip")
    for customer in (member, gone):
        await GroupMembership.create(group_id=group.id, customer_id=customer)
    by_list = await create(location, target="CUSTOMERS")
    # As an older release may have stored them: a malformed id names no one.
    stored = [str(listed), "not-an-id", str(gone)]
    await CreditSchedule.filter(id=by_list.id).update(customer_ids=stored)
    by_group = await create(location, target="GROUPS", group_ids=[str(group.id)])
    everyone = await create(location, target="ALL")

    chunks = [c async for c in repository.target_chunks(await job(everyone.id), 2)]

    assert await repository.target_count(await job(by_list.id)) == 1
    assert [c async for c in repository.target_chunks(await job(by_group.id), 5)] == [[member]]
    live = sorted([listed, member, other])
    assert chunks == [live[0:2], live[2:3]]
    assert await repository.customer_counts([by_list.id, by_group.id, everyone.id]) == {
        by_list.id: 1,
        by_group.id: 1,
        everyone.id: 3,
    }


async def test_delete_removes_the_schedule_and_its_runs(location: UUID) -> None:
    schedule = await create(location)
    await repository.add_runs(schedule.id, [(0, START)])

    await repository.delete(schedule.id)

    assert await repository.view(schedule.id) is None
    assert await runs(schedule.id) == []
