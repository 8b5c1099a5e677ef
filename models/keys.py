"""Idempotency keys as SQL statements: every keyed write looks its key up first and takes it in
the transaction that writes its record (`models.tables.crm.IdempotencyKey` is the table)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from models import sql

KEY = """
SELECT kind, request_hash, record_id FROM idempotency_keys WHERE location_id = $1 AND key = $2"""

TAKE_KEY = """
INSERT INTO idempotency_keys (location_id, key, request_hash, kind, record_id, created_at)
VALUES ($1, $2, $3, $4, $5, $6)"""

# The oldest `$2` keys taken before `$1`, found through the index on `created_at`.
PURGE_KEYS = """
DELETE FROM idempotency_keys WHERE id IN (
    SELECT id FROM idempotency_keys WHERE created_at < $1 ORDER BY created_at LIMIT $2)"""


@dataclass(frozen=True, slots=True)
class UsedKey:
    kind: str
    request_hash: str
    record_id: UUID


async def used_key(location_id: UUID, key: str) -> UsedKey | None:
    """What the location's key `key` was used for, or None while it is unused."""
    rows = await sql.fetch(sql.pool(), KEY, (location_id, key))
    if not rows:
        return None
    kind, request_hash, record_id = rows[0]
    return UsedKey(kind, request_hash, sql.uuid(record_id))


async def take_key(
    location_id: UUID,
    key: str,
    kind: str,
    request_hash: str,
    record_id: UUID,
    now: datetime,
    db: sql.Connection | None = None,
) -> None:
    """Take `key` for the record `record_id`, in the transaction `db` that writes the record.
    Raises IntegrityError when the key is taken already."""
    values = (location_id, key, request_hash, kind, record_id, now)
    await sql.execute(db or sql.pool(), TAKE_KEY, values)


async def purge_keys(before: datetime, limit: int) -> int:
    """Forget at most `limit` keys taken before `before`, oldest first, in one statement of its
    own; returns how many were forgotten."""
    return await sql.execute(sql.pool(), PURGE_KEYS, (before, limit))
