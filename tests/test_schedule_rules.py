"""The schedule service's rules, against the in-memory stores (`tests/memory/`): no database.

Periods fall due at midnight in the location's time zone; the tick records each due period
once and a period's run applies it once; missed periods are caught up oldest first; pause,
resume and delete; idempotency of the request. The SQL behind the same rules is tested in
the database suites (`test_schedules.py`, `test_schedules_repository.py`, ...)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.access import Principal, Role
from domain.errors import DomainError, ErrorCode
from domain.ledger import MAX_CREDIT_BALANCE
from domain.messages import decode
from domain.requests import CreditRequest, Target
from domain.schedule import Recurrence, RecurrenceUnit
from models.ledger import Application
from services import schedules
from services.runtime import Runtime
from tests.english import en
from tests.helpers import Clock
from tests.memory import Memory, Recorder, memory_runtime
from tests.memory.ledger import Ledger

NOW = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def _world(timezone: str = "UTC") -> tuple[Memory, Runtime, Recorder, Principal, Clock]:
    memory = Memory()
    clock = Clock(NOW)
    runtime, dispatcher = memory_runtime(memory, clock)
    location_id = memory.add_location(timezone)
    principal = Principal(location_id, uuid4(), "office", Role.ADMIN, timezone=timezone)
    return memory, runtime, dispatcher, principal, clock


def _daily(
    customers: Sequence[UUID] | None,
    start: date,
    *,
    amount: str = "1",
    key: str | None = None,
) -> CreditRequest:
    """ADD `amount` every day from `start`: to `customers`, or to every customer (None)."""
    target = (
        Target(all_customers=True)
        if customers is None
        else Target(customer_ids=tuple(str(c) for c in customers))
    )
    recurrence = Recurrence(1, RecurrenceUnit.DAY, start)
    return CreditRequest(target, "ADD", Decimal(amount), recurrence=recurrence, idempotency_key=key)


def _runs(memory: Memory, schedule_id: UUID) -> dict[int, tuple[date, str]]:
    """Period -> (date, status) of the schedule's runs."""
    return {
        period: (run.period_on, str(run.status))
        for (owner, period), run in memory.t.runs.items()
        if owner == schedule_id
    }


async def _run_due(runtime: Runtime, dispatcher: Recorder) -> None:
    """Run each queued period job, as a worker would."""
    queued, dispatcher.queued = dispatcher.queued, []
    for _, (schedule_id, period) in queued:
        await schedules.run_period(runtime, UUID(schedule_id), int(period))


async def test_a_period_falls_due_at_midnight_in_the_locations_time_zone() -> None:
    # given a daily schedule in Auckland (UTC+12 in June) from 2 June, made at 22:00 on 1 June
    memory, runtime, dispatcher, principal, clock = _world("Pacific/Auckland")
    ids = memory.add_customers(principal.location_id, 1)
    created = await schedules.create_schedule(runtime, principal, _daily(ids, date(2026, 6, 2)))

    # when the tick runs a minute before and at local midnight
    clock.now = datetime(2026, 6, 1, 11, 59, tzinfo=UTC)
    before = await schedules.queue_due_runs(runtime)
    clock.now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    at_midnight = await schedules.queue_due_runs(runtime)

    # then the first period is due from midnight there, while it is still 1 June in UTC
    assert (before, at_midnight) == (0, 1)
    assert _runs(memory, created.id) == {0: (date(2026, 6, 2), "QUEUED")}
    assert dispatcher.queued == [("run_schedule_period", (str(created.id), "0"))]


async def test_the_tick_records_each_period_once_and_a_run_applies_it_once() -> None:
    memory, runtime, dispatcher, principal, clock = _world()
    ids = memory.add_customers(principal.location_id, 2)
    created = await schedules.create_schedule(runtime, principal, _daily(ids, NOW.date()))
    await _run_due(runtime, dispatcher)

    # the same day: ticks find nothing new, and running the period again changes nothing
    again = await schedules.queue_due_runs(runtime)
    await schedules.run_period(runtime, created.id, 0)
    same_day = memory.balances(ids)
    # the next day: one more period
    clock.now += timedelta(days=1)
    next_day = await schedules.queue_due_runs(runtime)
    await _run_due(runtime, dispatcher)

    assert again == 0
    assert same_day == [100, 100]
    assert next_day == 1
    assert memory.balances(ids) == [200, 200]
    assert _runs(memory, created.id) == {
        0: (date(2026, 6, 1), "SUCCEEDED"),
        1: (date(2026, 6, 2), "SUCCEEDED"),
    }
    schedule = await runtime.stores.schedules.current(created.id)
    assert (schedule.last_run_on, schedule.next_run_on) == (date(2026, 6, 2), date(2026, 6, 3))


