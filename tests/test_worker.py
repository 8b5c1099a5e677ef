"""Real arq workers (`gocrm worker` subprocesses) on PostgreSQL and Redis.

What DESIGN.md §2 promises for bulk operations and recurring credits, checked end to end: every
customer is credited exactly once whether a job runs once, twice, twice at once, dies mid-way
(SIGKILL) or is lost from Redis; the database, not the queue, says what is left to do.
"""

from __future__ import annotations

import asyncio
import calendar
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from arq.connections import ArqRedis
from arq.jobs import JobStatus
from tortoise import connections

from domain.access import Principal
from domain.inputs import CreditRequest, CustomerFilter, Target
from domain.schedule import Recurrence, RecurrenceUnit, due_indices, local_today
from models.entities import Customer, CustomerGroup, GroupMembership
from models.wallet import CreditSchedule, ScheduleRun, WalletOperation
from services import access, schedules, wallet
from services.jobs import operation_job_id
from settings import Settings
from tasks.jobs import check
from tasks.worker import ArqDispatcher
from tests.redis_fixtures import WorkerProcesses, wait_until
from tests.redis_fixtures import arq_redis as arq_redis
from tests.redis_fixtures import workers as workers

pytestmark = [pytest.mark.redis, pytest.mark.timeout(240)]

BATCH = 5_000
JOB_KEY_PREFIX = "arq:job:"
QUEUE = "arq:queue"


# --- data ------------------------------------------------------------------------------------


async def new_principal(name: str) -> Principal:
    _, secret = await access.create_location(name)
    principal = await access.authenticate(secret)
    assert principal is not None
    return principal


async def populate(location_id: UUID, members: int, outsiders: int = 0) -> UUID:
    """A group with `members` customers, plus `outsiders` customers in no group; the group id."""
    group = await CustomerGroup.create(location_id=location_id, name="Regulars", reference="reg")
    everyone = members + outsiders
    for start in range(0, everyone, BATCH):
        batch = [
            Customer(id=uuid.uuid4(), location_id=location_id, first_name=f"Customer {i}")
            for i in range(start, min(start + BATCH, everyone))
        ]
        await Customer.bulk_create(batch)
        memberships = [
            GroupMembership(group_id=group.id, customer_id=c.id)
            for i, c in enumerate(batch, start)
            if i < members
        ]
        if memberships:
            await GroupMembership.bulk_create(memberships)
    return group.id


def credit(group_id: UUID, amount: str, operation: str = "ADD", **extra: Any) -> CreditRequest:
    return CreditRequest(
        target=Target(filter=CustomerFilter(group_ids=(str(group_id),))),
        operation=operation,
        amount=Decimal(amount),
        **extra,
    )


class NoDispatch:
    """A dispatcher that loses everything it is given (as a Redis that is down or flushed)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[str, ...], str]] = []

    async def enqueue(self, function: str, *args: str, job_id: str) -> None:
        self.calls.append((function, args, job_id))


def months_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


# --- checks ----------------------------------------------------------------------------------


async def sql(query: str, *args: object) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await connections.get("default").execute_query_dict(
        query, list(args)
    )
    return rows


async def one(query: str, *args: object) -> dict[str, Any]:
    (row,) = await sql(query, *args)
    return row


@dataclass(frozen=True)
class Ledger:
    """What the database says about one source's entries and the location's balances."""

    entries: int
    keys: int  # distinct (period, customer)
    delta_sum: int
    member_balances: dict[int, int]  # balance -> how many members hold it
    outsider_balances: dict[int, int]
    balance_sum: int
    off_ledger: int  # customers whose balance is not the sum of their entries' deltas


async def ledger(source_id: UUID, location_id: UUID, group_id: UUID) -> Ledger:
    entries = await one(
        "SELECT count(*) AS n, count(DISTINCT (period, customer_id)) AS keys,"
        " coalesce(sum(delta), 0) AS delta_sum"
        " FROM wallet_entries WHERE source_id = $1",
        str(source_id),
    )
    balances = await sql(
        "SELECT (m.customer_id IS NOT NULL) AS member, c.credit_balance AS balance, count(*) AS n"
        " FROM customers c LEFT JOIN group_memberships m"
        "   ON m.customer_id = c.id AND m.group_id = $2"
        " WHERE c.location_id = $1 GROUP BY 1, 2",
        str(location_id),
        str(group_id),
    )
    off = await one(
        "SELECT count(*) AS n FROM customers c WHERE c.location_id = $1 AND c.credit_balance"
        " <> (SELECT coalesce(sum(e.delta), 0) FROM wallet_entries e"
        "     WHERE e.customer_id = c.id)",
        str(location_id),
    )
    return Ledger(
        entries=entries["n"],
        keys=entries["keys"],
        delta_sum=int(entries["delta_sum"]),
        member_balances={r["balance"]: r["n"] for r in balances if r["member"]},
        outsider_balances={r["balance"]: r["n"] for r in balances if not r["member"]},
        balance_sum=sum(r["balance"] * r["n"] for r in balances),
        off_ledger=off["n"],
    )


def credited_once(book: Ledger, members: int, outsiders: int, amount: int) -> None:
    assert book.entries == members
    assert book.keys == members
    assert book.delta_sum == members * amount
    assert book.member_balances == {amount: members}
    assert book.outsider_balances == ({0: outsiders} if outsiders else {})
    assert book.balance_sum == members * amount
    assert book.off_ledger == 0


async def operation_finished(op_id: UUID, workers: WorkerProcesses) -> WalletOperation:
    async def succeeded() -> WalletOperation | None:
        row = await WalletOperation.get(id=op_id)
        if row.status == "FAILED":
            pytest.fail(f"operation failed: {row.error}\n{workers.logs()}")
        return row if row.status == "SUCCEEDED" else None

    return await wait_until(succeeded, f"operation {op_id} to succeed", workers)


async def job_exists(redis: ArqRedis, job_id: str) -> bool:
    return bool(await redis.exists(JOB_KEY_PREFIX + job_id))


async def queue_drained(redis: ArqRedis) -> bool:
    """No job is queued or running (arq keeps a job in the queue until it has finished),
    apart from the workers' own cron ticks."""
    job_ids = await redis.zrange(QUEUE, 0, -1)
    return all(bytes(j).startswith(b"cron:") for j in job_ids)


