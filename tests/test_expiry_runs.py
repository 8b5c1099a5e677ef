"""Expiry runs, on SQLite and PostgreSQL: the periodic check makes one run per location and
local day when lots are due, and its job expires them in chunks under the job lifecycle.

Two checks at once make one run (the unique key and `ON CONFLICT DO NOTHING`; the negative
control inserts without the clause and is caught). A run whose worker died mid-way is resumed
by the check and expires every lot once; an attempt taken over writes nothing more; a stopping
process ends the attempt between chunks and queues the run again; the counts are exact over
attempts; a run with nothing left succeeds with nothing expired. `expiryRuns` lists the
caller's location's runs only, to ADMIN keys.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple
from uuid import UUID

import pytest

from domain.jobs import JobPolicy
from domain.ledger import CreditOperation
from domain.messages import encode, msg
from gateway.runtime import with_dispatcher
from models import expiry_runs, lots, sql
from models.db import IntegrityError, transaction
from models.ledger import apply_chunk
from models.tables.crm import Customer, Location
from models.tables.wallet import ExpiryRun, WalletEntry
from services import access, expiry, lifecycle
from services.runtime import Runtime, Stop
from tasks.inprocess import InProcessDispatcher
from tests.builders import sql_statements
from tests.helpers import Api, Clock
from tests.lots_helpers import change, sums
from tests.test_sync_api import Recorder

# Noon in Warsaw on Dec 5 2026: the lots of Dec 1 and Dec 3 are due, the day is Dec 5.
NOW = datetime(2026, 12, 5, 11, 0, tzinfo=UTC)
DAY = date(2026, 12, 5)
# Heartbeats that never come during a test: only the test moves a job on.
SLOW_BEATS = JobPolicy(heartbeat_seconds=60, stale_after_seconds=120)
LATER = NOW + SLOW_BEATS.stale_after + timedelta(seconds=1)


async def _due_lots(name: str, count: int) -> tuple[UUID, list[UUID]]:
    """A location of `count` customers, each with 10.00 that expired on Dec 1 and 5.00 that
    never expires; the first two also with 2.50 that expired on Dec 3: `count` + 2 lots due,
    holding `count` × 10.00 + 5.00."""
    location, _ = await access.create_location(name)
    ids = []
    for n in range(count):
        row = await Customer.create(location_id=location.id, first_name=f"C{n}")
        ids.append(row.id)
    add = CreditOperation.ADD
    await apply_chunk(ids, change(location.id, add, 1000, expires_on=date(2026, 12, 1)))
    await apply_chunk(ids[:2], change(location.id, add, 250, expires_on=date(2026, 12, 3)))
    await apply_chunk(ids, change(location.id, add, 500))
    return location.id, ids


def _at(runtime: Runtime, clock: Clock, dispatcher: Any) -> Runtime:
    """The app's runtime at NOW, with heartbeats that never come, queueing on `dispatcher`."""
    clock.now = NOW
    return with_dispatcher(replace(runtime, jobs=SLOW_BEATS), dispatcher)


@pytest.fixture
def only_location(monkeypatch: pytest.MonkeyPatch) -> list[UUID]:
    """The check looks at the locations listed here only (the database holds other tests'
    locations, whose lots may be due too)."""
    listed: list[UUID] = []
    real = expiry_runs.due

    async def due(days: Sequence[tuple[UUID, date]]) -> list[tuple[UUID, date]]:
        return await real([d for d in days if d[0] in listed])

    monkeypatch.setattr(expiry_runs, "due", due)
    return listed


async def _run_row(run_id: UUID) -> tuple[Any, ...]:
    row = await ExpiryRun.get(id=run_id)
    return (row.status, row.attempts, row.lots_expired, row.amount_expired)


async def _expire_entries(ids: list[UUID]) -> list[int]:
    """The EXPIRE entries' deltas of the customers, one per lot, in the lots' order."""
    rows = await WalletEntry.filter(customer_id__in=ids, kind="EXPIRE").order_by("source_id")
    return [row.delta for row in rows]


