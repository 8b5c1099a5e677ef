"""The GoPOS and GoOrder mirror: set-based writes for a sync, and the reads of the API.

A sync reads the mirror as domain rows (`existing_pos`, `existing_promotions`), lets
`domain.sync.diff_rows` work out what changed, and writes only that: `upsert_*` runs one
`INSERT … ON CONFLICT (location_id, external_id) DO UPDATE` per batch of rows (the same text on
PostgreSQL and SQLite but for the placeholders), which also brings a removed row back, and
`mark_removed` flags rows gone upstream without deleting them. A second identical sync writes
nothing. Every function joins the caller's transaction when `db` is one.

Rows come back as the domain's mirror rows, with the removed flag beside them (`Mirrored`), or
as `domain.sync.MirrorObject` for the connections view; never as model instances.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar
from uuid import UUID

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from domain.references import normalise_reference
from domain.sync import (
    DiscountType,
    MirrorDiscount,
    MirrorObject,
    MirrorPosGroup,
    MirrorPromotion,
    PromotionType,
)
from domain.upstream import Channel
from models.integrations import OrderPromotionMirror, PosDiscountMirror, PosGroupMirror, SyncRun

BATCH_ROWS = 500
"""Rows per statement: at most 14 parameters a row keeps a batch far below either engine's
limit on parameters."""

SUCCEEDED = "SUCCEEDED"  # the job status of a finished sync run

MirrorModel = type[PosGroupMirror] | type[PosDiscountMirror] | type[OrderPromotionMirror]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Mirrored(Generic[T]):
    """A mirror row and whether it is marked removed (gone upstream)."""

    row: T
    removed: bool


def _client(db: BaseDBAsyncClient | None) -> BaseDBAsyncClient:
    client: BaseDBAsyncClient = db or connections.get("default")
    return client


def _batches(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), BATCH_ROWS):
        yield items[start : start + BATCH_ROWS]


def _utc(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("the time of a mirror write must be timezone-aware")
    return now.astimezone(UTC)


def _reference_key(reference: str | None) -> str | None:
    return None if reference is None else normalise_reference(reference)


# ------------------------------------------------------------------------------------ writes


async def _upsert(
    db: BaseDBAsyncClient | None,
    table: str,
    columns: tuple[str, ...],
    rows: Sequence[Sequence[object]],
) -> int:
    """Insert `rows` (values of `columns`, in order), or update the row with the same
    (location_id, external_id); returns how many rows were written."""
    client = _client(db)
    postgres = client.capabilities.dialect == "postgres"
    names = ", ".join(f'"{column}"' for column in columns)
    updates = ", ".join(
        f'"{column}" = excluded."{column}"'
        for column in columns
        if column not in ("location_id", "external_id")
    )
    if postgres and rows:
        # One statement for every row, whatever their number: the values as one array per
        # column (prepared once per table), unnested into rows.
        aliases = ", ".join(columns)
        arrays = ", ".join(f"${n}::{_PG_TYPES.get(c, 'text')}[]" for n, c in enumerate(columns, 1))
        selected = ", ".join(
            f"u.{c}::{_PG_CASTS[c]}" if c in _PG_CASTS else f"u.{c}" for c in columns
        )
        sql = (
            f'INSERT INTO "{table}" ({names}) SELECT {selected} FROM unnest({arrays}) AS u'
            f'({aliases}) ON CONFLICT ("location_id", "external_id") DO UPDATE SET {updates}'
        )
        await client.execute_query(sql, [list(values) for values in zip(*rows, strict=True)])
        return len(rows)
    written = 0
    for batch in _batches(rows):
        width = len(columns)
        groups = ("(" + ", ".join("?" * width) + ")" for _ in batch)
        sql = (
            f'INSERT INTO "{table}" ({names}) VALUES {", ".join(groups)} '
            f'ON CONFLICT ("location_id", "external_id") DO UPDATE SET {updates}'
        )
        values = [value for row in batch for value in row]
        await client.execute_query(sql, values)
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


def _location(location_id: UUID, postgres: bool) -> object:
    return location_id if postgres else str(location_id)


def _is_postgres(db: BaseDBAsyncClient | None) -> bool:
    return _client(db).capabilities.dialect == "postgres"


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
    at, location = _utc(now), _location(location_id, _is_postgres(db))
    values = [
        (
            location,
            row.external_id,
            row.name,
            row.reference,
            _reference_key(row.reference),
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
    at, location = _utc(now), _location(location_id, _is_postgres(db))
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
    at, location = _utc(now), _location(location_id, _is_postgres(db))
    values = [
        (
            location,
            row.external_id,
            row.name,
            row.reference,
            _reference_key(row.reference),
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
    model: MirrorModel,
    location_id: UUID,
    external_ids: Sequence[str],
    now: datetime,
    db: BaseDBAsyncClient | None = None,
) -> int:
    """Flag the given rows as gone upstream (the rows stay); returns how many were not
    flagged before."""
    at = _utc(now)
    marked = 0
    for batch in _batches(external_ids):
        marked += await (
            model.filter(location_id=location_id, external_id__in=list(batch), removed=False)
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


async def bump_sync_version(location_id: UUID, db: BaseDBAsyncClient | None = None) -> int:
    """Count one more change of the location's mirror; returns the new version."""
    client = _client(db)
    if client.capabilities.dialect == "postgres":
        _, rows = await client.execute_query(_BUMP_POSTGRES, [location_id])
    else:
        _, rows = await client.execute_query(_BUMP_SQLITE, [str(location_id)])
    if not rows:
        raise LookupError(f"no location {location_id}")
    return int(rows[0]["sync_version"])


