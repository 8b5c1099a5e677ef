"""The database's own guarantees on balances, and jobs that end FAILED instead of for ever.

Balances must lie in 0..MAX_CREDIT_BALANCE whatever writes them: a CHECK constraint on
PostgreSQL, triggers of the same name on SQLite (which cannot add a constraint to a table).
A credit that would pass the maximum ends its operation or schedule run FAILED at once, with a
readable error; any other failure ends it FAILED after a bounded number of attempts.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from tortoise import connections

from domain.ledger import MAX_CREDIT_BALANCE
from domain.messages import decode
from domain.schedule import local_today
from models import ledger
from models.db import IntegrityError
from models.tables.crm import Customer
from models.tables.wallet import CreditSchedule, ScheduleRun, WalletEntry, WalletOperation
from services import schedules, wallet
from services.lifecycle import resume_silent
from services.runtime import Runtime
from settings import Settings
from tasks.inprocess import InProcessDispatcher
from tests.builders import GET_OPERATION, SET_CREDITS
from tests.english import en
from tests.helpers import Api, create_customer
from tests.migrations import run_script, scratch_database

OVERFLOW = (
    "A balance would exceed the maximum of 10000000000000.00 PLN; "
    "customers not yet credited were left unchanged."
)


def _read(stored: str | None) -> str | None:
    """A stored job error as an English reader reads it."""
    return None if stored is None else en(decode(stored))


async def _execute(sql: str) -> None:
    await connections.get("default").execute_query(sql)


async def _balance(customer_id: str) -> int:
    return int((await Customer.get(id=UUID(customer_id))).credit_balance)


def test_the_maximum_balance_is_far_inside_bigint() -> None:
    # adding the largest allowed amount to the largest balance cannot overflow the column
    assert MAX_CREDIT_BALANCE == 10**15
    assert MAX_CREDIT_BALANCE * 2 < 2**63 - 1


@pytest.mark.parametrize("balance", [-1, MAX_CREDIT_BALANCE + 1])
async def test_a_balance_out_of_range_is_refused_by_the_database(api: Api, balance: int) -> None:
    anna = await create_customer(api, firstName="Anna")

    with pytest.raises(IntegrityError, match="customers_credit_balance_range"):
        await _execute(f"UPDATE customers SET credit_balance = {balance} WHERE id = '{anna['id']}'")

    assert await _balance(anna["id"]) == 0


async def test_a_customer_inserted_with_a_negative_balance_is_refused(api: Api) -> None:
    with pytest.raises(IntegrityError, match="customers_credit_balance_range"):
        await Customer.create(location_id=UUID(api.location_id), credit_balance=-5)

    assert await Customer.filter(location_id=UUID(api.location_id)).count() == 0


@pytest.mark.parametrize("balance", [0, MAX_CREDIT_BALANCE])
async def test_the_ends_of_the_range_are_allowed(api: Api, balance: int) -> None:
    anna = await create_customer(api, firstName="Anna")

    await _execute(f"UPDATE customers SET credit_balance = {balance} WHERE id = '{anna['id']}'")

    assert await _balance(anna["id"]) == balance


async def _near_the_maximum(api: Api) -> tuple[str, str]:
    """Anna 0.50 below the maximum, Bob at 0."""
    anna = await create_customer(api, firstName="Anna")
    bob = await create_customer(api, firstName="Bob")
    await _execute(
        f"UPDATE customers SET credit_balance = {MAX_CREDIT_BALANCE - 50} WHERE id = '{anna['id']}'"
    )
    return anna["id"], bob["id"]


async def test_an_operation_past_the_maximum_fails_at_once_with_a_readable_error(
    api: Api, runtime: Runtime
) -> None:
    anna, bob = await _near_the_maximum(api)

    # when both get 1.00 (applied before the mutation returns)
    payload = await api.mutate(
        SET_CREDITS,
        {"input": {"target": {"customerIds": [anna, bob]}, "operation": "ADD", "amount": "1.00"}},
    )

    # then the operation is FAILED at its first attempt, and its chunk changed nothing
    assert payload["errors"] == []
    operation = payload["operation"]
    assert (operation["status"], operation["processed"], operation["error"]) == (
        "FAILED",
        0,
        OVERFLOW,
    )
    row = await WalletOperation.get(id=UUID(operation["id"]))
    assert (row.attempts, row.finished_at is not None) == (1, True)
    assert (await _balance(anna), await _balance(bob)) == (MAX_CREDIT_BALANCE - 50, 0)
    assert await WalletEntry.filter(source_id=row.id).count() == 0
    # and it is never taken up again
    # (the check may queue other tests' jobs in the shared database: this one's row must stay
    # FAILED after its first attempt)
    later = replace(runtime, clock=lambda: datetime.now(UTC) + timedelta(hours=1))
    await resume_silent(wallet.OPERATIONS, later)
    assert (await WalletOperation.get(id=row.id)).attempts == 1
    await wallet.run_operation(runtime, row.id)
    again = (await api.data(GET_OPERATION, {"id": operation["id"]}))["walletOperation"]
    assert (again["status"], again["error"]) == ("FAILED", OVERFLOW)
    assert (await WalletOperation.get(id=row.id)).attempts == 1


async def test_a_schedule_run_past_the_maximum_fails_at_once_with_a_readable_error(
    api: Api, dispatcher: InProcessDispatcher, runtime: Runtime
) -> None:
    anna, bob = await _near_the_maximum(api)
    today = local_today(datetime.now(UTC), "Europe/Warsaw")

    # when a daily ADD of 1.00 starting today is created (today's period runs in-process)
    payload = await api.mutate(
        SET_CREDITS,
        {
            "input": {
                "target": {"customerIds": [anna, bob]},
                "operation": "ADD",
                "amount": "1.00",
                "recurrence": {"unit": "DAY", "startDate": today.isoformat()},
            }
        },
    )
    assert payload["errors"] == []
    await dispatcher.drain()

    # then today's run is FAILED at its first attempt, and the period counts as done with
    schedule_id = UUID(payload["schedule"]["id"])
    run = await ScheduleRun.get(schedule_id=schedule_id, period=0)
    assert (run.status, run.attempts, run.processed, _read(run.error)) == ("FAILED", 1, 0, OVERFLOW)
    schedule = await CreditSchedule.get(id=schedule_id)
    assert (schedule.last_period, schedule.last_run_on) == (0, today)
    assert (await _balance(anna), await _balance(bob)) == (MAX_CREDIT_BALANCE - 50, 0)
    # and neither the tick nor the check queues it again
    assert await schedules.queue_due_runs(runtime, schedule_id) == 0
    later = replace(runtime, clock=lambda: datetime.now(UTC) + timedelta(hours=1))
    await resume_silent(schedules.SCHEDULE_RUNS, later)
    run = await ScheduleRun.get(id=run.id)
    assert (run.status, run.attempts) == ("FAILED", 1)


async def _daily_credit_from_today(
    api: Api, dispatcher: InProcessDispatcher, customer_id: str
) -> UUID:
    """A daily ADD of 1.00 to one customer from today, with today's period applied."""
    today = local_today(datetime.now(UTC), "Europe/Warsaw")
    payload = await api.mutate(
        SET_CREDITS,
        {
            "input": {
                "target": {"customerIds": [customer_id]},
                "operation": "ADD",
                "amount": "1.00",
                "recurrence": {"unit": "DAY", "startDate": today.isoformat()},
            }
        },
    )
    await dispatcher.drain()
    return UUID(payload["schedule"]["id"])


