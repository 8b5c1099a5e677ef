"""Editing a schedule and reading its periods, against the in-memory stores: an edit is
checked as creation checks it, changes nothing when refused, and applies from the next period;
a period under way keeps the amount it started with. The history lists the periods newest
first, with what each wrote. The GraphQL side is `test_schedule_edits.py`."""

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
from domain.requests import CreditRequest, ScheduleUpdate, Target
from domain.schedule import Recurrence, RecurrenceUnit
from models.ledger import Application
from services import schedule_edits, schedules
from services.runtime import Runtime
from tests.english import en
from tests.helpers import Clock
from tests.memory import Memory, Recorder, memory_runtime
from tests.memory.ledger import Ledger

NOW = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
TODAY = NOW.date()


def _world(chunk_size: int = 5_000) -> tuple[Memory, Runtime, Recorder, Principal, Clock]:
    memory, clock = Memory(), Clock(NOW)
    runtime, dispatcher = memory_runtime(memory, clock, chunk_size=chunk_size)
    location_id = memory.add_location("UTC")
    principal = Principal(location_id, uuid4(), "office", Role.ADMIN, timezone="UTC")
    return memory, runtime, dispatcher, principal, clock


def _daily(customers: Sequence[UUID], amount: str = "1", end: date | None = None) -> CreditRequest:
    target = Target(customer_ids=tuple(str(c) for c in customers))
    recurrence = Recurrence(1, RecurrenceUnit.DAY, TODAY, end)
    return CreditRequest(target, "ADD", Decimal(amount), description="Daily", recurrence=recurrence)


async def _run_due(runtime: Runtime, dispatcher: Recorder) -> None:
    await schedules.queue_due_runs(runtime)
    queued, dispatcher.queued = dispatcher.queued, []
    for _, (schedule_id, period) in queued:
        await schedules.run_period(runtime, UUID(schedule_id), int(period))


def _errors(refused: pytest.ExceptionInfo[DomainError]) -> list[tuple[ErrorCode, str | None]]:
    return [(e.code, e.field) for e in refused.value.errors]


class FailingOnSecondChunk(Ledger):
    """Fails the first attempt at period 1 after its first chunk: the period is under way."""

    def __init__(self, memory: Memory) -> None:
        super().__init__(memory)
        self.chunks = 0

    async def apply_chunk(
        self, customer_ids: Sequence[UUID], change: Application, db: Any = None
    ) -> int:
        if change.period == 1:
            self.chunks += 1
            if self.chunks == 2:
                raise RuntimeError("connection reset")
        return await super().apply_chunk(customer_ids, change, db)


async def test_an_edit_applies_from_the_next_period_and_not_to_one_under_way() -> None:
    # given a daily 1.00 for two customers, one chunk each, today's period applied
    memory, runtime, dispatcher, principal, clock = _world(chunk_size=1)
    runtime = replace(runtime, stores=replace(runtime.stores, ledger=FailingOnSecondChunk(memory)))
    ids = memory.add_customers(principal.location_id, 2)
    created = await schedules.create_schedule(runtime, principal, _daily(ids))
    await _run_due(runtime, dispatcher)
    # and tomorrow's period stopped after crediting the first customer
    clock.now += timedelta(days=1)
    await _run_due(runtime, dispatcher)
    assert memory.balances(ids) == [200, 100]

    # when the amount and description are edited, and the period is retried
    update = ScheduleUpdate(amount=Decimal("5"), description="Bigger")
    edited = await schedule_edits.update_schedule(runtime, principal, str(created.id), update)
    await schedules.run_period(runtime, created.id, 1)

    # then the period under way ends as it began, and the next one applies the edit
    assert (edited.amount, edited.description) == (500, "Bigger")
    assert memory.balances(ids) == [200, 200]
    clock.now += timedelta(days=1)
    await _run_due(runtime, dispatcher)
    assert memory.balances(ids) == [700, 700]
    descriptions = {(e.period, e.description) for e in memory.t.entries.values()}
    assert descriptions == {(0, "Daily"), (1, "Daily"), (2, "Bigger")}


