"""Promotional credits: one-off operations on one customer, a list, a filter or every
customer, and reads.

Every request creates a wallet operation (`models.operations`). Small targets are applied
before the mutation returns; larger ones are queued and processed in chunks by a job. Either
way the same `run_operation` does the work, and the ledger's unique key makes reruns harmless.

An operation stores its target as a list of customers or as a filter; a stored filter without
a criterion means every customer (`domain.credit_jobs`).

The requests and the jobs reach their repositories through `runtime.stores`
(`services.stores`): the SQL modules in production, in-memory ones in the rule tests
(`tests/test_wallet_rules.py`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from domain import entities
from domain.access import Principal
from domain.credit_jobs import CreditRecord, OperationJob, selection_to_json
from domain.credits import ParsedCredit, ParsedTarget, parse_credit
from domain.errors import ErrorCode, Validator, fail
from domain.ids import parse_id
from domain.jobs import JobStatus
from domain.ledger import CLAWBACK_DESCRIPTION, MAX_CREDIT_BALANCE, CreditOperation, EntrySource
from domain.messages import Message, msg
from domain.money import to_decimal
from domain.paging import (
    decode_cursor,
    newest_first_key,
    page_of,
    page_size_problem,
    parse_newest_first_key,
)
from domain.requests import CreditRequest
from domain.schedule import local_today
from models import operations
from models.db import IntegrityError, Transaction
from models.ledger import Application, is_balance_out_of_range
from services import metrics, single_edits
from services.access import currency_minor_units
from services.customers import check_target
from services.idempotency import OPERATIONS as KEYED_OPERATIONS
from services.idempotency import SCHEDULES as KEYED_SCHEDULES
from services.idempotency import earlier_request, record_key
from services.jobs import Dispatcher, enqueue_operation
from services.lifecycle import Attempt, JobKind, PermanentFailure, run_attempt
from services.runtime import Runtime
from services.stores import Stores
from services.undo_runs import run_undo

log = logging.getLogger(__name__)

# The description of a CLAWBACK entry: owed cashback paid off by an incoming credit.


def request_hash(credit: ParsedCredit) -> str:
    """A fingerprint of what the request means: "50" and "50.00", or the same customers in
    another order, are the same request."""
    target = credit.target
    selection = target.selection
    # Only an allCustomers target has the extra key, so the fingerprints of requests stored
    # before it existed stay the same.
    payload: dict[str, object] = {
        "operation": credit.operation.value,
        "amount": credit.amount,
        "description": credit.description,
        "recurrence": _recurrence_json(credit),
        "target": {
            "customer_ids": None
            if target.customer_ids is None
            else sorted({str(c) for c in target.customer_ids}),
            "filter": None if selection is None else selection_to_json(selection),
        },
    }
    if target.all_customers:
        payload["target"] = {"all_customers": True}
    if credit.expected_balance is not None:
        payload["expected_balance"] = credit.expected_balance
    if credit.expires_on is not None:  # absent before credits could expire: fingerprints stay
        payload["expires_on"] = credit.expires_on.isoformat()
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _recurrence_json(credit: ParsedCredit) -> dict[str, object] | None:
    """The recurrence as a fingerprint holds it: without the expiry settings left at their
    defaults, so that requests from before credits could expire keep their fingerprints."""
    if credit.recurrence is None:
        return None
    fields = asdict(credit.recurrence)
    for name, default in (("expires_after_days", None), ("replace_previous", False)):
        if fields[name] == default:
            del fields[name]
    return fields


@dataclass(frozen=True)
class CheckedCredit:
    """A parsed credit request and its fingerprint: what one-off and recurring requests share."""

    parsed: ParsedCredit
    request_hash: str

    @property
    def idempotency_key(self) -> str | None:
        return self.parsed.idempotency_key

    def record(self, principal: Principal) -> CreditRecord:
        """What an operation and a schedule record alike of the request."""
        return CreditRecord(
            location_id=principal.location_id,
            operation=self.parsed.operation.value,
            amount=self.parsed.amount,
            description=self.parsed.description,
            actor=principal.api_key_name,
            idempotency_key=self.parsed.idempotency_key,
            request_hash=self.request_hash,
        )


def checked_credit(principal: Principal, request: CreditRequest, now: datetime) -> CheckedCredit:
    """The request parsed for the caller's location: its currency's decimal places, and today
    in its time zone (a recurrence may not start before it)."""
    parsed = parse_credit(
        request,
        minor_units=principal.minor_units,
        today=local_today(now, principal.timezone),
    )
    return CheckedCredit(parsed, request_hash(parsed))


async def apply_once(
    runtime: Runtime, principal: Principal, request: CreditRequest
) -> entities.WalletOperation:
    """Create the operation for a one-off request, and apply it now when it is small."""
    stores = runtime.stores
    credit = checked_credit(principal, request, runtime.clock())
    location_id = principal.location_id
    key, fingerprint = credit.idempotency_key, credit.request_hash
    earlier = await earlier_request(stores, KEYED_OPERATIONS, location_id, key, fingerprint)
    if earlier is not None:
        return earlier
    target = credit.parsed.target
    await check_target(location_id, target, "input.target", stores)
    stored = await _stored_target(stores, location_id, target)
    try:
        async with stores.transaction() as db:
            created = await _created(runtime, db, principal, credit, stored)
    except IntegrityError:  # the same key, submitted concurrently
        earlier = await earlier_request(stores, KEYED_OPERATIONS, location_id, key, fingerprint)
        if earlier is None:
            raise
        return earlier
    if stored.total <= runtime.inline_limit:
        await run_operation(runtime, created.id)
        return await stores.operations.current(created.id)
    # As queued, whatever the job does meanwhile.
    await enqueue_operation(runtime.dispatcher, created.id, attempts=0)
    return created


async def _created(
    runtime: Runtime,
    db: Transaction,
    principal: Principal,
    credit: CheckedCredit,
    stored: _StoredTarget,
) -> entities.WalletOperation:
    """The operation and its key, in the transaction `db`. With an expected balance, the
    customer is held first, refused when the balance differs (`services.single_edits`), and
    the change is written in this same transaction: the job that runs the operation then finds
    it written and writes nothing more."""
    stores, expected = runtime.stores, credit.parsed.expected_balance
    if expected is not None:
        await single_edits.hold_unchanged(stores, db, principal, credit.parsed.target, expected)
    created = await stores.operations.create(
        db,
        credit.record(principal),
        source=stored.source.value,
        customer_ids=stored.customer_ids,
        customer_filter=stored.customer_filter,
        total=stored.total,
        expires_on=credit.parsed.expires_on,
    )
    key, fingerprint = credit.idempotency_key, credit.request_hash
    await record_key(
        stores,
        db,
        KEYED_OPERATIONS,
        principal.location_id,
        key,
        fingerprint,
        created.id,
        created.created_at,
    )
    if expected is not None:
        change = _application(_job_of(created, principal, stored.source), runtime.clock())
        customer_ids = credit.parsed.target.distinct_customer_ids()
        written = await stores.ledger.apply_chunk(customer_ids, change, db)
        metrics.entries_written(change.kind, written)
    return created


def _job_of(
    created: entities.WalletOperation, principal: Principal, source: EntrySource
) -> OperationJob:
    return OperationJob(
        id=created.id,
        location_id=principal.location_id,
        operation=created.operation,
        amount=created.amount,
        description=created.description,
        actor=created.actor,
        source=source.value,
        status=created.status,
        attempts=0,
        total=created.total,
        customer_ids=None,
        customer_filter=None,
    )


@dataclass(frozen=True)
class _StoredTarget:
    """A request's target as its operation stores it, and how many customers it reaches now."""

    source: EntrySource
    customer_ids: list[str] | None
    customer_filter: dict[str, object] | None
    total: int


