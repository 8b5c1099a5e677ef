"""Promotional credits through the API: ADD / REDUCE / SET, the ledger, bulk operations,
idempotency, validation and access."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.access import Role
from domain.credits import CustomerSelection, ParsedCredit, ParsedTarget
from domain.errors import DomainError, ErrorCode
from domain.ledger import CreditOperation
from domain.requests import CreditRequest, CustomerFilter, Target
from gateway.runtime import with_dispatcher
from models.tables.crm import Customer, GroupMembership
from models.tables.wallet import WalletEntry, WalletOperation
from services import access, wallet
from services.lifecycle import resume_silent
from services.runtime import Runtime
from settings import Settings
from tasks.inprocess import InProcessDispatcher
from tests.builders import ADD_TO_GROUP, CUSTOMER_IDS, DELETE_CUSTOMER, REMOVE_FROM_GROUP
from tests.english import checked, en
from tests.helpers import Api, create_customer, create_group
from tests.wallet_helpers import (
    CREDIT_SCHEDULES,
    SET_CREDITS,
    WALLET,
    WALLET_OPERATION,
    balance_of,
    credit_input,
    credit_ok,
    error_fields,
    ledger,
    nodes,
    principal_of,
    set_credits,
    snapshot,
    stored_balance,
    wallet_of,
)


class RecordingDispatcher:
    """Takes jobs and runs none of them: leaves operations queued."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, tuple[str, ...], str]] = []

    async def enqueue(self, function: str, *args: str, job_id: str) -> None:
        self.jobs.append((function, args, job_id))


def summary(entry: dict[str, Any]) -> tuple[str, str, str, str]:
    return (
        entry["kind"],
        entry["requestedAmount"]["amount"],
        entry["delta"]["amount"],
        entry["balanceAfter"]["amount"],
    )


# ---------------------------------------------------------------- ADD / REDUCE / SET


async def test_reduce_clamps_at_zero_and_keeps_the_requested_amount(api: Api) -> None:
    # given a customer with 30.00
    customer = await create_customer(api, firstName="Ala")
    one = {"customerIds": [customer["id"]]}
    await credit_ok(api, one, "ADD", "30.00")

    # when 50.00 is taken away
    operation = await credit_ok(api, one, "REDUCE", "50.00", description="Correction")

    # then the balance stops at zero and the entry shows what was asked and what happened
    wallet_data = await wallet_of(api, customer["id"])
    assert wallet_data["balance"] == {"amount": "0.00", "currency": "PLN"}
    newest = nodes(wallet_data)[0]
    assert summary(newest) == ("REDUCE", "50.00", "-30.00", "0.00")
    assert newest["description"] == "Correction"
    assert newest["sourceId"] == operation["id"]
    assert operation["status"] == "SUCCEEDED"
    assert operation["amount"] == {"amount": "50.00", "currency": "PLN"}


async def test_set_records_the_delta_that_reaches_the_target(api: Api) -> None:
    # given a customer with 30.00
    customer = await create_customer(api)
    one = {"customerIds": [customer["id"]]}
    await credit_ok(api, one, "ADD", "30.00")

    # when the balance is set down to 12.50 and then up to 40.00
    await credit_ok(api, one, "SET", "12.50")
    await credit_ok(api, one, "SET", "40.00")

    # then each entry records the signed step to its target
    wallet_data = await wallet_of(api, customer["id"])
    assert wallet_data["balance"]["amount"] == "40.00"
    assert [summary(e) for e in nodes(wallet_data)] == [
        ("SET", "40.00", "27.50", "40.00"),
        ("SET", "12.50", "-17.50", "12.50"),
        ("ADD", "30.00", "30.00", "30.00"),
    ]


async def test_an_application_with_no_effect_still_writes_an_entry(api: Api) -> None:
    # given a customer with an empty wallet
    customer = await create_customer(api)
    one = {"customerIds": [customer["id"]]}

    # when credits are reduced, set to zero, then set to 5.00 twice
    for operation, amount in (("REDUCE", "5.00"), ("SET", "0.00"), ("SET", "5.00"), ("SET", "5")):
        await credit_ok(api, one, operation, amount)

    # then every application is in the ledger, the no-ops with a zero delta
    wallet_data = await wallet_of(api, customer["id"])
    assert wallet_data["balance"]["amount"] == "5.00"
    assert [summary(e) for e in nodes(wallet_data)] == [
        ("SET", "5.00", "0.00", "5.00"),
        ("SET", "5.00", "5.00", "5.00"),
        ("SET", "0.00", "0.00", "0.00"),
        ("REDUCE", "5.00", "0.00", "0.00"),
    ]


async def test_balance_is_the_sum_of_deltas_and_each_balance_after_the_running_sum(
    api: Api,
) -> None:
    # given a customer
    customer = await create_customer(api)
    one = {"customerIds": [customer["id"]]}

    # when a series of operations is applied
    steps = [
        ("ADD", "10.00"),
        ("ADD", "0.01"),
        ("REDUCE", "3.50"),
        ("SET", "100.00"),
        ("REDUCE", "250.00"),
        ("ADD", "7.00"),
        ("SET", "2.99"),
    ]
    for operation, amount in steps:
        await credit_ok(api, one, operation, amount)

    # then the stored and shown balance is the sum of the deltas, step by step
    entries = await ledger(customer["id"])
    running = 0
    for entry in entries:
        running += entry.delta
        assert entry.balance_after == running
        assert entry.balance_after >= 0
    assert [e.delta for e in entries] == [1000, 1, -350, 9349, -10000, 700, -401]
    assert running == 299
    assert await balance_of(api, customer["id"]) == "2.99"


async def test_a_bulk_reduce_and_set_clamp_and_step_per_customer(api: Api) -> None:
    # given three customers with 25.00, 5.00 and nothing
    rich, poor, empty = [await create_customer(api) for _ in range(3)]
    await credit_ok(api, {"customerIds": [rich["id"]]}, "ADD", "25.00")
    await credit_ok(api, {"customerIds": [poor["id"]]}, "ADD", "5.00")
    everyone = {"customerIds": [rich["id"], poor["id"], empty["id"]]}

    # when 10.00 is taken from all of them, then all are set to 8.00
    reduced = await credit_ok(api, everyone, "REDUCE", "10.00")
    setting = await credit_ok(api, everyone, "SET", "8.00")

    # then each customer's entries clamp and step from that customer's own balance
    assert [(o["total"], o["processed"]) for o in (reduced, setting)] == [(3, 3), (3, 3)]
    latest = [nodes(await wallet_of(api, c["id"]))[:2] for c in (rich, poor, empty)]
    assert [[summary(e) for e in two] for two in latest] == [
        [("SET", "8.00", "-7.00", "8.00"), ("REDUCE", "10.00", "-10.00", "15.00")],
        [("SET", "8.00", "8.00", "8.00"), ("REDUCE", "10.00", "-5.00", "0.00")],
        [("SET", "8.00", "8.00", "8.00"), ("REDUCE", "10.00", "0.00", "0.00")],
    ]


