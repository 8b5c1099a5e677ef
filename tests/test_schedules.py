"""Recurring promotional credits: periods in the location's time zone, catch-up in order,
exactly-once application, pause / resume / delete, and live group membership.

Time is driven explicitly: the runtime's clock is a settable `Clock`, and the tick moves it to
its time, runs `queue_due_runs(runtime)` and drains the dispatcher.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from domain.requests import CreditRequest, CustomerFilter, Target
from domain.schedule import Recurrence, RecurrenceUnit
from gateway.runtime import with_dispatcher
from models.tables.wallet import CreditSchedule, ScheduleRun
from services import access, schedules
from services.runtime import Runtime
from tasks.inprocess import InProcessDispatcher
from tests.builders import ADD_TO_GROUP, DELETE_CUSTOMER
from tests.helpers import Api, Clock, create_customer, create_group
from tests.wallet_helpers import (
    CREDIT_SCHEDULES,
    DELETE_SCHEDULE,
    PAUSE_SCHEDULE,
    RESUME_SCHEDULE,
    balance_of,
    credit_ok,
    error_fields,
    ledger,
    nodes,
    principal_of,
    set_credits,
    snapshot,
    wallet_of,
)


def at(text: str) -> datetime:
    """An aware UTC instant from '2026-03-31T10:00'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    """The runtime's notion of now; tests move it."""
    return Clock(at("2026-01-01T12:00"))


def runtime_of(dispatcher: InProcessDispatcher) -> Runtime:
    runtime: Runtime = dispatcher.context["runtime"]
    return runtime


def moved(dispatcher: InProcessDispatcher, now: datetime) -> Runtime:
    """The dispatcher's runtime, its clock set to `now`."""
    runtime = runtime_of(dispatcher)
    clock = runtime.clock
    assert isinstance(clock, Clock)
    clock.now = now
    return runtime


@pytest.fixture(autouse=True)
async def own_schedules_only(api: Api) -> AsyncIterator[None]:
    """Ticks see every schedule in the database: drop this test's ones when it ends."""
    yield
    await CreditSchedule.filter(location_id=UUID(api.location_id)).delete()


async def tick(now: datetime, dispatcher: InProcessDispatcher) -> None:
    await schedules.queue_due_runs(moved(dispatcher, now))
    await dispatcher.drain()


async def schedule_row(api: Api, schedule_id: str) -> dict[str, Any]:
    """The schedule as `creditSchedules` shows it."""
    data = await api.data(CREDIT_SCHEDULES)
    (found,) = [s for s in data["creditSchedules"] if s["id"] == schedule_id]
    assert isinstance(found, dict)
    return found


async def runs_of(schedule_id: str) -> list[tuple[int, date, str]]:
    rows = await ScheduleRun.filter(schedule_id=UUID(schedule_id)).order_by("period")
    return [(r.period, r.period_on, r.status) for r in rows]


async def periods_of(customer_id: str) -> list[int]:
    return [e.period for e in await ledger(customer_id)]


async def new_schedule(
    api: Api,
    dispatcher: InProcessDispatcher,
    target: dict[str, Any],
    start: str,
    amount: str = "10.00",
    unit: str = "MONTH",
    **recurrence: Any,
) -> dict[str, Any]:
    schedule = await credit_ok(
        api,
        target,
        "ADD",
        amount,
        description="Monthly bonus",
        recurrence={"unit": unit, "startDate": start, **recurrence},
    )
    await dispatcher.drain()
    return schedule


# ---------------------------------------------------------------- first application


async def test_a_schedule_starting_today_is_applied_at_once(
    api: Api, dispatcher: InProcessDispatcher, clock: Clock
) -> None:
    # given it is 15 June, 10:00 in Warsaw
    clock.now = at("2026-06-15T08:00")
    customer = await create_customer(api)

    # when a monthly schedule starting today is created
    schedule = await new_schedule(api, dispatcher, {"customerIds": [customer["id"]]}, "2026-06-15")

    # then today's period is applied and the next one is a month later
    shown = await schedule_row(api, schedule["id"])
    assert (shown["lastRunOn"], shown["nextRunOn"]) == ("2026-06-15", "2026-07-15")
    assert schedule["target"] == "CUSTOMERS"
    (entry,) = nodes(await wallet_of(api, customer["id"]))
    assert (entry["kind"], entry["delta"]["amount"], entry["balanceAfter"]["amount"]) == (
        "ADD",
        "10.00",
        "10.00",
    )
    assert (entry["source"], entry["sourceId"], entry["actor"]) == (
        "SCHEDULE",
        schedule["id"],
        "schedule",
    )
    assert entry["description"] == "Monthly bonus"
    assert await runs_of(schedule["id"]) == [(0, date(2026, 6, 15), "SUCCEEDED")]


