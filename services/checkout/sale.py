"""Quote and commit: the till's path in three steps (see `services.checkout`).

`quote` reads the snapshot and prices the bill; it writes nothing. `commit` does the same in one
transaction whose first statement holds the customer (`services.checkout.hold`), then writes:
the idempotency key, the checkout, and the wallet entries of the credits used and the cashback.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from domain import entities
from domain.access import Principal
from domain.checkouts import COMMITTED, discount_json, line_json
from domain.errors import DomainError, ErrorCode, UserError, Validator, fail
from domain.idempotency import parse_idempotency_key
from domain.ledger import CASHBACK_DESCRIPTION, REDEEM_DESCRIPTION, EntryKind
from domain.messages import Message, msg
from domain.money import to_decimal
from domain.pricing import Quote, SalesChannel, cashback, price
from domain.schedule import local_today
from models.checkouts import NewCheckout
from models.db import IntegrityError, Transaction
from models.ids import new_id
from models.ledger import Movement, is_balance_out_of_range
from services import metrics
from services.checkout.entries import Source, entry
from services.checkout.request import (
    KEY_FIELD,
    CheckoutRequest,
    ParsedRequest,
    commit_hash,
    parse_expected_total,
    parse_request,
)
from services.checkout.snapshot import Snapshot, read_snapshot
from services.checkout.views import CheckoutView, QuoteResult
from services.idempotency import keyed_record_id, store_key
from services.runtime import Runtime
from services.stores import Stores

# What an idempotency key stands for (`idempotency_keys.kind`): a checkout it committed.
CHECKOUT_KEY = "CHECKOUT"


class QuoteChanged(DomainError):  # noqa: N818 - a refusal, raised as a DomainError
    """The bill costs another total than the client showed: `quote` is the fresh quote."""

    def __init__(self, quote: QuoteResult, message: Message) -> None:
        super().__init__(UserError(ErrorCode.QUOTE_CHANGED, "expectedTotal", message))
        self.quote = quote


async def quote(runtime: Runtime, principal: Principal, request: CheckoutRequest) -> QuoteResult:
    """The price of the bill for the customer it names, now; writes nothing."""
    checks = Validator()
    parsed = parse_request(principal, request, checks)
    checks.check()
    snapshot = await read_snapshot(runtime, principal, parsed.customer, runtime.clock())
    priced = price(parsed.bill, snapshot.context(parsed.bill.channel))
    metrics.quoted(parsed.bill.channel)
    return _result(priced, snapshot)


def _result(priced: Quote, snapshot: Snapshot) -> QuoteResult:
    view = snapshot.customer
    return QuoteResult(priced, view.customer if view else None, view.card_code if view else None)


@dataclass(frozen=True)
class _Commit:
    """A commit as asked: the parsed request, the total the client showed, its idempotency key
    with the request's fingerprint, and the id and time the checkout gets."""

    parsed: ParsedRequest
    expected: int | None
    key: str
    request_hash: str
    checkout_id: UUID
    now: datetime


async def commit(
    runtime: Runtime,
    principal: Principal,
    request: CheckoutRequest,
    *,
    idempotency_key: str,
    expected_total: Decimal | None = None,
) -> CheckoutView:
    """Price the bill and record the sale, once per idempotency key (see the package)."""
    checks = Validator()
    idempotency_key = parse_idempotency_key(idempotency_key, KEY_FIELD, checks.errors)
    expected = parse_expected_total(checks, expected_total, principal.minor_units)
    parsed = parse_request(principal, request, checks, sale=True)
    checks.check()
    location_id, key = principal.location_id, idempotency_key
    request_hash = commit_hash(parsed, expected)
    now = runtime.clock()
    asked = _Commit(parsed, expected, key, request_hash, new_id(), now)
    stores = runtime.stores
    try:
        async with stores.transaction() as db:
            sale = await _record(runtime, principal, asked, db)
    except IntegrityError as error:
        if is_balance_out_of_range(error):
            raise
        earlier = await _earlier_checkout(stores, location_id, key, request_hash)
        if earlier is None:
            raise
        return earlier  # the same key, committed concurrently
    except DomainError:
        # A retry of a commit that landed answers with its checkout, even when the bill would
        # now be refused (the customer deleted since, the total changed by that very commit).
        earlier = await _earlier_checkout(stores, location_id, key, request_hash)
        if earlier is None:
            raise
        return earlier
    metrics.committed(sale.channel)
    return sale


async def _record(
    runtime: Runtime, principal: Principal, asked: _Commit, db: Transaction
) -> CheckoutView:
    """The commit's three steps in its transaction `db`: the snapshot, held; the price; the
    writes."""
    bill, now = asked.parsed.bill, asked.now
    snapshot = await read_snapshot(runtime, principal, asked.parsed.customer, now, hold=db)
    priced = price(bill, snapshot.context(bill.channel))
    if asked.expected is not None and priced.total != asked.expected:
        raise _quote_changed(_result(priced, snapshot), asked.expected, principal.minor_units)
    view = snapshot.customer
    sale = _sale(bill.channel, priced, view, asked.checkout_id, now)
    hold = _hold_days(view)
    # Taken with the sale: a concurrent duplicate fails here (IntegrityError, in `commit`) and
    # its transaction writes nothing.
    stores = runtime.stores
    await store_key(
        stores, principal.location_id, asked.key, CHECKOUT_KEY, asked.request_hash, sale.id, now, db
    )
    await stores.checkouts.insert_checkout(_row(principal, sale, priced, asked, hold), db)
    if sale.customer_id is not None:
        await _settle(stores, principal, sale, sale.customer_id, hold, db, now, view)
    return sale


