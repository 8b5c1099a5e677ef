"""A sync's writes to the mirror, and the periodic purge of what stayed removed.

`write` writes only what changed (worked out by `models.mirror.diff`: in SQL on PostgreSQL) and
marks what vanished as removed, in chunks of at most
`Runtime.chunk_size` rows, each a transaction of its own that bumps the location's sync version;
no transaction lasts longer than a chunk, and a second run over the same data writes nothing.
The mirror of a channel, removed rows included, never holds more than
`Runtime.mirror_max_objects` rows (`_within_cap`). `purge_removed` deletes, a bounded batch at a
time, the rows marked removed longer than `Runtime.mirror_retention` ago.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.sync import GoorderRows, GoposRows, MirrorDiscount, MirrorPosGroup
from models import mirror
from models.db import Transaction, transaction
from models.mirror import MirrorTable, TableDiff
from services.lifecycle import Attempt
from services.runtime import Runtime

log = logging.getLogger("services.sync")  # the package's logger, whichever module logs


Step = Callable[[Sequence[Any], Transaction], Awaitable[int]]


@dataclass(frozen=True)
class _Table:
    """What a sync does to one mirror table: rows to write, ids to mark removed, and ids of
    removed rows to delete so that the location's mirror stays within the cap."""

    name: MirrorTable
    upserts: Sequence[Any]
    removals: Sequence[str]
    fetched: int  # rows the upstream holds
    kept_removed: frozenset[str]  # rows removed before, and still gone
    deletions: Sequence[str] = ()


async def _within_cap(location_id: UUID, tables: list[_Table], cap: int) -> list[_Table]:
    """`tables` with deletions that keep the location's mirror of the channel, removed rows
    included, at `cap` rows at most: rows removed longest ago first, then, when that is not
    enough, rows this sync would mark removed (deleted instead). Without it an upstream that
    renames every object at every sync would grow the mirror by the cap each time."""
    total = sum(t.fetched + len(t.kept_removed) + len(t.removals) for t in tables)
    excess = total - cap
    if excess <= 0:
        return tables
    oldest: list[tuple[datetime, int, str]] = []
    for index, table in enumerate(tables):
        for removed_at, external_id in await mirror.removed_rows(table.name, location_id):
            if external_id in table.kept_removed:
                oldest.append((removed_at, index, external_id))
    deleted: list[list[str]] = [[] for _ in tables]
    for _, index, external_id in sorted(oldest)[:excess]:
        deleted[index].append(external_id)
    excess -= sum(len(ids) for ids in deleted)
    result = []
    for index, table in enumerate(tables):
        removals = list(table.removals)
        instead = removals[: max(excess, 0)]
        excess -= len(instead)
        result.append(
            _Table(
                table.name,
                table.upserts,
                removals[len(instead) :],
                table.fetched,
                table.kept_removed,
                [*deleted[index], *instead],
            )
        )
    return result


def _pos_tables(
    rows: GoposRows, diffs: tuple[TableDiff[MirrorPosGroup], TableDiff[MirrorDiscount]]
) -> list[_Table]:
    """The GoPOS writes, in order: a group never names a discount not yet written."""
    groups, discounts = diffs
    return [
        _table(MirrorTable.POS_DISCOUNTS, discounts, len(rows.discounts)),
        _table(MirrorTable.POS_GROUPS, groups, len(rows.groups)),
    ]


def _table(name: MirrorTable, found: TableDiff[Any], fetched: int) -> _Table:
    return _Table(name, found.diff.upserts, found.diff.removals, fetched, found.kept_removed)


def _upsert(table: MirrorTable) -> Callable[..., Awaitable[int]]:
    if table is MirrorTable.POS_DISCOUNTS:
        return mirror.upsert_pos_discounts
    return mirror.upsert_pos_groups if table is MirrorTable.POS_GROUPS else mirror.upsert_promotions