async def test_a_schedule_starting_later_waits_for_its_date(
    api: Api, dispatcher: InProcessDispatcher, clock: Clock
) -> None:
    # given it is 14 June
    clock.now = at("2026-06-14T08:00")
    customer = await create_customer(api)

    # when a schedule starting tomorrow is created
    schedule = await new_schedule(api, dispatcher, {"customerIds": [customer["id"]]}, "2026-06-15")

    # then nothing is applied yet
    shown = await schedule_row(api, schedule["id"])
    assert (shown["lastRunOn"], shown["nextRunOn"]) == (None, "2026-06-15")
    assert await ledger(customer["id"]) == []
    assert await runs_of(schedule["id"]) == []


# ---------------------------------------------------------------- catching up


async def test_a_start_date_before_today_is_refused_and_today_is_not(
    api: Api, dispatcher: InProcessDispatcher, clock: Clock
) -> None:
    # given it is 00:30 on 15 June in Warsaw (still 14 June in UTC)
    clock.now = at("2026-06-14T22:30")
    customer = await create_customer(api)
    one = {"customerIds": [customer["id"]]}
    before = await snapshot(api.location_id)

    # when schedules starting yesterday (Warsaw) and in year 1 are requested
    answers = [
        await set_credits(api, one, "ADD", "10.00", recurrence={"unit": "DAY", "startDate": d})
        for d in ("2026-06-14", "0001-01-01")
    ]
    await dispatcher.drain()

    # then both are refused on the start date and nothing was created or applied
    assert [a["errors"] for a in answers] == [
        [
            {
                "code": "INVALID",
                "field": "input.recurrence.startDate",
                "message": "Start date must not be before today (2026-06-15).",
            }
        ]
    ] * 2
    assert await snapshot(api.location_id) == before

    # and one starting today is created and applied at once
    await new_schedule(api, dispatcher, one, "2026-06-15", unit="DAY")
    assert await periods_of(customer["id"]) == [0]


async def test_an_older_schedule_starting_in_the_past_never_applies_a_period_before_its_creation(
    api: Api, dispatcher: InProcessDispatcher, clock: Clock
) -> None:
    # given a daily schedule stored before start dates were checked: it starts on 1 January
    # 2006 but was created at 13:00 on 10 March 2026 in Warsaw, and has applied nothing yet
    customer = await create_customer(api)
    row = await CreditSchedule.create(
        location_id=UUID(api.location_id),
        operation="ADD",
        amount=1000,
        actor="admin",
        every=1,
        unit="DAY",
        start_date=date(2006, 1, 1),
        target="CUSTOMERS",
        customer_ids=[customer["id"]],
        next_run_on=date(2006, 1, 1),
        created_at=at("2026-03-10T12:00"),
    )

    # when the first tick comes two days later
    await tick(at("2026-03-12T12:00"), dispatcher)

    # then only the periods from its creation day on were recorded and applied, in order
    first = (date(2026, 3, 10) - date(2006, 1, 1)).days
    assert await runs_of(str(row.id)) == [
        (first, date(2026, 3, 10), "SUCCEEDED"),
        (first + 1, date(2026, 3, 11), "SUCCEEDED"),
        (first + 2, date(2026, 3, 12), "SUCCEEDED"),
    ]
    assert await periods_of(customer["id"]) == [first, first + 1, first + 2]
    assert await balance_of(api, customer["id"]) == "30.00"


async def test_month_end_schedule_catches_up_three_periods_in_order(
    api: Api, dispatcher: InProcessDispatcher, clock: Clock
) -> None:
    # given a monthly schedule from 31 January, created before it started
    clock.now = at("2026-01-30T12:00")
    customer = await create_customer(api)
    schedule = await new_schedule(api, dispatcher, {"customerIds": [customer["id"]]}, "2026-01-31")

    # when the first tick comes on 31 March
    await tick(at("2026-03-31T10:00"), dispatcher)

    # then 31 Jan, 28 Feb and 31 Mar were applied, oldest first
    assert await runs_of(schedule["id"]) == [
        (0, date(2026, 1, 31), "SUCCEEDED"),
        (1, date(2026, 2, 28), "SUCCEEDED"),
        (2, date(2026, 3, 31), "SUCCEEDED"),
    ]
    entries = await ledger(customer["id"])
    assert [(e.period, e.delta, e.balance_after) for e in entries] == [
        (0, 1000, 1000),
        (1, 1000, 2000),
        (2, 1000, 3000),
    ]
    shown = await schedule_row(api, schedule["id"])
    assert (shown["lastRunOn"], shown["nextRunOn"]) == ("2026-03-31", "2026-04-30")
    assert await balance_of(api, customer["id"]) == "30.00"


