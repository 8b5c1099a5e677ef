"""Undo of a bulk action through the API, on both databases: ADD, SET and REDUCE undone, a
partial restore after a redeem, a schedule's period undone, idempotency, once only, and a worker's
retried chunk compensating nobody twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import pytest

from domain.ledger import MAX_CREDIT_BALANCE
from models.tables.crm import Customer
from models.tables.wallet import CreditLot, CreditSchedule, WalletEntry, WalletOperation
from services import schedules
from services.runtime import Runtime
from tasks.inprocess import InProcessDispatcher
from tests.helpers import Api, create_customer
from tests.wallet_helpers import balance_of, credit_ok, nodes, stored_balance, wallet_of

UNDO_FIELDS = """
  id operation status total processed restoredCount partlyRestoredCount
  undoOf { id operation } undoneBy { id }
"""

UNDO = f"""
mutation($id: ID!, $key: String!) {{
  undoWalletOperation(id: $id, idempotencyKey: $key) {{
    operation {{ {UNDO_FIELDS} }}
    errors {{ code field messageId }}
  }}
}}"""

PREVIEW = """
query($id: ID!) {
  previewUndoWalletOperation(id: $id) { restoredCount partlyRestoredCount amount { amount } }
}"""

OPERATION = f"""query($id: ID!) {{ walletOperation(id: $id) {{ {UNDO_FIELDS} }} }}"""

COMMIT = """mutation($input: CheckoutInput!, $key: String!) {
  commitCheckout(input: $input, idempotencyKey: $key) { checkout { id } errors { code } } }"""


async def undo(api: Api, operation_id: str, key: str = "undo-1") -> dict[str, Any]:
    payload: dict[str, Any] = await api.mutate(UNDO, {"id": operation_id, "key": key})
    return payload


async def undone(api: Api, operation_id: str, key: str = "undo-1") -> dict[str, Any]:
    payload = await undo(api, operation_id, key)
    assert payload["errors"] == [], payload
    result: dict[str, Any] = payload["operation"]
    return result


async def customers(api: Api, *balances: str) -> list[str]:
    """Customers holding `balances` (each credited by an ADD of its own)."""
    ids = []
    for n, balance in enumerate(balances):
        customer = await create_customer(api, firstName=f"Klient {n}")
        if balance != "0.00":
            await credit_ok(api, {"customerIds": [customer["id"]]}, "ADD", balance)
        ids.append(customer["id"])
    return ids


async def balances(api: Api, ids: list[str]) -> list[str]:
    return [await balance_of(api, i) for i in ids]


async def test_undo_of_an_add_takes_back_what_it_gave(api: Api) -> None:
    ids = await customers(api, "10.00", "0.00")
    added = await credit_ok(api, {"customerIds": ids}, "ADD", "25.00")
    preview = (await api.data(PREVIEW, {"id": added["id"]}))["previewUndoWalletOperation"]

    operation = await undone(api, added["id"])

    assert preview == {"restoredCount": 2, "partlyRestoredCount": 0, "amount": {"amount": "50.00"}}
    assert await balances(api, ids) == ["10.00", "0.00"]
    assert operation == {
        "id": operation["id"],
        "operation": "ADD",
        "status": "SUCCEEDED",
        "total": 2,
        "processed": 2,
        "restoredCount": 2,
        "partlyRestoredCount": 0,
        "undoOf": {"id": added["id"], "operation": "ADD"},
        "undoneBy": None,
    }
    original = (await api.data(OPERATION, {"id": added["id"]}))["walletOperation"]
    assert original["undoneBy"] == {"id": operation["id"]}
    entry = nodes(await wallet_of(api, ids[0]))[0]
    assert (entry["kind"], entry["requestedAmount"], entry["delta"], entry["balanceAfter"]) == (
        "UNDO",
        {"amount": "-25.00"},
        {"amount": "-25.00"},
        {"amount": "10.00"},
    )
    assert (entry["source"], entry["sourceId"]) == ("BULK", operation["id"])
    for customer_id in ids:
        assert await stored_balance(customer_id) == await _ledger_sum(customer_id)


async def _ledger_sum(customer_id: str) -> int:
    return sum(e.delta for e in await WalletEntry.filter(customer_id=customer_id))


async def test_undo_of_a_set_moves_each_balance_back_either_way(api: Api) -> None:
    ids = await customers(api, "80.00", "5.00")
    applied = await credit_ok(api, {"customerIds": ids}, "SET", "30.00")

    operation = await undone(api, applied["id"])

    assert await balances(api, ids) == ["80.00", "5.00"]
    assert (operation["restoredCount"], operation["partlyRestoredCount"]) == (2, 0)


async def test_undo_of_a_reduce_gives_back_what_it_took_not_what_it_asked(api: Api) -> None:
    ids = await customers(api, "50.00", "8.00")
    reduced = await credit_ok(api, {"customerIds": ids}, "REDUCE", "20.00")
    preview = (await api.data(PREVIEW, {"id": reduced["id"]}))["previewUndoWalletOperation"]

    await undone(api, reduced["id"])

    assert preview == {
        "restoredCount": 2,
        "partlyRestoredCount": 0,
        "amount": {"amount": "-28.00"},
    }
    assert await balances(api, ids) == ["50.00", "8.00"]


async def test_a_customer_who_spent_the_credits_since_is_partly_restored(api: Api) -> None:
    ids = await customers(api, "0.00", "0.00")
    added = await credit_ok(api, {"customerIds": ids}, "ADD", "30.00")
    bill = [{"productId": "kawa", "quantity": "1", "unitPrice": "12.00"}]
    sale = {"input": {"customerId": ids[0], "lines": bill}, "key": "sale-1"}
    assert (await api.mutate(COMMIT, sale))["errors"] == []
    preview = (await api.data(PREVIEW, {"id": added["id"]}))["previewUndoWalletOperation"]

    operation = await undone(api, added["id"])

    # the first spent 12.00 of the 30.00: only 18.00 is left to take back
    assert preview == {"restoredCount": 1, "partlyRestoredCount": 1, "amount": {"amount": "48.00"}}
    assert (operation["restoredCount"], operation["partlyRestoredCount"]) == (1, 1)
    assert await balances(api, ids) == ["0.00", "0.00"]
    entry = nodes(await wallet_of(api, ids[0]))[0]
    assert (entry["kind"], entry["requestedAmount"], entry["delta"]) == (
        "UNDO",
        {"amount": "-30.00"},
        {"amount": "-18.00"},
    )


async def test_an_undo_is_once_only_and_its_key_answers_with_it(api: Api) -> None:
    (customer,) = await customers(api, "0.00")
    added = await credit_ok(api, {"customerIds": [customer]}, "ADD", "5.00")
    first = await undone(api, added["id"], "k1")

    again = await undone(api, added["id"], "k1")
    other_key = await undo(api, added["id"], "k2")
    of_undo = await undo(api, first["id"], "k3")
    key_reused = await undo(api, first["id"], "k1")
    preview = await api.raw(PREVIEW, {"id": added["id"]})

    assert again == first
    assert other_key["errors"] == [
        {"code": "CONFLICT", "field": "id", "messageId": "undo.already_undone"}
    ]
    assert of_undo["errors"] == [{"code": "INVALID", "field": "id", "messageId": "undo.of_undo"}]
    assert [e["code"] for e in key_reused["errors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    assert preview["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert await balance_of(api, customer) == "0.00"
    assert await WalletOperation.filter(undo_of_id=added["id"]).count() == 1


async def test_only_a_succeeded_operation_of_the_location_is_undone(api: Api, other: Api) -> None:
    (customer,) = await customers(api, "0.00")
    added = await credit_ok(api, {"customerIds": [customer]}, "ADD", "5.00")
    await WalletOperation.filter(id=added["id"]).update(status="FAILED")

    failed = await undo(api, added["id"])
    elsewhere = await undo(other, added["id"])
    malformed = await undo(api, "nope")
    empty_key = await undo(api, added["id"], "  ")

    assert failed["errors"] == [
        {"code": "CONFLICT", "field": "id", "messageId": "undo.not_finished"}
    ]
    assert elsewhere["errors"] == [
        {"code": "NOT_FOUND", "field": "id", "messageId": "operation.not_found"}
    ]
    assert malformed["errors"] == elsewhere["errors"]
    assert [e["field"] for e in empty_key["errors"]] == ["idempotencyKey"]


async def test_a_deleted_customer_is_skipped(api: Api) -> None:
    ids = await customers(api, "0.00", "0.00")
    added = await credit_ok(api, {"customerIds": ids}, "ADD", "7.00")
    deleted = await api.mutate(
        "mutation($id: ID!) { deleteCustomer(id: $id) { errors { code } } }", {"id": ids[1]}
    )
    assert deleted["errors"] == []

    operation = await undone(api, added["id"])

    assert (operation["processed"], operation["restoredCount"]) == (2, 1)
    assert await WalletEntry.filter(customer_id=ids[1], kind="UNDO").count() == 0


SCHEDULE_RUNS = """
query { creditSchedules { id runs { edges { node { period status operation {
  id operation status undoneBy { id } } } } } } }"""


@pytest.fixture
async def own_schedules_only(api: Api) -> AsyncIterator[None]:
    """Ticks see every schedule in the database: drop this test's ones when it ends."""
    yield
    await CreditSchedule.filter(location_id=UUID(api.location_id)).delete()


