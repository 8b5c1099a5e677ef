"""Safer single edits: a change of one customer that carries the balance its sender saw.

`hold_unchanged` is the first statement of the transaction that writes the change: it holds the
customer (`services.checkout.hold.hold_wallet`: a row lock on PostgreSQL, the write lock on
SQLite), so no redeem, refund or other change of that wallet can land between the comparison
and the write; a balance other than the expected one is STALE_BALANCE, with the balance now in
its params, and the transaction writes nothing.
"""

from __future__ import annotations

from domain.access import Principal
from domain.credits import ParsedTarget
from domain.errors import ErrorCode, fail
from domain.messages import msg
from domain.money import to_decimal
from models.db import Transaction
from services.checkout.hold import hold_wallet
from services.stores import Stores


async def hold_unchanged(
    stores: Stores, db: Transaction, principal: Principal, target: ParsedTarget, expected: int
) -> None:
    """Hold the target's one customer until `db` ends; STALE_BALANCE when its balance is not
    `expected` (minor units). A customer deleted meanwhile is left to the run, which skips it."""
    (customer_id,) = target.distinct_customer_ids()
    held = await hold_wallet(stores.checkouts, db, principal.location_id, customer_id)
    if held is not None and held.balance != expected:
        balance = to_decimal(held.balance, principal.minor_units)
        raise fail(
            ErrorCode.STALE_BALANCE,
            "input.expectedBalance",
            msg("credit.stale_balance", balance=balance),
        )
