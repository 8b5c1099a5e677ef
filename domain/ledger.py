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

from domain.messages import Message, msg
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
    UNDO = "UNDO"  # compensation of an undone operation or schedule period
    EXPIRE = "EXPIRE"  # what was left of an expiring credit


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


# What the system writes into a wallet entry's description: a message id, rendered in the reader's
# language (a person's description is stored as typed).
REDEEM_DESCRIPTION = "entry.redeem"
CASHBACK_DESCRIPTION = "entry.cashback"
CASHBACK_RELEASED_DESCRIPTION = "entry.cashback_released"
CASHBACK_REVERSED_DESCRIPTION = "entry.cashback_reversed"
REFUND_DESCRIPTION = "entry.checkout_refunded"
CLAWBACK_DESCRIPTION = "entry.clawback"
WRITE_OFF_DESCRIPTION = "entry.write_off"
UNDO_DESCRIPTION = "entry.undo"
EXPIRED_DESCRIPTION = "entry.expired"
SYSTEM_DESCRIPTIONS = frozenset(
    {
        UNDO_DESCRIPTION,
        WRITE_OFF_DESCRIPTION,
        EXPIRED_DESCRIPTION,
        REDEEM_DESCRIPTION,
        CASHBACK_DESCRIPTION,
        CASHBACK_RELEASED_DESCRIPTION,
        CASHBACK_REVERSED_DESCRIPTION,
        REFUND_DESCRIPTION,
        CLAWBACK_DESCRIPTION,
    }
)
# The English sentences earlier releases stored instead, by the entry kind they were written for
# (migration 0007 turns those it finds into ids; an entry a later migration writes in English is
# read through this too). A person's "Cashback" on an ADD stays theirs.
LEGACY_DESCRIPTIONS = {
    ("REDEEM", "Credits used at checkout"): REDEEM_DESCRIPTION,
    ("CASHBACK", "Cashback"): CASHBACK_DESCRIPTION,
    ("CASHBACK_RELEASE", "Cashback released"): CASHBACK_RELEASED_DESCRIPTION,
    ("CASHBACK_REVERSAL", "Cashback reversed"): CASHBACK_REVERSED_DESCRIPTION,
    ("REFUND", "Checkout refunded"): REFUND_DESCRIPTION,
    ("CLAWBACK", "Owed cashback paid off"): CLAWBACK_DESCRIPTION,
    ("WRITE_OFF", "Balance written off: customer deleted"): WRITE_OFF_DESCRIPTION,
}


def system_description(kind: str, description: str | None) -> str | None:
    """The message id of a description the system wrote, or None for a person's text."""
    if description is None:
        return None
    if description in SYSTEM_DESCRIPTIONS:
        return description
    return LEGACY_DESCRIPTIONS.get((kind, description))


def amount_problem(operation: CreditOperation, amount: Decimal, minor_units: int) -> Message | None:
    """Why `amount` is not acceptable for `operation` in a currency with `minor_units` decimal
    places, or None when it is (and `to_minor(amount, minor_units)` is then exact).

    Only digit counts are looked at before the value is known to be small: an amount such as
    `1e999999999` is refused without being scaled.
    """
    places = decimal_places(amount)
    if places is None:
        return msg("amount.not_a_number")
    if places > minor_units:
        return _decimals_problem(minor_units)
    if amount.is_signed() and not amount.is_zero():
        return msg("amount.negative")
    if operation is not CreditOperation.SET and amount.is_zero():
        return msg("amount.not_positive")
    maximum = max_amount_minor(minor_units)
    minor = to_minor(amount, minor_units)
    if minor is None or minor > maximum:
        return msg("amount.too_large", maximum=to_decimal(maximum, minor_units))
    return None


def _decimals_problem(minor_units: int) -> Message:
    if minor_units == 0:
        return msg("amount.whole")
    if minor_units == 1:
        return msg("amount.decimals", count=1)
    return msg("amount.decimals", count=minor_units)