# ------------------------------------------------------------------------------------- reads


def _by_name(item: Mirrored[MirrorPosGroup] | Mirrored[MirrorPromotion]) -> tuple[str, str]:
    return item.row.name.casefold(), item.row.external_id


async def pos_groups(
    location_id: UUID, db: BaseDBAsyncClient | None = None
) -> list[Mirrored[MirrorPosGroup]]:
    """The location's GoPOS groups, removed ones included, by name."""
    rows = (
        await PosGroupMirror.filter(location_id=location_id)
        .using_db(db)
        .values_list("external_id", "name", "reference", "daily_limit", "discount_ids", "removed")
    )
    groups = [
        Mirrored(MirrorPosGroup(external_id, name, reference, limit, tuple(ids)), bool(removed))
        for external_id, name, reference, limit, ids, removed in rows
    ]
    return sorted(groups, key=_by_name)


async def pos_discounts_by_id(
    location_id: UUID, db: BaseDBAsyncClient | None = None
) -> dict[str, Mirrored[MirrorDiscount]]:
    """The location's GoPOS discounts by external id, removed ones included."""
    rows = (
        await PosDiscountMirror.filter(location_id=location_id)
        .using_db(db)
        .values_list("external_id", "name", "type", "value", "enabled", "removed")
    )
    return {
        external_id: Mirrored(
            MirrorDiscount(external_id, name, DiscountType(kind), value, bool(enabled)),
            bool(removed),
        )
        for external_id, name, kind, value, enabled, removed in rows
    }


async def promotions(
    location_id: UUID, db: BaseDBAsyncClient | None = None
) -> list[Mirrored[MirrorPromotion]]:
    """The location's GoOrder promotions, removed ones included, by name."""
    rows = (
        await OrderPromotionMirror.filter(location_id=location_id)
        .using_db(db)
        .values_list(
            "external_id",
            "name",
            "reference",
            "type",
            "add_type",
            "value",
            "min_basket",
            "active",
            "removed",
        )
    )
    found = [
        Mirrored(
            MirrorPromotion(
                external_id=external_id,
                name=name,
                reference=reference,
                type=PromotionType(kind),
                add_type=add_type,
                value=value,
                min_basket=min_basket,
                active=bool(active),
            ),
            bool(removed),
        )
        for external_id, name, reference, kind, add_type, value, min_basket, active, removed in rows
    ]
    return sorted(found, key=_by_name)


async def existing_pos(
    location_id: UUID, db: BaseDBAsyncClient | None = None
) -> tuple[dict[str, MirrorPosGroup], set[str], dict[str, MirrorDiscount], set[str]]:
    """The GoPOS mirror as `diff_rows` compares it: (groups by id, ids of removed groups,
    discounts by id, ids of removed discounts)."""
    groups = await pos_groups(location_id, db)
    discounts = await pos_discounts_by_id(location_id, db)
    return (
        {item.row.external_id: item.row for item in groups},
        {item.row.external_id for item in groups if item.removed},
        {key: item.row for key, item in discounts.items()},
        {key for key, item in discounts.items() if item.removed},
    )


async def existing_promotions(
    location_id: UUID, db: BaseDBAsyncClient | None = None
) -> tuple[dict[str, MirrorPromotion], set[str]]:
    """The GoOrder mirror as `diff_rows` compares it: (promotions by id, ids of removed
    ones)."""
    found = await promotions(location_id, db)
    return (
        {item.row.external_id: item.row for item in found},
        {item.row.external_id for item in found if item.removed},
    )


async def mirror_objects(
    location_id: UUID, channel: Channel, db: BaseDBAsyncClient | None = None
) -> list[MirrorObject]:
    """One channel's mirrored objects as the connections view sees them (GoPOS groups or
    GoOrder promotions), removed ones included, by external id."""
    if channel is Channel.GOPOS:
        groups = (
            await PosGroupMirror.filter(location_id=location_id)
            .using_db(db)
            .values_list("external_id", "name", "reference", "removed")
        )
        objects = [
            MirrorObject(external_id, name, reference, removed=bool(removed))
            for external_id, name, reference, removed in groups
        ]
    else:
        found = (
            await OrderPromotionMirror.filter(location_id=location_id)
            .using_db(db)
            .values_list("external_id", "name", "reference", "removed", "active")
        )
        objects = [
            MirrorObject(external_id, name, reference, removed=bool(removed), active=bool(active))
            for external_id, name, reference, removed, active in found
        ]
    return sorted(objects, key=lambda item: item.external_id)


async def has_succeeded_sync(
    location_id: UUID, channel: Channel, db: BaseDBAsyncClient | None = None
) -> bool:
    """Whether a sync of the channel ever succeeded for the location."""
    return bool(
        await SyncRun.filter(location_id=location_id, channel=channel.value, status=SUCCEEDED)
        .using_db(db)
        .exists()
    )
