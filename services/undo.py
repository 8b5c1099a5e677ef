"""Undo of a wallet operation or of one period of a schedule (`undoWalletOperation`).

The id names a wallet operation, or a schedule run: a period is exposed as a wallet operation
whose id is the run's (`ScheduleRun.operation`). The undo is itself a wallet operation (source
BULK, `undo_of_id` the original's), with status and progress, run by the same job as any
operation (`services.undo_runs`). It is refused for an undo, for an original that has not
SUCCEEDED, and for one undone already, whatever the key: the database's unique `undo_of_id`
settles two undos requested at once. The same idempotency key with the same id answers with the
same undo. The rules of what an undo writes are `domain.undo`'s.
"""

from __future__ import annotations

from uuid import UUID

from domain import entities
from domain.access import Principal
from domain.credit_jobs import CreditRecord
from domain.errors import DomainError, UserError, not_found
from domain.idempotency import parse_idempotency_key
from domain.ids import parse_id
from domain.undo import UndoOriginal, UndoTotals, already_undone, refusal, request_hash
from models import operations, undo
from models.db import IntegrityError
from services.idempotency import OPERATIONS as KEYED_OPERATIONS
from services.idempotency import earlier_request, record_key
from services.jobs import enqueue_operation
from services.runtime import Runtime
from services.wallet import run_operation


async def _undoable(location_id: UUID, original_id: UUID | None) -> UndoOriginal:
    """The original an undo of `original_id` would reverse; refused when it may not be."""
    original = None if original_id is None else await undo.find(location_id, original_id)
    if original is None:
        raise not_found("id", "operation")
    if problem := refusal(original):
        raise problem
    if await undo.undos_of([original.id]):
        raise already_undone()
    return original


async def preview_undo(principal: Principal, original_id: str) -> UndoTotals:
    """What undoing the operation or period `original_id` would do now; writes nothing."""
    original = await _undoable(principal.location_id, parse_id(original_id))
    return await undo.preview(original)


async def undo_operation(
    runtime: Runtime, principal: Principal, original_id: str, idempotency_key: str
) -> entities.WalletOperation:
    """Create the undo of the operation or period `original_id` (applied now when small,
    else queued); the same key for the same id answers with the undo it created."""
    stores = runtime.stores
    problems: list[UserError] = []
    key = parse_idempotency_key(idempotency_key, "idempotencyKey", problems)
    if problems:
        raise DomainError(*problems)
    uid = parse_id(original_id)
    location_id = principal.location_id
    fingerprint = request_hash(uid) if uid else request_hash(UUID(int=0))
    earlier = await earlier_request(stores, KEYED_OPERATIONS, location_id, key, fingerprint)
    if earlier is not None:
        return earlier
    original = await _undoable(location_id, uid)
    total = await undo.reached(original)
    record = CreditRecord(
        location_id=location_id,
        operation=original.operation,
        amount=original.amount,
        description=original.description,
        actor=principal.api_key_name,
        idempotency_key=key,
        request_hash=fingerprint,
    )
    try:
        async with stores.transaction() as db:
            created = await undo.create(db, record, original, total)
            await record_key(
                stores,
                db,
                KEYED_OPERATIONS,
                location_id,
                key,
                fingerprint,
                created.id,
                created.created_at,
            )
    except IntegrityError:  # the same key, or another undo of the same original, meanwhile
        earlier = await earlier_request(stores, KEYED_OPERATIONS, location_id, key, fingerprint)
        if earlier is not None:
            return earlier
        if await undo.undos_of([original.id]):
            raise already_undone() from None
        raise
    if total <= runtime.inline_limit:
        await run_operation(runtime, created.id)
        return await stores.operations.current(created.id)
    await enqueue_operation(runtime.dispatcher, created.id, attempts=0)
    return created


async def undone_by(original_ids: list[UUID]) -> dict[UUID, entities.WalletOperation]:
    """The undo of each of `original_ids` that has one."""
    return await undo.undos_of(original_ids)


async def operation_view(location_id: UUID, operation_id: UUID) -> entities.WalletOperation | None:
    """The location's operation `operation_id`, or its schedule run of that id as an operation
    (`ScheduleRun.operation`); None when there is neither."""
    found = await operations.view(operation_id, location_id)
    return found if found is not None else await undo.run_operation(location_id, operation_id)


async def find_operation(location_id: UUID, operation_id: str) -> entities.WalletOperation | None:
    """`operation_view` of an id as the API gives it; None for a malformed one."""
    uid = parse_id(operation_id)
    return None if uid is None else await operation_view(location_id, uid)