async def test_a_wallet_shows_when_it_last_changed(api: Api) -> None:
    # given a customer whose wallet never changed
    customer = await create_customer(api)
    query = "query($id: ID!) { customer(id: $id) { wallet { balance { amount } updatedAt } } }"
    untouched = (await api.data(query, {"id": customer["id"]}))["customer"]["wallet"]

    # when credits are added
    await credit_ok(api, {"customerIds": [customer["id"]]}, "ADD", "1.00")
    changed = (await api.data(query, {"id": customer["id"]}))["customer"]["wallet"]

    # then the wallet has a change time only after the change
    assert untouched == {"balance": {"amount": "0.00"}, "updatedAt": None}
    assert changed["balance"] == {"amount": "1.00"}
    assert changed["updatedAt"] is not None


# ---------------------------------------------------------------- the ledger through the API


async def test_entries_are_newest_first_and_page_with_cursors(api: Api) -> None:
    # given five entries
    customer = await create_customer(api)
    one = {"customerIds": [customer["id"]]}
    for amount in ("1.00", "2.00", "3.00", "4.00", "5.00"):
        await credit_ok(api, one, "ADD", amount)

    # when they are read two at a time
    first = await wallet_of(api, customer["id"], first=2)
    second = await wallet_of(
        api, customer["id"], first=2, after=first["entries"]["pageInfo"]["endCursor"]
    )
    third = await wallet_of(
        api, customer["id"], first=2, after=second["entries"]["pageInfo"]["endCursor"]
    )

    # then the pages follow each other, newest first, and the last one says it is the last
    pages = [[e["requestedAmount"]["amount"] for e in nodes(p)] for p in (first, second, third)]
    assert pages == [["5.00", "4.00"], ["3.00", "2.00"], ["1.00"]]
    assert [p["entries"]["pageInfo"]["hasNextPage"] for p in (first, second, third)] == [
        True,
        True,
        False,
    ]
    assert first["entries"]["pageInfo"]["endCursor"] == first["entries"]["edges"][1]["cursor"]
    assert [e["balanceAfter"]["amount"] for e in nodes(await wallet_of(api, customer["id"]))] == [
        "15.00",
        "10.00",
        "6.00",
        "3.00",
        "1.00",
    ]


@pytest.mark.parametrize("cursor", ["not a cursor", "azpjdXN0b21lcg", ""])
async def test_a_bad_entries_cursor_is_an_invalid_error(api: Api, cursor: str) -> None:
    # given a customer with an entry
    customer = await create_customer(api)
    await credit_ok(api, {"customerIds": [customer["id"]]}, "ADD", "1.00")

    # when the entries are read after a cursor that is not from this list
    body = await api.raw(WALLET, {"id": customer["id"], "first": 10, "after": cursor})

    # then the request fails with INVALID
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "INVALID"
    assert error["path"] == ["customer", "wallet", "entries"]


async def test_a_customer_list_cursor_is_not_an_entries_cursor(api: Api) -> None:
    # given a customer, and a cursor of the customer list
    customer = await create_customer(api)
    await credit_ok(api, {"customerIds": [customer["id"]]}, "ADD", "1.00")
    listed = await api.data("query { customers(first: 1) { pageInfo { endCursor } } }")
    cursor = listed["customers"]["pageInfo"]["endCursor"]

    # when it is used to page the ledger
    body = await api.raw(WALLET, {"id": customer["id"], "first": 10, "after": cursor})

    # then it is refused as INVALID
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "INVALID"


async def test_entries_name_their_source_actor_and_operation(api: Api) -> None:
    # given three customers in a group, and a second admin key
    group = await create_group(api, "VIP")
    ala, ola, ela = [await create_customer(api, groupIds=[group["id"]]) for _ in range(3)]
    office = await api.key_with_role(Role.ADMIN, "back office")

    # when credits go to one customer, to a list, and to a filter
    manual = await credit_ok(api, {"customerIds": [ala["id"]]}, "ADD", "1.00")
    listed = await credit_ok(office, {"customerIds": [ala["id"], ola["id"]]}, "ADD", "2.00")
    filtered = await credit_ok(api, {"filter": {"groupIds": [group["id"]]}}, "ADD", "3.00")

    # then each entry names how it came, who asked, and which operation wrote it
    def origin(entry: dict[str, Any]) -> tuple[str, str, str]:
        return entry["source"], entry["actor"], entry["sourceId"]

    assert [origin(e) for e in nodes(await wallet_of(api, ala["id"]))] == [
        ("BULK", "admin", filtered["id"]),
        ("BULK", "back office", listed["id"]),
        ("MANUAL", "admin", manual["id"]),
    ]
    assert [origin(e) for e in nodes(await wallet_of(api, ola["id"]))] == [
        ("BULK", "admin", filtered["id"]),
        ("BULK", "back office", listed["id"]),
    ]
    assert [origin(e) for e in nodes(await wallet_of(api, ela["id"]))] == [
        ("BULK", "admin", filtered["id"]),
    ]
    assert [await balance_of(api, c["id"]) for c in (ala, ola, ela)] == ["6.00", "5.00", "3.00"]


async def test_a_customer_named_twice_or_in_two_groups_is_credited_once(api: Api) -> None:
    # given a customer in two groups
    gold, silver = await create_group(api, "Gold"), await create_group(api, "Silver")
    customer = await create_customer(api, groupIds=[gold["id"], silver["id"]])

    # when one credit names the customer twice, and another names both groups
    listed = await credit_ok(api, {"customerIds": [customer["id"], customer["id"]]}, "ADD", "1.00")
    grouped = await credit_ok(
        api, {"filter": {"groupIds": [gold["id"], silver["id"]]}}, "ADD", "2.00"
    )

    # then each operation reached the customer once
    assert [(o["total"], o["processed"]) for o in (listed, grouped)] == [(1, 1), (1, 1)]
    assert [summary(e) for e in nodes(await wallet_of(api, customer["id"]))] == [
        ("ADD", "2.00", "2.00", "3.00"),
        ("ADD", "1.00", "1.00", "1.00"),
    ]


async def test_wallet_operation_reports_a_small_target_done(api: Api) -> None:
    # given a credit for two customers
    customers = [await create_customer(api) for _ in range(2)]
    operation = await credit_ok(
        api, {"customerIds": [c["id"] for c in customers]}, "ADD", "4.20", description="Welcome"
    )

    # when the operation is read
    data = await api.data(WALLET_OPERATION, {"id": operation["id"]})

    # then it is finished and complete
    assert data["walletOperation"] == {
        "id": operation["id"],
        "operation": "ADD",
        "amount": {"amount": "4.20", "currency": "PLN"},
        "description": "Welcome",
        "status": "SUCCEEDED",
        "total": 2,
        "processed": 2,
    }


async def test_another_locations_operation_is_not_found(api: Api, other: Api) -> None:
    # given an operation of another location
    theirs = await create_customer(other)
    operation = await credit_ok(other, {"customerIds": [theirs["id"]]}, "ADD", "1.00")

    # when this location asks for it, or for ids that name nothing
    found = [
        (await api.data(WALLET_OPERATION, {"id": op_id}))["walletOperation"]
        for op_id in (operation["id"], str(uuid4()), "not-an-id")
    ]

    # then it reads as if it did not exist
    assert found == [None, None, None]


