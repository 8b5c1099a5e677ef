"""Promotional credits: one-off operations on one customer, a list, or a filter, and reads.

Every request creates a `WalletOperation`. Small targets are applied before the mutation
returns; larger ones are queued and processed in chunks by a job. Either way the same
`run_operation` does the work, and the ledger's unique key makes reruns harmless.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import TypeVar
from uuid import UUID

from domain import entities
from domain.access import Principal
from domain.errors import ErrorCode, fail
from domain.inputs import CreditRequest, CustomerFilter
from domain.ledger import CreditOperation, EntrySource, amount_problem
from domain.money import to_minor
from domain.paging import decode_cursor, page_of, page_size_problem
from models.db import IntegrityError, transaction
from models.ids import parse_id
from models.ledger import Application, apply_chunk
from models.queries import wallet_entry_entity, wallet_operation_entity
from models.wallet import CreditSchedule, WalletEntry, WalletOperation
from services.customers import filtered_customers, id_chunks
from services.groups import resolve_target
from services.jobs import Dispatcher, enqueue_operation

log = logging.getLogger(__name__)

QUEUED, RUNNING, SUCCEEDED, FAILED = "QUEUED", "RUNNING", "SUCCEEDED", "FAILED"

CHUNK_SIZE = 5_000
INLINE_LIMIT = 500
MAX_ATTEMPTS = 5
MAX_DESCRIPTION_LENGTH = 500
MAX_IDEMPOTENCY_KEY_LENGTH = 200
STALE_AFTER = timedelta(minutes=2)


def now_utc() -> datetime:
    return datetime.now(UTC)


def checked_amount(operation: CreditOperation, amount: Decimal, field: str) -> int:
    minor = to_minor(amount)
    if problem := amount_problem(operation, minor):
        raise fail(ErrorCode.INVALID, field, problem)
    assert minor is not None
    return minor


def checked_description(description: str | None) -> str | None:
    description = (description or "").strip() or None
    if description is not None and len(description) > MAX_DESCRIPTION_LENGTH:
        raise fail(
            ErrorCode.INVALID,
            "input.description",
            f"At most {MAX_DESCRIPTION_LENGTH} characters.",
        )
    return description


def checked_operation(operation: str) -> CreditOperation:
    try:
        return CreditOperation(operation)
    except ValueError as exc:
        raise fail(ErrorCode.INVALID, "input.operation", "Use ADD, REDUCE or SET.") from exc


def request_hash(request: CreditRequest) -> str:
    """A fingerprint of what the request means: "50" and "50.00", or the same customers in
    another order, are the same request."""
    payload = asdict(request)
    payload.pop("idempotency_key")
    payload["amount"] = to_minor(request.amount)
    payload["description"] = (request.description or "").strip() or None
    target = payload["target"]
    if target["customer_ids"] is not None:
        target["customer_ids"] = sorted(set(target["customer_ids"]))
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def checked_idempotency_key(key: str | None) -> str | None:
    key = (key or "").strip() or None
    if key is not None and len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise fail(
            ErrorCode.INVALID,
            "input.idempotencyKey",
            f"At most {MAX_IDEMPOTENCY_KEY_LENGTH} characters.",
        )
    return key


@dataclass(frozen=True)
class CheckedCredit:
    """What a one-off and a recurring credit request share, validated."""

    operation: CreditOperation
    amount: int
    description: str | None
    idempotency_key: str | None
    request_hash: str

    def columns(self, principal: Principal) -> dict[str, object]:
        """The columns an operation and a schedule record alike."""
        return {
            "location_id": principal.location_id,
            "operation": self.operation.value,
            "amount": self.amount,
            "description": self.description,
            "actor": principal.api_key_name,
            "idempotency_key": self.idempotency_key,
            "request_hash": self.request_hash,
        }


def checked_credit(request: CreditRequest) -> CheckedCredit:
    operation = checked_operation(request.operation)
    return CheckedCredit(
        operation=operation,
        amount=checked_amount(operation, request.amount, "input.amount"),
        description=checked_description(request.description),
        idempotency_key=checked_idempotency_key(request.idempotency_key),
        request_hash=request_hash(request),
    )


Keyed = TypeVar("Keyed", WalletOperation, CreditSchedule)


async def earlier_request(
    model: type[Keyed], location_id: UUID, credit: CheckedCredit
) -> Keyed | None:
    """The record an idempotency key already stands for, or None while it is unused.
    The key used before for a different request is refused."""
    key = credit.idempotency_key
    if key is None:
        return None
    existing = await model.get_or_none(location_id=location_id, idempotency_key=key)
    other: type[WalletOperation | CreditSchedule] = (
        CreditSchedule if model is WalletOperation else WalletOperation
    )
    used_elsewhere = await other.filter(location_id=location_id, idempotency_key=key).exists()
    if used_elsewhere or (existing is not None and existing.request_hash != credit.request_hash):
        raise fail(
            ErrorCode.IDEMPOTENCY_KEY_REUSED,
            "input.idempotencyKey",
            "This idempotency key was used for a different request.",
        )
    return existing


def _filter_from_json(data: dict[str, object]) -> CustomerFilter:
    def ids(name: str) -> tuple[str, ...] | None:
        value = data.get(name)
        return tuple(str(v) for v in value) if isinstance(value, list) else None

    search = data.get("search")
    has_credits = data.get("has_credits")
    return CustomerFilter(
        ids=ids("ids"),
        group_ids=ids("group_ids"),
        search=search if isinstance(search, str) else None,
        has_credits=has_credits if isinstance(has_credits, bool) else None,
    )


async def apply_once(
    principal: Principal, request: CreditRequest, dispatcher: Dispatcher
) -> entities.WalletOperation:
    """Create the operation for a one-off request, and apply it now when it is small."""
    credit = checked_credit(request)
    earlier = await earlier_request(WalletOperation, principal.location_id, credit)
    if earlier is not None:
        return wallet_operation_entity(earlier)
    target = request.target
    if (target.customer_ids is None) == (target.filter is None):
        raise fail(ErrorCode.INVALID, "input.target", "Give exactly one of customerIds and filter.")
    stored_ids: list[str] | None = None
    stored_filter: dict[str, object] | None = None
    if target.customer_ids is not None:
        customer_ids = await resolve_target(principal.location_id, target, "input.target")
        total = len(customer_ids)
        stored_ids = [str(c) for c in customer_ids]
        source = EntrySource.MANUAL if len(target.customer_ids) == 1 else EntrySource.BULK
    else:
        assert target.filter is not None
        query = filtered_customers(principal.location_id, target.filter, "input.target.filter")
        total = await query.count()
        stored_filter = asdict(target.filter)
        source = EntrySource.BULK
    try:
        row = WalletOperation(
            **credit.columns(principal),
            source=source.value,
            customer_ids=stored_ids,
            customer_filter=stored_filter,
            total=total,
        )
        await row.save()
    except IntegrityError:  # the same key, submitted concurrently
        earlier = await earlier_request(WalletOperation, principal.location_id, credit)
        if earlier is None:
            raise
        return wallet_operation_entity(earlier)
    if total <= INLINE_LIMIT:
        await run_operation(row.id)
        return wallet_operation_entity(await WalletOperation.get(id=row.id))
    queued = wallet_operation_entity(row)  # as queued, whatever the job does meanwhile
    await enqueue_operation(dispatcher, row.id)
    return queued


async def _operation_targets(row: WalletOperation) -> AsyncIterator[list[UUID]]:
    """The operation's customers in id order, a chunk at a time."""
    if row.customer_ids is not None:
        ids = sorted(UUID(c) for c in row.customer_ids)
        for start in range(0, len(ids), CHUNK_SIZE):
            yield ids[start : start + CHUNK_SIZE]
        return
    criteria = _filter_from_json(row.customer_filter) if row.customer_filter else None
    pages = partial(filtered_customers, row.location_id, criteria, "filter")
    async for chunk in id_chunks(pages, CHUNK_SIZE):
        yield chunk


