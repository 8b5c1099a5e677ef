"""Real arq workers (`gocrm worker` subprocesses) on PostgreSQL and Redis.

What DESIGN.md §2 promises for bulk operations and recurring credits, checked end to end: every
customer is credited exactly once whether a job runs once, twice, twice at once, dies mid-way
(SIGKILL) or is lost from Redis; the database, not the queue, says what is left to do. And a
sync requested through GraphQL runs on a worker against upstreams served on loopback.
"""

from __future__ import annotations

import asyncio
import calendar
import json
import socket
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from time import monotonic as time_now
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import httpx
import pytest
from arq.connections import ArqRedis
from tortoise import connections

from domain.access import Principal
from domain.ledger import CreditOperation
from domain.requests import CreditRequest, CustomerFilter, Target
from domain.schedule import Recurrence, RecurrenceUnit, due_indices, local_today
from gateway.app import create_app
from gateway.runtime import build_runtime, close_runtime
from models.ledger import apply_chunk
from models.tables.crm import Customer, CustomerGroup, GroupMembership
from models.tables.wallet import CreditSchedule, ExpiryRun, ScheduleRun, WalletOperation
from services import access, schedules, wallet
from services.jobs import Dispatcher, operation_job_id
from services.runtime import Runtime, utc_now
from settings import Settings
from tasks.jobs import check
from tasks.worker import ArqDispatcher
from tests.helpers import create_group, new_location
from tests.lots_helpers import change, sums
from tests.processes import wait_until
from tests.redis_fixtures import WORKER_SECRET_KEY, WorkerProcesses
from tests.redis_fixtures import arq_redis as arq_redis
from tests.redis_fixtures import workers as workers

pytestmark = [pytest.mark.redis, pytest.mark.timeout(240)]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
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


def runtime_for(
    settings: Settings, dispatcher: Dispatcher, clock: Callable[[], datetime] = utc_now
) -> Runtime:
    return build_runtime(settings, dispatcher, clock=clock)


# --- tests -----------------------------------------------------------------------------------


async def test_worker_credits_a_20000_customer_group(
    database: Settings, postgres_for_workers: None, arq_redis: ArqRedis, workers: WorkerProcesses
) -> None:
    members, outsiders = 20_000, 25
    principal = await new_principal("Worker 20k")
    group_id = await populate(principal.location_id, members, outsiders)
    await workers.start()

    op = await wallet.apply_once(
        runtime_for(database, ArqDispatcher(arq_redis, QUEUE)), principal, credit(group_id, "5.00")
    )
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
    op = await wallet.apply_once(
        runtime_for(database, ArqDispatcher(arq_redis, QUEUE)), principal, credit(group_id, "2.50")
    )
    await operation_finished(op.id, workers)
    before = await ledger(op.id, principal.location_id, group_id)
    credited_once(before, members, 0, 250)

    # At-least-once delivery: the finished job comes back under another id, and runs in-process.
    job = await arq_redis.enqueue_job("run_wallet_operation", str(op.id), _job_id="again")
    assert job is not None
    await job.result(timeout=60)
    await wallet.run_operation(runtime_for(database, NoDispatch()), op.id)
    assert await ledger(op.id, principal.location_id, group_id) == before

    # A job that died after its last chunk but before recording success, put back in the
    # queue by the periodic check: two runs take it up at once (one in a worker, one here);
    # one claims it and redoes every chunk, the other finds it claimed.
    await WalletOperation.filter(id=op.id).update(status="QUEUED", finished_at=None)
    job = await arq_redis.enqueue_job("run_wallet_operation", str(op.id), _job_id="again-2")
    assert job is not None
    await asyncio.gather(
        job.result(timeout=60), wallet.run_operation(runtime_for(database, NoDispatch()), op.id)
    )
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
    dispatcher = ArqDispatcher(arq_redis, QUEUE)
    op = await wallet.apply_once(
        runtime_for(database, dispatcher), principal, credit(group_id, "7.00")
    )

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

    # The periodic check, run once the operation's heartbeat has been silent for longer than
    # the threshold, queues it again under a new id naming the attempts made (the dead job's
    # id stays reserved until arq times it out).
    later = datetime.now(UTC) + timedelta(minutes=10)
    await check(runtime_for(database, dispatcher, clock=lambda: later))
    assert await job_exists(arq_redis, operation_job_id(op.id, 1))

    await workers.start()
    row = await operation_finished(op.id, workers)
    assert row.processed == row.total == members
    credited_once(await ledger(op.id, principal.location_id, group_id), members, 0, 700)


