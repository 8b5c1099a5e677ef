"""The mirror's reads by reference, on the (location_id, reference_key) index.

A connection shows, per reference CRM groups use, the mirror rows with that reference key, and
lists the references nobody uses yet: one statement each, whatever the number of keys, so that
the cost follows the references in use and never the size of the mirror.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.sync import MirrorPosGroup, MirrorPromotion
from domain.upstream import Channel
from models import sql
from models.mirror.rows import (
    GROUP_READ,
    PROMOTION_READ,
    Mirrored,
    T,
    group_row,
    promotion_row,
)


@dataclass(frozen=True, slots=True)
class Matched(Generic[T]):
    """The mirror rows with one reference key that a connection shows: the first `shown` of
    them that can link a group and the first `shown` that cannot, each by external id; and
    how many there are of each."""

    rows: tuple[Mirrored[T], ...]
    counting_total: int
    others_total: int


def matched_statement(d: sql.Dialect, table: str, columns: tuple[str, ...], counting: str) -> str:
    """Per reference key among the keys `$2`, the first `$3` rows of each side of `counting`
    by external id (byte order, as Python sorts), with the size of their side."""
    order = d.collate_c("external_id")
    window = f"PARTITION BY reference_key, {counting}"
    selected = ", ".join(columns)
    return (
        f"SELECT reference_key, {selected}, counting, total FROM ("
        f"SELECT reference_key, {selected}, {counting} AS counting,"
        f" row_number() OVER ({window} ORDER BY {order}) AS n,"
        f" count(*) OVER ({window}) AS total"
        f' FROM "{table}" WHERE location_id = {d.mark(1)}'
        f" AND {d.keys_in('reference_key', d.mark(2))}"
        f") AS found WHERE n <= {d.mark(3)} ORDER BY reference_key, {order}"
    )


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
    d = sql.dialect()
    statement = matched_statement(d, table, columns, counting)
    values = [location_id, d.keys(keys), shown]
    rows = await sql.fetch(db or sql.pool(), statement, values)
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
        "pos_customer_groups", GROUP_READ, "NOT removed", location_id, keys, shown, db
    )
    return {
        key: Matched(tuple(group_row(row) for row in rows), counting, others)
        for key, (rows, counting, others) in found.items()
    }


async def promotions_matching(
    location_id: UUID, keys: Sequence[str], shown: int, db: BaseDBAsyncClient | None = None
) -> dict[str, Matched[MirrorPromotion]]:
    """The GoOrder promotions whose reference key is one of `keys`, as `Matched` per key
    (keys with no promotion left out)."""
    counting = "(active AND NOT removed)"
    found = await _matched(
        "order_promotions", PROMOTION_READ, counting, location_id, keys, shown, db
    )
    return {
        key: Matched(tuple(promotion_row(row) for row in rows), counting_total, others)
        for key, (rows, counting_total, others) in found.items()
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
    `domain.links.unmatched_references` answers, from one statement on the
    (location_id, reference_key) index."""
    d = sql.dialect()
    table = "pos_customer_groups" if channel is Channel.GOPOS else "order_promotions"
    statement = (
        f'SELECT min({d.collate_c("reference")}) AS spelled FROM "{table}"'
        f" WHERE location_id = {d.mark(1)}"
        " AND NOT removed AND reference_key IS NOT NULL AND reference_key <> ''"
        f" AND {d.keys_in('reference_key', d.mark(2), negate=True)}"
        f" GROUP BY reference_key ORDER BY spelled LIMIT {d.mark(3)}"
    )
    values = [location_id, d.keys(known_keys), limit]
    rows = await sql.fetch(db or sql.pool(), statement, values)
    return [str(dict(row)["spelled"]) for row in rows]
