"""What a sync changes in one mirror table: the fetched rows that differ from the mirror, the
rows to mark removed, and the rows removed before that are still gone.

On PostgreSQL the mirror is compared where it lives: the fetched rows go in as one array per
column, and one statement joins them to the location's rows (a full join) and answers only what
differs, as one row of arrays: the position of each fetched row that is new, changed or back
after being removed, and the id of each mirror row the upstream no longer holds. An unchanged
mirror answers three empty (NULL) arrays, whatever its size. An empty mirror (a first sync) is
seen by one lookup on its index, and the fetched rows are not sent to be compared. On SQLite
the location's rows are read whole and `domain.mirror_diff.diff_rows` compares them. Both give the
same `TableDiff`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.mirror_diff import MirrorDiff, diff_rows
from domain.sync import MirrorDiscount, MirrorPosGroup, MirrorPromotion
from models import sql
from models.mirror.reads import existing_pos, existing_promotions

Row = TypeVar("Row", MirrorDiscount, MirrorPosGroup, MirrorPromotion)


@dataclass(frozen=True, slots=True)
class TableDiff(Generic[Row]):
    diff: MirrorDiff[Row]
    kept_removed: frozenset[str]  # rows removed before, and still gone


@dataclass(frozen=True, slots=True)
class _Compared:
    """How one table's rows are compared: each compared column with its PostgreSQL type and
    the expression that reads the fetched value as the column's type."""

    table: str
    columns: tuple[tuple[str, str], ...]  # (column, array type)
    casts: tuple[tuple[str, str], ...] = ()  # (column, cast of the fetched value)


_DISCOUNTS = _Compared(
    "pos_discounts",
    (("name", "text"), ("type", "text"), ("value", "bigint"), ("enabled", "boolean")),
)
_GROUPS = _Compared(
    "pos_customer_groups",
    (
        ("name", "text"),
        ("reference", "text"),
        ("daily_limit", "bigint"),
        ("discount_ids", "text"),
    ),
    (("discount_ids", "jsonb"),),
)
_PROMOTIONS = _Compared(
    "order_promotions",
    (
        ("name", "text"),
        ("reference", "text"),
        ("type", "text"),
        ("add_type", "text"),
        ("value", "bigint"),
        ("min_basket", "bigint"),
        ("active", "boolean"),
    ),
)


def _statement(compared: _Compared) -> str:
    """The full join of the fetched rows ($2 the ids, then one array per compared column) with
    the location's ($1) rows, keeping only what differs, answered as one row of three arrays
    (NULL when empty): the positions of the fetched rows to write, the ids to mark removed, and
    the ids of the rows removed before that are still gone."""
    names = [column for column, _ in compared.columns]
    arrays = ", ".join(
        f"${n}::{kind}[]" for n, (_, kind) in enumerate((("", "text"), *compared.columns), 2)
    )
    casts = dict(compared.casts)
    fetched = ", ".join(f"f.{c}::{casts[c]}" if c in casts else f"f.{c}" for c in names)
    mirrored = ", ".join(f't."{c}"' for c in names)
    return (
        "SELECT array_agg(f.n ORDER BY f.n) FILTER (WHERE f.n IS NOT NULL), "
        "array_agg(t.external_id) FILTER (WHERE f.n IS NULL AND NOT t.removed), "
        "array_agg(t.external_id) FILTER (WHERE f.n IS NULL AND t.removed) "
        f"FROM unnest({arrays}) WITH ORDINALITY AS f(external_id, {', '.join(names)}, n) "
        f'FULL JOIN (SELECT * FROM "{compared.table}" WHERE location_id = $1) AS t '
        "ON t.external_id = f.external_id "
        "WHERE f.n IS NULL OR t.external_id IS NULL OR t.removed "
        f"OR ({mirrored}) IS DISTINCT FROM ({fetched})"
    )


_STATEMENTS = {c.table: _statement(c) for c in (_DISCOUNTS, _GROUPS, _PROMOTIONS)}
_ANY = {
    c.table: f'SELECT EXISTS (SELECT 1 FROM "{c.table}" WHERE location_id = $1)'
    for c in (_DISCOUNTS, _GROUPS, _PROMOTIONS)
}


async def _compared_in_sql(
    db: BaseDBAsyncClient,
    compared: _Compared,
    location_id: UUID,
    rows: Sequence[Row],
    values: Callable[[Row], tuple[object, ...]],
) -> TableDiff[Row]:
    ids = [row.external_id for row in rows]
    if len(set(ids)) != len(ids):
        raise ValueError("an external id is fetched twice")
    if not (await sql.fetch(db, _ANY[compared.table], [location_id]))[0][0]:
        # An empty mirror (a first sync): every fetched row is new; none is sent to compare.
        return TableDiff(MirrorDiff(tuple(rows), (), 0), frozenset())
    columns: list[list[object]] = [[] for _ in compared.columns]
    for row in rows:
        for column, value in zip(columns, values(row), strict=True):
            column.append(value)
    found = await sql.fetch(db, _STATEMENTS[compared.table], [location_id, ids, *columns])
    positions, removals, kept = found[0]
    upserts = tuple(rows[n - 1] for n in positions or ())
    diff = MirrorDiff(upserts, tuple(sorted(removals or ())), len(rows) - len(upserts))
    return TableDiff(diff, frozenset(kept or ()))


def _discount_values(row: MirrorDiscount) -> tuple[object, ...]:
    return row.name, row.type.value, row.value, row.enabled


def _group_values(row: MirrorPosGroup) -> tuple[object, ...]:
    ids = json.dumps(list(row.discount_ids), separators=(",", ":"))
    return row.name, row.reference, row.daily_limit, ids


def _promotion_values(row: MirrorPromotion) -> tuple[object, ...]:
    return (
        row.name,
        row.reference,
        row.type.value,
        row.add_type,
        row.value,
        row.min_basket,
        row.active,
    )


async def diff_pos(
    location_id: UUID,
    groups: Sequence[MirrorPosGroup],
    discounts: Sequence[MirrorDiscount],
    db: BaseDBAsyncClient | None = None,
) -> tuple[TableDiff[MirrorPosGroup], TableDiff[MirrorDiscount]]:
    """What the GoPOS mirror of the location lacks to hold `groups` and `discounts`."""
    if sql.dialect().pick(postgres=True, sqlite=False):
        connection = db or sql.pool()
        return (
            await _compared_in_sql(connection, _GROUPS, location_id, groups, _group_values),
            await _compared_in_sql(
                connection, _DISCOUNTS, location_id, discounts, _discount_values
            ),
        )
    known_groups, removed_groups, known_discounts, removed_discounts = await existing_pos(
        location_id, db
    )
    return (
        _compared_in_python(known_groups, removed_groups, groups),
        _compared_in_python(known_discounts, removed_discounts, discounts),
    )


async def diff_promotions(
    location_id: UUID,
    promotions: Sequence[MirrorPromotion],
    db: BaseDBAsyncClient | None = None,
) -> TableDiff[MirrorPromotion]:
    """What the GoOrder mirror of the location lacks to hold `promotions`."""
    if sql.dialect().pick(postgres=True, sqlite=False):
        return await _compared_in_sql(
            db or sql.pool(), _PROMOTIONS, location_id, promotions, _promotion_values
        )
    known, removed = await existing_promotions(location_id, db)
    return _compared_in_python(known, removed, promotions)


def _compared_in_python(
    known: dict[str, Row], removed: set[str], rows: Sequence[Row]
) -> TableDiff[Row]:
    ids = {row.external_id for row in rows}
    return TableDiff(diff_rows(known, rows, removed), frozenset(removed - ids))
