"""The mirror's removed rows: listed and deleted by a sync, purged by the periodic check.

A row gone upstream stays, flagged removed, so that a connection can still show it; a sync's
retention deletes the ones it no longer needs (`delete_rows`), and the periodic check purges
what stayed removed longer than the retention, a batch at a time (`purge_removed`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient

from models import sql
from models.mirror.rows import MirrorTable, batches, utc


async def removed_rows(
    table: MirrorTable, location_id: UUID, db: BaseDBAsyncClient | None = None
) -> list[tuple[datetime, str]]:
    """`(updated_at, external_id)` of the location's rows marked removed in one mirror table."""
    rows = (
        await table.model.filter(location_id=location_id, removed=True)
        .using_db(db)
        .values_list("updated_at", "external_id")
    )
    return [(updated_at, str(external_id)) for updated_at, external_id in rows]


async def delete_rows(
    table: MirrorTable,
    location_id: UUID,
    external_ids: Sequence[str],
    db: BaseDBAsyncClient | None = None,
) -> int:
    """Delete the location's rows with these external ids from one mirror table; returns how
    many went."""
    deleted = 0
    for batch in batches(external_ids):
        deleted += await (
            table.model.filter(location_id=location_id, external_id__in=list(batch))
            .using_db(db)
            .delete()
        )
    return deleted


async def clear(table: MirrorTable, location_id: UUID, db: BaseDBAsyncClient | None = None) -> int:
    """Delete every row of the location from one mirror table, removed or not, as before the
    location's first sync; returns how many went."""
    return await table.model.filter(location_id=location_id).using_db(db).delete()


_PURGE = (
    'DELETE FROM "{table}" WHERE id IN (SELECT id FROM "{table}" WHERE removed'
    " AND updated_at < {before} ORDER BY updated_at LIMIT {batch}{skip}) RETURNING location_id"
)
# PostgreSQL: the same DELETE, read back through a CTE (Tortoise's asyncpg client reads no rows
# from a statement that starts with DELETE, and the text the database prepares is kept).
_PURGE_POSTGRES = "WITH purged AS (" + _PURGE + ") SELECT location_id FROM purged"


def purge_statement(d: sql.Dialect, table: str) -> str:
    """Delete the oldest `$2` rows of `table` marked removed before `$1`; their locations."""
    return d.pick(postgres=_PURGE_POSTGRES, sqlite=_PURGE).format(
        table=table, before=d.mark(1), batch=d.mark(2), skip=d.skip_locked
    )


async def purge_removed(table: MirrorTable, before: datetime, batch: int) -> list[UUID]:
    """Delete up to `batch` rows of one mirror table marked removed before `before`, the
    oldest first (the (removed, updated_at) index); returns the location of each row deleted.
    On PostgreSQL a row that a sync holds is skipped, never waited for."""
    statement = purge_statement(sql.dialect(), table.value)
    rows = await sql.fetch(sql.pool(), statement, [utc(before), batch])
    return [UUID(str(dict(row)["location_id"])) for row in rows]
