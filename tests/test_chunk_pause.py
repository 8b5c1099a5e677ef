"""Background jobs give way to the tills between chunks: `GOCRM_JOB_CHUNK_PAUSE` seconds after
each chunk a bulk operation or a schedule period commits (the chain benchmark's finding), and
no wait at all by default. Against the in-memory stores; the waits are recorded, not slept."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.access import Principal, Role
from domain.requests import CreditRequest, CustomerFilter, Target
from domain.schedule import Recurrence, RecurrenceUnit
from gateway.runtime import build_runtime, close_runtime
from models.ledger import Application
from services import schedules, wallet
from services.runtime import Runtime
from settings import Settings, load_settings
from tests.helpers import Clock
from tests.memory import Memory, memory_runtime
from tests.memory.ledger import Ledger

NOW = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


class CountingLedger(Ledger):
    """The ledger, counting the chunks it has written."""

    def __init__(self, memory: Memory) -> None:
        super().__init__(memory)
        self.chunks = 0

    async def apply_chunk(self, customer_ids: Any, change: Application, db: Any = None) -> int:
        self.chunks += 1
        return await super().apply_chunk(customer_ids, change, db)


class Waits:
    """Stands in for `asyncio.sleep`: records each wait and how many chunks were written."""

    def __init__(self, ledger: CountingLedger) -> None:
        self.ledger = ledger
        self.seen: list[tuple[float, int]] = []

    async def __call__(self, seconds: float) -> None:
        self.seen.append((seconds, self.ledger.chunks))


def _world(pause: float) -> tuple[Memory, Runtime, Waits, Principal]:
    memory = Memory()
    runtime, _ = memory_runtime(memory, Clock(NOW), chunk_size=2, inline_limit=0)
    ledger = CountingLedger(memory)
    waits = Waits(ledger)
    runtime = replace(
        runtime,
        stores=replace(runtime.stores, ledger=ledger),
        chunk_pause_seconds=pause,
        sleep=waits,
    )
    location_id = memory.add_location("UTC")
    return memory, runtime, waits, Principal(location_id, uuid4(), "office", Role.ADMIN)


async def test_a_bulk_operation_waits_the_pause_after_each_chunk() -> None:
    # given 5 customers of a group, 2 a chunk, and a pause of a quarter of a second
    memory, runtime, waits, principal = _world(0.25)
    ids = memory.add_customers(principal.location_id, 5)
    group = memory.add_group(principal.location_id, ids)
    target = Target(filter=CustomerFilter(group_ids=(str(group),)))

    # when its job runs
    queued = await wallet.apply_once(runtime, principal, CreditRequest(target, "ADD", Decimal(1)))
    await wallet.run_operation(runtime, queued.id)

    # then it waited once after each of its three chunks, and credited everyone
    assert waits.seen == [(0.25, 1), (0.25, 2), (0.25, 3)]
    assert memory.balances(ids) == [100] * 5


async def test_a_schedule_period_waits_the_pause_after_each_chunk() -> None:
    memory, runtime, waits, principal = _world(0.5)
    ids = memory.add_customers(principal.location_id, 3)
    request = CreditRequest(
        Target(customer_ids=tuple(str(c) for c in ids)),
        "SET",
        Decimal(20),
        recurrence=Recurrence(1, RecurrenceUnit.MONTH, date(2026, 6, 1)),
    )

    created = await schedules.create_schedule(runtime, principal, request)
    await schedules.run_period(runtime, UUID(str(created.id)), 0)

    assert waits.seen == [(0.5, 1), (0.5, 2)]
    assert memory.balances(ids) == [2000] * 3


async def test_without_a_pause_a_job_only_yields_to_its_process() -> None:
    memory, runtime, waits, principal = _world(0.0)
    ids = memory.add_customers(principal.location_id, 3)
    target = Target(customer_ids=tuple(str(c) for c in ids))

    queued = await wallet.apply_once(runtime, principal, CreditRequest(target, "ADD", Decimal(2)))
    await wallet.run_operation(runtime, queued.id)

    assert waits.seen == [(0.0, 1), (0.0, 2)]
    assert memory.balances(ids) == [200] * 3


async def test_the_pause_is_read_once_from_the_environment_and_reaches_the_runtime() -> None:
    settings = load_settings({"GOCRM_JOB_CHUNK_PAUSE": "0.05"})
    paused, default = build_runtime(settings), build_runtime(Settings())
    await close_runtime(paused)
    await close_runtime(default)

    assert load_settings({}).job_chunk_pause_seconds == 0.0
    assert load_settings({"GOCRM_JOB_CHUNK_PAUSE": "0"}).job_chunk_pause_seconds == 0.0
    assert settings.job_chunk_pause_seconds == 0.05
    assert (paused.chunk_pause_seconds, default.chunk_pause_seconds) == (0.05, 0.0)


@pytest.mark.parametrize("raw", ["-1", "soon", "inf", "nan"])
def test_a_pause_that_is_not_zero_or_more_seconds_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="GOCRM_JOB_CHUNK_PAUSE must be"):
        load_settings({"GOCRM_JOB_CHUNK_PAUSE": raw})