async def test_a_check_makes_the_days_run_once_and_its_job_expires_every_due_lot(
    runtime: Runtime, clock: Clock, only_location: list[UUID]
) -> None:
    # given a location with 7 due lots holding 55.00
    location_id, ids = await _due_lots("Expiry Run", 5)
    only_location.append(location_id)
    recorder = Recorder()
    at_now = _at(runtime, clock, recorder)

    # when the check runs twice, and the queued job runs
    assert await expiry.queue_runs(at_now) == 1
    assert await expiry.queue_runs(at_now) == 0
    run = await ExpiryRun.get(location_id=location_id)
    assert recorder.jobs == [
        ("run_expiry", (str(run.id),), f"expiry-run:{run.id}:0"),
    ]
    status = await expiry.run_expiry(at_now, run.id)

    # then one run of the day expired each lot once, and counted them
    assert status == "SUCCEEDED"
    assert (run.day, run.status, run.attempts, run.created_at) == (DAY, "QUEUED", 0, NOW)
    assert await _run_row(run.id) == ("SUCCEEDED", 1, 7, 5500)
    assert sorted(await _expire_entries(ids)) == [-1000] * 5 + [-250] * 2
    assert [await sums(c) for c in ids] == [(500, 500, 500)] * 5
    # and the next check, with nothing due, makes no run; a run of a day past is not redone
    assert await expiry.queue_runs(at_now) == 0
    assert await expiry.run_expiry(at_now, run.id) is None
    assert await ExpiryRun.filter(location_id=location_id).count() == 1