async def test_missed_periods_are_caught_up_oldest_first_by_one_job() -> None:
    memory, runtime, dispatcher, principal, clock = _world()
    (customer,) = memory.add_customers(principal.location_id, 1)
    created = await schedules.create_schedule(runtime, principal, _daily([customer], NOW.date()))
    dispatcher.queued.clear()

    # when three days pass before the tick, and the job of the last period runs first
    clock.now += timedelta(days=3)
    queued = await schedules.queue_due_runs(runtime)
    await schedules.run_period(runtime, created.id, 3)

    assert queued == 4
    entries = sorted(memory.t.entries.values(), key=lambda e: e.period)
    assert [(e.period, e.balance_after) for e in entries] == [
        (0, 100),
        (1, 200),
        (2, 300),
        (3, 400),
    ]
    assert {s for _, s in _runs(memory, created.id).values()} == {"SUCCEEDED"}


async def test_every_customer_means_those_of_each_period_the_new_ones_too() -> None:
    memory, runtime, dispatcher, principal, clock = _world()
    first = memory.add_customers(principal.location_id, 1)
    await schedules.create_schedule(runtime, principal, _daily(None, NOW.date()))
    await _run_due(runtime, dispatcher)

    later = memory.add_customers(principal.location_id, 1)
    clock.now += timedelta(days=1)
    await schedules.queue_due_runs(runtime)
    await _run_due(runtime, dispatcher)

    assert memory.balances(first + later) == [200, 100]


async def test_a_paused_schedule_skips_the_periods_that_fell_meanwhile_and_runs_today() -> None:
    memory, runtime, dispatcher, principal, clock = _world()
    ids = memory.add_customers(principal.location_id, 1)
    created = await schedules.create_schedule(runtime, principal, _daily(ids, NOW.date()))
    await _run_due(runtime, dispatcher)
    location = principal.location_id

    # when it is paused for two days (the tick running each day), then resumed on the third
    paused = await schedules.pause_schedule(runtime, location, str(created.id))
    for _ in range(2):
        clock.now += timedelta(days=1)
        assert await schedules.queue_due_runs(runtime) == 0
    clock.now += timedelta(days=1)
    resumed = await schedules.resume_schedule(runtime, location, str(created.id))
    await _run_due(runtime, dispatcher)

    # then only the first day and the day of the resume were applied
    assert (paused.paused, resumed.paused) == (True, False)
    assert resumed.next_run_on == date(2026, 6, 4)
    assert memory.balances(ids) == [200]
    assert _runs(memory, created.id) == {
        0: (date(2026, 6, 1), "SUCCEEDED"),
        3: (date(2026, 6, 4), "SUCCEEDED"),
    }


async def test_a_run_of_a_paused_schedule_waits_for_its_resume() -> None:
    memory, runtime, dispatcher, principal, _ = _world()
    ids = memory.add_customers(principal.location_id, 1)
    created = await schedules.create_schedule(runtime, principal, _daily(ids, NOW.date()))

    await schedules.pause_schedule(runtime, principal.location_id, str(created.id))
    await _run_due(runtime, dispatcher)

    assert memory.balances(ids) == [0]
    assert _runs(memory, created.id) == {0: (date(2026, 6, 1), "QUEUED")}


async def test_a_deleted_schedule_is_gone_with_its_runs() -> None:
    memory, runtime, _, principal, clock = _world()
    ids = memory.add_customers(principal.location_id, 1)
    created = await schedules.create_schedule(runtime, principal, _daily(ids, NOW.date()))
    location = principal.location_id

    deleted = await schedules.delete_schedule(runtime, location, str(created.id))
    clock.now += timedelta(days=1)
    queued = await schedules.queue_due_runs(runtime)
    with pytest.raises(DomainError) as gone:
        await schedules.pause_schedule(runtime, location, str(created.id))

    assert deleted == created.id
    assert queued == 0
    assert memory.t.schedules == {}
    assert memory.t.runs == {}
    assert [(e.code, e.field) for e in gone.value.errors] == [(ErrorCode.NOT_FOUND, "id")]