# ---------------------------------------------------------------- idempotency


async def test_the_same_idempotency_key_and_input_credits_once(api: Api) -> None:
    # given a credit submitted with an idempotency key
    customer = await create_customer(api)
    one = {"customerIds": [customer["id"]]}
    first = await credit_ok(api, one, "ADD", "50.00", idempotencyKey="form-1")

    # when the same request is submitted again
    again = await credit_ok(api, one, "ADD", "50.00", idempotencyKey="form-1")

    # then it answers with the same operation and the customer is credited once
    assert again["id"] == first["id"]
    assert again["status"] == "SUCCEEDED"
    assert await balance_of(api, customer["id"]) == "50.00"
    assert len(await ledger(customer["id"])) == 1
    assert await WalletOperation.filter(location_id=UUID(api.location_id)).count() == 1


async def test_the_same_idempotency_key_concurrently_credits_once(api: Api) -> None:
    # given a customer
    customer = await create_customer(api)
    request = credit_input({"customerIds": [customer["id"]]}, "ADD", "50.00", idempotencyKey="k")

    # when the same request is submitted five times at once
    payloads = await asyncio.gather(*(api.mutate(SET_CREDITS, request) for _ in range(5)))

    # then all answers name one operation and the customer is credited once
    assert [p["errors"] for p in payloads] == [[]] * 5
    assert len({p["operation"]["id"] for p in payloads}) == 1
    assert await balance_of(api, customer["id"]) == "50.00"
    assert len(await ledger(customer["id"])) == 1


async def test_the_same_idempotency_key_with_another_amount_is_refused(api: Api) -> None:
    # given a credit submitted with an idempotency key
    customer = await create_customer(api)
    one = {"customerIds": [customer["id"]]}
    await credit_ok(api, one, "ADD", "50.00", idempotencyKey="form-1")
    before = await snapshot(api.location_id)

    # when the key is used again for a different amount
    payload = await set_credits(api, one, "ADD", "60.00", idempotencyKey="form-1")

    # then it is refused and nothing changed
    assert error_fields(payload) == [("IDEMPOTENCY_KEY_REUSED", "input.idempotencyKey")]
    assert payload["operation"] is None
    assert await snapshot(api.location_id) == before
    assert await balance_of(api, customer["id"]) == "50.00"


async def test_idempotency_keys_belong_to_one_location(api: Api, other: Api) -> None:
    # given a key used by another location
    theirs = await create_customer(other)
    await credit_ok(other, {"customerIds": [theirs["id"]]}, "ADD", "9.00", idempotencyKey="k-1")

    # when this location uses the same key for its own request
    ours = await create_customer(api)
    operation = await credit_ok(
        api, {"customerIds": [ours["id"]]}, "ADD", "1.00", idempotencyKey="k-1"
    )

    # then it is an independent request
    assert operation["status"] == "SUCCEEDED"
    assert await balance_of(api, ours["id"]) == "1.00"
    assert await balance_of(other, theirs["id"]) == "9.00"


async def test_an_idempotency_key_of_a_one_off_credit_is_not_reused_for_a_schedule(
    api: Api, dispatcher: InProcessDispatcher
) -> None:
    # given a one-off credit submitted with an idempotency key
    customer = await create_customer(api)
    one = {"customerIds": [customer["id"]]}
    await credit_ok(api, one, "ADD", "50.00", idempotencyKey="form-2")
    before = await snapshot(api.location_id)

    # when the same key comes with a different request: a recurring credit
    payload = await set_credits(
        api,
        one,
        "ADD",
        "50.00",
        idempotencyKey="form-2",
        recurrence={"unit": "MONTH", "startDate": "2099-01-01"},
    )
    await dispatcher.drain()

    # then it is refused as a reused key and nothing changed
    assert error_fields(payload) == [("IDEMPOTENCY_KEY_REUSED", "input.idempotencyKey")]
    assert payload["schedule"] is None
    assert await snapshot(api.location_id) == before


async def test_an_idempotency_key_of_a_schedule_is_not_reused_for_a_one_off_credit(
    api: Api, dispatcher: InProcessDispatcher
) -> None:
    # given a recurring credit submitted with an idempotency key
    customer = await create_customer(api)
    one = {"customerIds": [customer["id"]]}
    recurrence = {"unit": "MONTH", "startDate": "2099-01-01"}
    await credit_ok(api, one, "ADD", "50.00", idempotencyKey="form-4", recurrence=recurrence)
    await dispatcher.drain()
    before = await snapshot(api.location_id)

    # when the same key comes with a one-off credit
    payload = await set_credits(api, one, "ADD", "50.00", idempotencyKey="form-4")

    # then it is refused as a reused key and nothing changed
    assert error_fields(payload) == [("IDEMPOTENCY_KEY_REUSED", "input.idempotencyKey")]
    assert payload["operation"] is None
    assert await snapshot(api.location_id) == before


async def test_the_same_customers_in_another_order_are_the_same_request(api: Api) -> None:
    # given a credit for two customers submitted with an idempotency key
    ala, ola = await create_customer(api), await create_customer(api)
    first = await credit_ok(
        api, {"customerIds": [ala["id"], ola["id"]]}, "ADD", "5.00", idempotencyKey="form-5"
    )

    # when it is repeated with the customers listed the other way round
    again = await set_credits(
        api, {"customerIds": [ola["id"], ala["id"]]}, "ADD", "5.00", idempotencyKey="form-5"
    )

    # then it is the same operation and nobody was credited twice
    assert again["errors"] == []
    assert again["operation"]["id"] == first["id"]
    assert [await balance_of(api, c["id"]) for c in (ala, ola)] == ["5.00", "5.00"]


async def test_the_same_amount_written_differently_is_the_same_request(api: Api) -> None:
    # given a credit of "50" submitted with an idempotency key
    customer = await create_customer(api)
    one = {"customerIds": [customer["id"]]}
    first = await credit_ok(api, one, "ADD", "50", idempotencyKey="form-3")

    # when the back office repeats it with the amount written as "50.00"
    again = await set_credits(api, one, "ADD", "50.00", idempotencyKey="form-3")

    # then it is recognised as the same request and credits nothing more
    assert again["errors"] == []
    assert again["operation"]["id"] == first["id"]
    assert await balance_of(api, customer["id"]) == "50.00"


# ---------------------------------------------------------------- refused input

Ids = dict[str, str]
BadCase = tuple[str, Callable[[Ids], dict[str, Any]], list[tuple[str, str]]]

# Far enough ahead to be after "today" whenever the suite runs.
FAR_FUTURE = "2099-12-01"
DAY_BEFORE_FAR_FUTURE = "2099-11-30"