@pytest.mark.usefixtures("own_schedules_only")
async def test_a_schedule_period_is_undone_by_its_operation_id(
    api: Api, runtime: Runtime, dispatcher: InProcessDispatcher
) -> None:
    ids = await customers(api, "4.00", "0.00")
    today = runtime.clock().date()
    await credit_ok(
        api,
        {"customerIds": ids},
        "ADD",
        "15.00",
        recurrence={"unit": "DAY", "startDate": today.isoformat()},
    )
    await schedules.queue_due_runs(runtime)
    await dispatcher.drain()
    (schedule,) = (await api.data(SCHEDULE_RUNS))["creditSchedules"]
    (run,) = [edge["node"] for edge in schedule["runs"]["edges"]]
    assert await balances(api, ids) == ["19.00", "15.00"]

    operation = await undone(api, run["operation"]["id"])

    assert await balances(api, ids) == ["4.00", "0.00"]
    assert operation["undoOf"] == {"id": run["operation"]["id"], "operation": "ADD"}
    assert (operation["restoredCount"], operation["partlyRestoredCount"]) == (2, 0)
    (schedule,) = (await api.data(SCHEDULE_RUNS))["creditSchedules"]
    run = schedule["runs"]["edges"][0]["node"]
    assert run["operation"]["undoneBy"] == {"id": operation["id"]}
    period = (await api.data(OPERATION, {"id": run["operation"]["id"]}))["walletOperation"]
    assert period == {
        "id": run["operation"]["id"],
        "operation": "ADD",
        "status": "SUCCEEDED",
        "total": 2,
        "processed": 2,
        "restoredCount": None,
        "partlyRestoredCount": None,
        "undoOf": None,
        "undoneBy": {"id": operation["id"]},
    }


