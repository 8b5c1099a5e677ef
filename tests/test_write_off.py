"""Deleting a customer writes off what it holds: a WRITE_OFF entry (source SYSTEM) takes its
balance to 0 in the delete's transaction, so the balances a person can see always sum to the
ledger. The delete holds the customer as every wallet write does: a credit committed at the
same moment is written off with the rest, never left on the hidden row. A delete that skips
the hold, swapped in as a negative control, must be caught leaving it there."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from tortoise import connections

from domain.errors import DomainError
from domain.ledger import CreditOperation
from models import checkouts as checkouts_module
from models.ledger import Application, apply_chunk
from models.tables.crm import Customer
from models.tables.wallet import WalletEntry
from services import customers
from services.runtime import Runtime
from tests.builders import give_credits
from tests.helpers import Api, create_customer

DELETE = """
mutation($id: ID!) {
  deleteCustomer(id: $id) { deletedId writtenOff { amount currency } errors { code field } }
}"""

CHECKOUT_IDS = """
query($customerId: ID!) {
  checkouts(filter: {customerId: $customerId}) { edges { node { id } } totalCount }
}"""


async def _customer(api: Api, name: str, credits: str | None) -> UUID:
    customer = await create_customer(api, firstName=name)
    if credits is not None:
        await give_credits(api, [customer["id"]], credits)
    return UUID(customer["id"])


async def _sums(location_id: str) -> tuple[int, int]:
    """(sum of the balances a person can see, sum of the ledger's deltas), straight from SQL."""
    db = connections.get("default")
    _, balances = await db.execute_query(
        "SELECT coalesce(sum(credit_balance), 0) AS total FROM customers"
        f" WHERE location_id = '{location_id}' AND deleted_at IS NULL"
    )
    _, deltas = await db.execute_query(
        f"SELECT sum(delta) AS total FROM wallet_entries WHERE location_id = '{location_id}'"
    )
    return int(balances[0]["total"]), int(deltas[0]["total"])


async def _entries(customer_id: UUID) -> list[tuple[Any, ...]]:
    return list(
        await WalletEntry.filter(customer_id=customer_id)
        .order_by("id")
        .values_list("kind", "requested_amount", "delta", "balance_after", "source", "source_id")
    )


async def test_deleting_a_customer_writes_off_its_balance(api: Api) -> None:
    # given Anna with 30.00 and Bob with 5.00
    anna = await _customer(api, "Anna", "30.00")
    bob = await _customer(api, "Bob", "5.00")

    # when Anna is deleted
    payload = await api.mutate(DELETE, {"id": str(anna)})

    # then the payload says what was written off, and her ledger ends with it
    assert payload == {
        "deletedId": str(anna),
        "writtenOff": {"amount": "30.00", "currency": "PLN"},
        "errors": [],
    }
    assert [e[:5] for e in await _entries(anna)] == [
        ("ADD", 3000, 3000, 3000, "MANUAL"),
        ("WRITE_OFF", 3000, -3000, 0, "SYSTEM"),
    ]
    assert (await _entries(anna))[1][5] == anna
    assert (await Customer.get(id=anna)).credit_balance == 0
    # the balances a person can see (Bob's) sum to the ledger
    assert await _sums(api.location_id) == (500, 500)
    assert (await Customer.get(id=bob)).credit_balance == 500


async def test_a_customer_holding_nothing_is_deleted_without_an_entry(api: Api) -> None:
    eve = await _customer(api, "Eve", None)

    payload = await api.mutate(DELETE, {"id": str(eve)})

    assert payload["writtenOff"] == {"amount": "0.00", "currency": "PLN"}
    assert await _entries(eve) == []


async def test_a_second_delete_writes_nothing_off(api: Api) -> None:
    anna = await _customer(api, "Anna", "30.00")
    await api.mutate(DELETE, {"id": str(anna)})

    again = await api.mutate(DELETE, {"id": str(anna)})

    assert again == {
        "deletedId": None,
        "writtenOff": None,
        "errors": [{"code": "NOT_FOUND", "field": "id"}],
    }
    assert [e[0] for e in await _entries(anna)] == ["ADD", "WRITE_OFF"]


async def test_deletes_at_once_write_off_once(api: Api, runtime: Runtime) -> None:
    anna = await _customer(api, "Anna", "30.00")

    results = await asyncio.gather(
        *(
            customers.delete_customer(UUID(api.location_id), str(anna), runtime.stores)
            for _ in range(5)
        ),
        return_exceptions=True,
    )

    assert [r for r in results if isinstance(r, customers.DeletedCustomer)] == [
        customers.DeletedCustomer(anna, 3000)
    ]
    assert sum(isinstance(r, DomainError) for r in results) == 4
    assert [e[0] for e in await _entries(anna)] == ["ADD", "WRITE_OFF"]
    assert await _sums(api.location_id) == (0, 0)


async def test_a_customer_is_written_off_once_by_the_ledgers_key(api: Api) -> None:
    # the unique key (source: the customer, period 0, WRITE_OFF) refuses a second write-off
    anna = await _customer(api, "Anna", "30.00")
    location_id = UUID(api.location_id)
    now = datetime.now(UTC)

    first = await apply_chunk([anna], customers.write_off(location_id, anna, 1000, now))
    second = await apply_chunk([anna], customers.write_off(location_id, anna, 1000, now))

    assert (first, second) == (1, 0)
    assert (await Customer.get(id=anna)).credit_balance == 2000


async def test_a_deleted_customers_sales_stay_in_its_history(api: Api) -> None:
    # see test_checkout_api for sales; here: the filter names a deleted customer of the
    # location without NOT_FOUND, and another location's customer stays unknown
    anna = await _customer(api, "Anna", None)
    await api.mutate(DELETE, {"id": str(anna)})

    listed = await api.data(CHECKOUT_IDS, {"customerId": str(anna)})

    assert listed["checkouts"] == {"edges": [], "totalCount": 0}


async def _delete_during_a_credit(api: Api, runtime: Runtime) -> UUID:
    """Anna holds 30.00; a credit of 5.00 holds her row (uncommitted) while she is deleted."""
    anna = await _customer(api, "Anna", "30.00")
    location_id = UUID(api.location_id)
    credit = Application(
        location_id=location_id,
        operation=CreditOperation.ADD,
        amount=500,
        kind="ADD",
        source="MANUAL",
        source_id=UUID(int=1),
        period=0,
        description=None,
        actor=None,
        now=datetime.now(UTC),
    )
    credited = asyncio.Event()

    async def delete() -> customers.DeletedCustomer:
        await credited.wait()
        return await customers.delete_customer(location_id, str(anna), runtime.stores)

    # (a task made outside the credit's transaction, so that it opens one of its own)
    deleting = asyncio.create_task(delete())
    async with runtime.stores.transaction() as db:
        assert await apply_chunk([anna], credit, db) == 1
        credited.set()
        await asyncio.sleep(0.5)  # the delete is waiting for the credit's transaction
        assert not deleting.done()
    await deleting
    return anna


async def test_a_credit_committed_while_deleting_is_written_off_too(
    postgres_only: None, api: Api, runtime: Runtime
) -> None:
    anna = await _delete_during_a_credit(api, runtime)

    assert [e[:4] for e in await _entries(anna)][-1] == ("WRITE_OFF", 3500, -3500, 0)
    assert (await Customer.get(id=anna)).credit_balance == 0
    assert await _sums(api.location_id) == (0, 0)


async def test_a_delete_without_the_hold_is_caught_leaving_a_hidden_balance(
    postgres_only: None, api: Api, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a delete that reads the wallet without holding the customer
    unheld = checkouts_module._LOCK_POSTGRES.removesuffix(" FOR UPDATE")
    monkeypatch.setattr(checkouts_module, "_LOCK_POSTGRES", unheld)

    anna = await _delete_during_a_credit(api, runtime)

    # then it wrote off the balance it read before the credit, and the credit stays hidden
    assert [e[:4] for e in await _entries(anna)][-1] == ("WRITE_OFF", 3000, -3000, 500)
    assert (await Customer.get(id=anna)).credit_balance == 500
    assert await _sums(api.location_id) == (0, 500)
