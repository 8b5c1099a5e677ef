"""The mirror's writes for a sync: set-based upserts, removal flags and the sync version.

`upsert_*` runs one `INSERT … ON CONFLICT (location_id, external_id) DO UPDATE` for every row
on PostgreSQL (the values as one array per column, unnested) and one per batch of rows on
SQLite; it also brings a removed row back. `mark_removed` flags rows gone upstream without
deleting them. Every function joins the caller's transaction when `db` is one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.sync import MirrorDiscount, MirrorPosGroup, MirrorPromotion
from models import sql
from models.mirror.rows import MirrorTable, batches, reference_key, utc
from models.tables.crm import Location

_KEYS = ("location_id", "external_id")


def _conflict_update(columns: tuple[str, ...]) -> str:
    """The upsert's conflict clause: every column but the key takes the incoming value."""
    updates = ", ".join(
        f'"{column}" = excluded."{column}"' for column in columns if column not in _KEYS
    )
    return f'ON CONFLICT ("location_id", "external_id") DO UPDATE SET {updates}'


async def _upsert(
    db: BaseDBAsyncClient | None,
    table: str,
    columns: tuple[str, ...],
    rows: Sequence[Sequence[object]],
) -> int:
    """Insert `rows` (values of `columns`, in order), or update the row with the same
    (location_id, external_id); returns how many rows were written."""
    upsert = sql.dialect().pick(postgres=_upsert_arrays, sqlite=_upsert_batches)
    return await upsert(db or sql.pool(), table, columns, rows)


async def _upsert_arrays(
    db: BaseDBAsyncClient, table: str, columns: tuple[str, ...], rows: Sequence[Sequence[object]]
) -> int:
    """One statement for every row, whatever their number: the values as one array per
    column (prepared once per table), unnested into rows."""
    if not rows:
        return 0
    names = ", ".join(f'"{column}"' for column in columns)
    aliases = ", ".join(columns)
    arrays = ", ".join(f"${n}::{_PG_TYPES.get(c, 'text')}[]" for n, c in enumerate(columns, 1))
    selected = ", ".join(f"u.{c}::{_PG_CASTS[c]}" if c in _PG_CASTS else f"u.{c}" for c in columns)
    statement = (
        f'INSERT INTO "{table}" ({names}) SELECT {selected} FROM unnest({arrays}) AS u'
        f"({aliases}) {_conflict_update(columns)}"
    )
    await sql.execute(db, statement, [list(values) for values in zip(*rows, strict=True)])
    return len(rows)


async def _upsert_batches(
    db: BaseDBAsyncClient, table: str, columns: tuple[str, ...], rows: Sequence[Sequence[object]]
) -> int:
    """One statement per `BATCH_ROWS` rows, the values inline."""
    names = ", ".join(f'"{column}"' for column in columns)
    written = 0
    for batch in batches(rows):
        width = len(columns)
        groups = ("(" + ", ".join("?" * width) + ")" for _ in batch)
        statement = (
            f'INSERT INTO "{table}" ({names}) VALUES {", ".join(groups)} '
            f"{_conflict_update(columns)}"
        )
        await sql.execute(db, statement, [value for row in batch for value in row])
        written += len(batch)
    return written


# PostgreSQL types of the mirror's columns that are not text, for the upsert's arrays; and the
# casts from what the arrays carry to the column's type.
_PG_TYPES = {
    "location_id": "uuid",
    "daily_limit": "bigint",
    "value": "bigint",
    "min_basket": "bigint",
    "enabled": "boolean",
    "active": "boolean",
    "removed": "boolean",
    "last_seen_at": "timestamptz",
    "updated_at": "timestamptz",
}
_PG_CASTS = {"discount_ids": "jsonb"}


_GROUP_COLUMNS = (
    "location_id",
    "external_id",
    "name",
    "reference",
    "reference_key",
    "daily_limit",
    "discount_ids",
    "removed",
    "last_seen_at",
    "updated_at",
)


