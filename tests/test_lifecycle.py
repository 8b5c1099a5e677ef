"""The one job lifecycle (`services.lifecycle`): claims, heartbeats, retries with a maximum, the
periodic check that resumes silent jobs, and a poisoned schedule period that ends FAILED while
later periods still run. In-process, on both databases; time is the runtime's clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from domain.jobs import JobPolicy
from domain.messages import decode
from domain.requests import CreditRequest, CustomerFilter, Target
from gateway.runtime import with_dispatcher
from models import ledger, operations
from models.db import Transaction
from models.ledger import Application
from models.queries import CustomerQuery
from models.tables.wallet import CreditSchedule, ScheduleRun, WalletEntry, WalletOperation
from services import wallet
from services.lifecycle import resume_silent
from services.runtime import Runtime
from tasks.inprocess import InProcessDispatcher
from tasks.jobs import check
from tests.builders import SET_CREDITS
from tests.english import en
from tests.helpers import Api, Clock, create_customer, create_group
from tests.wallet_helpers import principal_of


class Recorder:
    def __init__(self) -> None:
        self.jobs: list[tuple[str, tuple[str, ...], str]] = []

    async def enqueue(self, function: str, *args: str, job_id: str) -> None:
        self.jobs.append((function, args, job_id))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture(autouse=True)
async def own_schedules_only(api: Api) -> AsyncIterator[None]:
    """Checks see every schedule in the database: drop this test's ones when it ends."""
    yield
    await CreditSchedule.filter(location_id=UUID(api.location_id)).delete()


async def _group_of(api: Api, size: int) -> tuple[str, list[str]]:
    group = await create_group(api, "Regulars")
    members = [(await create_customer(api, groupIds=[group["id"]]))["id"] for _ in range(size)]
    return group["id"], members


async def _queued_operation(api: Api, runtime: Runtime, group_id: str) -> UUID:
    """A bulk ADD of 1.00 to the group, queued (not run): its job is in `runtime`'s queue."""
    request = CreditRequest(
        target=Target(filter=CustomerFilter(group_ids=(group_id,))),
        operation="ADD",
        amount=Decimal("1.00"),
    )
    queued = await wallet.apply_once(runtime, await principal_of(api), request)
    assert queued.status == "QUEUED"
    return queued.id


async def _credits(operation_id: UUID) -> dict[str, int]:
    rows = await WalletEntry.filter(source_id=operation_id).values_list("customer_id", "delta")
    found: dict[str, int] = {}
    for customer_id, delta in rows:
        found[str(customer_id)] = found.get(str(customer_id), 0) + delta
    return found


async def test_an_attempt_claims_once_and_names_its_attempt_in_the_job_id(
    api: Api, runtime: Runtime
) -> None:
    # given a queued operation larger than the inline limit
    small = replace(runtime, inline_limit=2)
    recorder = Recorder()
    group_id, members = await _group_of(api, 3)
    operation_id = await _queued_operation(api, with_dispatcher(small, recorder), group_id)

    # when two copies of its job run at once
    await asyncio.gather(
        wallet.run_operation(small, operation_id), wallet.run_operation(small, operation_id)
    )

    # then one attempt ran it, each member once, and the queue saw one job for attempt 0
    row = await WalletOperation.get(id=operation_id)
    assert (row.status, row.attempts, row.processed, row.total) == ("SUCCEEDED", 1, 3, 3)
    assert (row.started_at is None, row.finished_at is None) == (False, False)
    assert await _credits(operation_id) == dict.fromkeys(members, 100)
    assert recorder.jobs == [
        ("run_wallet_operation", (str(operation_id),), f"wallet-operation:{operation_id}:0")
    ]


