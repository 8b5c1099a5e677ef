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
from models.entities import Location
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


async def removed_rows(
    model: MirrorModel, location_id: UUID, db: BaseDBAsyncClient | None = None
) -> list[tuple[datetime, str]]:
    """`(updated_at, external_id)` of the location's rows marked removed in one mirror table."""
    rows = (
        await model.filter(location_id=location_id, removed=True)
        .using_db(db)
        .values_list("updated_at", "external_id")
    )
    return [(updated_at, str(external_id)) for updated_at, external_id in rows]


async def delete_rows(
    model: MirrorModel,
    location_id: UUID,
    external_ids: Sequence[str],
    db: BaseDBAsyncClient | None = None,
) -> int:
    """Delete the location's rows with these external ids from one mirror table; returns how
    many went."""
    deleted = 0
    for batch in _batches(external_ids):
        deleted += await (
            model.filter(location_id=location_id, external_id__in=list(batch)).using_db(db).delete()
        )
    return deleted


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


# ------------------------------------------------------------- reads by reference (indexed)


@dataclass(frozen=True, slots=True)
class Matched(Generic[T]):
    """The mirror rows with one reference key that a connection shows: the first `shown` of
    them that can link a group and the first `shown` that cannot, each by external id; and
    how many there are of each."""

    rows: tuple[Mirrored[T], ...]
    counting_total: int
    others_total: int


