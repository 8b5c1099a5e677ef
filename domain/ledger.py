"""Rules for changing a promotional-credit wallet.

A wallet's balance is the sum of the signed deltas of its entries and is never negative. Every
application of an operation writes an entry, also when its delta is zero, so the history shows
what was asked for as well as what happened:

- ADD raises the balance by the amount.
- REDUCE lowers it by the amount but clamps at zero; the entry keeps the requested amount and the
  applied delta, which differ when the balance was smaller than the amount.
- SET moves the balance to the amount; the entry records the delta that reaches that target.

Cashback that a refund reverses comes off the balance, clamped at zero; what the balance could
not cover is owed (`reversal`). What is owed is netted against the customer's next incoming
credits (ADD, refunded credits, cashback, released cashback) before they become spendable
(`netted`), with a CLAWBACK entry of its own; SET and REDUCE leave it as it is. So after any
sequence of sales and refunds, a customer never holds more than if the refunded sales had never
happened, and no amount is lost on the way.

Amounts are integer minor units (grosze for PLN). Persisting the delta safely is the caller's job.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from domain.money import decimal_places, max_amount_minor, to_decimal, to_minor

# The largest balance a wallet may hold, in minor units: far inside BIGINT, so that adding any
# allowed amount to any allowed balance never overflows the column before the check refuses it.
# The database enforces it (a CHECK constraint, triggers on SQLite); the wallet names it in the
# message that refuses a credit past it.
MAX_CREDIT_BALANCE = 10**15


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
    CASHBACK_RELEASE = "CASHBACK_RELEASE"  # held cashback becoming spendable
    CLAWBACK = "CLAWBACK"  # owed cashback netted against an incoming credit
    WRITE_OFF = "WRITE_OFF"  # the balance of a deleted customer


class EntrySource(StrEnum):
    MANUAL = "MANUAL"
    BULK = "BULK"
    SCHEDULE = "SCHEDULE"
    CHECKOUT = "CHECKOUT"
    SYSTEM = "SYSTEM"  # written by the system itself: a deleted customer's write-off


def netted(amount: int, owed: int) -> int:
    """What an incoming credit of `amount` pays off of `owed` before it becomes spendable."""
    if amount < 0 or owed < 0:
        raise ValueError("an incoming credit and what is owed are never negative")
    return min(amount, owed)


def reversal(amount: int, balance: int) -> tuple[int, int]:
    """Taking back `amount` of granted cashback from `balance`: (what the balance gives, what
    stays owed)."""
    if amount < 0 or balance < 0:
        raise ValueError("a reversal and a balance are never negative")
    taken = min(amount, balance)
    return taken, amount - taken


def amount_problem(operation: CreditOperation, amount: Decimal, minor_units: int) -> str | None:
    """Why `amount` is not acceptable for `operation` in a currency with `minor_units` decimal
    places, or None when it is (and `to_minor(amount, minor_units)` is then exact).

    Only digit counts are looked at before the value is known to be small: an amount such as
    `1e999999999` is refused without being scaled.
    """
    places = decimal_places(amount)
    if places is None:
        return "Amount is not a number."
    if places > minor_units:
        return _decimals_problem(minor_units)
    if amount.is_signed() and not amount.is_zero():
        return "Amount must not be negative."
    if operation is not CreditOperation.SET and amount.is_zero():
        return "Amount must be greater than 0."
    maximum = max_amount_minor(minor_units)
    minor = to_minor(amount, minor_units)
    if minor is None or minor > maximum:
        return f"Amount must be at most {to_decimal(maximum, minor_units)}."
    return None


def _decimals_problem(minor_units: int) -> str:
    if minor_units == 0:
        return "Amount must be a whole number."
    if minor_units == 1:
        return "At most 1 decimal place."
    return f"At most {minor_units} decimal places."