async def _stored_target(stores: Stores, location_id: UUID, target: ParsedTarget) -> _StoredTarget:
    if target.customer_ids is not None:
        stored_ids = [str(c) for c in target.distinct_customer_ids()]
        single = len(target.customer_ids) == 1
        source = EntrySource.MANUAL if single else EntrySource.BULK
        return _StoredTarget(source, stored_ids, None, len(stored_ids))
    if target.all_customers:
        total = await stores.operations.count_selected(location_id, None)
        # every customer: see `domain.credit_jobs`
        return _StoredTarget(EntrySource.BULK, None, {}, total)
    assert target.selection is not None
    total = await stores.operations.count_selected(location_id, target.selection)
    return _StoredTarget(EntrySource.BULK, None, selection_to_json(target.selection), total)


class _Job(Protocol):
    @property
    def id(self) -> UUID: ...


async def _enqueue(dispatcher: Dispatcher, row: _Job, attempts: int) -> None:
    await enqueue_operation(dispatcher, row.id, attempts=attempts)


OPERATIONS = JobKind(operations.JOB_TABLE, "wallet operation", _enqueue)


async def run_operation(runtime: Runtime, operation_id: UUID) -> None:
    """Run one attempt of a queued operation to the end; safe to run again, or twice at once
    (one claims it, the other does nothing)."""
    stores = runtime.stores
    row = await stores.operations.job(operation_id)
    if row is None:
        log.warning("wallet operation %s does not exist; job ignored", operation_id)
        return
    if row.status != JobStatus.QUEUED:
        return
    if row.undo_of_id is not None:  # an undo: its own work, the same lifecycle
        await run_undo(runtime, row, OPERATIONS)
        return
    total = row.total
    # Resumed: carry on after the last customer an earlier attempt reached (chunks go in id
    # order), rather than walk the applied ones again or count the target anew first.
    done_before = await stores.progress.applied(row.id, 0) if row.attempts else None
    if done_before is not None and done_before.customers:
        log.info(
            "wallet operation %s: attempt %d carries on after the %d customers already credited",
            row.id,
            row.attempts + 1,
            done_before.customers,
        )
    start = (done_before.customers, done_before.last) if done_before else (0, None)

    async def work(attempt: Attempt) -> Mapping[str, Any]:
        change = _application(row, runtime.clock())
        done, after = start
        try:
            async for chunk in stores.operations.target_chunks(row, runtime.chunk_size, after):
                attempt.stop_if_asked()
                async with stores.transaction() as db:
                    await attempt.hold(db)
                    written = await stores.ledger.apply_chunk(chunk, change, db)
                done += len(chunk)
                await attempt.beat(processed=min(done, total))
                metrics.entries_written(change.kind, written)
                await runtime.between_chunks()
        except Exception as exc:
            if is_balance_out_of_range(exc):  # no retry can succeed
                message = await balance_overflow_message(stores, row.location_id)
                raise PermanentFailure(message) from exc
            raise
        return {"processed": done, "total": max(total, done)}

    await run_attempt(
        OPERATIONS, row.id, runtime, work, attempts=row.attempts, claim_columns={"total": total}
    )