BAD_INPUTS: list[BadCase] = [
    (
        "negative amount",
        lambda ids: credit_input({"customerIds": [ids["ours"]]}, "ADD", "-5.00"),
        [("INVALID", "input.amount")],
    ),
    (
        "negative amount for SET",
        lambda ids: credit_input({"customerIds": [ids["ours"]]}, "SET", "-0.01"),
        [("INVALID", "input.amount")],
    ),
    (
        "zero for ADD",
        lambda ids: credit_input({"customerIds": [ids["ours"]]}, "ADD", "0.00"),
        [("INVALID", "input.amount")],
    ),
    (
        "zero for REDUCE",
        lambda ids: credit_input({"customerIds": [ids["ours"]]}, "REDUCE", "0"),
        [("INVALID", "input.amount")],
    ),
    (
        "three decimals",
        lambda ids: credit_input({"customerIds": [ids["ours"]]}, "ADD", "1.005"),
        [("INVALID", "input.amount")],
    ),
    (
        "over the maximum",
        lambda ids: credit_input({"customerIds": [ids["ours"]]}, "SET", "10000000.01"),
        [("INVALID", "input.amount")],
    ),
    (
        "both customer ids and a filter",
        lambda ids: credit_input(
            {"customerIds": [ids["ours"]], "filter": {"groupIds": [ids["group"]]}}, "ADD", "1.00"
        ),
        [("INVALID", "input.target")],
    ),
    (
        "neither customer ids nor a filter",
        lambda ids: credit_input({}, "ADD", "1.00"),
        [("INVALID", "input.target")],
    ),
    (
        "customer ids and allCustomers",
        lambda ids: credit_input({"customerIds": [ids["ours"]], "allCustomers": True}, "ADD", "1"),
        [("INVALID", "input.target")],
    ),
    (
        "a filter and allCustomers",
        lambda ids: credit_input(
            {"filter": {"groupIds": [ids["group"]]}, "allCustomers": True}, "ADD", "1.00"
        ),
        [("INVALID", "input.target")],
    ),
    (
        "allCustomers false",
        lambda ids: credit_input({"allCustomers": False}, "SET", "0"),
        [("INVALID", "input.target")],
    ),
    (
        "allCustomers null",
        lambda ids: credit_input({"allCustomers": None}, "SET", "0"),
        [("INVALID", "input.target")],
    ),
    # a filter without a criterion would reach every customer: it must be said
    (
        "an empty filter",
        lambda ids: credit_input({"filter": {}}, "SET", "0"),
        [("INVALID", "input.target.filter")],
    ),
    (
        "a filter of nulls",
        lambda ids: credit_input(
            {"filter": {"ids": None, "groupIds": None, "search": None, "hasCredits": None}},
            "SET",
            "0",
        ),
        [("INVALID", "input.target.filter")],
    ),
    (
        "a filter with an empty search",
        lambda ids: credit_input({"filter": {"search": ""}}, "SET", "0"),
        [("INVALID", "input.target.filter")],
    ),
    (
        "a filter with a blank search",
        lambda ids: credit_input({"filter": {"search": " \u3000 "}}, "REDUCE", "10.00"),
        [("INVALID", "input.target.filter")],
    ),
    (
        "an empty filter with allCustomers false",
        lambda ids: credit_input({"filter": {}, "allCustomers": False}, "SET", "0"),
        [("INVALID", "input.target.filter")],
    ),
    (
        "an unknown customer",
        lambda ids: credit_input({"customerIds": [str(uuid4())]}, "ADD", "1.00"),
        [("NOT_FOUND", "input.target.customerIds.0")],
    ),
    (
        "a malformed customer id",
        lambda ids: credit_input({"customerIds": [ids["ours"], "nope"]}, "ADD", "1.00"),
        [("NOT_FOUND", "input.target.customerIds.1")],
    ),
    (
        "another location's customer",
        lambda ids: credit_input({"customerIds": [ids["ours"], ids["theirs"]]}, "ADD", "1.00"),
        [("NOT_FOUND", "input.target.customerIds.1")],
    ),
    (
        "another location's customer alone",
        lambda ids: credit_input({"customerIds": [ids["theirs"]]}, "ADD", "1.00"),
        [("NOT_FOUND", "input.target.customerIds.0")],
    ),
    (
        "a description over 500 characters",
        lambda ids: credit_input(
            {"customerIds": [ids["ours"]]}, "ADD", "1.00", description="x" * 501
        ),
        [("INVALID", "input.description")],
    ),
    (
        "an idempotency key over 128 characters",
        lambda ids: credit_input(
            {"customerIds": [ids["ours"]]}, "ADD", "1.00", idempotencyKey="k" * 129
        ),
        [("INVALID", "input.idempotencyKey")],
    ),
    (
        "an empty idempotency key",
        lambda ids: credit_input({"customerIds": [ids["ours"]]}, "ADD", "1.00", idempotencyKey=""),
        [("INVALID", "input.idempotencyKey")],
    ),
    (
        "a blank idempotency key",
        lambda ids: credit_input(
            {"customerIds": [ids["ours"]]}, "ADD", "1.00", idempotencyKey="  "
        ),
        [("INVALID", "input.idempotencyKey")],
    ),
    (
        "an ESC character in the description",
        lambda ids: credit_input(
            {"customerIds": [ids["ours"]]}, "ADD", "1.00", description="\x1b[31mBonus"
        ),
        [("INVALID", "input.description")],
    ),
    (
        "an unknown group in a filter",
        lambda ids: credit_input({"filter": {"groupIds": [str(uuid4())]}}, "ADD", "1.00"),
        [("NOT_FOUND", "input.target.filter.groupIds.0")],
    ),
    (
        "another location's group in a filter",
        lambda ids: credit_input(
            {"filter": {"groupIds": [ids["group"], ids["their_group"]]}}, "SET", "1.00"
        ),
        [("NOT_FOUND", "input.target.filter.groupIds.1")],
    ),
    (
        "a malformed group id in a filter",
        lambda ids: credit_input({"filter": {"groupIds": ["nope"]}}, "ADD", "1.00"),
        [("NOT_FOUND", "input.target.filter.groupIds.0")],
    ),
    (
        "another location's customer in a filter",
        lambda ids: credit_input({"filter": {"ids": [ids["theirs"]]}}, "ADD", "1.00"),
        [("NOT_FOUND", "input.target.filter.ids.0")],
    ),
    (
        "a recurrence starting before today",
        lambda ids: credit_input(
            {"customerIds": [ids["ours"]]},
            "ADD",
            "1.00",
            recurrence={"unit": "MONTH", "startDate": "2020-01-01"},
        ),
        [("INVALID", "input.recurrence.startDate")],
    ),
    (
        "every problem of the input at once",
        lambda ids: credit_input(
            {"customerIds": [ids["ours"]]},
            "REDUCE",
            "1.001",
            description="\u202e",
            idempotencyKey="",
            recurrence={"every": 0, "unit": "DAY", "startDate": "2020-01-01"},
        ),
        [
            ("INVALID", "input.amount"),
            ("INVALID", "input.description"),
            ("INVALID", "input.idempotencyKey"),
            ("INVALID", "input.recurrence.every"),
            ("INVALID", "input.recurrence.startDate"),
        ],
    ),
    (
        "a recurrence with a negative amount",
        lambda ids: credit_input(
            {"customerIds": [ids["ours"]]},
            "REDUCE",
            "-1.00",
            recurrence={"unit": "DAY", "startDate": FAR_FUTURE},
        ),
        [("INVALID", "input.amount")],
    ),
    (
        "a recurrence every 0 units",
        lambda ids: credit_input(
            {"customerIds": [ids["ours"]]},
            "ADD",
            "1.00",
            recurrence={"every": 0, "unit": "DAY", "startDate": FAR_FUTURE},
        ),
        [("INVALID", "input.recurrence.every")],
    ),
    (
        "an end date before the start date",
        lambda ids: credit_input(
            {"customerIds": [ids["ours"]]},
            "ADD",
            "1.00",
            recurrence={
                "unit": "MONTH",
                "startDate": FAR_FUTURE,
                "endDate": DAY_BEFORE_FAR_FUTURE,
            },
        ),
        [("INVALID", "input.recurrence.endDate")],
    ),
    (
        "a recurrence with a search filter",
        lambda ids: credit_input(
            {"filter": {"search": "Ala"}},
            "ADD",
            "1.00",
            recurrence={"unit": "WEEK", "startDate": FAR_FUTURE},
        ),
        [("INVALID", "input.target.filter")],
    ),
    (
        "a recurrence with groups and hasCredits",
        lambda ids: credit_input(
            {"filter": {"groupIds": [ids["group"]], "hasCredits": True}},
            "ADD",
            "1.00",
            recurrence={"unit": "WEEK", "startDate": FAR_FUTURE},
        ),
        [("INVALID", "input.target.filter")],
    ),
    (
        "a recurrence every 366 days",
        lambda ids: credit_input(
            {"customerIds": [ids["ours"]]},
            "ADD",
            "1.00",
            recurrence={"every": 366, "unit": "DAY", "startDate": FAR_FUTURE},
        ),
        [("INVALID", "input.recurrence.every")],
    ),
    (
        "a recurrence with both customer ids and a filter",
        lambda ids: credit_input(
            {"customerIds": [ids["ours"]], "filter": {"groupIds": [ids["group"]]}},
            "ADD",
            "1.00",
            recurrence={"unit": "WEEK", "startDate": FAR_FUTURE},
        ),
        [("INVALID", "input.target")],
    ),
    (
        "a recurrence with an empty filter",
        lambda ids: credit_input(
            {"filter": {}},
            "ADD",
            "1.00",
            recurrence={"unit": "WEEK", "startDate": FAR_FUTURE},
        ),
        [("INVALID", "input.target.filter")],
    ),
    (
        "a recurrence for another location's group",
        lambda ids: credit_input(
            {"filter": {"groupIds": [ids["group"], ids["their_group"]]}},
            "ADD",
            "1.00",
            recurrence={"unit": "WEEK", "startDate": FAR_FUTURE},
        ),
        [("NOT_FOUND", "input.target.filter.groupIds.1")],
    ),
    (
        "a recurrence for another location's customer",
        lambda ids: credit_input(
            {"customerIds": [ids["theirs"]]},
            "ADD",
            "1.00",
            recurrence={"unit": "WEEK", "startDate": FAR_FUTURE},
        ),
        [("NOT_FOUND", "input.target.customerIds.0")],
    ),
]