async def test_a_refused_edit_names_every_problem_and_changes_nothing() -> None:
    memory, runtime, _, principal, _ = _world()
    ids = memory.add_customers(principal.location_id, 1)
    created = await schedules.create_schedule(runtime, principal, _daily(ids))
    before = await runtime.stores.schedules.current(created.id)

    update = ScheduleUpdate(
        amount=Decimal("-1.005"), description="x" * 501, end_date=TODAY - timedelta(days=1)
    )
    with pytest.raises(DomainError) as refused:
        await schedule_edits.update_schedule(runtime, principal, str(created.id), update)
    with pytest.raises(DomainError) as zero:
        await schedule_edits.update_schedule(
            runtime, principal, str(created.id), ScheduleUpdate(amount=Decimal("0"))
        )
    with pytest.raises(DomainError) as unknown:
        await schedule_edits.update_schedule(runtime, principal, str(uuid4()), ScheduleUpdate())

    assert _errors(refused) == [
        (ErrorCode.INVALID, "input.amount"),
        (ErrorCode.INVALID, "input.description"),
        (ErrorCode.INVALID, "input.endDate"),
    ]
    assert [en(e.message) for e in refused.value.errors][::2] == [
        "At most 2 decimal places.",
        "End date must not be before the start date.",
    ]
    assert _errors(zero) == [(ErrorCode.INVALID, "input.amount")]
    assert _errors(unknown) == [(ErrorCode.NOT_FOUND, "id")]
    assert await runtime.stores.schedules.current(created.id) == before


async def test_an_end_date_moves_the_next_period_and_can_be_taken_away() -> None:
    # given a daily schedule whose first period ran today
    memory, runtime, dispatcher, principal, clock = _world()
    ids = memory.add_customers(principal.location_id, 1)
    created = await schedules.create_schedule(runtime, principal, _daily(ids))
    await _run_due(runtime, dispatcher)
    sid = str(created.id)

    # an end date today ends it; an end date before today is refused
    ended = await schedule_edits.update_schedule(
        runtime, principal, sid, ScheduleUpdate(end_date=TODAY)
    )
    # the same edit twice writes the same
    again = await schedule_edits.update_schedule(
        runtime, principal, sid, ScheduleUpdate(end_date=TODAY)
    )
    assert (ended.end_date, ended.next_run_on) == (TODAY, None)
    assert again == ended
    # three days later, taking the end date away carries on from today, not from the gap
    clock.now += timedelta(days=3)
    await _run_due(runtime, dispatcher)
    with pytest.raises(DomainError) as past:
        await schedule_edits.update_schedule(
            runtime, principal, sid, ScheduleUpdate(end_date=TODAY)
        )
    open_ended = await schedule_edits.update_schedule(
        runtime, principal, sid, ScheduleUpdate(end_date=None)
    )
    await _run_due(runtime, dispatcher)

    assert _errors(past) == [(ErrorCode.INVALID, "input.endDate")]
    assert (open_ended.end_date, open_ended.next_run_on) == (None, TODAY + timedelta(days=3))
    assert sorted(e.period for e in memory.t.entries.values()) == [0, 3]


async def test_the_runs_come_newest_first_with_what_each_wrote() -> None:
    # given a daily schedule for three customers that ran three days, one customer deleted
    memory, runtime, dispatcher, principal, clock = _world()
    ids = memory.add_customers(principal.location_id, 3)
    created = await schedules.create_schedule(runtime, principal, _daily(ids, "2.50"))
    await _run_due(runtime, dispatcher)
    memory.t.customers[ids[2]].deleted = True
    for _ in range(2):
        clock.now += timedelta(days=1)
        await _run_due(runtime, dispatcher)
    location_id = principal.location_id

    # when its runs are read two at a time
    first = await schedule_edits.schedule_runs(runtime, location_id, created.id, 2, None)
    rest = await schedule_edits.schedule_runs(
        runtime, location_id, created.id, 2, first.cursors[-1]
    )

    # then they are newest first, each with the customers it credited and what it wrote
    assert [(r.period_on, r.status, r.customer_count, r.total) for r in first.items] == [
        (TODAY + timedelta(days=2), "SUCCEEDED", 2, 500),
        (TODAY + timedelta(days=1), "SUCCEEDED", 2, 500),
    ]
    assert first.has_next_page
    assert [(r.period_on, r.customer_count, r.total) for r in rest.items] == [(TODAY, 3, 750)]
    assert not rest.has_next_page
    with pytest.raises(DomainError) as bad:
        await schedule_edits.schedule_runs(runtime, location_id, created.id, 2, "nonsense")
    assert _errors(bad) == [(ErrorCode.INVALID, "after")]
