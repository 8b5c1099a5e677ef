import random
from decimal import Decimal

import pytest

from domain.ledger import CreditOperation, amount_problem
from domain.money import to_decimal
from tests.english import en
from tests.helpers import Api, create_customer
from tests.wallet_helpers import credit_ok, ledger

ADD = CreditOperation.ADD
REDUCE = CreditOperation.REDUCE
SET = CreditOperation.SET


# (operation, amount, balance before, the delta the ledger writes), in minor units.
DELTAS = [
    (ADD, 50, 0, 50),
    (ADD, 50, 30, 50),
    (REDUCE, 20, 30, -20),
    (REDUCE, 30, 30, -30),
    (REDUCE, 50, 30, -30),
    (REDUCE, 50, 0, 0),
    (SET, 80, 30, 50),
    (SET, 10, 30, -20),
    (SET, 30, 30, 0),
    (SET, 0, 30, -30),
    (SET, 0, 0, 0),
]


def _major(minor: int) -> str:
    return str(to_decimal(minor, 2))


async def test_the_ledger_moves_a_balance_by_what_the_operation_does(api: Api) -> None:
    """The rule lives in the ledger's SQL (`models.ledger`): each operation, applied to a
    wallet holding `balance`, writes an entry whose delta is what the operation does to it."""
    for operation, amount, balance, expected_delta in DELTAS:
        customer = await create_customer(api, firstName="Ala")
        target = {"customerIds": [customer["id"]]}
        if balance:
            await credit_ok(api, target, "SET", _major(balance))
        await credit_ok(api, target, operation.value, _major(amount))

        last = (await ledger(customer["id"]))[-1]

        assert (last.kind, last.delta) == (operation.value, expected_delta), (operation, amount)
        assert last.balance_after == balance + expected_delta


@pytest.mark.parametrize(
    ("operation", "amount", "minor_units", "expected"),
    [
        (ADD, "0.01", 2, None),
        (ADD, "0", 2, "Amount must be greater than 0."),
        (ADD, "-1.00", 2, "Amount must not be negative."),
        (REDUCE, "0.01", 2, None),
        (REDUCE, "0.00", 2, "Amount must be greater than 0."),
        (SET, "0", 2, None),
        (SET, "-0", 2, None),
        (SET, "-0.01", 2, "Amount must not be negative."),
        (ADD, "1.005", 2, "At most 2 decimal places."),
        (SET, "1.500", 2, None),
        (ADD, "1.5", 0, "Amount must be a whole number."),
        (ADD, "1.0005", 3, "At most 3 decimal places."),
        (ADD, "10000000.00", 2, None),
        (SET, "10000000.01", 2, "Amount must be at most 10000000.00."),
        (ADD, "10000001", 0, "Amount must be at most 10000000."),
        (ADD, "10000000.001", 3, "Amount must be at most 10000000.000."),
        (ADD, "1e999999999", 2, "Amount must be at most 10000000.00."),
        (ADD, "1e-999999999", 2, "At most 2 decimal places."),
        (ADD, "NaN", 2, "Amount is not a number."),
        (ADD, "-Infinity", 2, "Amount is not a number."),
    ],
)
def test_amount_problem(
    operation: CreditOperation, amount: str, minor_units: int, expected: str | None
) -> None:
    assert en(amount_problem(operation, Decimal(amount), minor_units)) == expected


async def test_random_operations_keep_balance_equal_to_sum_of_deltas_and_never_negative(
    api: Api,
) -> None:
    rng = random.Random(20260131)
    operations = list(CreditOperation)
    customer = await create_customer(api, firstName="Ala")
    target = {"customerIds": [customer["id"]]}
    balance = 0
    for _ in range(40):
        operation = rng.choice(operations)
        amount = rng.randint(1, 10_000)
        await credit_ok(api, target, operation.value, _major(amount))
        match operation:
            case CreditOperation.ADD:
                balance += amount
            case CreditOperation.REDUCE:
                balance = max(balance - amount, 0)
            case CreditOperation.SET:
                balance = amount

    entries = await ledger(customer["id"])

    assert [e.balance_after for e in entries][-1] == balance
    assert all(e.balance_after >= 0 for e in entries)
    assert balance == sum(e.delta for e in entries)
    assert {e.delta < 0 for e in entries} == {True, False}