@pytest.mark.parametrize(
    ("make_input", "expected"),
    [pytest.param(make, expected, id=name) for name, make, expected in BAD_INPUTS],
)
async def test_bad_input_is_refused_and_changes_nothing(
    api: Api,
    other: Api,
    make_input: Callable[[Ids], dict[str, Any]],
    expected: list[tuple[str, str]],
) -> None:
    # given a customer with credits, a group, and another location's customer
    group = await create_group(api, "VIP")
    ours = await create_customer(api, firstName="Ala", groupIds=[group["id"]])
    await credit_ok(api, {"customerIds": [ours["id"]]}, "ADD", "10.00")
    their_group = await create_group(other, "VIP")
    theirs = await create_customer(other, firstName="Ala", groupIds=[their_group["id"]])
    ids = {
        "ours": ours["id"],
        "theirs": theirs["id"],
        "group": group["id"],
        "their_group": their_group["id"],
    }
    before = (await snapshot(api.location_id), await snapshot(other.location_id))

    # when the bad request is sent
    payload = await api.mutate(SET_CREDITS, make_input(ids))

    # then exactly the expected errors come back and nothing changed in either location
    assert error_fields(payload) == expected
    assert payload["operation"] is None
    assert payload["schedule"] is None
    assert (await snapshot(api.location_id), await snapshot(other.location_id)) == before


async def test_an_unknown_id_and_another_locations_id_are_refused_alike(
    api: Api, other: Api
) -> None:
    # given another location's customer
    theirs = await create_customer(other)

    # when this location credits it, and an id that exists nowhere
    foreign = await set_credits(api, {"customerIds": [theirs["id"]]}, "ADD", "1.00")
    unknown = await set_credits(api, {"customerIds": [str(uuid4())]}, "ADD", "1.00")

    # then both answers are the same
    assert foreign == unknown
    assert await balance_of(other, theirs["id"]) == "0.00"


# ---------------------------------------------------------------- every customer


async def test_all_customers_credits_every_live_customer_and_never_a_deleted_one(
    api: Api, other: Api
) -> None:
    # given two customers, one holding 4.00, a deleted one who held 4.00, and another
    # location's customer
    first = await create_customer(api, firstName="Ala")
    second = await create_customer(api, firstName="Ola")
    gone = await create_customer(api, firstName="Ela")
    await credit_ok(api, {"customerIds": [second["id"], gone["id"]]}, "ADD", "4.00")
    assert (await api.mutate(DELETE_CUSTOMER, {"id": gone["id"]}))["errors"] == []
    await create_customer(other)
    gone_before = (await ledger(gone["id"]), await stored_balance(gone["id"]))
    theirs_before = await snapshot(other.location_id)

    # when every customer is credited
    operation = await credit_ok(api, {"allCustomers": True}, "ADD", "5.00")

    # then each live customer got one entry, and no one else anything
    assert (operation["status"], operation["total"], operation["processed"]) == (
        "SUCCEEDED",
        2,
        2,
    )
    assert await _credited(operation["id"]) == {first["id"]: 1, second["id"]: 1}
    assert [await balance_of(api, c["id"]) for c in (first, second)] == ["5.00", "9.00"]
    assert (await ledger(gone["id"]), await stored_balance(gone["id"])) == gone_before
    assert await snapshot(other.location_id) == theirs_before
    # and the operation is stored as one on every customer, not as a list of them
    row = await WalletOperation.get(id=UUID(operation["id"]))
    assert (row.source, row.customer_ids, row.customer_filter) == ("BULK", None, {})


async def test_a_queued_all_customers_operation_reaches_customers_created_before_it_runs(
    api: Api, dispatcher: InProcessDispatcher
) -> None:
    # given more customers than are applied inline, credited all at once
    _, members = await _members(api, LARGE)
    operation = await credit_ok(api, {"allCustomers": True}, "ADD", "2.00")
    assert (operation["status"], operation["total"]) == ("QUEUED", LARGE)

    # when a customer is created before the job runs
    newcomer = await create_customer(api, firstName="Nowy")
    await dispatcher.drain()

    # then every customer, the newcomer too, got exactly one entry
    done = (await api.data(WALLET_OPERATION, {"id": operation["id"]}))["walletOperation"]
    assert (done["status"], done["total"], done["processed"]) == (
        "SUCCEEDED",
        LARGE + 1,
        LARGE + 1,
    )
    assert await _credited(operation["id"]) == {
        **{str(m): 1 for m in members},
        newcomer["id"]: 1,
    }


