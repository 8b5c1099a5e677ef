"""Credit lots: the rules of what a balance is made of. Pure; time passed in.

A balance is made of lots, one per credit that reached it; their remaining amounts always sum to
the balance. Spending takes the soonest-expiring lots first, lots without expiry last, ties by
creation then id (`spending_order`). A refund of credits gives back what the refunded debit
took, the last-taken first, each part with the expiry it had, or the end of the refund's day
when that has passed (`give_back`). An undo of a debit gives back the same way; an undo of a
credit takes the lot that credit made first, then spends in the usual order. At the end of its
expiry day a lot's remainder expires.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID


@dataclass(frozen=True)
class Lot:
    id: int
    amount: int
    remaining: int
    expires_on: date | None
    created_at: datetime


def spending_order(lot: Lot) -> tuple[bool, date, datetime, int]:
    """The key that sorts lots in the order spending takes them."""
    return (lot.expires_on is None, lot.expires_on or date.max, lot.created_at, lot.id)


def consume(lots: Sequence[Lot], amount: int) -> list[tuple[int, int]]:
    """What spending `amount` takes from `lots`: (lot id, amount taken), in spending order.
    Raises ValueError when the lots hold less."""
    taken: list[tuple[int, int]] = []
    left = amount
    for lot in sorted((lot for lot in lots if lot.remaining > 0), key=spending_order):
        if left <= 0:
            break
        part = min(lot.remaining, left)
        taken.append((lot.id, part))
        left -= part
    if left > 0:
        raise ValueError(f"the lots hold {amount - left}, less than {amount}")
    return taken


@dataclass(frozen=True)
class LotView:
    """A lot as the back office reads it: with the source of the entry that credited it."""

    lot: Lot
    source: str


@dataclass(frozen=True)
class Taken:
    """What a debit took from one lot and no refund has given back yet (`left`)."""

    take_id: int
    lot_id: int
    left: int
    expires_on: date | None
    created_at: datetime


@dataclass(frozen=True)
class Given:
    """A part of a refund of credits: a new lot of `amount` expiring on `expires_on`, given back
    from the take `take_id` (None: more than the debit's takes hold, without expiry)."""

    take_id: int | None
    amount: int
    expires_on: date | None


def restored_expiry(expires_on: date | None, day: date) -> date | None:
    """The expiry of credits given back on `day`: the one they had, or the end of `day` when
    that has passed."""
    return None if expires_on is None else max(expires_on, day)


def give_back(taken: Sequence[Taken], amount: int, day: date) -> list[Given]:
    """How `amount` of refunded credits is given back on `day`: from what the debit took, the
    last-taken first (the reverse of spending order), each part with its lot's expiry; what
    the takes cannot account for (a debit from before lots) comes back without expiry."""
    given: list[Given] = []
    left = amount
    order = sorted(
        taken,
        key=lambda t: (t.expires_on is None, t.expires_on or date.max, t.created_at, t.lot_id),
        reverse=True,
    )
    for take in order:
        if left <= 0:
            break
        part = min(take.left, left)
        if part > 0:
            given.append(Given(take.take_id, part, restored_expiry(take.expires_on, day)))
            left -= part
    if left > 0:
        given.append(Given(None, left, None))
    return given


@dataclass(frozen=True)
class Expiring:
    """What one customer holds of credits expiring before a date, and the first day any of
    them does."""

    customer_id: UUID
    amount: int
    first_expires_on: date


@dataclass(frozen=True)
class Restore:
    """Which debit a refund of credits gives back: the entry (source id, customer, period,
    kind) whose takes it restores, and the refund's business day in the location's time zone."""

    source_id: UUID
    period: int
    kind: str
    day: date


def expiry_source_id(lot_id: int) -> UUID:
    """The source id of a lot's EXPIRE entry: the lot's id, so that the ledger's unique key
    allows one per lot."""
    return UUID(int=lot_id)


@dataclass(frozen=True)
class Expired:
    """What one chunk of expiry wrote: how many lots it expired (one EXPIRE entry each) and
    how much they held, in minor units."""

    lots: int
    amount: int