async def test_a_killed_workers_operation_resumes_on_its_own_once_its_heartbeat_is_silent(
    database: Settings, postgres_for_workers: None, arq_redis: ArqRedis, workers: WorkerProcesses
) -> None:
    # given workers that beat every second, count 4 silent seconds as dead and check every 2
    quick = {"GOCRM_JOB_HEARTBEAT": "1", "GOCRM_JOB_STALE_AFTER": "4", "GOCRM_CHECK_SECONDS": "2"}
    members = 60_000
    principal = await new_principal("Worker killed, resumed alone")
    group_id = await populate(principal.location_id, members)
    first = await workers.start(quick)
    op = await wallet.apply_once(
        runtime_for(database, ArqDispatcher(arq_redis, QUEUE)), principal, credit(group_id, "3.00")
    )

    async def mid_way() -> WalletOperation | None:
        row = await WalletOperation.get(id=op.id)
        return row if row.status == "RUNNING" and row.processed > 0 else None

    await wait_until(mid_way, "the operation to be mid-way", workers, interval=0.01)

    # when its worker is SIGKILLed and another one is running, with nobody else doing anything
    await workers.kill(first)
    killed_at = time_now()
    await workers.start(quick)

    async def taken_up_again() -> WalletOperation | None:
        row = await WalletOperation.get(id=op.id)
        return row if row.attempts == 2 else None

    await wait_until(taken_up_again, "the operation to be resumed", workers, interval=0.05)
    resumed_after = time_now() - killed_at
    row = await operation_finished(op.id, workers)

    # then its second attempt started within the threshold and the check's interval (plus
    # the new worker's start-up), and every member was credited once
    assert resumed_after < 4 + 2 + 5
    assert (row.status, row.attempts, row.processed) == ("SUCCEEDED", 2, members)
    credited_once(await ledger(op.id, principal.location_id, group_id), members, 0, 300)


async def test_a_job_lost_in_a_redis_flush_is_requeued_and_runs_once(
    database: Settings, postgres_for_workers: None, arq_redis: ArqRedis, workers: WorkerProcesses
) -> None:
    members, outsiders = 2_000, 10
    principal = await new_principal("Worker flushed")
    group_id = await populate(principal.location_id, members, outsiders)
    dispatcher = ArqDispatcher(arq_redis, QUEUE)
    op = await wallet.apply_once(
        runtime_for(database, dispatcher), principal, credit(group_id, "1.25")
    )
    assert op.status == "QUEUED"
    assert await job_exists(arq_redis, operation_job_id(op.id, 0))

    await arq_redis.flushdb()
    assert await arq_redis.zcard(QUEUE) == 0

    later = datetime.now(UTC) + timedelta(minutes=10)
    await check(runtime_for(database, dispatcher, clock=lambda: later))
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
    schedule = await schedules.create_schedule(
        runtime_for(database, lost, clock=lambda: created),
        principal,
        credit(group_id, "3.00", recurrence=Recurrence(1, RecurrenceUnit.MONTH, start)),
    )
    assert len(lost.calls) == 1
    assert await ScheduleRun.filter(schedule_id=schedule.id, status="QUEUED").count() == 1

    # Two periodic checks at once, and every period's job delivered a second time under
    # another id: several jobs work on the same periods in two processes at the same time.
    runtime = runtime_for(database, ArqDispatcher(arq_redis, QUEUE))
    await asyncio.gather(check(runtime), check(runtime))
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


CONFIGURE = """mutation($channel: Channel!, $input: IntegrationInput!) {
  configureIntegration(channel: $channel, input: $input) { errors { code field message } } }"""
SYNCHRONIZE = """mutation($channel: Channel!) {
  synchronize(channel: $channel) { syncRun { id } errors { code } } }"""
SYNC_RUN = "query($id: ID!) { syncRun(id: $id) { status fetched linked error } }"
GROUP_CONNECTIONS = "{ customerGroups { reference connections { channel status } } }"


