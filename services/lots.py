"""Credit lots: what a balance is made of (`domain.lots`), read for the back office."""

from __future__ import annotations

from uuid import UUID

from domain.lots import LotView
from models import lots


async def customer_lots(location_id: UUID, customer_id: UUID) -> list[LotView]:
    """The customer's lots with something left, soonest-expiring first (those without expiry
    last): the order spending takes them."""
    return await lots.lots_of(location_id, customer_id)
