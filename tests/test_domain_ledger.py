import random
from decimal import Decimal

import pytest

from domain.ledger import CreditOperation, amount_problem, delta_for

ADD = CreditOperation.ADD
REDUCE = CreditOperation.REDUCE
SET = CreditOperation.SET


@pytest.mark.parametrize(
    ("operation", "amount", "balance", "expected_delta"),
    [
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
    ],
)
def test_delta_for(
    operation: CreditOperation, amount: int, balance: int, expected_delta: int
) -> None:
    assert delta_for(operation, amount, balance) == expected_delta


@pytest.mark.parametrize(("amount", "balance"), [(-1, 0), (0, -1)])
@pytest.mark.parametrize("operation", list(CreditOperation))
def test_delta_for_refuses_negative_inputs(
    operation: CreditOperation, amount: int, balance: int
) -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        delta_for(operation, amount, balance)


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
    assert amount_problem(operation, Decimal(amount), minor_units) == expected


def test_random_operations_keep_balance_equal_to_sum_of_deltas_and_never_negative() -> None:
    rng = random.Random(20260131)
    operations = list(CreditOperation)
    balance = 0
    deltas: list[int] = []
    for _ in range(1000):
        operation = rng.choice(operations)
        amount = rng.randint(0, 10_000)
        delta = delta_for(operation, amount, balance)
        match operation:
            case CreditOperation.ADD:
                expected_balance = balance + amount
            case CreditOperation.REDUCE:
                expected_balance = max(balance - amount, 0)
            case CreditOperation.SET:
                expected_balance = amount
        balance += delta
        deltas.append(delta)
        assert balance == expected_balance
        assert balance >= 0
        assert balance == sum(deltas)
    assert {d < 0 for d in deltas} == {True, False}