async def _earlier_checkout(
    stores: Stores, location_id: UUID, key: str, request_hash: str
) -> CheckoutView | None:
    """The checkout an idempotency key already stands for."""
    record_id = await keyed_record_id(
        stores, location_id, key, CHECKOUT_KEY, request_hash, KEY_FIELD
    )
    if record_id is None:
        return None
    earlier = await stores.checkouts.get(location_id, record_id)
    if earlier is None:
        raise fail(
            ErrorCode.IDEMPOTENCY_KEY_REUSED,
            KEY_FIELD,
            msg("idempotency.key_reused"),
        )
    return earlier


def _quote_changed(result: QuoteResult, expected: int, minor_units: int) -> QuoteChanged:
    now, shown = to_decimal(result.quote.total, minor_units), to_decimal(expected, minor_units)
    return QuoteChanged(result, msg("checkout.quote_changed", total=now, expected=shown))


def _sale(
    channel: SalesChannel,
    priced: Quote,
    view: entities.CustomerView | None,
    checkout_id: UUID,
    now: datetime,
) -> CheckoutView:
    """The checkout a commit records: the priced bill, and the cashback on what is paid."""
    rate = _cashback_group(view).cashback_basis_points or 0 if view and view.groups else 0
    return CheckoutView(
        id=checkout_id,
        channel=channel,
        customer_id=view.customer.id if view else None,
        status=COMMITTED,
        lines=priced.lines,
        subtotal=priced.subtotal,
        discounts=priced.discounts,
        discount_total=priced.discount_total,
        total=priced.total,
        credits_used=priced.credits_used,
        cashback_granted=cashback(priced.total, rate) if view else 0,
        created_at=now,
        refunded_at=None,
    )


def _cashback_group(view: entities.CustomerView) -> entities.CustomerGroup:
    """The customer's group whose cashback a sale earns: the highest rate, and of those the
    longest hold."""
    return max(
        view.groups, key=lambda g: (g.cashback_basis_points or 0, g.cashback_hold_days, g.id)
    )


def cashback_expiry(
    view: entities.CustomerView | None, timezone: str, now: datetime
) -> date | None:
    """When cashback that becomes spendable `now` expires: `cashback_expires_after_days` of
    the customer's cashback group after the day (location's time zone); None: never."""
    if view is None or not view.groups:
        return None
    days = _cashback_group(view).cashback_expires_after_days
    return None if days is None else local_today(now, timezone) + timedelta(days=days)


def _hold_days(view: entities.CustomerView | None) -> int:
    """For how many days a sale's cashback is held before it can be spent."""
    if view is None or not view.groups:
        return 0
    return _cashback_group(view).cashback_hold_days


def _row(
    principal: Principal, sale: CheckoutView, priced: Quote, asked: _Commit, hold_days: int
) -> NewCheckout:
    held = sale.cashback_granted if hold_days else 0
    return NewCheckout(
        id=sale.id,
        location_id=principal.location_id,
        customer_id=sale.customer_id,
        channel=sale.channel.value,
        business_date=local_today(sale.created_at, principal.timezone),
        lines=[line_json(line) for line in sale.lines],
        discounts=[discount_json(d) for d in sale.discounts],
        subtotal=sale.subtotal,
        discount_total=sale.discount_total,
        total=sale.total,
        group_discount=priced.group_discount,
        discount_reference=priced.discount_reference,
        credits_used=sale.credits_used,
        cashback_granted=sale.cashback_granted,
        actor=principal.api_key_name,
        idempotency_key=asked.key,
        request_hash=asked.request_hash,
        created_at=sale.created_at,
        api_key_id=principal.api_key_id,
        cashback_held=held,
        cashback_release_at=sale.created_at + timedelta(days=hold_days) if held else None,
    )


async def _settle(
    stores: Stores,
    principal: Principal,
    sale: CheckoutView,
    customer_id: UUID,
    hold_days: int,
    db: Transaction,
    now: datetime,
    view: entities.CustomerView | None = None,
) -> None:
    """The wallet entries of a commit: the credits used, then the cashback (or, while it is
    held, what the customer holds of it), expiring as the customer's cashback group says."""
    moves: list[tuple[Movement, int, EntryKind, str]] = [
        (Movement.DEBIT, sale.credits_used, EntryKind.REDEEM, REDEEM_DESCRIPTION),
    ]
    if hold_days and sale.cashback_granted:
        await stores.checkouts.change_held(customer_id, sale.cashback_granted, now, db)
    else:
        moves.append(
            (Movement.CREDIT, sale.cashback_granted, EntryKind.CASHBACK, CASHBACK_DESCRIPTION)
        )
    for operation, amount, kind, description in moves:
        if not amount:
            continue
        change = entry(Source.of(principal), operation, amount, kind, sale.id, 0, description, now)
        if kind is EntryKind.CASHBACK:
            change = replace(change, expires_on=cashback_expiry(view, principal.timezone, now))
        if await stores.ledger.apply_chunk([customer_id], change, db) != 1:
            raise RuntimeError(f"checkout {sale.id}: the {kind.value} entry was not written")
        metrics.entries_written(kind.value)
