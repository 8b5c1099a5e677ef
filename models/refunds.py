"""Refunds by the line in the checkouts repository: the claim that orders a sale's refunds, the
settlement that records one, and the refunds of sales read back.

A refund runs in the service's transaction, after the customer is held:

1. `claim_refund`: one conditional UPDATE that takes the sale's next refund number (a sale
   that is REFUNDED has none) and returns what its earlier refunds left: the quantities
   refunded per line and the cashback still held. On PostgreSQL the UPDATE holds the sale's row
   until the transaction ends, so a concurrent refund of the same sale (say, of a customer
   deleted meanwhile, whom nothing holds) waits, then claims the number after it and reads what
   this one wrote. SQLite has one writer at a time.
2. `settle_refund`: the sale's new state (status, quantities, usage given back, held cashback),
   on the condition that the refund count is still the claimed number. Together with the
   unique (checkout_id, number) of `checkout_refunds`, two refunds can never both build on
   the same state, so refunds never take more than was sold.

`refunds_of` reads the refunds of a page of sales at once (oldest first), for the API's loader.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.checkouts import PARTIALLY_REFUNDED, REFUNDED, RefundView, lines_of
from models import sql
from models.tables.checkouts import CheckoutRefund

CLAIM_REFUND = f"""
UPDATE checkouts SET refund_count = refund_count + 1
WHERE id = $1 AND status <> '{REFUNDED}'
RETURNING refund_count, refunded_quantities, cashback_held"""

SETTLE_REFUND = """
UPDATE checkouts SET status = $3, refunded_at = $4, refunded_quantities = $5::jsonb,
    group_discount_returned = group_discount_returned + $6, cashback_held = $7,
    credits_used_returned = credits_used_returned + $8,
    promotions_returned = promotions_returned + $9
WHERE id = $1 AND refund_count = $2"""


@dataclass(frozen=True, slots=True)
class RefundClaim:
    """A refund's number, and what the sale's earlier refunds left."""

    number: int
    refunded: tuple[int, ...] | None  # per line, thousandths; None: nothing refunded yet
    cashback_held: int  # what is still held of the sale's cashback


def _quantities(value: Any) -> tuple[int, ...] | None:
    if value is None:
        return None
    loaded = json.loads(value) if isinstance(value, str | bytes) else value
    return tuple(int(q) for q in loaded)


async def claim_refund(checkout_id: UUID, db: BaseDBAsyncClient) -> RefundClaim | None:
    """Take the sale's next refund number in the transaction `db` (see the module); None when
    the sale is refunded whole already."""
    rows = await sql.fetch(db, CLAIM_REFUND, (checkout_id,))
    if not rows:
        return None
    number, refunded, held = rows[0]
    return RefundClaim(int(number), _quantities(refunded), int(held))


@dataclass(frozen=True, slots=True)
class Settlement:
    """A sale's state once refund `number` is made."""

    number: int
    refunded: Sequence[int]  # per line, thousandths, in all
    whole: bool  # nothing is left: REFUNDED, else PARTIALLY_REFUNDED
    group_discount_returned: int  # by this refund
    credits_used_returned: int  # by this refund
    promotions_returned: int  # by this refund
    cashback_held: int  # what is still held of the sale's cashback afterwards
    now: datetime


async def settle_refund(checkout_id: UUID, settled: Settlement, db: BaseDBAsyncClient) -> bool:
    """Record the sale's state after refund `settled.number`; False when another refund claimed
    a number meanwhile (then nothing is written)."""
    s = settled
    values = (
        checkout_id,
        s.number,
        REFUNDED if s.whole else PARTIALLY_REFUNDED,
        s.now if s.whole else None,
        json.dumps(list(s.refunded)),
        s.group_discount_returned,
        0 if s.whole else s.cashback_held,
        s.credits_used_returned,
        s.promotions_returned,
    )
    return await sql.execute(db, SETTLE_REFUND, values) == 1


def refund_view(row: CheckoutRefund) -> RefundView:
    return RefundView(
        id=row.id,
        checkout_id=row.checkout_id,
        lines=lines_of(row.lines),
        credits_returned=row.credits_returned,
        cashback_reversed=row.cashback_reversed,
        cashback_owed=row.cashback_owed,
        created_at=row.created_at,
    )


async def refunds_of(
    location_id: UUID, checkout_ids: Sequence[UUID]
) -> dict[UUID, list[RefundView]]:
    """The refunds of each of the location's sales `checkout_ids`, oldest first (a sale with
    none is absent)."""
    found: dict[UUID, list[RefundView]] = {}
    if not checkout_ids:
        return found
    rows = await CheckoutRefund.filter(
        location_id=location_id, checkout_id__in=list(checkout_ids)
    ).order_by("checkout_id", "number")
    for row in rows:
        found.setdefault(row.checkout_id, []).append(refund_view(row))
    return found
