"""Rules for changing a promotional-credit wallet.

A wallet's balance is the sum of the signed deltas of its entries and is never negative. Every
application of an operation writes an entry, also when its delta is zero, so the history shows
what was asked for as well as what happened:

- ADD raises the balance by the amount.
- REDUCE lowers it by the amount but clamps at zero; the entry keeps the requested amount and the
  applied delta, which differ when the balance was smaller than the amount.
- SET moves the balance to the amount; the entry records the delta that reaches that target.

Amounts are integer minor units (grosze). Persisting the delta safely is the caller's job.
"""

from __future__ import annotations

from enum import StrEnum

from domain.money import MAX_AMOUNT_MINOR, to_decimal


class CreditOperation(StrEnum):
    """What an admin, a bulk operation or a schedule asks to do with a balance."""

    ADD = "ADD"
    REDUCE = "REDUCE"
    SET = "SET"


class EntryKind(StrEnum):
    ADD = "ADD"
    REDUCE = "REDUCE"
    SET = "SET"
    REDEEM = "REDEEM"
    REFUND = "REFUND"
    CASHBACK = "CASHBACK"
    CASHBACK_REVERSAL = "CASHBACK_REVERSAL"


class EntrySource(StrEnum):
    MANUAL = "MANUAL"
    BULK = "BULK"
    SCHEDULE = "SCHEDULE"
    CHECKOUT = "CHECKOUT"


def delta_for(operation: CreditOperation, amount: int, balance: int) -> int:
    """The signed change that `operation` with `amount` makes to `balance`."""
    if amount < 0:
        raise ValueError(f"amount must not be negative, got {amount}")
    if balance < 0:
        raise ValueError(f"balance must not be negative, got {balance}")
    match operation:
        case CreditOperation.ADD:
            return amount
        case CreditOperation.REDUCE:
            return -min(amount, balance)
        case CreditOperation.SET:
            return amount - balance


def amount_problem(operation: CreditOperation, amount_minor: int | None) -> str | None:
    """Why `amount_minor` is not acceptable for `operation`, or None when it is.

    `amount_minor` is None when the amount given had more than 2 decimal places.
    """
    if amount_minor is None:
        return "Amount must have at most 2 decimal places."
    if operation is CreditOperation.SET:
        if amount_minor < 0:
            return "Amount must not be negative."
    elif amount_minor <= 0:
        return "Amount must be greater than 0."
    if amount_minor > MAX_AMOUNT_MINOR:
        return f"Amount must be at most {to_decimal(MAX_AMOUNT_MINOR)}."
    return None