async def backend_waiting_for_lock(statement: str) -> bool:
    """Whether some connection to the test database waits for a lock in a statement that
    contains `statement`."""
    row = await one(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock' AND position($1 in query) > 0",
        statement,
    )
    return bool(row["n"])


# --- tests -----------------------------------------------------------------------------------


async def test_worker_credits_a_20000_customer_group(
    database: Settings, postgres_for_workers: None, arq_redis: ArqRedis, workers: WorkerProcesses
) -> None:
    members, outsiders = 20_000, 25
    principal = await new_principal("Worker 20k")
    group_id = await populate(principal.location_id, members, outsiders)
    await workers.start()

    op = await wallet.apply_once(principal, credit(group_id, "5.00"), ArqDispatcher(arq_redis))
    assert op.status == "QUEUED"
    assert op.total == members

    row = await operation_finished(op.id, workers)
    assert row.processed == row.total == members
    assert row.attempts == 1
    credited_once(await ledger(op.id, principal.location_id, group_id), members, outsiders, 500)


async def test_the_same_job_run_twice_credits_nobody_twice(
    database: Settings, postgres_for_workers: None, arq_redis: ArqRedis, workers: WorkerProcesses
) -> None:
    members = 12_000
    principal = await new_principal("Worker twice")
    group_id = await populate(principal.location_id, members)
    await workers.start()
    op = await wallet.apply_once(principal, credit(group_id, "2.50"), ArqDispatcher(arq_redis))
    await operation_finished(op.id, workers)
    before = await ledger(op.id, principal.location_id, group_id)
    credited_once(before, members, 0, 250)

    # At-least-once delivery: the finished job comes back under another id, and runs in-process.
    job = await arq_redis.enqueue_job("run_wallet_operation", str(op.id), _job_id="again")
    assert job is not None
    await job.result(timeout=60)
    await wallet.run_operation(op.id)
    assert await ledger(op.id, principal.location_id, group_id) == before

    # A job that died after its last chunk but before recording success: the operation is
    # still RUNNING, and two runs redo every chunk at once (one in a worker, one here).
    await WalletOperation.filter(id=op.id).update(status="RUNNING", finished_at=None)
    job = await arq_redis.enqueue_job("run_wallet_operation", str(op.id), _job_id="again-2")
    assert job is not None
    await asyncio.gather(job.result(timeout=60), wallet.run_operation(op.id))
    row = await WalletOperation.get(id=op.id)
    assert row.status == "SUCCEEDED"
    assert row.processed == row.total == members
    assert await ledger(op.id, principal.location_id, group_id) == before