async def test_another_locations_schedule_is_not_found() -> None:
    memory, runtime, _, principal, _ = _world()
    ids = memory.add_customers(principal.location_id, 1)
    created = await schedules.create_schedule(runtime, principal, _daily(ids, NOW.date()))

    with pytest.raises(DomainError) as refused:
        await schedules.delete_schedule(runtime, memory.add_location(), str(created.id))

    assert [(e.code, e.field) for e in refused.value.errors] == [(ErrorCode.NOT_FOUND, "id")]
    assert list(memory.t.schedules) == [created.id]


async def test_a_repeated_key_returns_the_first_schedule_and_a_changed_request_is_refused() -> None:
    memory, runtime, _, principal, _ = _world()
    ids = memory.add_customers(principal.location_id, 1)
    request = _daily(ids, NOW.date(), key="s-1")
    first = await schedules.create_schedule(runtime, principal, request)

    again = await schedules.create_schedule(runtime, principal, request)
    with pytest.raises(DomainError) as refused:
        await schedules.create_schedule(
            runtime, principal, _daily(ids, NOW.date(), amount="2", key="s-1")
        )

    assert again == first
    assert list(memory.t.schedules) == [first.id]
    assert [(e.code, e.field) for e in refused.value.errors] == [
        (ErrorCode.IDEMPOTENCY_KEY_REUSED, "input.idempotencyKey")
    ]


class FailingOnce(Ledger):
    """The ledger, failing the first chunk of period `period` once, before it writes."""

    def __init__(self, memory: Memory, period: int) -> None:
        super().__init__(memory)
        self.period: int | None = period

    async def apply_chunk(
        self, customer_ids: Sequence[UUID], change: Application, db: Any = None
    ) -> int:
        if change.period == self.period:
            self.period = None
            raise RuntimeError("connection reset")
        return await super().apply_chunk(customer_ids, change, db)


async def test_a_failed_attempt_at_a_period_stops_the_catch_up_before_the_later_ones() -> None:
    # given two due periods, the first of which fails once
    memory, runtime, _, principal, clock = _world()
    (customer,) = memory.add_customers(principal.location_id, 1)
    runtime = replace(runtime, stores=replace(runtime.stores, ledger=FailingOnce(memory, 0)))
    created = await schedules.create_schedule(runtime, principal, _daily([customer], NOW.date()))
    clock.now += timedelta(days=1)
    await schedules.queue_due_runs(runtime)

    # when the later period's job runs, which takes up the earlier one first, and then again
    await schedules.run_period(runtime, created.id, 1)
    after_failure = _runs(memory, created.id)
    await schedules.run_period(runtime, created.id, 1)

    # then the failure left both queued, and the retry applied them in order
    assert after_failure == {0: (date(2026, 6, 1), "QUEUED"), 1: (date(2026, 6, 2), "QUEUED")}
    assert [memory.t.runs[(created.id, p)].attempts for p in (0, 1)] == [2, 1]
    assert _runs(memory, created.id) == {
        0: (date(2026, 6, 1), "SUCCEEDED"),
        1: (date(2026, 6, 2), "SUCCEEDED"),
    }
    entries = sorted(memory.t.entries.values(), key=lambda e: e.balance_after)
    assert [(e.period, e.balance_after) for e in entries] == [(0, 100), (1, 200)]


async def test_a_period_past_the_maximum_fails_and_the_schedule_moves_on() -> None:
    memory, runtime, dispatcher, principal, _ = _world()
    (customer,) = memory.add_customers(principal.location_id, 1)
    memory.t.customers[customer].credit_balance = MAX_CREDIT_BALANCE
    created = await schedules.create_schedule(runtime, principal, _daily([customer], NOW.date()))

    await _run_due(runtime, dispatcher)

    run = memory.t.runs[(created.id, 0)]
    assert (run.status, run.attempts) == ("FAILED", 1)
    assert run.error is not None
    assert en(decode(run.error)) == (
        "A balance would exceed the maximum of 10000000000000.00 PLN; "
        "customers not yet credited were left unchanged."
    )
    schedule = await runtime.stores.schedules.current(created.id)
    assert (schedule.last_run_on, schedule.next_run_on) == (date(2026, 6, 1), date(2026, 6, 2))
    assert memory.balances([customer]) == [MAX_CREDIT_BALANCE]