_GROUP_READ = ("external_id", "name", "reference", "daily_limit", "discount_ids", "removed")
_PROMOTION_READ = (
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


def _mark(postgres: bool, number: int) -> str:
    """The placeholder of parameter `number`."""
    return f"${number}" if postgres else "?"


def _keys_clause(postgres: bool, column: str, placeholder: str, *, negate: bool) -> str:
    """`column` among (or, negated, not among) the keys passed as one parameter: an array on
    PostgreSQL, a JSON list on SQLite."""
    if postgres:
        return f"{column} {'<> ALL' if negate else '= ANY'}({placeholder}::text[])"
    return f"{column} {'NOT IN' if negate else 'IN'} (SELECT value FROM json_each({placeholder}))"


def _keys_value(keys: Sequence[str], postgres: bool) -> object:
    return list(keys) if postgres else json.dumps(list(keys))


def _group_row(row: dict[str, object]) -> Mirrored[MirrorPosGroup]:
    ids = row["discount_ids"]
    discount_ids = json.loads(ids) if isinstance(ids, str | bytes) else ids
    group = MirrorPosGroup(
        str(row["external_id"]),
        str(row["name"]),
        None if row["reference"] is None else str(row["reference"]),
        None if row["daily_limit"] is None else int(str(row["daily_limit"])),
        tuple(str(i) for i in discount_ids or ()),  # type: ignore[union-attr]
    )
    return Mirrored(group, bool(row["removed"]))


def _promotion_row(row: dict[str, object]) -> Mirrored[MirrorPromotion]:
    basket = row["min_basket"]
    promotion = MirrorPromotion(
        external_id=str(row["external_id"]),
        name=str(row["name"]),
        reference=None if row["reference"] is None else str(row["reference"]),
        type=PromotionType(str(row["type"])),
        add_type=str(row["add_type"]),
        value=int(str(row["value"])),
        min_basket=None if basket is None else int(str(basket)),
        active=bool(row["active"]),
    )
    return Mirrored(promotion, bool(row["removed"]))


async def _matched(
    table: str,
    columns: tuple[str, ...],
    counting: str,
    location_id: UUID,
    keys: Sequence[str],
    shown: int,
    db: BaseDBAsyncClient | None,
) -> dict[str, tuple[list[dict[str, object]], int, int]]:
    """Per reference key among `keys`: the rows shown (see `Matched`), and how many rows can
    link a group (`counting`, an SQL condition) and how many cannot. One statement on the
    (location_id, reference_key) index, whatever the number of keys."""
    if not keys:
        return {}
    client = _client(db)
    postgres = client.capabilities.dialect == "postgres"
    order = 'external_id COLLATE "C"' if postgres else "external_id"
    window = f"PARTITION BY reference_key, {counting}"
    selected = ", ".join(columns)
    sql = (
        f"SELECT reference_key, {selected}, counting, total FROM ("
        f"SELECT reference_key, {selected}, {counting} AS counting,"
        f" row_number() OVER ({window} ORDER BY {order}) AS n,"
        f" count(*) OVER ({window}) AS total"
        f' FROM "{table}" WHERE location_id = {_mark(postgres, 1)}'
        f" AND {_keys_clause(postgres, 'reference_key', _mark(postgres, 2), negate=False)}"
        f") AS found WHERE n <= {_mark(postgres, 3)} ORDER BY reference_key, {order}"
    )
    values = [_location(location_id, postgres), _keys_value(keys, postgres), shown]
    _, rows = await client.execute_query(sql, values)
    found: dict[str, tuple[list[dict[str, object]], int, int]] = {}
    for row in rows:
        record = dict(row)
        key = str(record["reference_key"])
        shown_rows, counting_total, others_total = found.get(key, ([], 0, 0))
        shown_rows.append(record)
        if record["counting"]:
            counting_total = int(record["total"])
        else:
            others_total = int(record["total"])
        found[key] = (shown_rows, counting_total, others_total)
    return found


async def pos_groups_matching(
    location_id: UUID, keys: Sequence[str], shown: int, db: BaseDBAsyncClient | None = None
) -> dict[str, Matched[MirrorPosGroup]]:
    """The GoPOS groups whose reference key is one of `keys`, as `Matched` per key (keys
    with no group left out)."""
    found = await _matched(
        "pos_customer_groups", _GROUP_READ, "NOT removed", location_id, keys, shown, db
    )
    return {
        key: Matched(tuple(_group_row(row) for row in rows), counting, others)
        for key, (rows, counting, others) in found.items()
    }


async def promotions_matching(
    location_id: UUID, keys: Sequence[str], shown: int, db: BaseDBAsyncClient | None = None
) -> dict[str, Matched[MirrorPromotion]]:
    """The GoOrder promotions whose reference key is one of `keys`, as `Matched` per key
    (keys with no promotion left out)."""
    counting = "(active AND NOT removed)"
    found = await _matched(
        "order_promotions", _PROMOTION_READ, counting, location_id, keys, shown, db
    )
    return {
        key: Matched(tuple(_promotion_row(row) for row in rows), counting_total, others)
        for key, (rows, counting_total, others) in found.items()
    }


async def pos_discounts(
    location_id: UUID, external_ids: Sequence[str], db: BaseDBAsyncClient | None = None
) -> dict[str, Mirrored[MirrorDiscount]]:
    """The GoPOS discounts with these external ids (removed ones included), by external id."""
    if not external_ids:
        return {}
    rows = (
        await PosDiscountMirror.filter(location_id=location_id, external_id__in=list(external_ids))
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


async def unmatched_references(
    location_id: UUID,
    channel: Channel,
    known_keys: Sequence[str],
    limit: int,
    db: BaseDBAsyncClient | None = None,
) -> list[str]:
    """The first `limit` references of the channel's mirrored objects (not removed) whose key
    is none of `known_keys`, one per key (its least spelling), sorted: what
    `domain.sync.unmatched_references` answers, from one statement on the
    (location_id, reference_key) index."""
    client = _client(db)
    postgres = client.capabilities.dialect == "postgres"
    table = "pos_customer_groups" if channel is Channel.GOPOS else "order_promotions"
    spelled = 'min(reference COLLATE "C")' if postgres else "min(reference)"
    sql = (
        f'SELECT {spelled} AS spelled FROM "{table}" WHERE location_id = {_mark(postgres, 1)}'
        " AND NOT removed AND reference_key IS NOT NULL AND reference_key <> ''"
        f" AND {_keys_clause(postgres, 'reference_key', _mark(postgres, 2), negate=True)}"
        f" GROUP BY reference_key ORDER BY spelled LIMIT {_mark(postgres, 3)}"
    )
    values = [_location(location_id, postgres), _keys_value(known_keys, postgres), limit]
    _, rows = await client.execute_query(sql, values)
    return [str(dict(row)["spelled"]) for row in rows]


async def names(
    channel: Channel, location_id: UUID, db: BaseDBAsyncClient | None = None
) -> list[tuple[str, str]]:
    """`(external_id, name)` of each of the location's GoPOS groups or GoOrder promotions,
    removed ones included: what a page of the mirror is ordered by, and nothing more."""
    model = PosGroupMirror if channel is Channel.GOPOS else OrderPromotionMirror
    rows = (
        await model.filter(location_id=location_id).using_db(db).values_list("external_id", "name")
    )
    return [(str(external_id), str(name)) for external_id, name in rows]


async def pos_groups_by_id(
    location_id: UUID, external_ids: Sequence[str], db: BaseDBAsyncClient | None = None
) -> dict[str, Mirrored[MirrorPosGroup]]:
    """The GoPOS groups with these external ids, by external id."""
    rows = (
        await PosGroupMirror.filter(location_id=location_id, external_id__in=list(external_ids))
        .using_db(db)
        .values(*_GROUP_READ)
    )
    return {str(row["external_id"]): _group_row(row) for row in rows}


async def promotions_by_id(
    location_id: UUID, external_ids: Sequence[str], db: BaseDBAsyncClient | None = None
) -> dict[str, Mirrored[MirrorPromotion]]:
    """The GoOrder promotions with these external ids, by external id."""
    rows = (
        await OrderPromotionMirror.filter(
            location_id=location_id, external_id__in=list(external_ids)
        )
        .using_db(db)
        .values(*_PROMOTION_READ)
    )
    return {str(row["external_id"]): _promotion_row(row) for row in rows}


# ------------------------------------------------------------------------------------- purge

_PURGE = (
    'DELETE FROM "{table}" WHERE id IN (SELECT id FROM "{table}" WHERE removed'
    " AND updated_at < {before} ORDER BY updated_at LIMIT {batch}{skip}) RETURNING location_id"
)
# Tortoise's asyncpg client reads no rows back from a statement that starts with DELETE.
_PURGE_POSTGRES = "WITH purged AS (" + _PURGE + ") SELECT location_id FROM purged"


async def purge_removed(model: MirrorModel, before: datetime, batch: int) -> list[UUID]:
    """Delete up to `batch` rows of one mirror table marked removed before `before`, the
    oldest first (the (removed, updated_at) index); returns the location of each row deleted.
    On PostgreSQL a row that a sync holds is skipped, never waited for."""
    client = _client(None)
    postgres = client.capabilities.dialect == "postgres"
    sql = (_PURGE_POSTGRES if postgres else _PURGE).format(
        table=model._meta.db_table,
        before=_mark(postgres, 1),
        batch=_mark(postgres, 2),
        skip=" FOR UPDATE SKIP LOCKED" if postgres else "",
    )
    _, rows = await client.execute_query(sql, [_utc(before), batch])
    return [UUID(str(dict(row)["location_id"])) for row in rows]