async def test_set_and_reduce_schedules_catch_up_in_period_order(
    api: Api, dispatcher: InProcessDispatcher, clock: Clock
) -> None:
    # given a customer with 100.00 and a weekly REDUCE of 30.00 that missed four weeks
    clock.now = at("2026-03-01T12:00")
    customer = await create_customer(api)
    one = {"customerIds": [customer["id"]]}
    await credit_ok(api, one, "ADD", "100.00")
    schedule = await credit_ok(
        api, one, "REDUCE", "30.00", recurrence={"unit": "WEEK", "startDate": "2026-03-02"}
    )

    # when one tick catches up
    await tick(at("2026-03-23T12:00"), dispatcher)

    # then the periods are applied one after the other, the last one clamped at zero
    entries = await ledger(customer["id"])
    assert [(e.kind, e.period, e.requested, e.delta, e.balance_after) for e in entries] == [
        ("ADD", 0, 10000, 10000, 10000),
        ("REDUCE", 0, 3000, -3000, 7000),
        ("REDUCE", 1, 3000, -3000, 4000),
        ("REDUCE", 2, 3000, -3000, 1000),
        ("REDUCE", 3, 3000, -1000, 0),
    ]
    assert {e.source_id for e in entries[1:]} == {schedule["id"]}


async def test_a_tick_after_three_missed_weeks_applies_them_in_order(
    api: Api, dispatcher: InProcessDispatcher, clock: Clock
) -> None:
    # given a weekly schedule whose first period was applied on Monday 2 March
    clock.now = at("2026-03-01T12:00")
    customer = await create_customer(api)
    schedule = await new_schedule(
        api, dispatcher, {"customerIds": [customer["id"]]}, "2026-03-02", unit="WEEK"
    )
    await tick(at("2026-03-02T12:00"), dispatcher)
    assert await periods_of(customer["id"]) == [0]

    # when no tick comes for three weeks, then one does
    await tick(at("2026-03-23T12:00"), dispatcher)

    # then the three missed weeks are applied, oldest first
    assert [(e.period, e.balance_after) for e in await ledger(customer["id"])] == [
        (0, 1000),
        (1, 2000),
        (2, 3000),
        (3, 4000),
    ]
    assert [r[1] for r in await runs_of(schedule["id"])] == [
        date(2026, 3, 2),
        date(2026, 3, 9),
        date(2026, 3, 16),
        date(2026, 3, 23),
    ]
    shown = await schedule_row(api, schedule["id"])
    assert (shown["lastRunOn"], shown["nextRunOn"]) == ("2026-03-23", "2026-03-30")


async def test_two_ticks_at_once_apply_each_period_once(
    api: Api, dispatcher: InProcessDispatcher, clock: Clock
) -> None:
    # given a daily schedule for two customers that has five periods due
    clock.now = at("2026-03-31T12:00")
    customers = [await create_customer(api) for _ in range(2)]
    schedule = await new_schedule(
        api, dispatcher, {"customerIds": [c["id"] for c in customers]}, "2026-04-01", unit="DAY"
    )

    # when two workers tick at the same moment
    first, second = InProcessDispatcher(), InProcessDispatcher()
    runtime = moved(dispatcher, at("2026-04-05T12:00"))
    await asyncio.gather(
        schedules.queue_due_runs(with_dispatcher(runtime, first)),
        schedules.queue_due_runs(with_dispatcher(runtime, second)),
    )
    await asyncio.gather(first.drain(), second.drain())

    # then each customer has each period once, in order
    for customer in customers:
        entries = await ledger(customer["id"])
        assert [(e.period, e.balance_after) for e in entries] == [
            (0, 1000),
            (1, 2000),
            (2, 3000),
            (3, 4000),
            (4, 5000),
        ]
    assert [(r[0], r[2]) for r in await runs_of(schedule["id"])] == [
        (i, "SUCCEEDED") for i in range(5)
    ]


async def test_running_a_finished_period_again_changes_nothing(
    api: Api, dispatcher: InProcessDispatcher, clock: Clock
) -> None:
    # given three applied periods
    clock.now = at("2026-01-30T12:00")
    customer = await create_customer(api)
    schedule = await new_schedule(api, dispatcher, {"customerIds": [customer["id"]]}, "2026-01-31")
    await tick(at("2026-03-31T10:00"), dispatcher)
    before = await snapshot(api.location_id)

    # when a period's job runs again
    await schedules.run_period(runtime_of(dispatcher), UUID(schedule["id"]), 1)
    await schedules.run_period(runtime_of(dispatcher), UUID(schedule["id"]), 2)

    # then nothing changed
    assert await snapshot(api.location_id) == before


