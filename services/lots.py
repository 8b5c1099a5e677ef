"""Credit lots: what a balance is made of (`domain.lots`), and the credits expiring soon, read
for the back office."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from domain import entities
from domain.errors import ErrorCode, fail
from domain.lots import Expiring, LotView
from domain.messages import msg
from domain.paging import decode_cursor, page_of, page_size_problem
from models import expiry, lots


async def customer_lots(location_id: UUID, customer_id: UUID) -> list[LotView]:
    """The customer's lots with something left, soonest-expiring first (those without expiry
    last): the order spending takes them."""
    return await lots.lots_of(location_id, customer_id)


@dataclass(frozen=True)
class ExpiringPage:
    page: entities.Page[Expiring]
    total: int  # minor units, over every customer (not only the page's)


async def expiring_credits(
    location_id: UUID, before: date, first: int, after: str | None
) -> ExpiringPage:
    """Per customer, the credits that expire before `before` (exclusive), the soonest first
    (then by customer id), with how many customers and how much in all."""
    if problem := page_size_problem(first):
        raise fail(ErrorCode.INVALID, "first", problem)
    key = None if after is None else _key(after)
    found = await expiry.expiring(location_id, before, key, first + 1)
    customers, total = await expiry.expiring_totals(location_id, before)
    page = page_of(found, first, customers, lambda e: f"{e.first_expires_on}|{e.customer_id}")
    return ExpiringPage(page, total)


def _key(cursor: str) -> tuple[date, UUID]:
    raw = decode_cursor(cursor) or ""
    day, _, customer = raw.partition("|")
    try:
        return date.fromisoformat(day), UUID(customer)
    except ValueError:
        raise fail(ErrorCode.INVALID, "after", msg("page.bad_cursor")) from None