def _application(row: OperationJob, now: datetime) -> Application:
    """What the operation writes for each of its customers."""
    return Application(
        location_id=row.location_id,
        operation=CreditOperation(row.operation),
        amount=row.amount,
        kind=row.operation,
        source=row.source,
        source_id=row.id,
        period=0,
        description=row.description,
        actor=row.actor,
        now=now,
        netting_description=CLAWBACK_DESCRIPTION,
        expires_on=row.expires_on,
    )


async def balance_overflow_message(stores: Stores, location_id: UUID) -> Message:
    """The `error` of a job stopped by the balance limit, in the location's currency."""
    location = await stores.locations.get(location_id)
    maximum = to_decimal(MAX_CREDIT_BALANCE, currency_minor_units(location.currency))
    return msg("credit.balance_overflow", maximum=maximum, currency=location.currency)


async def get_operation(location_id: UUID, operation_id: str) -> entities.WalletOperation | None:
    uid = parse_id(operation_id)
    return await operations.view(uid, location_id) if uid else None


async def entries(
    customer_id: UUID, first: int, after: str | None
) -> entities.Page[entities.WalletEntry]:
    """A customer's ledger, newest first."""
    if problem := page_size_problem(first):
        raise fail(ErrorCode.INVALID, "first", problem)
    before: int | None = None
    if after is not None:
        key = decode_cursor(after)
        if key is None or not key.isdigit():
            raise fail(ErrorCode.INVALID, "after", msg("page.bad_cursor"))
        before = int(key)
    total, found = await operations.entries(customer_id, before, first + 1)
    return page_of(found, first, total, key=lambda e: e.id)


async def list_operations(
    location_id: UUID, first: int, after: str | None
) -> entities.Page[entities.WalletOperation]:
    """The location's one-off and bulk operations, newest first (by creation time, then id)."""
    checks = Validator()
    if problem := page_size_problem(first):
        checks.add(ErrorCode.INVALID, "first", problem)
    after_key = None
    if after is not None and (after_key := parse_newest_first_key(after)) is None:
        checks.add(ErrorCode.INVALID, "after", msg("page.bad_cursor"))
    checks.check()
    total, found = await operations.page(location_id, after_key, first + 1)
    return page_of(found, first, total, key=lambda o: newest_first_key(o.created_at, o.id))


async def preview_credit(
    runtime: Runtime, principal: Principal, request: CreditRequest
) -> entities.CreditPreview:
    """What one application of a credit request would do now, changing nothing.

    The request is checked as `setPromotionalCredits` checks it, with the same errors: parsed
    (`checked_credit`), its idempotency key not taken by a different request, every id it
    names the location's. The figures come from one aggregate statement over the customers
    the request targets (see `models.ledger.preview_totals`).
    """
    stores = runtime.stores
    credit = checked_credit(principal, request, runtime.clock())
    parsed = credit.parsed
    location_id = principal.location_id
    key, fingerprint = credit.idempotency_key, credit.request_hash
    if parsed.recurrence is not None:
        await earlier_request(stores, KEYED_SCHEDULES, location_id, key, fingerprint)
    else:
        await earlier_request(stores, KEYED_OPERATIONS, location_id, key, fingerprint)
    await check_target(location_id, parsed.target, "input.target", stores)
    totals = await stores.operations.preview(
        location_id, parsed.target, parsed.operation, parsed.amount
    )
    return entities.CreditPreview(
        customer_count=totals.customers,
        changed_count=totals.changed,
        balance_before=totals.balance_before,
        balance_after=totals.balance_after,
        over_maximum_count=totals.over_maximum,
        clamped_count=totals.clamped,
    )