async def test_a_worker_killed_mid_operation_is_resumed_and_credits_each_customer_once(
    database: Settings, postgres_for_workers: None, arq_redis: ArqRedis, workers: WorkerProcesses
) -> None:
    members = 60_000
    principal = await new_principal("Worker killed")
    group_id = await populate(principal.location_id, members)
    first = await workers.start()
    dispatcher = ArqDispatcher(arq_redis)
    op = await wallet.apply_once(principal, credit(group_id, "7.00"), dispatcher)

    async def mid_way() -> WalletOperation | None:
        row = await WalletOperation.get(id=op.id)
        return row if row.status == "RUNNING" and row.processed > 0 else None

    await wait_until(mid_way, "the operation to be mid-way", workers, interval=0.01)
    await workers.kill(first)
    # One statement, one snapshot: progress and entries agree, whole chunks only.
    killed = await one(
        "SELECT o.status, o.processed, count(e.id) AS entries,"
        " count(DISTINCT e.customer_id) AS customers"
        " FROM wallet_operations o LEFT JOIN wallet_entries e ON e.source_id = o.id"
        " WHERE o.id = $1 GROUP BY o.id",
        str(op.id),
    )
    assert killed["status"] == "RUNNING", "finished before the kill: raise the target size"
    assert 0 < killed["processed"] < members
    assert killed["entries"] == killed["customers"] == killed["processed"]

    # The periodic check, run once the operation has been silent for longer than STALE_AFTER,
    # re-enqueues it under a new id (the dead job's id stays reserved until arq times it out).
    later = datetime.now(UTC) + timedelta(minutes=10)
    await check(dispatcher, now=later)
    resume_ids = await arq_redis.keys(f"{JOB_KEY_PREFIX}{operation_job_id(op.id)}:resume-*")
    assert len(resume_ids) == 1

    await workers.start()
    row = await operation_finished(op.id, workers)
    assert row.processed == row.total == members
    credited_once(await ledger(op.id, principal.location_id, group_id), members, 0, 700)


async def test_a_job_lost_in_a_redis_flush_is_requeued_and_runs_once(
    database: Settings, postgres_for_workers: None, arq_redis: ArqRedis, workers: WorkerProcesses
) -> None:
    members, outsiders = 2_000, 10
    principal = await new_principal("Worker flushed")
    group_id = await populate(principal.location_id, members, outsiders)
    dispatcher = ArqDispatcher(arq_redis)
    op = await wallet.apply_once(principal, credit(group_id, "1.25"), dispatcher)
    assert op.status == "QUEUED"
    assert await job_exists(arq_redis, operation_job_id(op.id))

    await arq_redis.flushdb()
    assert await arq_redis.zcard(QUEUE) == 0

    await check(dispatcher, now=datetime.now(UTC) + timedelta(minutes=10))
    assert await arq_redis.zcard(QUEUE) >= 1
    await workers.start()
    row = await operation_finished(op.id, workers)
    assert row.processed == row.total == members
    credited_once(await ledger(op.id, principal.location_id, group_id), members, outsiders, 125)


