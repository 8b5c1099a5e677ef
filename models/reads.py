"""Hot reads written as SQL (`models.sql`): the statements a till runs on every scan.
Rows become the read models of `domain.entities`, never model instances.

A customer and its groups come back in one statement: one row per group (customer columns
repeated), or a single row with NULL group columns for a customer without groups.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from uuid import UUID

from domain import entities
from domain.access import ALL_CHANNELS, parse_channels
from domain.bill import SalesChannel
from domain.checkouts import LIMITED_CHANNELS, REFUNDED
from models import sql
from models.db import Transaction
from models.sql import Row

_CUSTOMER_COLUMNS = """
    c.id, c.location_id, c.first_name, c.last_name, c.email, c.phone, c.note,
    c.credit_balance, c.wallet_updated_at, c.created_at, c.updated_at,
    c.cashback_held, c.cashback_owed,
    g.id, g.location_id, g.name, g.reference, g.description, g.cashback_basis_points,
    g.created_at, g.cashback_hold_days, g.cashback_expires_after_days"""
# The card's expiry follows the customer's columns: the scanned card's, or NULL by id.
_CARD_EXPIRY = ", k.expires_on"
_NO_CARD = ", NULL"

_GROUPS = """
LEFT JOIN group_memberships m ON m.customer_id = c.id
LEFT JOIN customer_groups g ON g.id = m.group_id"""

# A deleted customer (soft deletion keeps the row for its ledger) is never returned.
_LIVE = "c.deleted_at IS NULL"

# The order the groups DataLoader gives (by name), made total by the id.
_ORDER = "ORDER BY g.name, g.id"


# What pricing reads besides the customer, as three more columns of the customer's statement:
# the location's sync version (which says whether a cached mirror is current), the channels of
# its promotional credits, and, on each group's row, the customer's use of that group's daily
# discount limit on a business date ($3: the group discounts granted through that group on POS
# and KIOSK checkouts not refunded whole, less what their partial refunds gave back).
def _pricing_columns(location: str, customer: str) -> str:
    return f"""
    (SELECT l.sync_version FROM locations l WHERE l.id = {location}),
    (SELECT l.credit_channels FROM locations l WHERE l.id = {location}),
    COALESCE((SELECT SUM(x.group_discount - x.group_discount_returned) FROM checkouts x
              WHERE x.customer_id = {customer} AND x.business_date = $3
                AND x.discount_reference = g.reference
                AND x.status <> '{REFUNDED}'
                AND x.channel IN ({", ".join(f"'{c}'" for c in LIMITED_CHANNELS)})), 0)"""


_PRICING_COLUMNS = _pricing_columns("c.location_id", "c.id")


def _by_card(columns: str) -> str:
    return f"""
SELECT {columns}
FROM customer_cards k
JOIN customers c ON c.id = k.customer_id AND c.location_id = k.location_id
{_GROUPS}
WHERE k.location_id = $1 AND k.code = $2 AND {_LIVE}
{_ORDER}"""


def _by_id(columns: str) -> str:
    return f"""
