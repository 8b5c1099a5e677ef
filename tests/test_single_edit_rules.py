"""A single customer's change with an expected balance, against the in-memory stores: written
when the balance is the one expected (in the transaction that holds the customer), refused
with STALE_BALANCE and the balance now otherwise, with nothing written."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

import pytest

from domain.access import Principal, Role
from domain.errors import DomainError, ErrorCode
from domain.requests import CreditRequest, Target
from services import wallet
from tests.helpers import Clock
from tests.memory import Memory, memory_runtime

NOW = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def _request(customer: object, expected: str, key: str | None = None) -> CreditRequest:
    return CreditRequest(
        Target(customer_ids=(str(customer),)),
        "SET",
        Decimal("30"),
        idempotency_key=key,
        expected_balance=Decimal(expected),
    )


async def test_the_expected_balance_is_written_over_and_a_different_one_is_stale() -> None:
    memory = Memory()
    runtime, _ = memory_runtime(memory, Clock(NOW))
    principal = Principal(memory.add_location(), uuid4(), "admin", Role.ADMIN)
    (customer,) = memory.add_customers(principal.location_id, 1)
    memory.t.customers[customer].credit_balance = 1000

    with pytest.raises(DomainError) as refused:
        await wallet.apply_once(runtime, principal, _request(customer, "12.00", key="k"))
    stale_entries = len(memory.t.entries)
    applied = await wallet.apply_once(runtime, principal, _request(customer, "10.00", key="k"))

    (error,) = refused.value.errors
    assert (error.code, error.field, error.message.id) == (
        ErrorCode.STALE_BALANCE,
        "input.expectedBalance",
        "credit.stale_balance",
    )
    assert dict(error.message.params) == {"balance": "10.00"}
    assert stale_entries == 0
    assert applied.status == "SUCCEEDED"
    assert memory.balances([customer]) == [3000]
    assert [(e.kind, e.delta) for e in memory.t.entries.values()] == [("SET", 2000)]
