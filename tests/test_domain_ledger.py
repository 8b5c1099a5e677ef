import random

import pytest

from domain.ledger import CreditOperation, amount_problem, delta_for
from domain.money import MAX_AMOUNT_MINOR

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
    ("operation", "amount_minor", "expected"),
    [
        (ADD, 1, None),
        (ADD, 0, "Amount must be greater than 0."),
        (ADD, -100, "Amount must be greater than 0."),
        (REDUCE, 1, None),
        (REDUCE, 0, "Amount must be greater than 0."),
        (SET, 0, None),
        (SET, 1, None),
        (SET, -1, "Amount must not be negative."),
        (ADD, None, "Amount must have at most 2 decimal places."),
        (REDUCE, None, "Amount must have at most 2 decimal places."),
        (SET, None, "Amount must have at most 2 decimal places."),
        (ADD, MAX_AMOUNT_MINOR, None),
        (REDUCE, MAX_AMOUNT_MINOR, None),
        (SET, MAX_AMOUNT_MINOR, None),
        (ADD, MAX_AMOUNT_MINOR + 1, "Amount must be at most 10000000.00."),
        (REDUCE, MAX_AMOUNT_MINOR + 1, "Amount must be at most 10000000.00."),
        (SET, MAX_AMOUNT_MINOR + 1, "Amount must be at most 10000000.00."),
    ],
)
def test_amount_problem(
    operation: CreditOperation, amount_minor: int | None, expected: str | None
) -> None:
    assert amount_problem(operation, amount_minor) == expected


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