async def test_an_operation_stored_with_an_empty_filter_before_still_reaches_every_customer(
    api: Api, runtime: Runtime
) -> None:
    # given a queued operation as the previous release stored an empty filter
    customers = [await create_customer(api) for _ in range(2)]
    row = await WalletOperation.create(
        location_id=UUID(api.location_id),
        operation="ADD",
        amount=300,
        actor="admin",
        source="BULK",
        customer_filter={"ids": None, "group_ids": None, "search": None, "has_credits": None},
        total=2,
    )

    # when it runs
    await wallet.run_operation(runtime, row.id)

    # then it credits every customer, as it meant when it was accepted
    assert await _credited(str(row.id)) == {c["id"]: 1 for c in customers}
    assert [await balance_of(api, c["id"]) for c in customers] == ["3.00", "3.00"]


def test_all_customers_has_a_fingerprint_of_its_own() -> None:
    def fingerprint(target: ParsedTarget) -> str:
        return wallet.request_hash(ParsedCredit(CreditOperation.ADD, 100, None, None, target))

    everyone = fingerprint(ParsedTarget(all_customers=True))
    others = [
        ParsedTarget(selection=CustomerSelection()),  # an empty filter, as once accepted
        ParsedTarget(selection=CustomerSelection(ids=())),
        ParsedTarget(selection=CustomerSelection(group_ids=())),
        ParsedTarget(selection=CustomerSelection(has_credits=True)),
        ParsedTarget(selection=CustomerSelection(has_credits=False)),
        ParsedTarget(selection=CustomerSelection(search="a")),
        ParsedTarget(customer_ids=()),
        ParsedTarget(),
    ]

    assert everyone not in {fingerprint(t) for t in others}
    # and the fingerprints of the other targets are the ones stored before allCustomers was
    # added, so that repeating such a request with its key still finds its operation
    assert fingerprint(ParsedTarget(customer_ids=(UUID(int=1),))) == (
        "563924f7249995f22b7c26f58b036b8c6bba654ee95d0236f7c7e1ac464a80b4"
    )
    assert fingerprint(ParsedTarget(selection=CustomerSelection(group_ids=(UUID(int=2),)))) == (
        "e06bdb7d5538d670a174d7b96eb930f83a57c362c0f5a600256d47bef114b1ff"
    )


async def test_one_idempotency_key_is_not_reused_between_all_customers_and_a_filter(
    api: Api,
) -> None:
    # given every customer credited with a key
    customer = await create_customer(api)
    first = await credit_ok(api, {"allCustomers": True}, "ADD", "1.00", idempotencyKey="all")
    before = await snapshot(api.location_id)

    # when the key is sent with filters that reach the same customer, then with the same target
    by_filter = [
        await set_credits(api, {"filter": criteria}, "ADD", "1.00", idempotencyKey="all")
        for criteria in ({"hasCredits": True}, {"ids": [customer["id"]]})
    ]
    again = await set_credits(api, {"allCustomers": True}, "ADD", "1.00", idempotencyKey="all")

    # then the filters are refused, and the same request is the same operation
    assert [error_fields(p) for p in by_filter] == [
        [("IDEMPOTENCY_KEY_REUSED", "input.idempotencyKey")]
    ] * 2
    assert again["operation"]["id"] == first["id"]
    assert await snapshot(api.location_id) == before


@pytest.mark.parametrize("criteria", [{"ids": []}, {"groupIds": []}], ids=["ids", "groupIds"])
async def test_an_empty_list_in_a_filter_reaches_no_one(
    api: Api, criteria: dict[str, list[str]]
) -> None:
    customer = await create_customer(api)

    operation = await credit_ok(api, {"filter": criteria}, "ADD", "1.00")

    assert (operation["status"], operation["total"]) == ("SUCCEEDED", 0)
    assert await balance_of(api, customer["id"]) == "0.00"


# ---------------------------------------------------------------- filters and access


async def test_customers_filter_by_has_credits(api: Api) -> None:
    # given a customer with credits, one without, and one whose credits were used up
    rich, never, spent = [await create_customer(api, firstName=n) for n in ("A", "B", "C")]
    await credit_ok(api, {"customerIds": [rich["id"], spent["id"]]}, "ADD", "5.00")
    await credit_ok(api, {"customerIds": [spent["id"]]}, "REDUCE", "5.00")
    query = (
        "query($f: CustomerFilter) { customers(filter: $f) { totalCount edges { node { id } } } }"
    )

    # when customers are listed by hasCredits
    with_credits = await api.data(query, {"f": {"hasCredits": True}})
    without = await api.data(query, {"f": {"hasCredits": False}})

    # then each side lists exactly its customers
    def ids(data: dict[str, Any]) -> set[str]:
        return {e["node"]["id"] for e in data["customers"]["edges"]}

    assert ids(with_credits) == {rich["id"]}
    assert with_credits["customers"]["totalCount"] == 1
    assert ids(without) == {never["id"], spent["id"]}
    assert without["customers"]["totalCount"] == 2


async def test_a_filter_with_has_credits_targets_only_those_customers(api: Api) -> None:
    # given one customer with credits and one without
    rich, poor = await create_customer(api), await create_customer(api)
    await credit_ok(api, {"customerIds": [rich["id"]]}, "ADD", "5.00")

    # when everyone with credits gets 1.00 more
    operation = await credit_ok(api, {"filter": {"hasCredits": True}}, "ADD", "1.00")

    # then only the customer with credits got it
    assert (operation["status"], operation["total"], operation["processed"]) == ("SUCCEEDED", 1, 1)
    assert [await balance_of(api, c["id"]) for c in (rich, poor)] == ["6.00", "0.00"]


async def test_a_filter_naming_another_locations_group_or_customer_is_not_found(
    api: Api, other: Api
) -> None:
    # given another location's group with a member, and a customer here
    their_group = await create_group(other, "VIP")
    theirs = await create_customer(other, groupIds=[their_group["id"]])
    ours = await create_customer(api)
    before = (await snapshot(api.location_id), await snapshot(other.location_id))

    # when this location credits a filter naming that group, or that customer's id
    by_group = await set_credits(api, {"filter": {"groupIds": [their_group["id"]]}}, "ADD", "1.00")
    by_id = await set_credits(api, {"filter": {"ids": [ours["id"], theirs["id"]]}}, "ADD", "1.00")

    # then each names the id that is not this location's, and nothing was applied anywhere
    assert by_group == {
        "operation": None,
        "schedule": None,
        "errors": [
            {
                "code": "NOT_FOUND",
                "field": "input.target.filter.groupIds.0",
                "message": "Customer group not found.",
            }
        ],
    }
    assert by_id == {
        "operation": None,
        "schedule": None,
        "errors": [
            {
                "code": "NOT_FOUND",
                "field": "input.target.filter.ids.1",
                "message": "Customer not found.",
            }
        ],
    }
    assert (await snapshot(api.location_id), await snapshot(other.location_id)) == before


