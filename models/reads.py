"""Hot reads written as SQL (`models.statements`): the statements a till runs on every scan.
Rows become the read models of `domain.entities`, never model instances.

A customer and its groups come back in one statement: one row per group (customer columns
repeated), or a single row with NULL group columns for a customer without groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from domain import entities
from models.checkout import COMMITTED, LIMITED_CHANNELS
from models.statements import Row, decoders, fetch

_CUSTOMER_COLUMNS = """
    c.id, c.location_id, c.first_name, c.last_name, c.email, c.phone, c.note,
    c.credit_balance, c.wallet_updated_at, c.created_at, c.updated_at,
    g.id, g.location_id, g.name, g.reference, g.description, g.cashback_basis_points,
    g.created_at"""

_GROUPS = """
LEFT JOIN group_memberships m ON m.customer_id = c.id
LEFT JOIN customer_groups g ON g.id = m.group_id"""

# A deleted customer (soft deletion keeps the row for its ledger) is never returned.
_LIVE = "c.deleted_at IS NULL"

# The order the groups DataLoader gives (by name), made total by the id.
_ORDER = "ORDER BY g.name, g.id"

CUSTOMER_BY_CARD = f"""
SELECT {_CUSTOMER_COLUMNS}
FROM customer_cards k
JOIN customers c ON c.id = k.customer_id AND c.location_id = k.location_id
{_GROUPS}
WHERE k.location_id = $1 AND k.code = $2 AND {_LIVE}
{_ORDER}"""

CUSTOMER_BY_ID = f"""
SELECT {_CUSTOMER_COLUMNS}
FROM customers c
{_GROUPS}
WHERE c.location_id = $1 AND c.id = $2 AND {_LIVE}
{_ORDER}"""


# What a quote reads besides the customer, in one statement: the location's sync version (which
# says whether a cached mirror is current) and the customer's use of the daily discount limit on
# a business date (committed POS and KIOSK checkouts).
QUOTE_STATE = f"""
SELECT l.sync_version,
       COALESCE((SELECT SUM(c.group_discount) FROM checkouts c
                 WHERE c.customer_id = $2 AND c.business_date = $3 AND c.status = '{COMMITTED}'
                   AND c.channel IN ({", ".join(f"'{c}'" for c in LIMITED_CHANNELS)})), 0)
FROM locations l WHERE l.id = $1"""


def _view(rows: list[Row], postgres: bool) -> entities.CustomerView | None:
    if not rows:
        return None
    uuid, time = decoders(postgres)
    first = rows[0]
    customer = entities.Customer(
        id=uuid(first[0]),
        location_id=uuid(first[1]),
        first_name=first[2],
        last_name=first[3],
        email=first[4],
        phone=first[5],
        note=first[6],
        credit_balance=first[7],
        wallet_updated_at=time(first[8]),
        created_at=time(first[9]),
        updated_at=time(first[10]),
    )
    groups = tuple(
        entities.CustomerGroup(
            id=uuid(row[11]),
            location_id=uuid(row[12]),
            name=row[13],
            reference=row[14],
            description=row[15],
            cashback_basis_points=row[16],
            created_at=time(row[17]),
        )
        for row in rows
        if row[11] is not None
    )
    return entities.CustomerView(customer=customer, groups=groups)


async def customer_by_card(location_id: UUID, code: str) -> entities.CustomerView | None:
    """The live customer holding card `code` in the location, with its groups."""
    return _view(*await fetch(CUSTOMER_BY_CARD, (location_id, code)))


async def customer_by_id(location_id: UUID, customer_id: UUID) -> entities.CustomerView | None:
    """The live customer `customer_id` of the location, with its groups."""
    return _view(*await fetch(CUSTOMER_BY_ID, (location_id, customer_id)))


@dataclass(frozen=True, slots=True)
class QuoteState:
    sync_version: int
    used_today: int


async def quote_state(
    location_id: UUID, customer_id: UUID | None, business_date: date
) -> QuoteState:
    """The location's sync version, and what the customer (if any) used of the daily discount
    limit on `business_date`; in the caller's transaction, when there is one."""
    rows, _ = await fetch(QUOTE_STATE, (location_id, customer_id, business_date))
    version, used = rows[0]
    return QuoteState(int(version), int(used))