async def test_a_retried_run_credits_no_one_twice(
    api: Api, dispatcher: InProcessDispatcher, clock: Clock
) -> None:
    # given a period that was applied, but whose run still looks unfinished (a crashed worker)
    clock.now = at("2026-01-30T12:00")
    customers = [await create_customer(api) for _ in range(3)]
    schedule = await new_schedule(
        api, dispatcher, {"customerIds": [c["id"] for c in customers]}, "2026-01-31"
    )
    await tick(at("2026-01-31T10:00"), dispatcher)
    # (the periodic check puts a silent run back in the queue)
    await ScheduleRun.filter(schedule_id=UUID(schedule["id"]), period=0).update(status="QUEUED")
    before = await snapshot(api.location_id)

    # when the period is run again
    await schedules.run_period(runtime_of(dispatcher), UUID(schedule["id"]), 0)

    # then no balance or entry changed, and the run is finished
    assert await snapshot(api.location_id) == before
    assert await runs_of(schedule["id"]) == [(0, date(2026, 1, 31), "SUCCEEDED")]
    assert [await periods_of(c["id"]) for c in customers] == [[0], [0], [0]]


# ---------------------------------------------------------------- pause, resume, delete


async def test_a_paused_schedule_does_nothing_on_tick(
    api: Api, dispatcher: InProcessDispatcher, clock: Clock
) -> None:
    # given a schedule that was paused before it started
    clock.now = at("2026-03-01T12:00")
    customer = await create_customer(api)
    schedule = await new_schedule(
        api, dispatcher, {"customerIds": [customer["id"]]}, "2026-03-02", unit="DAY"
    )
    paused = await api.mutate(PAUSE_SCHEDULE, {"id": schedule["id"]})
    assert paused["errors"] == []
    assert (paused["schedule"]["paused"], paused["schedule"]["nextRunOn"]) == (True, None)
    before = await snapshot(api.location_id)

    # when ticks come after its periods fell due
    await tick(at("2026-03-05T12:00"), dispatcher)
    await tick(at("2026-03-06T12:00"), dispatcher)

    # then nothing was applied or recorded
    assert await snapshot(api.location_id) == before
    shown = await schedule_row(api, schedule["id"])
    assert (shown["paused"], shown["lastRunOn"], shown["nextRunOn"]) == (True, None, None)


async def test_resume_skips_the_paused_periods_but_applies_today(
    api: Api, dispatcher: InProcessDispatcher, clock: Clock
) -> None:
    # given a daily schedule applied on 1 May, then paused
    clock.now = at("2026-05-01T08:00")
    customer = await create_customer(api)
    schedule = await new_schedule(
        api, dispatcher, {"customerIds": [customer["id"]]}, "2026-05-01", unit="DAY"
    )
    assert (await api.mutate(PAUSE_SCHEDULE, {"id": schedule["id"]}))["errors"] == []
    await tick(at("2026-05-03T08:00"), dispatcher)

    # when it is resumed on 5 May
    clock.now = at("2026-05-05T08:00")
    resumed = await api.mutate(RESUME_SCHEDULE, {"id": schedule["id"]})
    await dispatcher.drain()

    # then 2-4 May are skipped and 5 May is applied
    assert resumed["errors"] == []
    assert resumed["schedule"]["paused"] is False
    assert [(e.period, e.balance_after) for e in await ledger(customer["id"])] == [
        (0, 1000),
        (4, 2000),
    ]
    shown = await schedule_row(api, schedule["id"])
    assert (shown["paused"], shown["lastRunOn"], shown["nextRunOn"]) == (
        False,
        "2026-05-05",
        "2026-05-06",
    )

    # and the schedule goes on from there
    await tick(at("2026-05-06T08:00"), dispatcher)
    assert await periods_of(customer["id"]) == [0, 4, 5]


async def test_pause_and_resume_on_the_same_day_does_not_apply_today_twice(
    api: Api, dispatcher: InProcessDispatcher, clock: Clock
) -> None:
    # given a daily schedule applied today, then paused
    clock.now = at("2026-05-01T08:00")
    customer = await create_customer(api)
    schedule = await new_schedule(
        api, dispatcher, {"customerIds": [customer["id"]]}, "2026-05-01", unit="DAY"
    )
    await api.mutate(PAUSE_SCHEDULE, {"id": schedule["id"]})
    before = await snapshot(api.location_id)

    # when it is resumed later the same day
    clock.now = at("2026-05-01T20:00")
    resumed = await api.mutate(RESUME_SCHEDULE, {"id": schedule["id"]})
    await dispatcher.drain()
    await tick(at("2026-05-01T20:00"), dispatcher)

    # then today's period is not applied again
    assert resumed["errors"] == []
    assert await snapshot(api.location_id) == before
    assert (resumed["schedule"]["lastRunOn"], resumed["schedule"]["nextRunOn"]) == (
        "2026-05-01",
        "2026-05-02",
    )