async def run_operation(operation_id: UUID) -> None:
    """Process an operation to the end; safe to run again, or twice at once."""
    row = await WalletOperation.get_or_none(id=operation_id)
    if row is None:
        log.warning("wallet operation %s does not exist; job ignored", operation_id)
        return
    started = now_utc()
    total = row.total
    if row.customer_filter is not None and row.status == RUNNING:  # resumed: count again
        criteria = _filter_from_json(row.customer_filter) if row.customer_filter else None
        total = await filtered_customers(row.location_id, criteria).count()
    # Every status write names the status it expects, so a late copy of this job can never
    # reopen an operation that another copy has finished.
    unfinished = WalletOperation.filter(id=row.id, status__in=(QUEUED, RUNNING))
    claimed = await unfinished.update(
        status=RUNNING,
        started_at=row.started_at or started,
        heartbeat_at=started,
        attempts=row.attempts + 1,
        total=total,
    )
    if not claimed:
        return
    running = WalletOperation.filter(id=row.id, status=RUNNING)
    change = Application(
        location_id=row.location_id,
        operation=CreditOperation(row.operation),
        amount=row.amount,
        kind=row.operation,
        source=row.source,
        source_id=row.id,
        period=0,
        description=row.description,
        actor=row.actor,
        now=started,
    )
    done = 0
    try:
        async for chunk in _operation_targets(row):
            async with transaction() as db:
                await apply_chunk(chunk, change, db)
                done += len(chunk)
                await running.using_db(db).update(
                    processed=min(done, total), heartbeat_at=now_utc()
                )
    except Exception as exc:
        failed = row.attempts + 1 >= MAX_ATTEMPTS
        log.exception("wallet operation %s failed (attempt %d)", row.id, row.attempts + 1)
        await running.update(
            status=FAILED if failed else RUNNING,
            error=str(exc)[:2000],
            finished_at=now_utc() if failed else None,
        )
        raise
    await running.update(
        status=SUCCEEDED, processed=done, total=max(total, done), finished_at=now_utc()
    )