async def test_two_checks_at_once_make_one_run(
    runtime: Runtime, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given two checks that both read the day as having no run before either writes
    location_id, _ = await _due_lots("Expiry Twin Checks", 2)
    made, recorder = await _two_checks(runtime, clock, monkeypatch, location_id)

    # then one run was made, and queued once
    run = await ExpiryRun.get(location_id=location_id)
    assert sorted(made) == [0, 1]  # type: ignore[type-var]
    assert recorder.jobs == [("run_expiry", (str(run.id),), f"expiry-run:{run.id}:0")]


async def test_negative_control_checks_that_insert_unconditionally_are_caught(
    runtime: Runtime, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the insert without ON CONFLICT DO NOTHING
    unconditional = expiry_runs._CREATE.replace("ON CONFLICT (location_id, day) DO NOTHING", "")
    assert unconditional != expiry_runs._CREATE
    monkeypatch.setattr(expiry_runs, "_CREATE", unconditional)
    location_id, _ = await _due_lots("Expiry Naive Checks", 2)

    # when two checks race as above
    made, _ = await _two_checks(runtime, clock, monkeypatch, location_id)

    # then the second insert was there to be caught: only the unique key stopped a second run
    assert [type(m) for m in made if isinstance(m, BaseException)] == [IntegrityError]


async def _two_checks(
    runtime: Runtime, clock: Clock, monkeypatch: pytest.MonkeyPatch, location_id: UUID
) -> tuple[list[int | BaseException], Recorder]:
    """Two checks of the location at NOW, both past their read before either inserts."""
    real = expiry_runs.due
    read = 0
    both_read = asyncio.Event()

    async def due(days: Sequence[tuple[UUID, date]]) -> list[tuple[UUID, date]]:
        nonlocal read
        found = await real([d for d in days if d[0] == location_id])
        read += 1
        if read == 2:
            both_read.set()
        await asyncio.wait_for(both_read.wait(), 10)
        return found

    monkeypatch.setattr(expiry_runs, "due", due)
    recorder = Recorder()
    at_now = _at(runtime, clock, recorder)
    checks = [expiry.queue_runs(at_now), expiry.queue_runs(at_now)]
    made: list[int | BaseException] = await asyncio.gather(*checks, return_exceptions=True)
    return made, recorder


class Stall:
    """Stands in for `models.lots.due_lots`: the `stall_at`-th read waits until released, as a
    worker between two chunks that dies (it is cancelled) or is taken over."""

    def __init__(self, stall_at: int) -> None:
        self.real = lots.due_lots
        self.calls = 0
        self.stall_at = stall_at
        self.inside = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, location_id: UUID, today: date, limit: int) -> list[int]:
        self.calls += 1
        if self.calls == self.stall_at:
            self.inside.set()
            await self.release.wait()
        return await self.real(location_id, today, limit)


class DueRun(NamedTuple):
    location_id: UUID
    ids: list[UUID]  # the location's customers
    run_id: UUID


async def _due_run(name: str, count: int, at_now: Runtime, only_location: list[UUID]) -> DueRun:
    """A location with the due lots of `_due_lots`, the only one the check looks at, and the
    run the check at `at_now` queued for it."""
    location_id, ids = await _due_lots(name, count)
    only_location.append(location_id)
    assert await expiry.queue_runs(at_now) == 1
    return DueRun(location_id, ids, (await ExpiryRun.get(location_id=location_id)).id)


async def test_a_run_whose_worker_died_is_resumed_and_expires_every_lot_once(
    runtime: Runtime,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    only_location: list[UUID],
) -> None:
    # given a run in chunks of 3 lots whose worker dies after its first chunk committed
    monkeypatch.setattr(expiry, "EXPIRY_BATCH", 3)
    at_now = _at(runtime, clock, Recorder())
    _, ids, run_id = await _due_run("Expiry Killed", 5, at_now, only_location)
    stall = Stall(stall_at=2)
    monkeypatch.setattr(lots, "due_lots", stall)
    dying = asyncio.create_task(expiry.run_expiry(at_now, run_id))
    await asyncio.wait_for(stall.inside.wait(), 10)
    dying.cancel()
    await asyncio.gather(dying, return_exceptions=True)
    killed = await _run_row(run_id)
    stall.release.set()

    # when the check, past the threshold, queues it again, and a worker runs it
    clock.now = LATER
    runner = InProcessDispatcher()
    later = with_dispatcher(replace(runtime, jobs=SLOW_BEATS), runner)
    assert await lifecycle.resume_silent(expiry.EXPIRY_RUNS, later) >= 1  # (other tests' too)
    await runner.drain()
    await runner.close()

    # then the first attempt's chunk stayed, the second did the rest, each lot expired once
    assert killed == ("RUNNING", 1, 3, 3000)  # the Dec 1 lots of C0, C1 and C2
    assert await _run_row(run_id) == ("SUCCEEDED", 2, 7, 5500)
    assert sorted(await _expire_entries(ids)) == [-1000] * 5 + [-250] * 2
    assert [await sums(c) for c in ids] == [(500, 500, 500)] * 5
    assert (await ExpiryRun.get(id=run_id)).error is None


async def test_an_attempt_taken_over_writes_nothing_more(
    runtime: Runtime,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    only_location: list[UUID],
) -> None:
    # given a run in chunks of 3 whose attempt stalls between its first and second chunk
    monkeypatch.setattr(expiry, "EXPIRY_BATCH", 3)
    at_now = _at(runtime, clock, Recorder())
    _, ids, run_id = await _due_run("Expiry Taken Over", 5, at_now, only_location)
    stall = Stall(stall_at=2)
    monkeypatch.setattr(lots, "due_lots", stall)
    first = asyncio.create_task(expiry.run_expiry(at_now, run_id))
    await asyncio.wait_for(stall.inside.wait(), 10)

    # when the check takes it over (queued again, not run yet) and the attempt wakes up
    clock.now = LATER
    recorder = Recorder()
    later = with_dispatcher(replace(runtime, jobs=SLOW_BEATS), recorder)
    await lifecycle.resume_silent(expiry.EXPIRY_RUNS, later)
    stall.release.set()
    ended = await asyncio.wait_for(first, 10)

    # then it wrote nothing after its first chunk: the lots and counts are as it left them
    assert ended is None
    assert await _run_row(run_id) == ("QUEUED", 1, 3, 3000)
    assert await _expire_entries(ids) == [-1000] * 3
    queued = [job for job in recorder.jobs if job[1] == (str(run_id),)]
    assert queued == [("run_expiry", (str(run_id),), f"expiry-run:{run_id}:1")]
    # and the attempt that takes over finishes the run, the counts adding up exactly
    assert await expiry.run_expiry(later, run_id) == "SUCCEEDED"
    assert await _run_row(run_id) == ("SUCCEEDED", 2, 7, 5500)
    assert sorted(await _expire_entries(ids)) == [-1000] * 5 + [-250] * 2


async def test_a_stopping_worker_ends_the_attempt_between_chunks_and_queues_the_run_again(
    runtime: Runtime,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    only_location: list[UUID],
) -> None:
    # given a run in chunks of 3, in a process asked to stop while its first chunk is written
    monkeypatch.setattr(expiry, "EXPIRY_BATCH", 3)
    recorder = Recorder()
    stopping = replace(_at(runtime, clock, recorder), stop=Stop())
    _, ids, run_id = await _due_run("Expiry Stopping", 5, stopping, only_location)
    real = expiry_runs.add_expired

    async def asked_meanwhile(*args: Any) -> None:
        stopping.stop.request()
        await real(*args)

    monkeypatch.setattr(expiry_runs, "add_expired", asked_meanwhile)

    # when its job runs
    status = await expiry.run_expiry(stopping, run_id)

    # then the chunk in hand committed, and the run is queued again at once for the rest
    assert status == "QUEUED"
    assert await _run_row(run_id) == ("QUEUED", 1, 3, 3000)
    assert await _expire_entries(ids) == [-1000] * 3
    assert recorder.jobs[-1] == ("run_expiry", (str(run_id),), f"expiry-run:{run_id}:1")


async def test_a_run_that_finds_nothing_left_succeeds_having_expired_nothing(
    runtime: Runtime, clock: Clock, only_location: list[UUID]
) -> None:
    # given a run made, whose lots are all expired before its job runs
    at_now = _at(runtime, clock, Recorder())
    location_id, ids, run_id = await _due_run("Expiry Nothing Left", 2, at_now, only_location)
    due = await lots.due_lots(location_id, DAY, 100)
    async with transaction() as db:
        assert await lots.expire_lots(location_id, due, DAY, NOW, db) == 4

    # when its job runs
    status = await expiry.run_expiry(at_now, run_id)

    # then it ends SUCCEEDED with nothing expired, and the lots were expired once
    assert status == "SUCCEEDED"
    assert await _run_row(run_id) == ("SUCCEEDED", 1, 0, 0)
    assert sorted(await _expire_entries(ids)) == [-1000, -1000, -250, -250]


async def test_a_check_with_nothing_due_reads_every_location_in_one_statement(
    runtime: Runtime, clock: Clock
) -> None:
    """One statement on PostgreSQL; on SQLite one per `PAIRS_PER_STATEMENT` locations (its
    limit on a statement's values), which the suite's shared database may pass."""
    # given an instant when no lot of the database is due (and every location's time zone)
    clock.now = datetime(2000, 1, 1, tzinfo=UTC)
    recorder = Recorder()
    before_lots = with_dispatcher(runtime, recorder)

    with sql_statements() as statements:
        made = await expiry.queue_runs(before_lots)

    # then the check read the time zones, and probed the lots of all locations at once
    assert (made, recorder.jobs) == (0, [])
    locations = await Location.all().count()
    probes = 1 if sql.dialect().numbered else -(-locations // expiry_runs.PAIRS_PER_STATEMENT)
    assert len(statements) == 1 + probes
    assert all("credit_lots" in s and "expiry_runs" in s for s in statements[1:])


async def test_a_lot_due_only_after_the_run_of_its_day_waits_for_the_next_days_run(
    runtime: Runtime, clock: Clock, only_location: list[UUID]
) -> None:
    # given the day's run done, and then a lot of Dec 4 written (no request can write a lot
    # that has expired already: this stands for what a run that failed for good leaves)
    location_id, ids = await _due_lots("Expiry Late Lot", 1)
    only_location.append(location_id)
    runner = InProcessDispatcher()
    at_now = _at(runtime, clock, runner)
    assert await expiry.queue_runs(at_now) == 1
    await runner.drain()
    late = date(2026, 12, 4)
    await apply_chunk(ids, change(location_id, CreditOperation.ADD, 300, expires_on=late))

    # when the checks of that day and of the next run
    made_today = await expiry.queue_runs(at_now)
    clock.now = NOW + timedelta(days=1)
    made_tomorrow = await expiry.queue_runs(at_now)
    await runner.drain()
    await runner.close()

    # then the lot of Dec 4 expired with the run of Dec 6
    runs = await ExpiryRun.filter(location_id=location_id).order_by("day")
    assert (made_today, made_tomorrow) == (0, 1)
    assert [(r.day, r.status, r.lots_expired, r.amount_expired) for r in runs] == [
        (DAY, "SUCCEEDED", 2, 1250),
        (date(2026, 12, 6), "SUCCEEDED", 1, 300),
    ]
    assert await sums(ids[0]) == (500, 500, 500)


EXPIRY_RUNS = """
query($first: Int) {
  expiryRuns(first: $first) {
    day status attempts lotsExpired amountExpired { amount currency }
    error errorMessage { messageId params { name value } }
  }
}"""


async def test_expiry_runs_lists_the_locations_runs_newest_day_first(api: Api, other: Api) -> None:
    # given two runs of the location, one failed after its last attempt, and one of another
    location_id = UUID(api.location_id)
    failed = encode(msg("job.failed", count=5))
    created = datetime(2026, 12, 1, tzinfo=UTC)
    for day, status, attempts, count, amount, error in (
        (date(2026, 11, 30), "SUCCEEDED", 1, 3, 1250, None),
        (date(2026, 12, 1), "FAILED", 5, 0, 0, failed),
    ):
        await ExpiryRun.create(
            location_id=location_id,
            day=day,
            status=status,
            attempts=attempts,
            lots_expired=count,
            amount_expired=amount,
            error=error,
            created_at=created,
        )
    await ExpiryRun.create(
        location_id=UUID(other.location_id), day=date(2026, 12, 2), created_at=created
    )

    # when each location's ADMIN key lists them, and one asks for the latest only
    listed = (await api.data(EXPIRY_RUNS))["expiryRuns"]
    latest = (await api.data(EXPIRY_RUNS, {"first": 1}))["expiryRuns"]
    others = (await other.data(EXPIRY_RUNS))["expiryRuns"]
    too_many = await api.raw(EXPIRY_RUNS, {"first": 201})

    # then each sees its own, newest day first, the error as a message
    failed_run = {
        "day": "2026-12-01",
        "status": "FAILED",
        "attempts": 5,
        "lotsExpired": 0,
        "amountExpired": {"amount": "0.00", "currency": "PLN"},
        "error": "Failed after 5 attempts; the server log has the details.",
        "errorMessage": {"messageId": "job.failed", "params": [{"name": "count", "value": "5"}]},
    }
    assert listed == [
        failed_run,
        {
            "day": "2026-11-30",
            "status": "SUCCEEDED",
            "attempts": 1,
            "lotsExpired": 3,
            "amountExpired": {"amount": "12.50", "currency": "PLN"},
            "error": None,
            "errorMessage": None,
        },
    ]
    assert latest == [failed_run]
    assert [(r["day"], r["status"]) for r in others] == [("2026-12-02", "QUEUED")]
    assert too_many["errors"][0]["extensions"]["code"] == "INVALID"
