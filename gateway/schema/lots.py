"""Credit lots: what a wallet's balance is made of (ADMIN only)."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from domain.access import Principal
from domain.ledger import EntrySource
from domain.lots import LotView
from gateway.schema.common import Money


@strawberry.type
class CreditLot:
    id: strawberry.ID
    amount: Money
    remaining: Money
    expires_on: date | None = strawberry.field(
        description="What is left expires at the end of this day (the location's time zone)."
    )
    source: EntrySource
    created_at: datetime

    @classmethod
    def of(cls, view: LotView, principal: Principal) -> CreditLot:
        lot = view.lot
        return cls(
            id=strawberry.ID(str(lot.id)),
            amount=Money.of(lot.amount, principal),
            remaining=Money.of(lot.remaining, principal),
            expires_on=lot.expires_on,
            source=EntrySource(view.source),
            created_at=lot.created_at,
        )