async def test_resume_skips_a_period_that_was_recorded_but_not_run_before_the_pause(
    api: Api, dispatcher: InProcessDispatcher, clock: Clock
) -> None:
    # given a daily schedule whose first period was recorded by a tick whose job never ran
    clock.now = at("2026-04-30T08:00")
    customer = await create_customer(api)
    schedule = await new_schedule(
        api, dispatcher, {"customerIds": [customer["id"]]}, "2026-05-01", unit="DAY"
    )
    lost = InProcessDispatcher()
    await schedules.queue_due_runs(with_dispatcher(moved(dispatcher, at("2026-05-01T08:00")), lost))
    await lost.close()
    await api.mutate(PAUSE_SCHEDULE, {"id": schedule["id"]})

    # when it is resumed on 3 May
    clock.now = at("2026-05-03T08:00")
    await api.mutate(RESUME_SCHEDULE, {"id": schedule["id"]})
    await dispatcher.drain()

    # then 1 and 2 May are skipped and only 3 May is applied
    assert await periods_of(customer["id"]) == [2]
    assert await runs_of(schedule["id"]) == [
        (0, date(2026, 5, 1), "SKIPPED"),
        (2, date(2026, 5, 3), "SUCCEEDED"),
    ]


async def test_resume_of_a_running_schedule_changes_nothing(
    api: Api, dispatcher: InProcessDispatcher, clock: Clock
) -> None:
    # given an active schedule applied today
    clock.now = at("2026-05-01T08:00")
    customer = await create_customer(api)
    schedule = await new_schedule(
        api, dispatcher, {"customerIds": [customer["id"]]}, "2026-05-01", unit="DAY"
    )
    before = await snapshot(api.location_id)

    # when it is resumed although it was never paused
    resumed = await api.mutate(RESUME_SCHEDULE, {"id": schedule["id"]})
    await dispatcher.drain()

    # then nothing changed
    assert resumed["errors"] == []
    assert await snapshot(api.location_id) == before
    assert (resumed["schedule"]["lastRunOn"], resumed["schedule"]["nextRunOn"]) == (
        "2026-05-01",
        "2026-05-02",
    )


async def test_a_deleted_schedule_stops(
    api: Api, dispatcher: InProcessDispatcher, clock: Clock
) -> None:
    # given a daily schedule applied once
    clock.now = at("2026-05-01T08:00")
    customer = await create_customer(api)
    schedule = await new_schedule(
        api, dispatcher, {"customerIds": [customer["id"]]}, "2026-05-01", unit="DAY"
    )

    # when it is deleted and time goes on
    deleted = await api.mutate(DELETE_SCHEDULE, {"id": schedule["id"]})
    await tick(at("2026-05-10T08:00"), dispatcher)
    await schedules.run_period(runtime_of(dispatcher), UUID(schedule["id"]), 5)

    # then it is gone, no more periods were applied, and its history stays
    assert deleted == {"deletedId": schedule["id"], "errors": []}
    assert (await api.data(CREDIT_SCHEDULES))["creditSchedules"] == []
    assert await periods_of(customer["id"]) == [0]
    assert await balance_of(api, customer["id"]) == "10.00"
    assert await runs_of(schedule["id"]) == []


async def test_another_location_cannot_pause_resume_or_delete_a_schedule(
    api: Api, other: Api, dispatcher: InProcessDispatcher, clock: Clock
) -> None:
    # given this location's schedule
    clock.now = at("2026-05-01T08:00")
    customer = await create_customer(api)
    schedule = await new_schedule(
        api, dispatcher, {"customerIds": [customer["id"]]}, "2026-05-01", unit="DAY"
    )
    before = await snapshot(api.location_id)

    # when another location pauses, resumes and deletes it
    answers = [
        await other.mutate(document, {"id": schedule["id"]})
        for document in (PAUSE_SCHEDULE, RESUME_SCHEDULE, DELETE_SCHEDULE)
    ]

    # then each is NOT_FOUND and nothing changed
    assert [error_fields(a) for a in answers] == [[("NOT_FOUND", "id")]] * 3
    assert await snapshot(api.location_id) == before
    assert (await schedule_row(api, schedule["id"]))["paused"] is False