async def test_what_an_undo_gives_back_stops_at_the_wallet_maximum(api: Api) -> None:
    (customer,) = await customers(api, "50.00")
    reduced = await credit_ok(api, {"customerIds": [customer]}, "REDUCE", "20.00")
    # the customer has come close to the most a wallet may hold since
    await Customer.filter(id=customer).update(credit_balance=MAX_CREDIT_BALANCE - 500)

    operation = await undone(api, reduced["id"])

    assert (operation["restoredCount"], operation["partlyRestoredCount"]) == (0, 1)
    assert await stored_balance(customer) == MAX_CREDIT_BALANCE
    (entry,) = await WalletEntry.filter(customer_id=customer, kind="UNDO")
    assert (entry.requested_amount, entry.delta) == (2000, 500)


async def _lots(customer_id: str) -> list[tuple[int, int]]:
    """A customer's lots with something left: (remaining, amount), oldest first."""
    rows = await CreditLot.filter(customer_id=UUID(customer_id), remaining__gt=0).order_by("id")
    return [(row.remaining, row.amount) for row in rows]


async def test_the_lots_follow_an_undo_and_still_sum_to_every_balance(api: Api) -> None:
    # given two customers of 10.00 each, a REDUCE of 4.00 and an ADD of 30.00 to both
    ids = await customers(api, "10.00", "10.00")
    reduced = await credit_ok(api, {"customerIds": ids}, "REDUCE", "4.00")
    added = await credit_ok(api, {"customerIds": ids}, "ADD", "30.00")
    bill = [{"productId": "kawa", "quantity": "1", "unitPrice": "12.00"}]
    sale = {"input": {"customerId": ids[0], "lines": bill}, "key": "sale-lots"}
    assert (await api.mutate(COMMIT, sale))["errors"] == []

    # when both are undone
    await undone(api, added["id"], key="undo-add")
    await undone(api, reduced["id"], key="undo-reduce")

    # then the undo of the ADD takes back the lot the ADD made (the first customer spent 6.00
    # of it: only the 24.00 left), not the older lot spending would take first; the REDUCE's
    # 4.00 comes back to the lot it took from, as a lot of its own without expiry, as that
    # lot had; every balance is the sum of its lots
    assert await balances(api, ids) == ["4.00", "10.00"]
    assert await _lots(ids[0]) == [(400, 400)]
    assert await _lots(ids[1]) == [(600, 1000), (400, 400)]
    for customer in ids:
        assert sum(r for r, _ in await _lots(customer)) == await stored_balance(customer)