async def upsert_pos_groups(
    location_id: UUID,
    rows: Sequence[MirrorPosGroup],
    now: datetime,
    db: BaseDBAsyncClient | None = None,
) -> int:
    """Write GoPOS groups (new, changed, or back after being removed); returns rows written."""
    at, location = utc(now), location_id
    values = [
        (
            location,
            row.external_id,
            row.name,
            row.reference,
            reference_key(row.reference),
            row.daily_limit,
            json.dumps(list(row.discount_ids), separators=(",", ":")),
            False,
            at,
            at,
        )
        for row in rows
    ]
    return await _upsert(db, "pos_customer_groups", _GROUP_COLUMNS, values)


_DISCOUNT_COLUMNS = (
    "location_id",
    "external_id",
    "name",
    "type",
    "value",
    "enabled",
    "removed",
    "last_seen_at",
    "updated_at",
)


async def upsert_pos_discounts(
    location_id: UUID,
    rows: Sequence[MirrorDiscount],
    now: datetime,
    db: BaseDBAsyncClient | None = None,
) -> int:
    """Write GoPOS discounts (new, changed, or back after being removed); returns rows
    written."""
    at, location = utc(now), location_id
    values = [
        (location, row.external_id, row.name, row.type.value, row.value, row.enabled, False, at, at)
        for row in rows
    ]
    return await _upsert(db, "pos_discounts", _DISCOUNT_COLUMNS, values)


_PROMOTION_COLUMNS = (
    "location_id",
    "external_id",
    "name",
    "reference",
    "reference_key",
    "type",
    "add_type",
    "value",
    "min_basket",
    "active",
    "removed",
    "last_seen_at",
    "updated_at",
)


async def upsert_promotions(
    location_id: UUID,
    rows: Sequence[MirrorPromotion],
    now: datetime,
    db: BaseDBAsyncClient | None = None,
) -> int:
    """Write GoOrder promotions (new, changed, or back after being removed); returns rows
    written."""
    at, location = utc(now), location_id
    values = [
        (
            location,
            row.external_id,
            row.name,
            row.reference,
            reference_key(row.reference),
            row.type.value,
            row.add_type,
            row.value,
            row.min_basket,
            row.active,
            False,
            at,
            at,
        )
        for row in rows
    ]
    return await _upsert(db, "order_promotions", _PROMOTION_COLUMNS, values)


async def mark_removed(
    table: MirrorTable,
    location_id: UUID,
    external_ids: Sequence[str],
    now: datetime,
    db: BaseDBAsyncClient | None = None,
) -> int:
    """Flag the given rows as gone upstream (the rows stay); returns how many were not
    flagged before."""
    at = utc(now)
    marked = 0
    for batch in batches(external_ids):
        marked += await (
            table.model.filter(location_id=location_id, external_id__in=list(batch), removed=False)
            .using_db(db)
            .update(removed=True, updated_at=at)
        )
    return marked


_BUMP_POSTGRES = (
    "WITH bumped AS (UPDATE locations SET sync_version = sync_version + 1 WHERE id = $1 "
    "RETURNING sync_version) SELECT sync_version FROM bumped"
)
_BUMP_SQLITE = (
    "UPDATE locations SET sync_version = sync_version + 1 WHERE id = ? RETURNING sync_version"
)


async def sync_version(location_id: UUID) -> int:
    """The location's sync version (0 for an unknown location)."""
    found = await Location.filter(id=location_id).values_list("sync_version", flat=True)
    return int(str(found[0])) if found else 0


async def bump_sync_version(location_id: UUID, db: BaseDBAsyncClient | None = None) -> int:
    """Count one more change of the location's mirror; returns the new version."""
    statement = sql.dialect().pick(postgres=_BUMP_POSTGRES, sqlite=_BUMP_SQLITE)
    rows = await sql.fetch(db or sql.pool(), statement, [location_id])
    if not rows:
        raise LookupError(f"no location {location_id}")
    return int(rows[0]["sync_version"])
