"""A single customer's change with the balance its sender saw (`expectedBalance`): applied when
the balance is that, else STALE_BALANCE with the balance now and nothing written; only for one
customer. On PostgreSQL, a redeem that arrives between the comparison and the write waits for
the write (the customer is held), and a negative control without the hold shows the write
landing on a balance nobody saw."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import pytest

from models.checkouts import HeldWallet
from models.tables.crm import Customer
from models.tables.wallet import WalletEntry, WalletOperation
from services import single_edits
from tests.helpers import Api, create_customer
from tests.wallet_helpers import balance_of, credit_ok, set_credits

SET_WITH_PARAMS = """
mutation($input: SetPromotionalCreditsInput!) {
  setPromotionalCredits(input: $input) {
    operation { id status }
    errors { code field messageId params { name value } }
  }
}"""

COMMIT = """mutation($input: CheckoutInput!, $key: String!) {
  commitCheckout(input: $input, idempotencyKey: $key) { checkout { id } errors { code } } }"""


async def _customer_with(api: Api, balance: str) -> str:
    customer = await create_customer(api, firstName="Ala")
    await credit_ok(api, {"customerIds": [customer["id"]]}, "ADD", balance)
    return str(customer["id"])


def _set(customer: str, amount: str, expected: str, **extra: Any) -> dict[str, Any]:
    return {
        "input": {
            "target": {"customerIds": [customer]},
            "operation": "SET",
            "amount": amount,
            "expectedBalance": expected,
            **extra,
        }
    }


async def test_the_balance_seen_is_written_over(api: Api) -> None:
    customer = await _customer_with(api, "10.00")

    payload = await api.mutate(SET_WITH_PARAMS, _set(customer, "30.00", "10.00"))

    assert payload["errors"] == []
    assert payload["operation"]["status"] == "SUCCEEDED"
    assert await balance_of(api, customer) == "30.00"
    entries = await WalletEntry.filter(customer_id=customer, kind="SET").values_list(
        "delta", "balance_after"
    )
    assert entries == [(2000, 3000)]


async def test_a_balance_that_changed_is_stale_and_nothing_is_written(api: Api) -> None:
    customer = await _customer_with(api, "10.00")
    operations = await WalletOperation.filter(location_id=api.location_id).count()

    payload = await api.mutate(
        SET_WITH_PARAMS, _set(customer, "30.00", "12.50", idempotencyKey="edit-1")
    )
    retried = await api.mutate(
        SET_WITH_PARAMS, _set(customer, "30.00", "10.00", idempotencyKey="edit-1")
    )

    assert payload == {
        "operation": None,
        "errors": [
            {
                "code": "STALE_BALANCE",
                "field": "input.expectedBalance",
                "messageId": "credit.stale_balance",
                "params": [{"name": "balance", "value": "10.00"}],
            }
        ],
    }
    # nothing was written, not even the key: asked again with the balance now, it applies
    assert retried["errors"] == []
    assert await WalletOperation.filter(location_id=api.location_id).count() == operations + 1
    assert await balance_of(api, customer) == "30.00"


async def test_an_add_with_the_balance_seen_applies_too(api: Api) -> None:
    customer = await _customer_with(api, "10.00")
    variables = _set(customer, "5.00", "10.00")
    variables["input"]["operation"] = "ADD"

    payload = await api.mutate(SET_WITH_PARAMS, variables)

    assert payload["errors"] == []
    assert await balance_of(api, customer) == "15.00"


@pytest.mark.parametrize(
    "target",
    [
        {"customerIds": ["A", "B"]},
        {"filter": {"hasCredits": True}},
        {"allCustomers": True},
    ],
)
async def test_an_expected_balance_is_for_one_customer_only(
    api: Api, target: dict[str, Any]
) -> None:
    a, b = await _customer_with(api, "1.00"), await _customer_with(api, "1.00")
    if "customerIds" in target:
        target = {"customerIds": [a, b]}

    payload = await set_credits(api, target, "SET", "3.00", expectedBalance="1.00")
    recurring = await set_credits(
        api,
        {"customerIds": [a]},
        "SET",
        "3.00",
        expectedBalance="1.00",
        recurrence={"unit": "MONTH", "startDate": "2099-01-01"},
    )
    malformed = await set_credits(api, {"customerIds": [a]}, "SET", "3.00", expectedBalance="-1")

    for refused in (payload, recurring, malformed):
        assert [(e["code"], e["field"]) for e in refused["errors"]] == [
            ("INVALID", "input.expectedBalance")
        ]
    assert [await balance_of(api, c) for c in (a, b)] == ["1.00", "1.00"]


async def _race(api: Api, monkeypatch: pytest.MonkeyPatch, hold: Any) -> tuple[str, Any]:
    """A SET to 30.00 of a customer seen at 10.00, and a sale using 4.00 of credits that
    arrives once the SET has read the balance (`hold` reads it) and before it writes."""
    customer = await _customer_with(api, "10.00")
    read = asyncio.Event()

    async def reading(checkouts: Any, db: Any, location_id: UUID, customer_id: UUID) -> Any:
        wallet = await hold(checkouts, db, location_id, customer_id)
        read.set()
        await asyncio.sleep(0.5)  # the sale arrives meanwhile
        return wallet

    monkeypatch.setattr(single_edits, "hold_wallet", reading)

    async def sale() -> dict[str, Any]:
        await read.wait()
        lines = [{"productId": "tea", "quantity": "1", "unitPrice": "4.00"}]
        payload: dict[str, Any] = await api.mutate(
            COMMIT, {"input": {"customerId": customer, "lines": lines}, "key": "sale-1"}
        )
        return payload

    edited, sold = await asyncio.gather(
        api.mutate(SET_WITH_PARAMS, _set(customer, "30.00", "10.00")), sale()
    )
    assert edited["errors"] == []
    assert sold["errors"] == []
    (written,) = await WalletEntry.filter(customer_id=customer, kind="SET")
    return customer, written


@pytest.mark.usefixtures("postgres_only")
async def test_a_redeem_between_the_reading_and_the_writing_waits_for_the_write(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer, written = await _race(api, monkeypatch, single_edits.hold_wallet)

    # the SET moved the balance the manager saw; the sale priced against what it wrote
    assert written.balance_after - written.delta == 1000
    assert await balance_of(api, customer) == "26.00"


@pytest.mark.usefixtures("postgres_only")
async def test_negative_control_without_the_hold_the_write_lands_on_an_unseen_balance(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unheld(checkouts: Any, db: Any, location_id: UUID, customer_id: UUID) -> Any:
        row = await Customer.get(id=customer_id)  # read without holding the customer
        return HeldWallet(row.credit_balance, row.cashback_held, row.cashback_owed)

    customer, written = await _race(api, monkeypatch, unheld)

    # the SET was accepted as if from 10.00, but wrote over 6.00: the sale it never saw
    assert written.balance_after - written.delta == 600
    assert await balance_of(api, customer) == "30.00"
