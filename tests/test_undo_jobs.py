"""An undo as a job, on both databases: queued and run in chunks, a failed chunk retried by the
lifecycle, a rerun after it ended. On PostgreSQL: two undos of one operation requested at once
(one wins; a negative control without the unique `undo_of_id` shows both would apply), and an
undo meeting a sale that holds the customer (it waits and takes back what is left; a negative
control without its row lock shows the sale overwritten)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest

from gateway.runtime import with_dispatcher
from models import undo as undo_model
from models.tables.crm import Customer, GroupMembership
from models.tables.wallet import CreditLot, CreditLotTake, WalletEntry, WalletOperation
from services import undo, wallet
from services.runtime import Runtime
from settings import Settings
from tasks.inprocess import InProcessDispatcher
from tests.helpers import Api, create_customer, create_group
from tests.wallet_helpers import balance_of, credit_ok, principal_of

LARGE = Settings().job_inline_limit + 20

UNDO = """
mutation($id: ID!, $key: String!) {
  undoWalletOperation(id: $id, idempotencyKey: $key) {
    operation { id status total processed restoredCount partlyRestoredCount }
    errors { code field messageId }
  }
}"""


async def _members(api: Api, count: int, balance: int) -> tuple[str, list[UUID]]:
    """A group of `count` customers holding `balance` each, created in bulk."""
    group = await create_group(api, "Wszyscy")
    location_id = UUID(api.location_id)
    customers = [
        Customer(location_id=location_id, first_name=f"C{i}", credit_balance=balance)
        for i in range(count)
    ]
    await Customer.bulk_create(customers)
    ids = sorted(c.id for c in customers)
    await GroupMembership.bulk_create(
        [GroupMembership(group_id=UUID(group["id"]), customer_id=c) for c in ids]
    )
    return group["id"], ids


async def _balances(ids: list[UUID]) -> list[int]:
    rows = await Customer.filter(id__in=ids).order_by("id").values_list("credit_balance", flat=True)
    return [int(b) for b in rows]


async def _undo_entries(undo_id: str) -> dict[UUID, int]:
    rows = await WalletEntry.filter(source_id=UUID(undo_id), kind="UNDO").values_list(
        "customer_id", flat=True
    )
    counts: dict[UUID, int] = {}
    for customer_id in rows:
        counts[customer_id] = counts.get(customer_id, 0) + 1
    return counts


async def test_a_large_undo_is_queued_and_run_in_chunks_once_per_customer(
    api: Api, dispatcher: InProcessDispatcher
) -> None:
    group, members = await _members(api, LARGE, 0)
    added = await credit_ok(api, {"filter": {"groupIds": [group]}}, "ADD", "6.00")
    await dispatcher.drain()

    payload = await api.mutate(UNDO, {"id": added["id"], "key": "big"})
    queued = payload["operation"]
    await dispatcher.drain()

    assert (queued["status"], queued["total"]) == ("QUEUED", LARGE)
    row = await WalletOperation.get(id=UUID(queued["id"]))
    assert (row.status, row.total, row.processed) == ("SUCCEEDED", LARGE, LARGE)
    assert (row.restored_count, row.partly_restored_count) == (LARGE, 0)
    assert await _balances(members) == [0] * LARGE
    assert await _undo_entries(queued["id"]) == dict.fromkeys(members, 1)


class RecordingDispatcher:
    """Takes jobs and runs none of them: leaves operations queued."""

    async def enqueue(self, function: str, *args: str, job_id: str) -> None:
        pass


async def test_a_failed_chunk_is_retried_and_nobody_is_compensated_twice(
    api: Api, runtime: Runtime, dispatcher: InProcessDispatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an ADD to many customers, and its undo queued, not yet run
    group, members = await _members(api, LARGE, 100)
    added = await credit_ok(api, {"filter": {"groupIds": [group]}}, "ADD", "2.00")
    await dispatcher.drain()
    recording = replace(with_dispatcher(runtime, RecordingDispatcher()), chunk_size=100)
    principal = await principal_of(api)
    queued = await undo.undo_operation(recording, principal, added["id"], "retry")
    # and a worker whose third chunk fails (its transaction rolled back)
    real = undo_model.apply_chunk
    calls: list[int] = []

    async def failing_once(db: Any, ids: Any, chunk: Any) -> int:
        calls.append(len(ids))
        if len(calls) == 3:
            raise RuntimeError("the connection was lost")
        return await real(db, ids, chunk)

    monkeypatch.setattr(undo_model, "apply_chunk", failing_once)

    # when the worker runs it, and then the retry
    await wallet.run_operation(recording, queued.id)
    failed = await WalletOperation.get(id=queued.id)
    await wallet.run_operation(recording, queued.id)

    # then the first attempt ended after two chunks, and the retry carried on from there
    assert (queued.status, failed.status, failed.attempts, failed.processed) == (
        "QUEUED",
        "QUEUED",
        1,
        200,
    )
    assert calls == [100, 100, 100, 100, 100, 100, 20]  # the third chunk ran twice
    row = await WalletOperation.get(id=queued.id)
    assert (row.status, row.processed, row.restored_count) == ("SUCCEEDED", LARGE, LARGE)
    assert await _undo_entries(str(queued.id)) == dict.fromkeys(members, 1)
    assert await _balances(members) == [100] * LARGE


async def test_rerunning_an_ended_undo_changes_nothing(
    api: Api, runtime: Runtime, dispatcher: InProcessDispatcher
) -> None:
    group, members = await _members(api, LARGE, 0)
    added = await credit_ok(api, {"filter": {"groupIds": [group]}}, "ADD", "4.00")
    await dispatcher.drain()
    undo_id = UUID((await api.mutate(UNDO, {"id": added["id"], "key": "x"}))["operation"]["id"])
    await dispatcher.drain()
    await WalletOperation.filter(id=undo_id).update(status="QUEUED")

    await wallet.run_operation(runtime, undo_id)

    assert await _undo_entries(str(undo_id)) == dict.fromkeys(members, 1)
    assert await _balances(members) == [0] * LARGE
    row = await WalletOperation.get(id=undo_id)
    assert (row.status, row.restored_count, row.partly_restored_count) == ("SUCCEEDED", LARGE, 0)


async def _race(api: Api, monkeypatch: pytest.MonkeyPatch) -> tuple[list[dict[str, Any]], str]:
    """Two undos of one ADD of 40.00 (to a customer holding 100.00), with two keys, each past
    its checks before either writes; their payloads, and the customer."""
    customer = await create_customer(api, firstName="Ala")
    await credit_ok(api, {"customerIds": [customer["id"]]}, "ADD", "100.00")
    added = await credit_ok(api, {"customerIds": [customer["id"]]}, "ADD", "40.00")
    both_checked = asyncio.Barrier(2)
    real = undo_model.reached

    async def reached(original: Any) -> int:
        await asyncio.wait_for(both_checked.wait(), 10)
        return await real(original)

    monkeypatch.setattr(undo_model, "reached", reached)
    variables = [{"id": added["id"], "key": key} for key in ("a", "b")]
    payloads = await asyncio.gather(*(api.mutate(UNDO, v) for v in variables))
    return list(payloads), customer["id"]


@pytest.mark.usefixtures("postgres_only")
async def test_two_undos_at_once_make_one(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    payloads, customer = await _race(api, monkeypatch)

    errors = sorted(str(p["errors"]) for p in payloads)
    assert errors == [
        "[]",
        "[{'code': 'CONFLICT', 'field': 'id', 'messageId': 'undo.already_undone'}]",
    ]
    assert await balance_of(api, customer) == "100.00"
    assert await WalletEntry.filter(customer_id=customer, kind="UNDO").count() == 1


@pytest.mark.usefixtures("postgres_only")
async def test_negative_control_without_the_unique_undo_of_both_undos_apply(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_create = undo_model.create

    async def create_unguarded(db: Any, record: Any, original: Any, total: int) -> Any:
        # each undo names a different original id: the unique column no longer guards
        created = await real_create(db, record, original, total)
        await (
            WalletOperation.filter(id=created.id)
            .using_db(db)
            .update(undo_of_id=UUID(int=created.id.int ^ 1))
        )
        return created

    monkeypatch.setattr(undo_model, "create", create_unguarded)
    payloads, customer = await _race(api, monkeypatch)

    assert [p["errors"] for p in payloads] == [[], []]
    assert await balance_of(api, customer) == "60.00"  # the 40.00 taken back twice


async def _undo_over_a_sale(api: Api, database: Settings) -> tuple[str, dict[str, Any]]:
    """An ADD of 20.00 undone while a sale of 5.00 of credits (taken from the ADD's lot) holds
    the customer: the sale commits once the undo has started and is waiting for it. The
    customer, and the undo."""
    customer = (await create_customer(api, firstName="Ala"))["id"]
    added = await credit_ok(api, {"customerIds": [customer]}, "ADD", "20.00")
    sale = await asyncpg.connect(database.database_url)
    try:
        held = sale.transaction()
        await held.start()
        await sale.execute(
            "UPDATE customers SET credit_balance = credit_balance - 500 WHERE id = $1",
            UUID(customer),
        )
        await sale.execute(
            "INSERT INTO wallet_entries (location_id, customer_id, kind, requested_amount, delta,"
            " balance_after, source, source_id, period, created_at)"
            " VALUES ($1, $2, 'REDEEM', 500, -500, 1500, 'CHECKOUT', $3, 0, now())",
            UUID(api.location_id),
            UUID(customer),
            uuid4(),
        )
        await sale.execute(
            "UPDATE credit_lots SET remaining = remaining - 500 WHERE customer_id = $1",
            UUID(customer),
        )
        undoing = asyncio.create_task(api.mutate(UNDO, {"id": added["id"], "key": "race"}))
        await asyncio.sleep(0.5)  # the undo's chunk reaches the customer meanwhile
        await held.commit()
        payload: dict[str, Any] = await undoing
    finally:
        await sale.close()
    return customer, payload


async def _ledger_sum(customer: str) -> int:
    return sum(e.delta for e in await WalletEntry.filter(customer_id=customer))


async def _lots_sum(customer: str) -> int:
    return sum(lot.remaining for lot in await CreditLot.filter(customer_id=customer))


@pytest.mark.usefixtures("postgres_only")
async def test_an_undo_waits_for_a_sale_holding_the_customer_and_takes_back_what_is_left(
    api: Api, database: Settings
) -> None:
    customer, payload = await _undo_over_a_sale(api, database)

    assert payload["errors"] == []
    assert payload["operation"]["partlyRestoredCount"] == 1
    undo_entry = await WalletEntry.get(customer_id=customer, kind="UNDO")
    assert (undo_entry.requested_amount, undo_entry.delta) == (-2000, -1500)
    assert await balance_of(api, customer) == "0.00"
    assert await _ledger_sum(customer) == 0
    # the lots follow what the undo took, read after the sale: 15.00 of the ADD's lot
    takes = await CreditLotTake.filter(entry_id=undo_entry.id).values_list("amount", flat=True)
    assert (takes, await _lots_sum(customer)) == ([1500], 0)


@pytest.mark.usefixtures("postgres_only")
async def test_negative_control_without_the_row_lock_the_undo_overwrites_the_sale(
    api: Api, database: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    unlocked = undo_model._POSTGRES_CHUNK.replace("ORDER BY c.id FOR UPDATE OF c", "")
    monkeypatch.setattr(undo_model, "_POSTGRES_CHUNK", unlocked)

    customer, payload = await _undo_over_a_sale(api, database)

    # the undo computed from the balance before the sale: the stored balance is no longer the
    # sum of the ledger (the sale's 5.00 was taken twice)
    assert payload["errors"] == []
    undo_entry = await WalletEntry.get(customer_id=customer, kind="UNDO")
    assert undo_entry.delta == -2000
    assert await balance_of(api, customer) == "0.00"
    assert await _ledger_sum(customer) == -500