# ---------------------------------------------------------------- targets and end date


async def test_a_group_schedule_reaches_customers_who_joined_later(
    api: Api, dispatcher: InProcessDispatcher, clock: Clock
) -> None:
    # given a weekly schedule for a group of one, applied once
    clock.now = at("2026-03-01T12:00")
    group = await create_group(api, "VIP")
    early = await create_customer(api, groupIds=[group["id"]])
    late = await create_customer(api)
    schedule = await new_schedule(
        api, dispatcher, {"filter": {"groupIds": [group["id"]]}}, "2026-03-02", unit="WEEK"
    )
    await tick(at("2026-03-02T12:00"), dispatcher)
    assert (schedule["target"], schedule["groupIds"]) == ("GROUPS", [group["id"]])
    assert (await schedule_row(api, schedule["id"]))["customerCount"] == 1

    # when another customer joins the group before the next period
    joined = await api.mutate(
        ADD_TO_GROUP, {"groupId": group["id"], "target": {"customerIds": [late["id"]]}}
    )
    assert joined["errors"] == []
    await tick(at("2026-03-09T12:00"), dispatcher)

    # then the newcomer gets the second period but not the first
    assert await periods_of(early["id"]) == [0, 1]
    assert await periods_of(late["id"]) == [1]
    assert [await balance_of(api, c["id"]) for c in (early, late)] == ["20.00", "10.00"]
    assert (await schedule_row(api, schedule["id"]))["customerCount"] == 2


async def test_an_all_customers_schedule_reaches_customers_created_later_and_no_deleted_one(
    api: Api, other: Api, dispatcher: InProcessDispatcher, clock: Clock
) -> None:
    # given a weekly schedule for every customer, applied once, and another location's customer
    clock.now = at("2026-03-01T12:00")
    early = await create_customer(api)
    leaving = await create_customer(api)
    theirs = await create_customer(other)
    schedule = await new_schedule(
        api, dispatcher, {"allCustomers": True}, "2026-03-02", unit="WEEK"
    )
    assert (schedule["target"], schedule["groupIds"], schedule["customerCount"]) == ("ALL", [], 2)
    await tick(at("2026-03-02T12:00"), dispatcher)

    # when a customer is created and another deleted before the next period
    late = await create_customer(api)
    deleted = await api.mutate(DELETE_CUSTOMER, {"id": leaving["id"]})
    assert deleted["errors"] == []
    await tick(at("2026-03-09T12:00"), dispatcher)

    # then the newcomer gets the second period but not the first, the deleted customer only
    # the first (then written off), and the other location's customer nothing
    assert await periods_of(early["id"]) == [0, 1]
    assert await periods_of(late["id"]) == [1]
    assert [(e.period, e.kind) for e in await ledger(leaving["id"])] == [
        (0, "ADD"),
        (0, "WRITE_OFF"),
    ]
    assert await periods_of(theirs["id"]) == []
    assert [await balance_of(api, c["id"]) for c in (early, late)] == ["20.00", "10.00"]
    shown = await schedule_row(api, schedule["id"])
    assert (shown["target"], shown["customerCount"], shown["lastRunOn"]) == (
        "ALL",
        2,
        "2026-03-09",
    )


async def test_a_customer_in_two_target_groups_gets_each_period_once(
    api: Api, dispatcher: InProcessDispatcher, clock: Clock
) -> None:
    # given a customer in two groups, and a schedule for both groups
    clock.now = at("2026-03-01T12:00")
    gold, silver = await create_group(api, "Gold"), await create_group(api, "Silver")
    both = await create_customer(api, groupIds=[gold["id"], silver["id"]])
    only_silver = await create_customer(api, groupIds=[silver["id"]])
    schedule = await new_schedule(
        api, dispatcher, {"filter": {"groupIds": [gold["id"], silver["id"]]}}, "2026-03-02"
    )

    # when two periods are applied
    await tick(at("2026-04-02T12:00"), dispatcher)

    # then each customer got each period once
    assert await periods_of(both["id"]) == [0, 1]
    assert await periods_of(only_silver["id"]) == [0, 1]
    assert (await schedule_row(api, schedule["id"]))["customerCount"] == 2