SELECT {columns}
FROM customers c
{_GROUPS}
WHERE c.location_id = $1 AND c.id = $2 AND {_LIVE}
{_ORDER}"""


CUSTOMER_BY_CARD = _by_card(_CUSTOMER_COLUMNS + _CARD_EXPIRY)
CUSTOMER_BY_ID = _by_id(_CUSTOMER_COLUMNS + _NO_CARD)
PRICING_BY_CARD = _by_card(f"{_CUSTOMER_COLUMNS}{_CARD_EXPIRY},{_PRICING_COLUMNS}")
PRICING_BY_ID = _by_id(f"{_CUSTOMER_COLUMNS}{_NO_CARD},{_PRICING_COLUMNS}")


# In a commit's transaction on PostgreSQL the customer's row is held until the transaction ends,
# so that commits and refunds for one customer run one after the other. The statement that
# takes the lock reads the customer's row as the lock finds it, but everything else as it was
# when the statement began (a concurrent commit's usage of the daily limit included): so the
# usage is read by a second statement, once the lock is held, one row per group as the first.
# SQLite has no row locks and one writer at a time: there the transaction takes the database's
# write lock first, with a write that changes nothing, and then reads everything in one
# statement.
HELD_BY_CARD = CUSTOMER_BY_CARD + "\nFOR UPDATE OF c"
HELD_BY_ID = CUSTOMER_BY_ID + "\nFOR UPDATE OF c"
STATE = _by_id(f"g.id,{_PRICING_COLUMNS}")
SQLITE_WRITE_LOCK = "UPDATE locations SET sync_version = sync_version WHERE id = $1"

# Where a customer's row holds its group's id.
_GROUP_ID = 13


def _view(rows: list[Row], card_code: str | None = None) -> entities.CustomerView | None:
    if not rows:
        return None
    uuid, time = sql.uuid, sql.time
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
        cashback_held=first[11],
        cashback_owed=first[12],
    )
    groups = tuple(
        entities.CustomerGroup(
            id=uuid(row[13]),
            location_id=uuid(row[14]),
            name=row[15],
            reference=row[16],
            description=row[17],
            cashback_basis_points=row[18],
            created_at=time(row[19]),
            cashback_hold_days=row[20],
            cashback_expires_after_days=row[21],
        )
        for row in rows
        if row[13] is not None
    )
    return entities.CustomerView(
        customer=customer,
        groups=groups,
        card_code=card_code,
        card_expires_on=sql.day(first[22]) if card_code is not None else None,
    )


async def customer_by_card(location_id: UUID, code: str) -> entities.CustomerView | None:
    """The live customer holding card `code` in the location, with its groups."""
    rows = await sql.fetch(sql.pool(), CUSTOMER_BY_CARD, (location_id, code))
    return _view(rows, card_code=code)


async def customer_by_id(location_id: UUID, customer_id: UUID) -> entities.CustomerView | None:
    """The live customer `customer_id` of the location, with its groups."""
    return _view(await sql.fetch(sql.pool(), CUSTOMER_BY_ID, (location_id, customer_id)))


@dataclass(frozen=True, slots=True)
class CustomerSnapshot:
    """A customer as pricing reads it: with its groups, the location's sync version and credit
    channels, and what the customer used on the business date of each of its groups' daily
    discount limits (by the group's reference; a group with no such discount is absent)."""

    view: entities.CustomerView
    sync_version: int
    used_today: Mapping[str, int] = field(default_factory=dict)
    credit_channels: frozenset[SalesChannel] = ALL_CHANNELS


async def customer_for_pricing(
    location_id: UUID,
    business_date: date,
    *,
    card_code: str | None = None,
    customer_id: UUID | None = None,
    hold: Transaction | None = None,
) -> CustomerSnapshot | None:
    """The live customer holding card `card_code` (or `customer_id`) in the location, with
    what pricing needs, in one statement. With `hold` (a transaction), the customer is held
    until it ends (see `HELD_BY_CARD`)."""
    key = card_code if card_code is not None else customer_id
    if hold is None:
        return await _priced(sql.pool(), location_id, business_date, card_code, key)
    held = sql.dialect().pick(postgres=_held_by_row_lock, sqlite=_held_by_write_lock)
    return await held(hold, location_id, business_date, card_code, key)


def _snapshot(view: entities.CustomerView, state: Sequence[Row], group_at: int) -> CustomerSnapshot:
    """The snapshot of `view` from the pricing columns that end each row of `state` (one row
    per group, its id at `group_at`)."""
    *_, version, channels, _ = state[0]
    references = {group.id: group.reference for group in view.groups}
    used = {}
    for row in state:
        group_id = sql.uuid(row[group_at]) if row[group_at] is not None else None
        if group_id in references and row[-1]:
            used[references[group_id]] = int(row[-1])
    return CustomerSnapshot(view, int(version), used, parse_channels(channels))


async def _priced(
    connection: sql.Connection,
    location_id: UUID,
    business_date: date,
    card_code: str | None,
    key: object,
) -> CustomerSnapshot | None:
    statement = PRICING_BY_CARD if card_code is not None else PRICING_BY_ID
    rows = await sql.fetch(connection, statement, (location_id, key, business_date))
    view = _view(rows, card_code)
    return None if view is None else _snapshot(view, rows, _GROUP_ID)


async def _held_by_row_lock(
    hold: Transaction, location_id: UUID, business_date: date, card_code: str | None, key: object
) -> CustomerSnapshot | None:
    statement = HELD_BY_CARD if card_code is not None else HELD_BY_ID
    view = _view(await sql.fetch(hold, statement, (location_id, key)), card_code)
    if view is None:
        return None
    rows = await sql.fetch(hold, STATE, (location_id, view.customer.id, business_date))
    return _snapshot(view, rows, 0)


async def _held_by_write_lock(
    hold: Transaction, location_id: UUID, business_date: date, card_code: str | None, key: object
) -> CustomerSnapshot | None:
    await sql.execute(hold, SQLITE_WRITE_LOCK, (location_id,))
    return await _priced(hold, location_id, business_date, card_code, key)