async def test_a_failed_attempt_waits_for_the_check_and_the_next_attempt_finishes(
    api: Api, runtime: Runtime, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a queued operation whose first chunk fails once
    clock.now = at("2026-06-01T10:00")
    small = replace(runtime, inline_limit=1)
    group_id, members = await _group_of(api, 2)
    operation_id = await _queued_operation(api, with_dispatcher(small, Recorder()), group_id)
    real = ledger.apply_chunk
    failures = ["connection reset"]

    async def flaky(ids: Sequence[UUID], change: Application, db: Transaction | None = None) -> int:
        if failures:
            raise RuntimeError(failures.pop())
        return await real(ids, change, db)

    monkeypatch.setattr(ledger, "apply_chunk", flaky)

    # when its job runs, then the check runs before and after the threshold
    await wallet.run_operation(small, operation_id)
    failed = await WalletOperation.get(id=operation_id)
    runner = InProcessDispatcher()
    early = await resume_silent(wallet.OPERATIONS, with_dispatcher(small, runner))
    clock.now += small.jobs.stale_after + timedelta(seconds=1)
    late = await resume_silent(wallet.OPERATIONS, with_dispatcher(small, runner))
    await runner.drain()

    # then the first attempt went back to the queue with a readable error, the check left it
    # alone until the threshold, and the second attempt credited each member once
    assert (failed.status, failed.attempts, en(decode(failed.error or ""))) == (
        "QUEUED",
        1,
        "Attempt 1 of 5 failed and will be retried; the server log has the details.",
    )
    assert (early, late) == (0, 1)
    row = await WalletOperation.get(id=operation_id)
    assert (row.status, row.attempts, row.processed) == ("SUCCEEDED", 2, 2)
    assert await _credits(operation_id) == dict.fromkeys(members, 100)


async def test_a_running_attempt_beats_while_it_works(
    api: Api, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a runtime whose jobs beat every 50 ms, and targets that take 300 ms to read
    quick = replace(
        runtime, inline_limit=1, jobs=JobPolicy(heartbeat_seconds=0.05, stale_after_seconds=1)
    )
    group_id, members = await _group_of(api, 2)
    operation_id = await _queued_operation(api, with_dispatcher(quick, Recorder()), group_id)
    real = operations.id_chunks
    beats: list[datetime | None] = []

    async def slow(
        page: Callable[[UUID | None], CustomerQuery], size: int, after: UUID | None = None
    ) -> AsyncIterator[list[UUID]]:
        for _ in range(3):
            await asyncio.sleep(0.1)
            beats.append((await WalletOperation.get(id=operation_id)).heartbeat_at)
        async for chunk in real(page, size, after):
            yield chunk

    monkeypatch.setattr(operations, "id_chunks", slow)

    # when the job runs
    await wallet.run_operation(quick, operation_id)

    # then the heartbeat moved while the work was still going on
    assert len(set(beats)) >= 2
    assert (await WalletOperation.get(id=operation_id)).status == "SUCCEEDED"
    assert await _credits(operation_id) == dict.fromkeys(members, 100)


async def test_a_silent_attempt_taken_over_by_the_check_stops_and_credits_no_one_twice(
    api: Api, runtime: Runtime, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a queued operation whose first attempt stalls before its first chunk (a worker
    # that stopped answering without dying)
    clock.now = at("2026-06-01T10:00")
    small = replace(runtime, inline_limit=1, chunk_size=1)
    group_id, members = await _group_of(api, 3)
    operation_id = await _queued_operation(api, with_dispatcher(small, Recorder()), group_id)
    stalled, release = asyncio.Event(), asyncio.Event()
    real = operations.id_chunks
    calls = 0

    async def stalling(
        page: Callable[[UUID | None], CustomerQuery], size: int, after: UUID | None = None
    ) -> AsyncIterator[list[UUID]]:
        nonlocal calls
        calls += 1
        first_attempt = calls == 1
        async for chunk in real(page, size, after):
            if first_attempt:
                stalled.set()
                await release.wait()
            yield chunk

    monkeypatch.setattr(operations, "id_chunks", stalling)
    first = asyncio.create_task(wallet.run_operation(small, operation_id))
    await stalled.wait()

    # when the check finds it silent, queues it again, and a second attempt runs to the end
    clock.now += small.jobs.stale_after + timedelta(seconds=1)
    runner = InProcessDispatcher()
    resumed = await resume_silent(wallet.OPERATIONS, with_dispatcher(small, runner))
    await runner.drain()
    # and then the first attempt wakes up
    release.set()
    await first

    # then the second attempt finished it; the first stopped at its first sign of life and
    # credited no one a second time
    assert resumed == 1
    row = await WalletOperation.get(id=operation_id)
    assert (row.status, row.attempts, row.processed) == ("SUCCEEDED", 2, 3)
    assert await _credits(operation_id) == dict.fromkeys(members, 100)


async def test_a_poisoned_period_ends_failed_the_schedule_reports_it_and_later_periods_run(
    api: Api,
    dispatcher: InProcessDispatcher,
    runtime: Runtime,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a daily schedule from tomorrow, whose first period fails every time
    clock.now = at("2026-03-01T09:00")
    anna = await create_customer(api, firstName="Anna")
    payload = await api.mutate(
        SET_CREDITS,
        {
            "input": {
                "target": {"customerIds": [anna["id"]]},
                "operation": "ADD",
                "amount": "1.00",
                "recurrence": {"unit": "DAY", "startDate": "2026-03-02"},
            }
        },
    )
    schedule_id = UUID(payload["schedule"]["id"])
    real = ledger.apply_chunk

    async def poisoned(
        ids: Sequence[UUID], change: Application, db: Transaction | None = None
    ) -> int:
        if change.period == 0:
            raise RuntimeError("poisoned period")
        return await real(ids, change, db)

    monkeypatch.setattr(ledger, "apply_chunk", poisoned)

    # when its first period falls due, and the check runs past the threshold again and again
    clock.now = at("2026-03-02T09:00")
    await check(runtime)
    await dispatcher.drain()
    for _ in range(runtime.jobs.max_attempts):
        clock.now += runtime.jobs.stale_after + timedelta(seconds=1)
        await check(runtime)
        await dispatcher.drain()
    poisoned_run = await ScheduleRun.get(schedule_id=schedule_id, period=0)
    reported = (await api.data("{ creditSchedules { lastRunOn lastError } }"))["creditSchedules"]

    # and the next period falls due
    clock.now = at("2026-03-03T09:00")
    await check(runtime)
    await dispatcher.drain()

    # then the first period ended FAILED after the maximum attempts, the schedule says so, and
    # the next period was applied
    assert (poisoned_run.status, poisoned_run.attempts, en(decode(poisoned_run.error or ""))) == (
        "FAILED",
        5,
        "Failed after 5 attempts; the server log has the details.",
    )
    assert [(s["lastRunOn"], s["lastError"]) for s in reported] == [
        ("2026-03-02", "2026-03-02: Failed after 5 attempts; the server log has the details.")
    ]
    runs = await ScheduleRun.filter(schedule_id=schedule_id).order_by("period")
    assert [(r.period, r.status) for r in runs] == [(0, "FAILED"), (1, "SUCCEEDED")]
    entries = await WalletEntry.filter(source_id=schedule_id).values_list("period", "delta")
    assert entries == [(1, 100)]