async def test_two_workers_apply_each_due_period_once_per_customer(
    database: Settings,
    postgres_for_workers: None,
    arq_redis: ArqRedis,
    workers: WorkerProcesses,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    members, outsiders, amount = 8_000, 40, 300
    principal = await new_principal("Worker schedule")
    group_id = await populate(principal.location_id, members, outsiders)
    await workers.start()
    await workers.start()

    today = local_today(datetime.now(UTC), principal.timezone)
    start = months_before(today, 3)
    due = due_indices(Recurrence(1, RecurrenceUnit.MONTH, start), -1, today)
    assert len(due) == 4
    # Created on its start day, three months ago, with a dispatcher that loses its jobs; no
    # worker has run since: the first period's run exists only in the database.
    lost = NoDispatch()
    created = datetime.combine(start, time(12), ZoneInfo(principal.timezone))
    with monkeypatch.context() as patch:
        patch.setattr(schedules, "now_utc", lambda: created)
        schedule = await schedules.create_schedule(
            principal,
            credit(group_id, "3.00", recurrence=Recurrence(1, RecurrenceUnit.MONTH, start)),
            lost,
        )
    assert len(lost.calls) == 1
    assert await ScheduleRun.filter(schedule_id=schedule.id, status="QUEUED").count() == 1

    # Two periodic checks at once, and every period's job delivered a second time under
    # another id: several jobs work on the same periods in two processes at the same time.
    dispatcher = ArqDispatcher(arq_redis)
    now = datetime.now(UTC)
    await asyncio.gather(check(dispatcher, now), check(dispatcher, now))
    for period, _ in due:
        await arq_redis.enqueue_job(
            "run_schedule_period", str(schedule.id), str(period), _job_id=f"dup-{period}"
        )

    async def all_succeeded() -> list[ScheduleRun] | None:
        # Every job finished, too: a duplicate still working on a finished run rewrites its
        # progress (see test_a_duplicate_job_does_not_reopen_a_finished_operation).
        if not await queue_drained(arq_redis):
            return None
        runs = await ScheduleRun.filter(schedule_id=schedule.id).order_by("period")
        done = [r for r in runs if r.status == "SUCCEEDED"]
        return runs if len(done) == len(due) == len(runs) else None

    runs = await wait_until(all_succeeded, "every due period and every job to finish", workers)
    assert [(r.period, r.period_on) for r in runs] == due
    assert [(r.period, r.status, r.processed, r.total) for r in runs] == [
        (p, "SUCCEEDED", members, members) for p, _ in due
    ]
    row = await CreditSchedule.get(id=schedule.id)
    assert row.last_period == len(due) - 1
    assert row.last_run_on == due[-1][1]

    book = await ledger(schedule.id, principal.location_id, group_id)
    periods = len(due)
    assert book.entries == book.keys == periods * members
    per_period = await sql(
        "SELECT period, count(*) AS n, count(DISTINCT customer_id) AS customers"
        " FROM wallet_entries WHERE source_id = $1 GROUP BY period ORDER BY period",
        str(schedule.id),
    )
    assert [(r["period"], r["n"], r["customers"]) for r in per_period] == [
        (p, members, members) for p, _ in due
    ]
    assert book.member_balances == {periods * amount: members}
    assert book.outsider_balances == {0: outsiders}
    assert book.balance_sum == book.delta_sum == periods * members * amount
    assert book.off_ledger == 0


async def test_a_duplicate_job_does_not_reopen_a_finished_operation(
    database: Settings, postgres_for_workers: None, arq_redis: ArqRedis, workers: WorkerProcesses
) -> None:
    """Job A has committed its last chunk and is about to record success; a duplicate job B
    (arq redelivery, or the periodic check resuming an operation whose chunk was slow) has
    already read the operation as RUNNING. Locks held here order their writes deterministically:
    B's claim waits on the operation row while A records success, then B stops on its first
    chunk's customer lock, where the operation must still say SUCCEEDED."""
    members = 1_000
    principal = await new_principal("Worker duplicate")
    group_id = await populate(principal.location_id, members)
    op = await wallet.apply_once(principal, credit(group_id, "4.00"), NoDispatch())
    await wallet.run_operation(op.id)  # job A: every chunk is applied
    before = await ledger(op.id, principal.location_id, group_id)
    credited_once(before, members, 0, 400)
    # ... but A has not recorded its success yet.
    await WalletOperation.filter(id=op.id).update(status="RUNNING", finished_at=None)

    operation_lock = await asyncpg.connect(database.database_url)
    customer_lock = await asyncpg.connect(database.database_url)
    try:
        a = operation_lock.transaction()
        await a.start()
        await operation_lock.execute(
            "SELECT id FROM wallet_operations WHERE id = $1 FOR UPDATE", op.id
        )
        first = customer_lock.transaction()
        await first.start()
        await customer_lock.execute(
            "SELECT id FROM customers WHERE location_id = $1 ORDER BY id LIMIT 1 FOR UPDATE",
            principal.location_id,
        )

        await workers.start()
        job = await arq_redis.enqueue_job("run_wallet_operation", str(op.id), _job_id="dup")
        assert job is not None
        await wait_until(
            lambda: backend_waiting_for_lock("wallet_operations"),
            "job B to read the operation and wait to claim it",
            workers,
        )
        # Job A records its success (the statement run_operation ends with).
        await operation_lock.execute(
            "UPDATE wallet_operations SET status = 'SUCCEEDED', processed = $2, total = $2,"
            " finished_at = now() WHERE id = $1",
            op.id,
            members,
        )
        await a.commit()

        async def b_gave_up_or_reached_its_first_chunk() -> bool:
            return await job.status() == JobStatus.complete or await backend_waiting_for_lock(
                "INSERT INTO wallet_entries"
            )

        await wait_until(
            b_gave_up_or_reached_its_first_chunk, "job B to give up or reach a chunk", workers
        )
        seen_by_clients = await WalletOperation.get(id=op.id)
        await first.rollback()
        await job.result(timeout=60)
    finally:
        await operation_lock.close()
        await customer_lock.close()

    after = await WalletOperation.get(id=op.id)
    assert after.status == "SUCCEEDED"
    assert await ledger(op.id, principal.location_id, group_id) == before
    # While B redid the chunks, the finished operation must not have been reopened.
    assert (seen_by_clients.status, seen_by_clients.processed) == ("SUCCEEDED", members)