async def test_every_id_a_filter_or_target_names_is_checked_in_every_entry_point(
    api: Api, other: Api
) -> None:
    # given a group and a customer here, and another location's group
    group = await create_group(api, "VIP")
    ours = await create_customer(api, groupIds=[group["id"]])
    their_group = await create_group(other, "VIP")
    before = (await snapshot(api.location_id), await snapshot(other.location_id))
    unknown = str(uuid4())

    # when the customer list, a membership change and a group's removal name unknown ids
    listed = await api.raw(CUSTOMER_IDS, {"filter": {"groupIds": [their_group["id"]]}})
    listed_ids = await api.raw(CUSTOMER_IDS, {"filter": {"ids": [ours["id"], unknown]}})
    added = await api.mutate(
        ADD_TO_GROUP,
        {"groupId": group["id"], "target": {"filter": {"groupIds": [group["id"], unknown]}}},
    )
    removed = await api.mutate(
        REMOVE_FROM_GROUP, {"groupId": group["id"], "target": {"filter": {"ids": ["nope"]}}}
    )

    # then each is NOT_FOUND at the id's path, and nothing changed
    assert listed["errors"][0]["extensions"]["messageId"] == "group.not_found"
    listed["errors"][0]["extensions"] = checked(listed["errors"][0])
    assert listed == {
        "data": None,
        "errors": [
            {
                "message": "Customer group not found.",
                "locations": [{"line": 3, "column": 3}],
                "path": ["customers"],
                "extensions": {"code": "NOT_FOUND", "field": "filter.groupIds.0"},
            }
        ],
    }
    assert checked(listed_ids["errors"][0]) == {"code": "NOT_FOUND", "field": "filter.ids.1"}
    assert error_fields(added) == [("NOT_FOUND", "target.filter.groupIds.1")]
    assert error_fields(removed) == [("NOT_FOUND", "target.filter.ids.0")]
    assert (await snapshot(api.location_id), await snapshot(other.location_id)) == before
    members = await api.data(CUSTOMER_IDS, {"filter": {"groupIds": [group["id"]]}})
    assert [e["node"]["id"] for e in members["customers"]["edges"]] == [ours["id"]]


@pytest.mark.parametrize(
    ("currency", "credited", "shown", "refused"),
    [
        ("PLN", "50", "50.00", "0.005"),
        ("JPY", "500", "500", "0.5"),
        ("KWD", "1.125", "1.125", "1.0005"),
    ],
)
async def test_amounts_have_the_decimal_places_of_the_locations_currency(
    api: Api, currency: str, credited: str, shown: str, refused: str
) -> None:
    # given a location whose currency has 2, 0 or 3 decimal places, and a customer there
    location, secret = await access.create_location(f"Bistro {currency}", currency=currency)
    here = Api(api.http, secret, str(location.id))
    customer = await create_customer(here)
    one = {"customerIds": [customer["id"]]}

    # when an amount with the currency's places is credited, and one with more
    operation = await credit_ok(here, one, "ADD", credited)
    before = await snapshot(here.location_id)
    too_precise = await set_credits(here, one, "ADD", refused)

    # then amounts read back with exactly the currency's places, and the other is refused
    assert operation["amount"] == {"amount": shown, "currency": currency}
    assert await balance_of(here, customer["id"]) == shown
    places = {"PLN": 2, "JPY": 0, "KWD": 3}[currency]
    message = (
        "Amount must be a whole number." if places == 0 else f"At most {places} decimal places."
    )
    assert too_precise["errors"] == [
        {"code": "INVALID", "field": "input.amount", "message": message}
    ]
    assert await snapshot(here.location_id) == before


async def test_a_currency_that_is_not_iso_4217_is_refused(database: Settings) -> None:
    # when locations are created with an unknown, a withdrawn and a lower-case known code
    with pytest.raises(DomainError) as unknown:
        await access.create_location("Bistro X", currency="XYZ")
    with pytest.raises(DomainError) as withdrawn:
        await access.create_location("Bistro D", currency="DEM")
    location, _ = await access.create_location("Bistro E", currency=" eur ")

    # then the first two are INVALID on the currency and the last is stored as EUR
    assert [
        [(e.code, e.field, en(e.message)) for e in refused.errors]
        for refused in (unknown.value, withdrawn.value)
    ] == [
        [
            (
                ErrorCode.INVALID,
                "currency",
                f"'{code}' is not an ISO 4217 code of a currency in use (such as PLN or EUR).",
            )
        ]
        for code in ("XYZ", "DEM")
    ]
    assert location.currency == "EUR"
    assert [access.currency_minor_units(c) for c in ("PLN", "JPY", "KWD")] == [2, 0, 3]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("  Till 1  ", None),
        ("   ", ("REQUIRED", "Name must not be empty.")),
        ("x" * 101, ("INVALID", "At most 100 characters.")),
        ("Till\x1b[2J", ("INVALID", "Must not contain control characters (U+001B).")),
        ("Till \u202e1", ("INVALID", "Must not contain control characters (U+202E).")),
    ],
)
async def test_location_and_key_names_are_trimmed_bounded_and_free_of_control_characters(
    api: Api, name: str, expected: tuple[str, str] | None
) -> None:
    # when a location and an API key are created with the name
    answers: list[object] = []
    for create in (
        lambda: access.create_location(name),
        lambda: access.create_api_key(UUID(api.location_id), name, Role.POS),
    ):
        try:
            created, _secret = await create()
        except DomainError as error:
            answers.append([(e.code.value, e.field, en(e.message)) for e in error.errors])
        else:
            answers.append(created.name)

    # then both keep the trimmed name, or both refuse it on `name`
    if expected is None:
        assert answers == ["Till 1", "Till 1"]
    else:
        assert answers == [[(expected[0], "name", expected[1])]] * 2


@pytest.mark.parametrize("first", [-1, 201])
async def test_an_entries_page_size_out_of_range_is_an_invalid_error(api: Api, first: int) -> None:
    # given a customer
    customer = await create_customer(api)

    # when the ledger is read with a page size out of range
    body = await api.raw(WALLET, {"id": customer["id"], "first": first, "after": None})

    # then it is INVALID
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "INVALID"


async def test_a_pos_key_may_not_set_credits(api: Api) -> None:
    # given a customer and a POS key
    customer = await create_customer(api)
    pos = await api.key_with_role(Role.POS)
    before = await snapshot(api.location_id)

    # when the POS key sets credits
    payload = await set_credits(pos, {"customerIds": [customer["id"]]}, "ADD", "10.00")

    # then it is FORBIDDEN and nothing changed
    assert error_fields(payload) == [("FORBIDDEN", None)]
    assert payload["operation"] is None
    assert await snapshot(api.location_id) == before


