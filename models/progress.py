"""Where a resumed bulk job carries on: what the ledger already holds of one application.

A bulk job applies its customers in id order, a chunk per transaction, and every customer it
reaches gets an entry keyed by (source_id, customer_id, period, kind). So the entries of one
application say how far it got: every customer up to the greatest id among them is done. Both
reads run on the ledger's unique index, whose first columns are (source_id, customer_id).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from models import sql

_REACHED = (
    "SELECT count(DISTINCT customer_id) AS reached FROM wallet_entries"
    " WHERE source_id = $1 AND period = $2"
)
_LAST = (
    "SELECT customer_id FROM wallet_entries WHERE source_id = $1 AND period = $2"
    " ORDER BY customer_id DESC LIMIT 1"
)


@dataclass(frozen=True, slots=True)
class Applied:
    customers: int  # customers with an entry of the application
    last: UUID | None  # the greatest of their ids; None when there is none


async def applied(source_id: UUID, period: int) -> Applied:
    """How far the application (`source_id`, `period`) got."""
    rows = await sql.fetch(sql.pool(), _LAST, [source_id, period])
    if not rows:
        return Applied(0, None)
    last = sql.uuid(rows[0][0])
    (reached,) = await sql.fetch(sql.pool(), _REACHED, [source_id, period])
    return Applied(int(reached[0]), last)
