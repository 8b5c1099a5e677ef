"""The wallet operations repository: one-off and bulk credit operations, the customers they
reach, and a customer's ledger entries, as `domain` values, so that services never hold a
Tortoise model or build a query.

An operation is written once, in the transaction that takes its idempotency key (`create`); the
job lifecycle (`services.lifecycle`, through `JOB_TABLE`) moves its status and progress. The
hot statements are the chunk pages of `target_chunks` (one keyset page of ids per chunk, see
`models.customers.id_chunks`) and a customer's `entries` page (a count and one page, both on the
index (customer_id, id)). The balances themselves move in `models.ledger`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import date, datetime
from functools import partial
from uuid import UUID

from domain import entities
from domain.credit_jobs import CreditRecord, OperationJob, stored_selection
from domain.credits import CustomerSelection, ParsedTarget
from domain.ledger import CreditOperation, EntrySource
from models.customers import filtered_customers, id_chunks
from models.db import Transaction
from models.jobs import JobModel
from models.ledger import PreviewTotals, preview_totals
from models.queries import (
    customers_matching,
    entity_of,
    operations_newest_first,
    wallet_entry_entity,
    wallet_operation_entity,
)
from models.tables.wallet import WalletEntry, WalletOperation

# The table whose rows the job lifecycle claims, beats and settles.
JOB_TABLE: JobModel = WalletOperation


def _job(row: WalletOperation) -> OperationJob:
    ids = None if row.customer_ids is None else tuple(row.customer_ids)
    return entity_of(OperationJob, row, customer_ids=ids)


# Reads


async def view(
    operation_id: UUID, location_id: UUID | None = None
) -> entities.WalletOperation | None:
    """The operation `operation_id` (of the location, when given); None when there is none."""
    rows = WalletOperation.filter(id=operation_id)
    if location_id is not None:
        rows = rows.filter(location_id=location_id)
    row = await rows.get_or_none()
    return wallet_operation_entity(row) if row else None


async def current(operation_id: UUID) -> entities.WalletOperation:
    """The operation as it is now, after a change to it: one the caller knows exists (a missing
    one raises the ORM's `DoesNotExist`, an internal error)."""
    return wallet_operation_entity(await WalletOperation.get(id=operation_id))


async def keyed(location_id: UUID, key: str) -> tuple[entities.WalletOperation, str | None] | None:
    """The location's operation that carries idempotency key `key`, with its request's
    fingerprint."""
    row = await WalletOperation.get_or_none(location_id=location_id, idempotency_key=key)
    return (wallet_operation_entity(row), row.request_hash) if row else None


async def first_id(location_id: UUID, source: EntrySource) -> UUID | None:
    """The id of the location's earliest operation from `source` (by creation time, then id);
    None when it has none."""
    rows = WalletOperation.filter(location_id=location_id, source=source.value)
    row = await rows.order_by("created_at", "id").first()
    return row.id if row else None


async def job(operation_id: UUID) -> OperationJob | None:
    """What a job needs to run the operation; None when there is none."""
    row = await WalletOperation.get_or_none(id=operation_id)
    return _job(row) if row else None


async def page(
    location_id: UUID, after: tuple[datetime, UUID] | None, limit: int
) -> tuple[int, list[entities.WalletOperation]]:
    """How many operations the location has, and up to `limit` of them newest first (by
    creation time, then id), after the (created_at, id) key `after` when given."""
    total = await WalletOperation.filter(location_id=location_id).count()
    rows = await operations_newest_first(location_id, after, limit)
    return total, [wallet_operation_entity(r) for r in rows]


async def entries(
    customer_id: UUID, before: int | None, limit: int
) -> tuple[int, list[entities.WalletEntry]]:
    """How many ledger entries the customer has, and up to `limit` of them newest first, those
    with an id below `before` when given."""
    query = WalletEntry.filter(customer_id=customer_id)
    total = await query.count()
    if before is not None:
        query = query.filter(id__lt=before)
    rows = await query.order_by("-id").limit(limit)
    return total, [wallet_entry_entity(r) for r in rows]


async def count_selected(location_id: UUID, selection: CustomerSelection | None) -> int:
    """How many live customers of the location a filter selects (every one for None)."""
    return await filtered_customers(location_id, selection).count()


async def target_chunks(
    operation: OperationJob, size: int, after: UUID | None = None
) -> AsyncIterator[list[UUID]]:
    """The operation's customers in id order (those above `after`, when given), `size` at a
    time: its stored list as it is (deleted customers too: `apply_chunk` leaves them alone), or
    the live customers its stored filter selects now."""
    if operation.customer_ids is not None:
        ids = sorted(i for i in map(UUID, operation.customer_ids) if after is None or i > after)
        for start in range(0, len(ids), size):
            yield ids[start : start + size]
        return
    assert operation.customer_filter is not None
    selection = stored_selection(operation.customer_filter)
    pages = partial(filtered_customers, operation.location_id, selection)
    async for chunk in id_chunks(pages, size, after):
        yield chunk


async def preview(
    location_id: UUID, target: ParsedTarget, operation: CreditOperation, amount: int
) -> PreviewTotals:
    """What one application of `operation` with `amount` would do now to the customers a
    request targets: those listed (live ones of the location, as `apply_chunk` picks them),
    those matching its filter, or every one. One aggregate statement."""
    if target.customer_ids is not None:
        customers = customers_matching(location_id, ids=target.distinct_customer_ids())
    elif target.all_customers:
        customers = filtered_customers(location_id, None)
    else:
        customers = filtered_customers(location_id, target.selection)
    return await preview_totals(customers, operation, amount)


# Writes


async def create(
    db: Transaction,
    record: CreditRecord,
    *,
    source: str,
    customer_ids: list[str] | None,
    customer_filter: dict[str, object] | None,
    total: int,
    expires_on: date | None = None,
) -> entities.WalletOperation:
    """Insert a QUEUED operation with its stored target (see `domain.credit_jobs`)."""
    row = WalletOperation(
        **asdict(record),
        source=source,
        customer_ids=customer_ids,
        customer_filter=customer_filter,
        total=total,
        expires_on=expires_on,
    )
    await row.save(using_db=db)
    return wallet_operation_entity(row)