async def get_operation(location_id: UUID, operation_id: str) -> entities.WalletOperation | None:
    uid = parse_id(operation_id)
    row = await WalletOperation.get_or_none(id=uid, location_id=location_id) if uid else None
    return wallet_operation_entity(row) if row else None


async def resume_stale_operations(dispatcher: Dispatcher, now: datetime) -> int:
    """Re-enqueue operations whose job died or was lost: queued or running without a sign of
    life for `STALE_AFTER`. The database, not the queue, says what is unfinished."""
    cutoff = now - STALE_AFTER
    rows = await WalletOperation.filter(status__in=(QUEUED, RUNNING)).values_list(
        "id", "created_at", "heartbeat_at"
    )
    resumed = 0
    for op_id, created, heartbeat in rows:
        last_sign = heartbeat or created
        if last_sign < cutoff:
            stale_state = str(int(last_sign.timestamp()))
            await enqueue_operation(dispatcher, UUID(str(op_id)), resume=stale_state)
            resumed += 1
    return resumed


async def entries(
    customer_id: UUID, first: int, after: str | None
) -> entities.Page[entities.WalletEntry]:
    """A customer's ledger, newest first."""
    if problem := page_size_problem(first):
        raise fail(ErrorCode.INVALID, "first", problem)
    query = WalletEntry.filter(customer_id=customer_id)
    total = await query.count()
    if after is not None:
        key = decode_cursor(after)
        if key is None or not key.isdigit():
            raise fail(ErrorCode.INVALID, "after", "Not a cursor from this list.")
        query = query.filter(id__lt=int(key))
    rows = await query.order_by("-id").limit(first + 1)
    return page_of([wallet_entry_entity(r) for r in rows], first, total, key=lambda e: e.id)
