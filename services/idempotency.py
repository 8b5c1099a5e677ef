"""Idempotency keys: one table holds the key of every keyed write (a credit operation, a
schedule, a checkout, a refund), one per location and key, with what the key stands for (the
kind and id of the record) and a fingerprint of the request. A write looks its key up first
(`keyed_record_id`, `earlier_request`) and takes it in the transaction that writes its record
(`store_key`, `record_key`); concurrent duplicates meet on the key's unique index.

Keys are kept `Runtime.idempotency_retention_days`; then the periodic check forgets them, a
bounded number of rows at a time (`purge_expired_keys`). A key answers retries of its request for
the retention period. Later, a checkout or refund sent again with a forgotten key is a new
request. A credit operation or schedule keeps its key and request fingerprint on its own row, so
the same request still answers with it, and another request is still refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, Protocol, TypeVar
from uuid import UUID

from domain import entities
from domain.errors import DomainError, ErrorCode, fail
from domain.messages import Message, msg
from models import keys
from models.db import Transaction
from models.keys import UsedKey
from services.runtime import Runtime
from services.stores import Stores

log = logging.getLogger(__name__)

# Rows one DELETE removes, and DELETEs one periodic check runs: each is a short statement of its
# own, so a backlog (a first run after an upgrade) is worked off over several checks without a
# long transaction or a long check.
PURGE_BATCH = 1_000
PURGE_BATCHES = 10

Record = TypeVar("Record")
Record_co = TypeVar("Record_co", covariant=True)


async def purge_expired_keys(
    runtime: Runtime, *, batch: int = PURGE_BATCH, batches: int = PURGE_BATCHES
) -> int:
    """Forget up to `batch` × `batches` keys older than the retention period, oldest first;
    returns how many were forgotten."""
    before = runtime.clock() - timedelta(days=runtime.idempotency_retention_days)
    purged = 0
    for _ in range(batches):
        removed = await keys.purge_keys(before, batch)
        purged += removed
        if removed < batch:
            break
    if purged:
        log.info(
            "forgot %d idempotency keys older than %d days",
            purged,
            runtime.idempotency_retention_days,
        )
    return purged


class RecordStore(Protocol[Record_co]):
    """A repository of credit records that keep their idempotency key: one by id, and one by
    its own key with its request's fingerprint."""

    async def view(self, record_id: UUID, /) -> Record_co | None: ...
    async def keyed(
        self, location_id: UUID, key: str, /
    ) -> tuple[Record_co, str | None] | None: ...


@dataclass(frozen=True)
class CreditRecords(Generic[Record]):
    """One kind of credit record that keeps its idempotency key: its kind in the key table
    (`idempotency_keys.kind`), and which of the runtime's stores is its repository."""

    kind: str
    store: Callable[[Stores], RecordStore[Record]]


OPERATIONS = CreditRecords[entities.WalletOperation](
    "WALLET_OPERATION", lambda stores: stores.operations
)
SCHEDULES = CreditRecords[entities.CreditSchedule](
    "CREDIT_SCHEDULE", lambda stores: stores.schedules
)


def _key_reused(message: Message, field: str = "input.idempotencyKey") -> DomainError:
    return fail(ErrorCode.IDEMPOTENCY_KEY_REUSED, field, message)


async def keyed_record_id(
    stores: Stores,
    location_id: UUID,
    key: str,
    kind: str,
    request_hash: str,
    field: str = "input.idempotencyKey",
) -> UUID | None:
    """The id of the record that idempotency key `key` stands for, or None while it is unused.
    A key used before for a different request, or for another kind of record (`kind`), is
    refused on `field`. One table holds the keys of every kind of keyed write, one per location
    and key."""
    return _checked(await stores.keys.used_key(location_id, key), kind, request_hash, field)


def _checked(
    used: UsedKey | None, kind: str, request_hash: str, field: str = "input.idempotencyKey"
) -> UUID | None:
    """The record id a key in use stands for, when it was used for this very request."""
    if used is None:
        return None
    if used.kind != kind or used.request_hash != request_hash:
        raise _key_reused(msg("idempotency.key_reused"), field)
    return used.record_id


async def store_key(
    stores: Stores,
    location_id: UUID,
    key: str,
    kind: str,
    request_hash: str,
    record_id: UUID,
    now: datetime,
    db: Transaction | None = None,
) -> None:
    """Mark `key` as standing for the record `record_id` of `kind`; to be called in the
    transaction that writes that record. Raises IntegrityError when the key is taken already."""
    await stores.keys.take_key(location_id, key, kind, request_hash, record_id, now, db)


async def earlier_request(
    stores: Stores,
    records: CreditRecords[Record],
    location_id: UUID,
    key: str | None,
    request_hash: str,
) -> Record | None:
    """The credit record (operation or schedule) idempotency key `key` already stands for, or
    None while it is unused (or none is given). A key used before for a different request, or
    for another kind of record, is refused."""
    if key is None:
        return None
    used = await stores.keys.used_key(location_id, key)
    record_id = _checked(used, records.kind, request_hash)
    if record_id is None:
        return await _keyed_past_retention(records.store(stores), location_id, key, request_hash)
    existing = await records.store(stores).view(record_id)
    if existing is None:
        raise _key_reused(msg("idempotency.key_deleted"))
    return existing


async def _keyed_past_retention(
    records: RecordStore[Record], location_id: UUID, key: str, request_hash: str
) -> Record | None:
    """The record whose key the retention purge forgot: it keeps its key (unique per location)
    and its request's fingerprint, so the same request still answers with it and another one is
    still refused."""
    found = await records.keyed(location_id, key)
    if found is None:
        return None
    record, stored_hash = found
    if stored_hash != request_hash:
        raise _key_reused(msg("idempotency.key_reused"))
    return record


async def record_key(
    stores: Stores,
    db: Transaction,
    records: CreditRecords[Record],
    location_id: UUID,
    key: str | None,
    request_hash: str,
    record_id: UUID,
    created_at: datetime,
) -> None:
    """Mark idempotency key `key` (if one is given) as standing for the credit record
    `record_id`, created at `created_at`; to be called in the transaction `db` that writes it.
    Raises IntegrityError when the key is taken already."""
    if key is None:
        return
    await stores.keys.take_key(
        location_id, key, records.kind, request_hash, record_id, created_at, db
    )
