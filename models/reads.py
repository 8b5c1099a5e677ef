"""Hot reads written as SQL: the statements a till runs on every scan.

The ORM builds its SQL text and model objects anew on every call, which costs several times the
database's own work for a point read. These statements are written once and run through the
connection Tortoise holds (inside a transaction, that transaction's connection): on PostgreSQL
asyncpg prepares each on first use per connection and reuses it from its statement cache; on
SQLite the same text runs with `?N` placeholders. Rows become the read models of
`domain.entities`, never model instances.

A customer and its groups come back in one statement: one row per group (customer columns
repeated), or a single row with NULL group columns for a customer without groups.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from tortoise import connections

from domain import entities
from models.checkout import COMMITTED, LIMITED_CHANNELS

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


def _sqlite(sql: str) -> str:
    """The same statement with SQLite's numbered placeholders (`$1` → `?1`)."""
    return re.sub(r"\$(\d+)", r"?\1", sql)


_SQLITE = {sql: _sqlite(sql) for sql in (CUSTOMER_BY_CARD, CUSTOMER_BY_ID, QUOTE_STATE)}


def _same(value: Any) -> Any:
    return value


def _uuid_text(value: Any) -> Any:
    return None if value is None else UUID(value)


def _time_text(value: Any) -> Any:
    return None if value is None else datetime.fromisoformat(value)


# Per engine: how a UUID and a timestamp come back (asyncpg decodes them; SQLite stores text).
_NATIVE: tuple[Callable[[Any], Any], Callable[[Any], Any]] = (_same, _same)
_TEXT: tuple[Callable[[Any], Any], Callable[[Any], Any]] = (_uuid_text, _time_text)


async def _fetch(sql: str, values: Sequence[Any]) -> tuple[list[Sequence[Any]], bool]:
    """The rows of one statement, and whether they came from PostgreSQL."""
    client = connections.get("default")
    postgres = client.capabilities.dialect == "postgres"
    client.log.debug("%s: %s", sql, values)
    async with client.acquire_connection() as connection:
        if postgres:
            return list(await connection.fetch(sql, *values)), True
        text_values = [
            str(v) if isinstance(v, UUID) else v.isoformat() if isinstance(v, date) else v
            for v in values
        ]
        return list(await connection.execute_fetchall(_SQLITE[sql], text_values)), False


def _view(rows: list[Sequence[Any]], postgres: bool) -> entities.CustomerView | None:
    if not rows:
        return None
    uuid, time = _NATIVE if postgres else _TEXT
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
    return _view(*await _fetch(CUSTOMER_BY_CARD, (location_id, code)))


async def customer_by_id(location_id: UUID, customer_id: UUID) -> entities.CustomerView | None:
    """The live customer `customer_id` of the location, with its groups."""
    return _view(*await _fetch(CUSTOMER_BY_ID, (location_id, customer_id)))


@dataclass(frozen=True, slots=True)
class QuoteState:
    sync_version: int
    used_today: int


async def quote_state(
    location_id: UUID, customer_id: UUID | None, business_date: date
) -> QuoteState:
    """The location's sync version, and what the customer (if any) used of the daily discount
    limit on `business_date`; in the caller's transaction, when there is one."""
    rows, _ = await _fetch(QUOTE_STATE, (location_id, customer_id, business_date))
    version, used = rows[0]
    return QuoteState(int(version), int(used))
