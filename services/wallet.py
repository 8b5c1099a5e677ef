"""Promotional credits: one-off operations on one customer, a list, a filter or every
customer, and reads.

Every request creates a `WalletOperation`. Small targets are applied before the mutation
returns; larger ones are queued and processed in chunks by a job. Either way the same
`run_operation` does the work, and the ledger's unique key makes reruns harmless.

An operation stores its target as `customer_ids` (a list) or `customer_filter` (a filter, as
JSON). A stored filter without a criterion, `{}` above all, means every customer of the
location: that is how an `allCustomers` request is stored, and what the empty filters that an
earlier release accepted meant.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import partial
from typing import Any
from uuid import UUID

from domain import entities
from domain.access import Principal
from domain.credits import CustomerSelection, ParsedCredit, parse_credit
from domain.errors import ErrorCode, Validator, fail
from domain.ids import parse_id
from domain.jobs import JobStatus
from domain.ledger import CreditOperation, EntrySource
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
from models.customers import filtered_customers, id_chunks
from models.db import IntegrityError, transaction
from models.entities import MAX_CREDIT_BALANCE, Location
from models.ledger import Application, apply_chunk, is_balance_out_of_range, preview_totals
from models.progress import applied
from models.queries import (
    CustomerQuery,
    customers_matching,
    operations_newest_first,
    wallet_entry_entity,
    wallet_operation_entity,
)
from models.wallet import CreditSchedule, WalletEntry, WalletOperation
from services import metrics
from services.access import currency_minor_units
from services.customers import check_target
from services.idempotency import earlier_request, record_key
from services.jobs import Dispatcher, enqueue_operation
from services.lifecycle import Attempt, JobKind, PermanentFailure, run_attempt
from services.runtime import Runtime

log = logging.getLogger(__name__)

# The description of a CLAWBACK entry: owed cashback paid off by an incoming credit.
CLAWBACK_DESCRIPTION = "Owed cashback paid off"


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
        "recurrence": asdict(credit.recurrence) if credit.recurrence else None,
        "target": {
            "customer_ids": None
            if target.customer_ids is None
            else sorted({str(c) for c in target.customer_ids}),
            "filter": None if selection is None else _filter_to_json(selection),
        },
    }
    if target.all_customers:
        payload["target"] = {"all_customers": True}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class CheckedCredit:
    """A parsed credit request and its fingerprint: what one-off and recurring requests share."""

    parsed: ParsedCredit
    request_hash: str

    @property
    def idempotency_key(self) -> str | None:
        return self.parsed.idempotency_key

    def columns(self, principal: Principal) -> dict[str, object]:
        """The columns an operation and a schedule record alike."""
        return {
            "location_id": principal.location_id,
            "operation": self.parsed.operation.value,
            "amount": self.parsed.amount,
            "description": self.parsed.description,
            "actor": principal.api_key_name,
            "idempotency_key": self.parsed.idempotency_key,
            "request_hash": self.request_hash,
        }


def checked_credit(principal: Principal, request: CreditRequest, now: datetime) -> CheckedCredit:
    """The request parsed for the caller's location: its currency's decimal places, and today
    in its time zone (a recurrence may not start before it)."""
    parsed = parse_credit(
        request,
        minor_units=principal.minor_units,
        today=local_today(now, principal.timezone),
    )
    return CheckedCredit(parsed, request_hash(parsed))


def _filter_to_json(selection: CustomerSelection) -> dict[str, object]:
    def ids(values: tuple[UUID | None, ...] | None) -> list[str] | None:
        return None if values is None else [str(v) for v in values if v is not None]

    return {
        "ids": ids(selection.ids),
        "group_ids": ids(selection.group_ids),
        "search": selection.search,
        "has_credits": selection.has_credits,
    }


def stored_selection(stored: dict[str, object]) -> CustomerSelection | None:
    """The customers an operation's stored filter selects; None for every customer (see the
    module docstring)."""
    selection = _filter_from_json(stored)
    return None if selection == CustomerSelection() else selection


def _filter_from_json(data: dict[str, object]) -> CustomerSelection:
    def ids(name: str) -> tuple[UUID, ...] | None:
        value = data.get(name)
        if not isinstance(value, list):
            return None
        return tuple(uid for uid in (parse_id(str(v)) for v in value) if uid is not None)

    search = data.get("search")
    has_credits = data.get("has_credits")
    return CustomerSelection(
        ids=ids("ids"),
        group_ids=ids("group_ids"),
        search=search if isinstance(search, str) else None,
        has_credits=has_credits if isinstance(has_credits, bool) else None,
    )


async def apply_once(
    runtime: Runtime, principal: Principal, request: CreditRequest
) -> entities.WalletOperation:
    """Create the operation for a one-off request, and apply it now when it is small."""
    credit = checked_credit(principal, request, runtime.clock())
    earlier = await earlier_request(
        WalletOperation, principal.location_id, credit.idempotency_key, credit.request_hash
    )
    if earlier is not None:
        return wallet_operation_entity(earlier)
    target = credit.parsed.target
    await check_target(principal.location_id, target, "input.target")
    stored_ids: list[str] | None = None
    stored_filter: dict[str, object] | None = None
    if target.customer_ids is not None:
        stored_ids = [str(c) for c in target.distinct_customer_ids()]
        total = len(stored_ids)
        source = EntrySource.MANUAL if len(target.customer_ids) == 1 else EntrySource.BULK
    elif target.all_customers:
        total = await filtered_customers(principal.location_id, None).count()
        stored_filter = {}  # every customer: see the module docstring
        source = EntrySource.BULK
    else:
        assert target.selection is not None
        total = await filtered_customers(principal.location_id, target.selection).count()
        stored_filter = _filter_to_json(target.selection)
        source = EntrySource.BULK
    try:
        async with transaction():
            row = WalletOperation(
                **credit.columns(principal),
                source=source.value,
                customer_ids=stored_ids,
                customer_filter=stored_filter,
                total=total,
            )
            await row.save()
            await record_key(
                principal.location_id, credit.idempotency_key, credit.request_hash, row
            )
    except IntegrityError:  # the same key, submitted concurrently
        earlier = await earlier_request(
            WalletOperation, principal.location_id, credit.idempotency_key, credit.request_hash
        )
        if earlier is None:
            raise
        return wallet_operation_entity(earlier)
    if total <= runtime.inline_limit:
        await run_operation(runtime, row.id)
        return wallet_operation_entity(await WalletOperation.get(id=row.id))
    queued = wallet_operation_entity(row)  # as queued, whatever the job does meanwhile
    await enqueue_operation(runtime.dispatcher, row.id, attempts=0)
    return queued


async def _operation_targets(
    row: WalletOperation, chunk_size: int, after: UUID | None = None
) -> AsyncIterator[list[UUID]]:
    """The operation's customers in id order (those above `after`, when given), a chunk at a
    time."""
    if row.customer_ids is not None:
        ids = sorted(i for i in map(UUID, row.customer_ids) if after is None or i > after)
        for start in range(0, len(ids), chunk_size):
            yield ids[start : start + chunk_size]
        return
    assert row.customer_filter is not None
    pages = partial(filtered_customers, row.location_id, stored_selection(row.customer_filter))
    async for chunk in id_chunks(pages, chunk_size, after):
        yield chunk


async def _enqueue(dispatcher: Dispatcher, row: WalletOperation, attempts: int) -> None:
    await enqueue_operation(dispatcher, row.id, attempts=attempts)


OPERATIONS = JobKind(WalletOperation, "wallet operation", _enqueue)


async def run_operation(runtime: Runtime, operation_id: UUID) -> None:
    """Run one attempt of a queued operation to the end; safe to run again, or twice at once
    (one claims it, the other does nothing)."""
    row = await WalletOperation.get_or_none(id=operation_id)
    if row is None:
        log.warning("wallet operation %s does not exist; job ignored", operation_id)
        return
    if row.status != JobStatus.QUEUED:
        return
    total = row.total
    # Resumed: carry on after the last customer an earlier attempt reached (chunks go in id
    # order), rather than walk the applied ones again or count the target anew first.
    done_before = await applied(row.id, 0) if row.attempts else None
    if done_before is not None and done_before.customers:
        log.info(
            "wallet operation %s: attempt %d carries on after the %d customers already credited",
            row.id,
            row.attempts + 1,
            done_before.customers,
        )

    async def work(attempt: Attempt) -> Mapping[str, Any]:
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
            now=runtime.clock(),
            netting_description=CLAWBACK_DESCRIPTION,
        )
        done, after = (done_before.customers, done_before.last) if done_before else (0, None)
        size = runtime.chunk_size
        targets = _operation_targets(row, size, after) if after else _operation_targets(row, size)
        try:
            async for chunk in targets:
                attempt.stop_if_asked()
                async with transaction() as db:
                    await attempt.hold(db)
                    written = await apply_chunk(chunk, change, db)
                done += len(chunk)
                await attempt.beat(processed=min(done, total))
                metrics.entries_written(change.kind, written)
                await asyncio.sleep(0)  # in-process, let requests run between chunks
        except Exception as exc:
            if is_balance_out_of_range(exc):  # no retry can succeed
                raise PermanentFailure(await balance_overflow_message(row.location_id)) from exc
            raise
        return {"processed": done, "total": max(total, done)}

    await run_attempt(
        OPERATIONS, row.id, runtime, work, attempts=row.attempts, claim_columns={"total": total}
    )


async def balance_overflow_message(location_id: UUID) -> str:
    """The `error` of a job stopped by the balance limit, in the location's currency."""
    location = await Location.get(id=location_id)
    maximum = to_decimal(MAX_CREDIT_BALANCE, currency_minor_units(location.currency))
    return (
        f"A balance would exceed the maximum of {maximum} {location.currency}; "
        "customers not yet credited were left unchanged."
    )