async def test_a_failing_schedule_run_ends_failed_after_a_bounded_number_of_attempts(
    api: Api, dispatcher: InProcessDispatcher, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    anna = await create_customer(api, firstName="Anna")
    schedule_id = await _daily_credit_from_today(api, dispatcher, anna["id"])

    async def broken(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("connection lost: secret detail")

    monkeypatch.setattr(ledger, "apply_chunk", broken)
    # The run created with the schedule, as a fresh job would find it.
    await ScheduleRun.filter(schedule_id=schedule_id).update(status="QUEUED", attempts=0)

    # each attempt fails and puts the run back in the queue for the next one, up to the limit
    for attempt in range(1, runtime.jobs.max_attempts):
        await schedules.run_period(runtime, schedule_id, 0)
        run = await ScheduleRun.get(schedule_id=schedule_id, period=0)
        assert (run.status, run.attempts, _read(run.error)) == (
            "QUEUED",
            attempt,
            f"Attempt {attempt} of 5 failed and will be retried; the server log has the details.",
        )
    await schedules.run_period(runtime, schedule_id, 0)

    run = await ScheduleRun.get(schedule_id=schedule_id, period=0)
    assert (run.status, run.attempts, _read(run.error)) == (
        "FAILED",
        5,
        "Failed after 5 attempts; the server log has the details.",
    )
    await schedules.run_period(runtime, schedule_id, 0)  # nothing left to do: no error
    assert (await ScheduleRun.get(id=run.id)).attempts == 5


async def test_a_run_whose_last_attempt_died_ends_failed(
    api: Api, dispatcher: InProcessDispatcher, runtime: Runtime
) -> None:
    anna = await create_customer(api, firstName="Anna")
    schedule_id = await _daily_credit_from_today(api, dispatcher, anna["id"])
    # a run left RUNNING by a worker that died during its last allowed attempt
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    await ScheduleRun.filter(schedule_id=schedule_id).update(
        status="RUNNING", attempts=runtime.jobs.max_attempts, processed=0, heartbeat_at=long_ago
    )

    resumed = await resume_silent(schedules.SCHEDULE_RUNS, runtime)

    run = await ScheduleRun.get(schedule_id=schedule_id, period=0)
    assert (resumed, run.status, run.attempts, _read(run.error)) == (
        0,
        "FAILED",
        5,
        "Stopped 5 times without finishing (the worker running it died).",
    )


async def test_an_operation_whose_last_attempt_died_ends_failed(api: Api, runtime: Runtime) -> None:
    anna = await create_customer(api, firstName="Anna")
    payload = await api.mutate(
        SET_CREDITS,
        {"input": {"target": {"customerIds": [anna["id"]]}, "operation": "ADD", "amount": "1.00"}},
    )
    op_id = UUID(payload["operation"]["id"])
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    await WalletOperation.filter(id=op_id).update(
        status="RUNNING", attempts=runtime.jobs.max_attempts, heartbeat_at=long_ago
    )

    resumed = await resume_silent(wallet.OPERATIONS, runtime)

    row = await WalletOperation.get(id=op_id)
    assert (resumed, row.status, _read(row.error)) == (
        0,
        "FAILED",
        "Stopped 5 times without finishing (the worker running it died).",
    )


# ------------------------------------------------------------------ the migration from 0001

# Run in a process of its own: Tortoise's connections are global, and the suite's are open.
_MIGRATE_FROM_0001 = """
import asyncio, json, sys
from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate
from models.config import DatabaseConfig, tortoise_config

L = "00000000-0000-7000-8000-00000000000a"
A = "00000000-0000-7000-8000-0000000000a1"
B = "00000000-0000-7000-8000-0000000000b1"
NOW, LATER = "2026-11-01 10:00:00+00:00", "2026-11-02 10:00:00+00:00"


def insert(table, **row):
    values = ", ".join(str(v).lower() if isinstance(v, bool) else repr(v) for v in row.values())
    return f"INSERT INTO {table} ({', '.join(row)}) VALUES ({values})"


def schedule(id, key, request_hash, created_at):
    return insert(
        "credit_schedules", id=id, location_id=L, operation="SET", amount=5, every=1,
        unit="MONTH", start_date="2027-01-01", target="CUSTOMERS", customer_ids="[]",
        group_ids="[]", paused=False, last_period=-1, idempotency_key=key,
        request_hash=request_hash, created_at=created_at,
    )


SETUP = [
    insert("locations", id=L, name="L", currency="PLN", timezone="UTC", created_at=NOW),
    insert(
        "customers", id=A, location_id=L, search_text="", credit_balance=700,
        created_at=NOW, updated_at=NOW,
    ),
    insert(
        "wallet_operations", id=B, location_id=L, operation="ADD", amount=700,
        source="MANUAL", status="SUCCEEDED", total=1, processed=1, attempts=1,
        idempotency_key="k-1", request_hash="h-op", created_at=NOW,
    ),
    insert(
        "wallet_entries", location_id=L, customer_id=A, kind="ADD", requested_amount=700,
        delta=700, balance_after=700, source="MANUAL", source_id=B, period=0, created_at=NOW,
    ),
    schedule("00000000-0000-7000-8000-0000000000c1", "k-1", "h-later", LATER),
    schedule("00000000-0000-7000-8000-0000000000c2", "k-2", "h-s", NOW),
]


async def main(url):
    config = tortoise_config(DatabaseConfig(url=url))
    await migrate(config=config, target="models.0001_initial")
    await Tortoise.init(config=config)
    for sql in SETUP:
        await connections.get("default").execute_query(sql)
    await Tortoise.close_connections()
    await migrate(config=config)
    await Tortoise.init(config=config)
    db = connections.get("default")
    _, keys = await db.execute_query(
        "SELECT key, kind, record_id, request_hash FROM idempotency_keys ORDER BY key"
    )
    _, entries = await db.execute_query("SELECT count(*) AS n FROM wallet_entries")
    _, customer = await db.execute_query(
        f"SELECT credit_balance, deleted_at FROM customers WHERE id = '{A}'"
    )
    try:
        await db.execute_query(f"UPDATE customers SET credit_balance = -1 WHERE id = '{A}'")
        refused = False
    except Exception as error:
        refused = "customers_credit_balance_range" in str(error)
    await Tortoise.close_connections()
    print(json.dumps({
        "keys": [[r["key"], r["kind"], str(r["record_id"]), r["request_hash"]] for r in keys],
        "entries": entries[0]["n"],
        "customer": [customer[0]["credit_balance"], customer[0]["deleted_at"]],
        "negative_refused": refused,
    }))

asyncio.run(main(sys.argv[1]))
"""


async def test_migration_0002_keeps_the_data_and_moves_the_idempotency_keys(
    database: Settings, tmp_path: Path
) -> None:
    """From a database at 0001 holding keys in both old tables (one key in both, as the old
    race allowed), 0002 keeps every row, copies each key once (the older record keeps a key
    held twice) and adds the balance range."""
    async with scratch_database(database, tmp_path) as url:
        result = await run_script(_MIGRATE_FROM_0001, url)

    assert result == {
        "keys": [
            ["k-1", "WALLET_OPERATION", "00000000-0000-7000-8000-0000000000b1", "h-op"],
            ["k-2", "CREDIT_SCHEDULE", "00000000-0000-7000-8000-0000000000c2", "h-s"],
        ],
        "entries": 1,
        "customer": [700, None],
        "negative_refused": True,
    }
