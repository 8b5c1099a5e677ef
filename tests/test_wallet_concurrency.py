"""Concurrent wallet changes on one customer never lose an update.

The invariant: the stored balance is the sum of the ledger's deltas, each entry's balance after
is the running sum in ledger order, and no balance is ever negative. A naive read-modify-write
implementation, swapped in as a negative control, must be caught breaking it.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import pytest

from domain.ledger import CreditOperation
from models import ledger as ledger_module
from models.ledger import Application
from models.tables.crm import Customer
from models.tables.wallet import WalletEntry
from settings import Settings
from tests.conftest import unlimited
from tests.helpers import Api, create_customer
from tests.wallet_helpers import SET_CREDITS, Ledger, credit_input, ledger, stored_balance

CALLS = 200


@pytest.fixture
def gateway_settings(database: Settings) -> Settings:
    """The 200 calls come at once with one key: its rate limit is off."""
    return unlimited(database)


SEED = 20261201
AMOUNTS = ("7.00", "13.00", "21.00", "0.50", "40.00")
OPERATIONS = ("ADD", "ADD", "REDUCE", "SET")


def random_requests(customer_id: str) -> list[dict[str, Any]]:
    rng = random.Random(SEED)
    return [
        credit_input(
            {"customerIds": [customer_id]},
            rng.choice(OPERATIONS),
            rng.choice(AMOUNTS),
            description=f"call {i}",
        )
        for i in range(CALLS)
    ]


async def fire(api: Api, customer_id: str) -> list[dict[str, Any]]:
    """All the calls at once, through the API; their payloads."""
    requests = random_requests(customer_id)
    return list(await asyncio.gather(*(api.mutate(SET_CREDITS, r) for r in requests)))


def expected_delta(operation: CreditOperation, amount: int, balance: int) -> int:
    """What `operation` with `amount` does to `balance`: the test's own statement of the rule
    the ledger's SQL applies (`models.ledger`)."""
    match operation:
        case CreditOperation.ADD:
            return amount
        case CreditOperation.REDUCE:
            return -min(amount, balance)
        case CreditOperation.SET:
            return amount - balance


def broken_steps(entries: Sequence[Ledger]) -> list[int]:
    """Positions (ledger order) whose balance after is not the running sum of deltas, or whose
    delta is not what its operation does to the balance before it."""
    broken = []
    running = 0
    for position, entry in enumerate(entries):
        expected = expected_delta(CreditOperation(entry.kind), entry.requested, running)
        running += entry.delta
        if entry.delta != expected or entry.balance_after != running:
            broken.append(position)
    return broken


async def test_concurrent_changes_to_one_wallet_lose_no_update(api: Api) -> None:
    # given a customer with an empty wallet
    customer = await create_customer(api, firstName="Ala")

    # when 200 ADD / REDUCE / SET calls run at once
    payloads = await fire(api, customer["id"])

    # then every call succeeded
    assert [p["errors"] for p in payloads] == [[]] * CALLS
    assert {p["operation"]["status"] for p in payloads} == {"SUCCEEDED"}

    # and the ledger has one entry per call, each a correct step from the one before
    entries = await ledger(customer["id"])
    assert len(entries) == CALLS
    assert broken_steps(entries) == []
    assert all(e.balance_after >= 0 for e in entries)
    assert sorted(e.source_id for e in entries) == sorted(p["operation"]["id"] for p in payloads)

    # and the balance is the sum of all deltas
    balance = await stored_balance(customer["id"])
    assert balance == sum(e.delta for e in entries)
    assert balance == entries[-1].balance_after


async def naive_apply_chunk(
    customer_ids: Sequence[UUID], change: Application, db: Any = None
) -> int:
    """The forbidden way: read the balance into Python, compute, write it back."""
    applied = 0
    for customer_id in customer_ids:
        customer = await Customer.get(id=customer_id, using_db=db)
        balance = customer.credit_balance
        await asyncio.sleep(0)
        delta = expected_delta(change.operation, change.amount, balance)
        await WalletEntry.create(
            location_id=change.location_id,
            customer_id=customer_id,
            kind=change.kind,
            requested_amount=change.amount,
            delta=delta,
            balance_after=balance + delta,
            description=change.description,
            source=change.source,
            source_id=change.source_id,
            period=change.period,
            actor=change.actor,
            created_at=change.now,
            using_db=db,
        )
        await (
            Customer.filter(id=customer_id)
            .using_db(db)
            .update(credit_balance=balance + delta, wallet_updated_at=change.now)
        )
        applied += 1
    return applied


async def test_a_read_modify_write_wallet_is_caught_losing_updates(
    postgres_only: None, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the chunk application replaced by a naive read-modify-write
    monkeypatch.setattr(ledger_module, "apply_chunk", naive_apply_chunk)
    customer = await create_customer(api, firstName="Ola")

    # when 200 ADD / REDUCE / SET calls run at once
    payloads = await fire(api, customer["id"])
    assert [p["errors"] for p in payloads] == [[]] * CALLS

    # then the invariant checks catch the lost updates
    entries = await ledger(customer["id"])
    assert len(entries) == CALLS
    balance = await stored_balance(customer["id"])
    lost = balance != sum(e.delta for e in entries) or broken_steps(entries) != []
    assert lost, "the naive implementation was expected to lose updates under concurrency"