async def get_operation(location_id: UUID, operation_id: str) -> entities.WalletOperation | None:
    uid = parse_id(operation_id)
    row = await WalletOperation.get_or_none(id=uid, location_id=location_id) if uid else None
    return wallet_operation_entity(row) if row else None


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


async def list_operations(
    location_id: UUID, first: int, after: str | None
) -> entities.Page[entities.WalletOperation]:
    """The location's one-off and bulk operations, newest first (by creation time, then id)."""
    checks = Validator()
    if problem := page_size_problem(first):
        checks.add(ErrorCode.INVALID, "first", problem)
    after_key = None
    if after is not None and (after_key := parse_newest_first_key(after)) is None:
        checks.add(ErrorCode.INVALID, "after", "Not a cursor from this list.")
    checks.check()
    total = await WalletOperation.filter(location_id=location_id).count()
    rows = await operations_newest_first(location_id, after_key, first + 1)
    return page_of(
        [wallet_operation_entity(r) for r in rows],
        first,
        total,
        key=lambda o: newest_first_key(o.created_at, o.id),
    )


def _target_customers(location_id: UUID, credit: ParsedCredit) -> CustomerQuery:
    """The customers an application of the request reaches now: those listed (live ones of
    the location, as `apply_chunk` picks them), those matching the filter, or every one."""
    target = credit.target
    if target.customer_ids is not None:
        return customers_matching(location_id, ids=target.distinct_customer_ids())
    if target.all_customers:
        return filtered_customers(location_id, None)
    return filtered_customers(location_id, target.selection)


async def preview_credit(
    runtime: Runtime, principal: Principal, request: CreditRequest
) -> entities.CreditPreview:
    """What one application of a credit request would do now, changing nothing.

    The request is checked as `setPromotionalCredits` checks it, with the same errors: parsed
    (`checked_credit`), its idempotency key not taken by a different request, every id it
    names the location's. The figures come from one aggregate statement over the customers
    the request targets (see `preview_totals`).
    """
    credit = checked_credit(principal, request, runtime.clock())
    parsed = credit.parsed
    if parsed.recurrence is not None:
        await earlier_request(
            CreditSchedule, principal.location_id, credit.idempotency_key, credit.request_hash
        )
    else:
        await earlier_request(
            WalletOperation, principal.location_id, credit.idempotency_key, credit.request_hash
        )
    await check_target(principal.location_id, parsed.target, "input.target")
    totals = await preview_totals(
        _target_customers(principal.location_id, parsed), parsed.operation, parsed.amount
    )
    return entities.CreditPreview(
        customer_count=totals.customers,
        changed_count=totals.changed,
        balance_before=totals.balance_before,
        balance_after=totals.balance_after,
        over_maximum_count=totals.over_maximum,
    )
