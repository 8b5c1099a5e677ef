"""The wallet entries a checkout writes: who writes them, and how each is described.

Every entry has the checkout's id as its source id; a commit's entries have period 0, a
refund's its number (1 for the first). The ledger (`models.ledger.apply_chunk`) nets a credit
against what the customer owes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from domain.access import Principal
from domain.ledger import CLAWBACK_DESCRIPTION, EntryKind, EntrySource
from domain.lots import Restore
from domain.schedule import local_today
from models.ledger import Application, Movement

# The first refund of a checkout: its wallet entries' period (a commit's are 0).
FIRST_REFUND = 1


@dataclass(frozen=True)
class Source:
    """Who writes a checkout's wallet entries: the location, and the key's name (None for the
    system, which releases held cashback)."""

    location_id: UUID
    actor: str | None

    @classmethod
    def of(cls, principal: Principal) -> Source:
        return cls(principal.location_id, principal.api_key_name)


def entry(
    source: Source,
    operation: Movement,
    amount: int,
    kind: EntryKind,
    checkout_id: UUID,
    period: int,
    description: str,
    now: datetime,
) -> Application:
    """A checkout's wallet entry: `period` 0 for the commit's, the refund's number for a
    refund's."""
    return Application(
        location_id=source.location_id,
        operation=operation,
        amount=amount,
        kind=kind.value,
        source=EntrySource.CHECKOUT.value,
        source_id=checkout_id,
        period=period,
        description=description,
        actor=source.actor,
        now=now,
        netting_description=CLAWBACK_DESCRIPTION,
    )


def restoring(change: Application, sale_id: UUID, timezone: str) -> Application:
    """A refund of a sale's credits (`change`, a CREDIT) that gives back the lots the sale's
    REDEEM took, each part with the expiry it had, or the end of the refund's day in the
    location's time zone (`timezone`) when that has passed (`domain.lots.give_back`)."""
    day = local_today(change.now, timezone)
    return replace(change, restore=Restore(sale_id, 0, EntryKind.REDEEM.value, day))