async def test_no_period_is_applied_after_the_end_date(
    api: Api, dispatcher: InProcessDispatcher, clock: Clock
) -> None:
    # given a daily schedule from 1 to 3 June
    clock.now = at("2026-05-31T12:00")
    customer = await create_customer(api)
    schedule = await new_schedule(
        api,
        dispatcher,
        {"customerIds": [customer["id"]]},
        "2026-06-01",
        unit="DAY",
        endDate="2026-06-03",
    )

    # when ticks come well after the end
    await tick(at("2026-06-10T12:00"), dispatcher)
    await tick(at("2026-06-20T12:00"), dispatcher)

    # then exactly the three periods up to the end date were applied, and none is next
    assert await periods_of(customer["id"]) == [0, 1, 2]
    assert [r[1] for r in await runs_of(schedule["id"])] == [
        date(2026, 6, 1),
        date(2026, 6, 2),
        date(2026, 6, 3),
    ]
    shown = await schedule_row(api, schedule["id"])
    assert (shown["endDate"], shown["lastRunOn"], shown["nextRunOn"]) == (
        "2026-06-03",
        "2026-06-03",
        None,
    )


async def test_credit_schedules_lists_targets_counts_and_state(
    api: Api, dispatcher: InProcessDispatcher, clock: Clock
) -> None:
    # given a schedule for two listed customers and a paused one for a group of three
    clock.now = at("2026-11-01T12:00")
    group = await create_group(api, "Gold")
    listed = [await create_customer(api) for _ in range(2)]
    for _ in range(3):
        await create_customer(api, groupIds=[group["id"]])
    for_listed = await credit_ok(
        api,
        {"customerIds": [c["id"] for c in listed]},
        "SET",
        "100.00",
        description="Allowance",
        recurrence={"every": 2, "unit": "WEEK", "startDate": "2026-12-01"},
    )
    for_group = await credit_ok(
        api,
        {"filter": {"groupIds": [group["id"]]}},
        "ADD",
        "5.50",
        recurrence={"unit": "MONTH", "startDate": "2026-12-15", "endDate": "2027-06-15"},
    )
    await api.mutate(PAUSE_SCHEDULE, {"id": for_group["id"]})

    # when the schedules are listed
    data = await api.data(CREDIT_SCHEDULES)

    # then both are shown, oldest first, with their targets and state
    assert data["creditSchedules"] == [
        {
            "id": for_listed["id"],
            "operation": "SET",
            "amount": {"amount": "100.00"},
            "description": "Allowance",
            "every": 2,
            "unit": "WEEK",
            "startDate": "2026-12-01",
            "endDate": None,
            "target": "CUSTOMERS",
            "groupIds": [],
            "customerCount": 2,
            "paused": False,
            "nextRunOn": "2026-12-01",
            "lastRunOn": None,
        },
        {
            "id": for_group["id"],
            "operation": "ADD",
            "amount": {"amount": "5.50"},
            "description": None,
            "every": 1,
            "unit": "MONTH",
            "startDate": "2026-12-15",
            "endDate": "2027-06-15",
            "target": "GROUPS",
            "groupIds": [group["id"]],
            "customerCount": 3,
            "paused": True,
            "nextRunOn": None,
            "lastRunOn": None,
        },
    ]


# ---------------------------------------------------------------- idempotency


async def test_the_same_schedule_request_twice_creates_one_schedule(
    api: Api, dispatcher: InProcessDispatcher, clock: Clock
) -> None:
    # given a schedule created with an idempotency key
    clock.now = at("2026-05-01T08:00")
    customer = await create_customer(api)
    one = {"customerIds": [customer["id"]]}
    recurrence = {"unit": "DAY", "startDate": "2026-05-01"}
    first = await credit_ok(api, one, "ADD", "3.00", recurrence=recurrence, idempotencyKey="s-1")
    await dispatcher.drain()

    # when the same request is sent again, and then the key with another amount
    again = await credit_ok(api, one, "ADD", "3.00", recurrence=recurrence, idempotencyKey="s-1")
    await dispatcher.drain()
    before = await snapshot(api.location_id)
    reused = await set_credits(api, one, "ADD", "4.00", recurrence=recurrence, idempotencyKey="s-1")
    await dispatcher.drain()

    # then there is one schedule, applied once, and the changed request is refused
    assert again["id"] == first["id"]
    assert len((await api.data(CREDIT_SCHEDULES))["creditSchedules"]) == 1
    assert await periods_of(customer["id"]) == [0]
    assert error_fields(reused) == [("IDEMPOTENCY_KEY_REUSED", "input.idempotencyKey")]
    assert reused["schedule"] is None
    assert await snapshot(api.location_id) == before


# ---------------------------------------------------------------- time zones