async def _simulator(kind: str, fixture: Path) -> tuple[asyncio.subprocess.Process, str]:
    """`gocrm simulate` as a real server on a free loopback port, and its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway.cli",
        "simulate",
        kind,
        "--port",
        str(port),
        "--fixture",
        str(fixture),
        cwd=PROJECT_ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            break
        except OSError:
            await asyncio.sleep(0.05)
    return process, f"http://127.0.0.1:{port}"


async def test_a_workers_check_makes_the_days_expiry_run_and_a_worker_runs_it(
    database: Settings, postgres_for_workers: None, arq_redis: ArqRedis, workers: WorkerProcesses
) -> None:
    # given customers holding credits that expired long ago, while no worker ran
    principal = await new_principal("Worker expiry")
    location_id = principal.location_id
    ids = [(await Customer.create(location_id=location_id, first_name=f"C{n}")).id for n in "abc"]
    expired = change(location_id, CreditOperation.ADD, 700, expires_on=date(2020, 1, 1))
    await apply_chunk(ids, expired)

    # when a worker starts (its periodic check runs at once)
    await workers.start()

    async def finished() -> ExpiryRun | None:
        run = await ExpiryRun.get_or_none(location_id=location_id)
        return run if run is not None and run.status in ("SUCCEEDED", "FAILED") else None

    run = await wait_until(finished, "the expiry run to finish", workers)

    # then the day's run, queued through Redis, expired each lot once and counted them
    today = local_today(datetime.now(UTC), principal.timezone)
    assert (run.day, run.status, run.attempts) == (today, "SUCCEEDED", 1)
    assert (run.lots_expired, run.amount_expired) == (3, 2100)
    assert [await sums(c) for c in ids] == [(0, 0, 0)] * 3


async def test_a_worker_synchronizes_both_channels_requested_through_graphql(
    database: Settings, postgres_for_workers: None, arq_redis: ArqRedis, workers: WorkerProcesses
) -> None:
    # given both upstreams as real servers, and a gateway that queues on the workers' Redis
    fixtures = PROJECT_ROOT / "tests" / "fixtures"
    gopos, gopos_url = await _simulator("gopos", fixtures / "gopos.json")
    goorder, goorder_url = await _simulator("goorder", fixtures / "goorder.json")
    gopos_data = json.loads((fixtures / "gopos.json").read_text())
    goorder_data = json.loads((fixtures / "goorder.json").read_text())
    settings = replace(database, secret_key=WORKER_SECRET_KEY)
    runtime = build_runtime(settings, ArqDispatcher(arq_redis, QUEUE))
    app = create_app(settings, manage_database=False, runtime=runtime)
    await workers.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway"
        ) as http:
            api = await new_location(http, "Worker sync")
            await create_group(api, "Stały klient")
            for channel, inputs in (
                (
                    "GOPOS",
                    {
                        "baseUrl": gopos_url,
                        "clientId": gopos_data["client_id"],
                        "clientSecret": gopos_data["client_secret"],
                        "organizationId": gopos_data["organization_id"],
                    },
                ),
                (
                    "GOORDER",
                    {
                        "baseUrl": goorder_url,
                        "apiKey": goorder_data["api_key"],
                        "storeId": goorder_data["store_id"],
                    },
                ),
            ):
                configured = await api.mutate(CONFIGURE, {"channel": channel, "input": inputs})
                assert configured["errors"] == []

            # when both channels are synchronised through GraphQL, the workers running the jobs
            run_ids = []
            for channel in ("GOPOS", "GOORDER"):
                queued = await api.mutate(SYNCHRONIZE, {"channel": channel})
                assert queued["errors"] == []
                run_ids.append(queued["syncRun"]["id"])

            async def finished() -> list[dict[str, Any]] | None:
                runs = [(await api.data(SYNC_RUN, {"id": i}))["syncRun"] for i in run_ids]
                done = all(r["status"] in ("SUCCEEDED", "FAILED") for r in runs)
                return runs if done else None

            runs = await wait_until(finished, "both sync runs to finish", workers)
            shown = (await api.data(GROUP_CONNECTIONS))["customerGroups"]
    finally:
        for process in (gopos, goorder):
            process.terminate()
            await process.wait()
        await close_runtime(runtime)

    # then both succeeded, the group is linked on both channels, and no secret reached the log
    assert [(r["status"], r["linked"], r["error"]) for r in runs] == [
        ("SUCCEEDED", 1, None),
        ("SUCCEEDED", 1, None),
    ]
    assert shown == [
        {
            "reference": "staly-klient",
            "connections": [
                {"channel": "GOPOS", "status": "LINKED"},
                {"channel": "GOORDER", "status": "LINKED"},
            ],
        }
    ]
    logs = workers.logs()
    assert "sync run" in logs or "GoPOS" in logs
    for secret in (gopos_data["client_secret"], goorder_data["api_key"], WORKER_SECRET_KEY):
        assert secret not in logs
