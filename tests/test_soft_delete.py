"""Deleting a customer keeps its ledger: the row stays, anonymised, and no query finds it; what
it held is written off (`test_write_off.py`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from tortoise import connections

from domain.ledger import CreditOperation
from models.db import IntegrityError
from models.ledger import Application, apply_chunk
from models.tables.crm import Card, Customer, GroupMembership
from models.tables.wallet import WalletEntry
from tests.builders import (
    DELETE_CUSTOMER,
    GET_CUSTOMER,
    LIST_SCHEDULES,
    SET_CREDITS,
    UPDATE_CUSTOMER,
    customer_ids,
    give_credits,
    group_counts,
    monthly_schedule,
)
from tests.helpers import Api, create_customer, create_group

NOT_FOUND = {"code": "NOT_FOUND", "field": "id", "message": "Customer not found."}


@pytest.fixture
async def group(api: Api) -> dict[str, Any]:
    return await create_group(api, "Stali goście")


@pytest.fixture
async def anna(api: Api, group: dict[str, Any]) -> dict[str, Any]:
    """A customer with contact data, a card, a group and 30.00 of credits."""
    customer = await create_customer(
        api,
        firstName="Anna",
        lastName="Nowak",
        email="anna@example.com",
        phone="+48 600 100 200",
        note="Window table",
        cards=[{"code": "SD-1"}],
        groupIds=[group["id"]],
    )
    await give_credits(api, [customer["id"]], "30.00")
    return customer


@pytest.fixture
async def bob(api: Api, group: dict[str, Any]) -> dict[str, Any]:
    customer = await create_customer(
        api, firstName="Bob", cards=[{"code": "SD-2"}], groupIds=[group["id"]]
    )
    await give_credits(api, [customer["id"]], "5.00")
    return customer


async def _sums(location_id: str) -> tuple[int, int]:
    """(sum of the location's balances, sum of its ledger deltas), straight from SQL."""
    db = connections.get("default")
    _, balances = await db.execute_query(
        f"SELECT sum(credit_balance) AS total FROM customers WHERE location_id = '{location_id}'"
    )
    _, deltas = await db.execute_query(
        f"SELECT sum(delta) AS total FROM wallet_entries WHERE location_id = '{location_id}'"
    )
    return int(balances[0]["total"]), int(deltas[0]["total"])


async def _delete(api: Api, customer_id: str) -> None:
    payload = await api.mutate(DELETE_CUSTOMER, {"id": customer_id})
    assert payload == {"deletedId": customer_id, "errors": []}


async def test_deleting_keeps_the_entries_writes_off_the_balance_and_erases_contact_data(
    api: Api, anna: dict[str, Any], bob: dict[str, Any]
) -> None:
    # given Anna with 30.00 and Bob with 5.00
    assert await _sums(api.location_id) == (3500, 3500)
    anna_id = UUID(anna["id"])

    # when Anna is deleted
    await _delete(api, anna["id"])

    # then her ledger stays, with her balance written off, and the location's balances still
    # sum to its ledger
    entries = (
        await WalletEntry.filter(customer_id=anna_id).order_by("id").values_list("delta", flat=True)
    )
    assert entries == [3000, -3000]
    assert await _sums(api.location_id) == (500, 500)
    # her row stays for the ledger, with nothing left to identify her
    row = await Customer.get(id=anna_id)
    assert row.deleted_at is not None
    assert (row.first_name, row.last_name, row.email, row.phone, row.note) == (None,) * 5
    assert row.search_text == ""
    assert row.credit_balance == 0
    # her cards and memberships are gone, Bob's stay
    assert await Card.filter(customer_id=anna_id).count() == 0
    assert await GroupMembership.filter(customer_id=anna_id).count() == 0
    assert await Card.filter(customer_id=UUID(bob["id"])).count() == 1


async def test_a_deleted_customer_is_found_by_no_lookup_or_list(
    api: Api, group: dict[str, Any], anna: dict[str, Any], bob: dict[str, Any]
) -> None:
    await _delete(api, anna["id"])

    assert (await api.data(GET_CUSTOMER, {"id": anna["id"]}))["customer"] is None
    assert (await api.data(GET_CUSTOMER, {"cardCode": "SD-1"}))["customer"] is None
    assert await customer_ids(api) == [bob["id"]]
    assert await customer_ids(api, {"groupIds": [group["id"]]}) == [bob["id"]]
    assert await customer_ids(api, {"search": "nowak"}) == []
    assert await customer_ids(api, {"hasCredits": True}) == [bob["id"]]
    assert await group_counts(api) == {group["reference"]: 1}


async def test_mutations_on_a_deleted_customer_are_not_found(
    api: Api, anna: dict[str, Any]
) -> None:
    await _delete(api, anna["id"])

    again = await api.mutate(DELETE_CUSTOMER, {"id": anna["id"]})
    assert again == {"deletedId": None, "errors": [NOT_FOUND]}
    update = await api.mutate(UPDATE_CUSTOMER, {"id": anna["id"], "input": {"firstName": "A"}})
    assert update["customer"] is None
    assert update["errors"] == [NOT_FOUND]
    credit = await api.mutate(
        SET_CREDITS,
        {
            "input": {
                "target": {"customerIds": [anna["id"]]},
                "operation": "ADD",
                "amount": "1.00",
            }
        },
    )
    assert credit["operation"] is None
    assert credit["errors"] == [
        {
            "code": "NOT_FOUND",
            "field": "input.target.customerIds.0",
            "message": "Customer not found.",
        }
    ]
    # and nothing was written for her after the write-off
    assert await WalletEntry.filter(customer_id=UUID(anna["id"])).count() == 2
    row = await Customer.get(id=UUID(anna["id"]))
    assert (row.first_name, row.credit_balance) == (None, 0)


async def test_the_card_code_of_a_deleted_customer_can_be_given_again(
    api: Api, anna: dict[str, Any]
) -> None:
    await _delete(api, anna["id"])

    carol = await create_customer(api, firstName="Carol", cards=[{"code": "SD-1"}])

    found = (await api.data(GET_CUSTOMER, {"cardCode": "SD-1"}))["customer"]
    assert (found["id"], found["firstName"]) == (carol["id"], "Carol")


async def test_bulk_credits_and_schedules_no_longer_reach_a_deleted_customer(
    api: Api, group: dict[str, Any], anna: dict[str, Any], bob: dict[str, Any]
) -> None:
    # given a schedule for the group, counting both
    schedule = await monthly_schedule(api, [group["id"]], "10.00")
    assert schedule["customerCount"] == 2

    # when Anna is deleted
    await _delete(api, anna["id"])

    # then the schedule counts Bob only
    (listed,) = (await api.data(LIST_SCHEDULES))["creditSchedules"]
    assert listed["customerCount"] == 1
    # and a bulk credit to the group, or to everyone, reaches Bob only
    for target in ({"filter": {"groupIds": [group["id"]]}}, {"allCustomers": True}):
        payload = await api.mutate(
            SET_CREDITS,
            {"input": {"target": target, "operation": "ADD", "amount": "1.00"}},
        )
        assert payload["errors"] == []
        assert (payload["operation"]["status"], payload["operation"]["total"]) == (
            "SUCCEEDED",
            1,
        )
    assert await WalletEntry.filter(customer_id=UUID(anna["id"])).count() == 2
    assert await WalletEntry.filter(customer_id=UUID(bob["id"])).count() == 3
    assert await _sums(api.location_id) == (700, 700)


async def test_the_ledger_skips_a_customer_deleted_after_an_operation_named_it(
    api: Api, anna: dict[str, Any]
) -> None:
    # given an operation that stored Anna's id before she was deleted
    await _delete(api, anna["id"])
    change = Application(
        location_id=UUID(api.location_id),
        operation=CreditOperation.ADD,
        amount=100,
        kind="ADD",
        source="BULK",
        source_id=UUID(anna["id"]),
        period=0,
        description=None,
        actor=None,
        now=datetime.now(UTC),
    )

    # when it runs, it applies nothing to her
    assert await apply_chunk([UUID(anna["id"])], change) == 0
    assert (await Customer.get(id=UUID(anna["id"]))).credit_balance == 0


async def test_a_hard_delete_can_no_longer_take_the_ledger_with_it(
    api: Api, anna: dict[str, Any]
) -> None:
    with pytest.raises(IntegrityError):
        await Customer.filter(id=UUID(anna["id"])).delete()

    assert await Customer.filter(id=UUID(anna["id"])).count() == 1
    assert await WalletEntry.filter(customer_id=UUID(anna["id"])).count() == 1