async def test_a_period_is_due_from_midnight_in_the_locations_time_zone(
    api: Api, dispatcher: InProcessDispatcher, clock: Clock
) -> None:
    # given a Warsaw location's schedule starting 1 December
    clock.now = at("2026-11-30T20:00")
    customer = await create_customer(api)
    schedule = await new_schedule(api, dispatcher, {"customerIds": [customer["id"]]}, "2026-12-01")

    # when it is 23:30 on 30 November in Warsaw (22:30 UTC)
    await tick(at("2026-11-30T22:30"), dispatcher)

    # then the period is not due yet
    assert await ledger(customer["id"]) == []
    assert (await schedule_row(api, schedule["id"]))["nextRunOn"] == "2026-12-01"

    # when it is 00:30 on 1 December in Warsaw (23:30 UTC)
    await tick(at("2026-11-30T23:30"), dispatcher)

    # then it is applied
    assert await periods_of(customer["id"]) == [0]
    shown = await schedule_row(api, schedule["id"])
    assert (shown["lastRunOn"], shown["nextRunOn"]) == ("2026-12-01", "2027-01-01")


async def test_creation_and_resume_use_the_locations_date_not_the_utc_date(
    api: Api, dispatcher: InProcessDispatcher, clock: Clock
) -> None:
    # given it is 00:30 on 1 May in Warsaw, still 30 April in UTC
    clock.now = at("2026-04-30T22:30")
    customer = await create_customer(api)

    # when a daily schedule starting 1 May is created
    schedule = await new_schedule(
        api, dispatcher, {"customerIds": [customer["id"]]}, "2026-05-01", unit="DAY"
    )

    # then 1 May is applied at once
    assert await periods_of(customer["id"]) == [0]

    # when it is paused, and resumed at 00:30 on 5 May in Warsaw (4 May in UTC)
    await api.mutate(PAUSE_SCHEDULE, {"id": schedule["id"]})
    clock.now = at("2026-05-04T22:30")
    await api.mutate(RESUME_SCHEDULE, {"id": schedule["id"]})
    await dispatcher.drain()

    # then 2-4 May are skipped and 5 May, Warsaw's today, is applied
    assert await periods_of(customer["id"]) == [0, 4]
    shown = await schedule_row(api, schedule["id"])
    assert (shown["lastRunOn"], shown["nextRunOn"]) == ("2026-05-05", "2026-05-06")


async def test_periods_follow_each_locations_own_time_zone(
    api: Api, dispatcher: InProcessDispatcher, clock: Clock
) -> None:
    # given a New York location with a schedule starting 1 December, created through the service
    location, secret = await access.create_location("Deli NY", timezone="America/New_York")
    new_york = Api(api.http, secret, str(location.id))
    customer = await create_customer(new_york)
    clock.now = at("2026-11-30T20:00")
    request = CreditRequest(
        target=Target(customer_ids=(customer["id"],)),
        operation="ADD",
        amount=Decimal("2.00"),
        recurrence=Recurrence(1, RecurrenceUnit.DAY, date(2026, 12, 1)),
    )
    try:
        created = await schedules.create_schedule(
            runtime_of(dispatcher), await principal_of(new_york), request
        )
        await dispatcher.drain()

        # when it is already 1 December in Warsaw but 23:30 on 30 November in New York
        await tick(at("2026-12-01T04:30"), dispatcher)
        not_yet = await ledger(customer["id"])

        # and then 00:30 on 1 December in New York
        await tick(at("2026-12-01T05:30"), dispatcher)

        # then the period came at New York's midnight
        assert not_yet == []
        assert await periods_of(customer["id"]) == [0]
        row = await CreditSchedule.get(id=created.id)
        assert (row.last_run_on, row.next_run_on) == (date(2026, 12, 1), date(2026, 12, 2))
    finally:
        await CreditSchedule.filter(location_id=location.id).delete()


async def test_a_group_schedule_created_through_the_service_has_group_target(
    api: Api, dispatcher: InProcessDispatcher, clock: Clock
) -> None:
    # given a group with two members
    clock.now = at("2026-02-01T09:00")
    group = await create_group(api, "Regulars")
    members = [await create_customer(api, groupIds=[group["id"]]) for _ in range(2)]
    request = CreditRequest(
        target=Target(filter=CustomerFilter(group_ids=(group["id"],))),
        operation="SET",
        amount=Decimal("50.00"),
        recurrence=Recurrence(1, RecurrenceUnit.MONTH, date(2026, 2, 1)),
    )

    # when the schedule is created on its start date
    created = await schedules.create_schedule(
        runtime_of(dispatcher), await principal_of(api), request
    )
    await dispatcher.drain()

    # then it targets the group and today's period set every member to 50.00
    assert (created.target, created.group_ids) == ("GROUPS", (UUID(group["id"]),))
    assert [await balance_of(api, m["id"]) for m in members] == ["50.00", "50.00"]
    row = await CreditSchedule.get(id=created.id)
    assert (row.last_run_on, row.next_run_on) == (date(2026, 2, 1), date(2026, 3, 1))