@pytest.mark.parametrize("query", ["walletOperation", "creditSchedules"])
async def test_a_pos_key_may_not_read_operations_or_schedules(api: Api, query: str) -> None:
    # given an operation, and a POS key
    customer = await create_customer(api)
    operation = await credit_ok(api, {"customerIds": [customer["id"]]}, "ADD", "1.00")
    pos = await api.key_with_role(Role.POS)

    # when the POS key reads it
    document, variables = (
        (WALLET_OPERATION, {"id": operation["id"]})
        if query == "walletOperation"
        else (CREDIT_SCHEDULES, {})
    )
    body = await pos.raw(document, variables)

    # then the query is FORBIDDEN and nothing is shown
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert error["path"] == [query]
    assert (body["data"] or {}).get(query) is None


# ---------------------------------------------------------------- large targets


async def _members(api: Api, count: int) -> tuple[dict[str, Any], list[UUID]]:
    """A group with `count` members, created in bulk."""
    group = await create_group(api, "Everyone")
    location_id = UUID(api.location_id)
    customers = [Customer(location_id=location_id, first_name=f"C{i}") for i in range(count)]
    await Customer.bulk_create(customers)
    ids = sorted(c.id for c in customers)
    await GroupMembership.bulk_create(
        [GroupMembership(group_id=UUID(group["id"]), customer_id=c) for c in ids]
    )
    return group, ids


async def _credited(op_id: str) -> dict[str, int]:
    """How many entries each customer has from the operation."""
    rows = await WalletEntry.filter(source_id=UUID(op_id)).values_list("customer_id", flat=True)
    counts: dict[str, int] = {}
    for customer_id in rows:
        counts[str(customer_id)] = counts.get(str(customer_id), 0) + 1
    return counts


async def _balances(ids: list[UUID]) -> list[int]:
    rows = await Customer.filter(id__in=ids).order_by("id").values_list("credit_balance", flat=True)
    return [int(b) for b in rows]


INLINE_LIMIT = Settings().job_inline_limit
LARGE = INLINE_LIMIT + 20


async def test_a_large_filter_target_is_queued_and_credits_each_member_once(
    api: Api, dispatcher: InProcessDispatcher, runtime: Runtime
) -> None:
    # given more group members than are applied inline, and a customer outside the group
    group, members = await _members(api, LARGE)
    outsider = await create_customer(api)

    # when the group is credited
    operation = await credit_ok(api, {"filter": {"groupIds": [group["id"]]}}, "ADD", "25.00")

    # then the mutation only queued the work
    assert operation["status"] == "QUEUED"
    assert operation["total"] == LARGE

    # when the background job has run
    await dispatcher.drain()

    # then every member got exactly one entry and 25.00, and nobody else got anything
    data = await api.data(WALLET_OPERATION, {"id": operation["id"]})
    done = data["walletOperation"]
    assert (done["status"], done["total"], done["processed"]) == ("SUCCEEDED", LARGE, LARGE)
    assert await _credited(operation["id"]) == {str(m): 1 for m in members}
    assert await _balances(members) == [2500] * LARGE
    assert await balance_of(api, outsider["id"]) == "0.00"
    entries = await WalletEntry.filter(source_id=UUID(operation["id"])).values_list(
        "source", "actor", "delta", "balance_after"
    )
    assert set(entries) == {("BULK", "admin", 2500, 2500)}

    # when its job is run again
    before = await snapshot(api.location_id)
    await wallet.run_operation(runtime, UUID(operation["id"]))

    # then nothing changed
    assert await snapshot(api.location_id) == before


async def test_a_target_at_the_inline_limit_is_applied_before_the_answer(api: Api) -> None:
    # given exactly as many group members as are applied inline
    group, members = await _members(api, INLINE_LIMIT)

    # when the group is credited
    operation = await credit_ok(api, {"filter": {"groupIds": [group["id"]]}}, "SET", "2.00")

    # then the answer already reports it done
    count = INLINE_LIMIT
    assert (operation["status"], operation["total"], operation["processed"]) == (
        "SUCCEEDED",
        count,
        count,
    )
    assert await _balances(members) == [200] * count


async def test_rerunning_an_interrupted_operation_credits_no_one_twice(
    api: Api, dispatcher: InProcessDispatcher, runtime: Runtime
) -> None:
    # given a large operation that completed, then is made to look interrupted and queued
    # again (what the periodic check does to an attempt whose worker died)
    group, members = await _members(api, LARGE)
    operation = await credit_ok(api, {"filter": {"groupIds": [group["id"]]}}, "ADD", "3.00")
    await dispatcher.drain()
    await WalletOperation.filter(id=UUID(operation["id"])).update(status="QUEUED")
    before = await snapshot(api.location_id)

    # when it is run again to the end
    await wallet.run_operation(runtime, UUID(operation["id"]))

    # then no customer got a second entry or a second credit
    assert await snapshot(api.location_id) == before
    assert await _credited(operation["id"]) == {str(m): 1 for m in members}
    row = await WalletOperation.get(id=UUID(operation["id"]))
    assert (row.status, row.total, row.processed) == ("SUCCEEDED", LARGE, LARGE)


async def test_two_concurrent_runs_of_one_operation_credit_each_customer_once(
    api: Api, runtime: Runtime
) -> None:
    # given a large operation that was queued and not yet run
    group, members = await _members(api, LARGE)
    recorder = RecordingDispatcher()
    recording = with_dispatcher(runtime, recorder)
    request = CreditRequest(
        target=Target(filter=CustomerFilter(group_ids=(group["id"],))),
        operation="ADD",
        amount=Decimal("7.00"),
    )
    queued = await wallet.apply_once(recording, await principal_of(api), request)
    assert queued.status == "QUEUED"
    assert [job[0] for job in recorder.jobs] == ["run_wallet_operation"]

    # when two workers run it at the same time
    await asyncio.gather(
        wallet.run_operation(recording, queued.id), wallet.run_operation(recording, queued.id)
    )

    # then each member is credited once
    assert await _credited(str(queued.id)) == {str(m): 1 for m in members}
    assert await _balances(members) == [700] * LARGE
    row = await WalletOperation.get(id=queued.id)
    assert (row.status, row.total, row.processed) == ("SUCCEEDED", LARGE, LARGE)


async def test_a_lost_queued_operation_is_found_and_run(api: Api, runtime: Runtime) -> None:
    # given an operation whose job never ran (lost from the queue)
    group, members = await _members(api, LARGE)
    request = CreditRequest(
        target=Target(filter=CustomerFilter(group_ids=(group["id"],))),
        operation="SET",
        amount=Decimal("12.00"),
    )
    lost = with_dispatcher(runtime, RecordingDispatcher())
    queued = await wallet.apply_once(lost, await principal_of(api), request)
    row = await WalletOperation.get(id=queued.id)

    # when the periodic check looks after the stale time
    runner = InProcessDispatcher()
    later = row.created_at + runtime.jobs.stale_after + timedelta(seconds=1)
    resumed = await resume_silent(
        wallet.OPERATIONS, replace(with_dispatcher(runtime, runner), clock=lambda: later)
    )
    await runner.drain()

    # then the operation is re-queued and completed
    assert resumed >= 1
    row = await WalletOperation.get(id=queued.id)
    assert (row.status, row.processed) == ("SUCCEEDED", LARGE)
    assert await _balances(members) == [1200] * LARGE