def _steps(
    location_id: UUID, tables: Sequence[_Table], now: datetime
) -> list[tuple[Step, Sequence[Any]]]:
    """Every table's upserts (in table order), then its removals and deletions: nothing is
    marked removed before what replaces it is there."""

    def upsert(table: _Table) -> Step:
        async def step(items: Sequence[Any], db: Transaction) -> int:
            return await _upsert(table.name)(location_id, items, now, db)

        return step

    def remove(table: _Table) -> Step:
        async def step(items: Sequence[Any], db: Transaction) -> int:
            return await mirror.mark_removed(table.name, location_id, items, now, db)

        return step

    def delete(table: _Table) -> Step:
        async def step(items: Sequence[Any], db: Transaction) -> int:
            return await mirror.delete_rows(table.name, location_id, items, db)

        return step

    steps: list[tuple[Step, Sequence[Any]]] = [(upsert(t), t.upserts) for t in tables]
    for table in reversed(tables):
        steps += [(remove(table), table.removals), (delete(table), table.deletions)]
    return steps


def _chunks(
    steps: Sequence[tuple[Step, Sequence[Any]]], size: int
) -> Iterator[list[tuple[Step, Sequence[Any]]]]:
    """The steps' rows, in order, `size` rows at most a chunk."""
    chunk: list[tuple[Step, Sequence[Any]]] = []
    room = size
    for step, items in steps:
        start = 0
        while start < len(items):
            part = items[start : start + room]
            chunk.append((step, part))
            start += len(part)
            room -= len(part)
            if room == 0:
                yield chunk
                chunk, room = [], size
    if chunk:
        yield chunk


async def write(
    attempt: Attempt, location_id: UUID, rows: GoposRows | GoorderRows, now: datetime
) -> int:
    """Bring the mirror up to date, if this is still the run's attempt; returns the rows
    written. What to write is worked out first; then it is written in chunks of at most
    `Runtime.chunk_size` rows, each in a transaction of its own that bumps the location's sync
    version (a quote never keeps prices that a committed chunk changed). Each chunk's rows are
    added to the run's `written` once it has committed, so the count adds up over attempts."""
    if isinstance(rows, GoposRows):
        tables = _pos_tables(rows, await mirror.diff_pos(location_id, rows.groups, rows.discounts))
    else:
        found = await mirror.diff_promotions(location_id, rows.promotions)
        tables = [_table(MirrorTable.PROMOTIONS, found, len(rows.promotions))]
    tables = await _within_cap(location_id, tables, attempt.runtime.mirror_max_objects)
    steps = _steps(location_id, tables, now)
    written = 0
    for chunk in _chunks(steps, attempt.runtime.chunk_size):
        attempt.stop_if_asked()
        async with transaction() as db:
            await attempt.hold(db)  # raises AttemptLost (and writes nothing) when taken over
            count = 0
            for step, items in chunk:
                count += await step(items, db)
            if count:
                await mirror.bump_sync_version(location_id, db)
        written += count
        await attempt.beat(add={"written": count})
        await asyncio.sleep(0)  # in-process, let requests run between chunks
    return written


PURGE_BATCH = 1_000
PURGE_STATEMENTS = 10
"""Purge statements per mirror table in one periodic check, each of `PURGE_BATCH` rows at
most: a check stays short, and what is left waits for the next one."""


async def purge_removed(runtime: Runtime) -> int:
    """Delete the mirror rows of every location marked removed (gone upstream) longer than
    `Runtime.mirror_retention` ago, in bounded batches; returns how many went. Run by the
    periodic check."""
    before = runtime.clock() - runtime.mirror_retention
    purged = 0
    locations: set[UUID] = set()
    for table in (MirrorTable.POS_GROUPS, MirrorTable.POS_DISCOUNTS, MirrorTable.PROMOTIONS):
        for _ in range(PURGE_STATEMENTS):
            deleted = await mirror.purge_removed(table, before, PURGE_BATCH)
            purged += len(deleted)
            locations.update(deleted)
            if len(deleted) < PURGE_BATCH:
                break
    for location_id in sorted(locations):  # what the connections show has changed
        await mirror.bump_sync_version(location_id)
    if purged:
        log.info("purged %d mirror rows removed upstream before %s", purged, before.isoformat())
    return purged
