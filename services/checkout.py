"""Checkout: quote a bill, commit it, refund it, and read the history.

`quote` reads a snapshot (the customer with its groups and balance in one statement, the synced
mirror, today's usage of the daily discount limit) and prices it with `domain.pricing.price`;
it writes nothing and never calls an upstream.

A key sells only on its channels (`Principal.may_sell`): a quote or commit for another is
FORBIDDEN. A card code that no customer holds is CARD_NOT_FOUND, so that the cashier rescans; a
commit names its customer (by id or card), since a sale without one changes nothing here.

`commit` prices and writes in one transaction that first holds the customer, so that commits,
refunds and cashback releases for one customer run one after the other and each prices against
the balance and usage it then changes. In that transaction it takes the idempotency key, records
the checkout (with the key that committed it), debits the credits used (a REDEEM entry that the
database refuses rather than let a balance fall below zero) and grants the cashback: at once (a
CASHBACK entry, netted against what the customer owes), or held for the group's
`cashback_hold_days` (no entry; `customers.cashback_held` and the checkout's `cashback_held`
until `release_held_cashback` writes its CASHBACK_RELEASE). With `expected_total`, a different
price raises `QuoteChanged` carrying the fresh quote, and nothing is written.

`refund` records a `CheckoutRefund`, gives the credits back (REFUND, netted against what is
owed), cancels cashback still held, and reverses released cashback off the balance, clamped at
zero: what the balance cannot cover becomes owed (CASHBACK_REVERSAL records the amount asked for
and the delta applied). It flips the checkout to REFUNDED with a conditional update, so that a
second refund is ALREADY_REFUNDED. The daily usage comes back by itself: it counts only
COMMITTED checkouts.

Every wallet entry a checkout writes has the checkout's id as its source id; a commit's entries
have period 0, a refund's its number (1 for the first). Idempotency keys share the one
`idempotency_keys` table with the wallet's keyed writes: the same key and request answer with
the same checkout (or refund); concurrent duplicates meet on the key's unique index.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain import entities
from domain.access import Principal
from domain.contacts import card_code_problem
from domain.errors import DomainError, ErrorCode, UserError, Validator, fail, not_found
from domain.idempotency import parse_idempotency_key
from domain.ids import parse_id
from domain.ledger import EntryKind, EntrySource, netted, reversal
from domain.money import decimal_places, to_decimal, to_minor
from domain.paging import (
    newest_first_key,
    page_of,
    page_size_problem,
    parse_newest_first_key,
)
from domain.pricing import (
    AppliedDiscount,
    Bill,
    BillInput,
    CustomerPricing,
    DiscountKind,
    PosGroupOffer,
    PricingContext,
    PromotionOffer,
    Quote,
    QuoteLine,
    SalesChannel,
    cashback,
    parse_bill,
    price,
)
from domain.schedule import local_today
from models import reads
from models.checkout import (
    COMMITTED,
    REFUNDED,
    Checkout,
    CheckoutRefund,
    DueRelease,
    HeldWallet,
    NewCheckout,
    NewRefund,
    change_held,
    checkouts_matching,
    due_releases,
    insert_checkout,
    insert_refund,
    lock_customer,
    mark_refunded,
    newest_first,
    take_held,
)
from models.db import IntegrityError, Transaction, transaction
from models.ids import new_id
from models.ledger import Application, Movement, apply_chunk, is_balance_out_of_range
from models.queries import live_customers
from services import metrics
from services.idempotency import keyed_record_id, store_key
from services.offers import GroupOffers, group_offers
from services.runtime import Runtime
from services.wallet import CLAWBACK_DESCRIPTION

KEY_FIELD = "idempotencyKey"
# What an idempotency key stands for (`idempotency_keys.kind`): a checkout it committed, or the
# checkout it refunded.
CHECKOUT_KEY = "CHECKOUT"
REFUND_KEY = "CHECKOUT_REFUND"
STATUSES = (COMMITTED, REFUNDED)


@dataclass(frozen=True)
class CheckoutRequest:
    bill: BillInput
    customer_id: str | None = None
    card_code: str | None = None


@dataclass(frozen=True)
class QuoteResult:
    quote: Quote
    customer: entities.Customer | None
    card_code: str | None = None  # the card the customer was found by


@dataclass(frozen=True)
class CheckoutView:
    id: UUID
    channel: SalesChannel
    customer_id: UUID | None
    status: str  # "COMMITTED" | "REFUNDED"
    lines: tuple[QuoteLine, ...]
    subtotal: int
    discounts: tuple[AppliedDiscount, ...]
    discount_total: int
    total: int
    credits_used: int
    cashback_granted: int
    created_at: datetime
    refunded_at: datetime | None


class QuoteChanged(DomainError):  # noqa: N818 - a refusal, raised as a DomainError
    """The bill costs another total than the client showed: `quote` is the fresh quote."""

    def __init__(self, quote: QuoteResult, message: str) -> None:
        super().__init__(UserError(ErrorCode.QUOTE_CHANGED, "expectedTotal", message))
        self.quote = quote


@dataclass(frozen=True)
class CheckoutFilter:
    customer_id: str | None = None
    status: str | None = None
    channel: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


# ------------------------------------------------------------------------------- input


@dataclass(frozen=True)
class _Checked:
    """A request as parsed: the bill and who it names."""

    bill: Bill
    customer_id: UUID | None  # named by id (None: malformed, so unknown)
    by_id: bool
    card_code: str | None


def _checked(
    principal: Principal, request: CheckoutRequest, checks: Validator, *, sale: bool = False
) -> _Checked:
    """The request parsed for the caller's currency; problems join `checks`. A `sale` (a
    commit) must name its customer."""
    card = request.card_code.strip(" ") if request.card_code is not None else None
    if request.customer_id is not None and card is not None:
        checks.add(
            ErrorCode.INVALID, "input.cardCode", "Give a customer id or a card code, not both."
        )
    elif card is not None and (problem := card_code_problem(card)):
        checks.add(ErrorCode.INVALID, "input.cardCode", problem)
    elif sale and request.customer_id is None and card is None:
        checks.add(
            ErrorCode.REQUIRED,
            "input.cardCode",
            "A sale needs its customer: scan the card or give the customer's id.",
        )
    if not principal.may_sell(request.bill.channel):
        checks.add(
            ErrorCode.FORBIDDEN,
            "input.channel",
            f"This API key may not sell on the {request.bill.channel.value} channel.",
        )
    try:
        bill = parse_bill(request.bill, principal.minor_units)
    except DomainError as error:
        checks.errors.extend(error.errors)
        bill = Bill(request.bill.channel, ())
    by_id = request.customer_id is not None
    customer_id = parse_id(request.customer_id) if request.customer_id is not None else None
    return _Checked(bill, customer_id, by_id, None if by_id else card)


def _expected_total(checks: Validator, raw: Decimal | None, minor_units: int) -> int | None:
    if raw is None:
        return None
    places = decimal_places(raw)
    value = to_minor(raw, minor_units) if places is not None else None
    if places is None:
        problem = "Expected total is not a number."
    elif places > minor_units:
        problem = (
            "Expected total must be a whole number."
            if minor_units == 0
            else f"At most {minor_units} decimal place{'s' * (minor_units != 1)}."
        )
    elif raw.is_signed() and not raw.is_zero():
        problem = "Expected total must not be negative."
    elif value is None:
        problem = "Expected total is too large."
    else:
        return value
    checks.add(ErrorCode.INVALID, "expectedTotal", problem)
    return None


def _commit_hash(checked: _Checked, expected_total: int | None) -> str:
    """A fingerprint of what the commit means: the parsed bill (so "2" and "2.000" are the same
    quantity), who it is for and the total the client showed."""
    bill = checked.bill
    payload = {
        "channel": bill.channel.value,
        "lines": [
            [line.product_id, line.name, line.category_id, line.quantity, line.unit_price]
            for line in bill.lines
        ],
        "use_credits": bill.use_credits,
        "max_credits": bill.max_credits,
        "excluded": sorted(bill.excluded_ids),
        "customer_id": str(checked.customer_id) if checked.by_id else None,
        "card_code": checked.card_code,
        "expected_total": expected_total,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _refund_hash(checkout_id: UUID) -> str:
    return hashlib.sha256(f"refund:{checkout_id}".encode()).hexdigest()


# ------------------------------------------------------------------------------- reads


async def _identify(
    principal: Principal, checked: _Checked, now: datetime, hold: Transaction | None = None
) -> reads.Priced | None:
    """The customer the request names with what pricing reads of it (one statement; held until
    the transaction `hold` ends, when given). Raises NOT_FOUND on `input.customerId` for an id
    that is not a live customer's here, and CARD_NOT_FOUND on `input.cardCode` for a card that
    no live customer here holds."""
    location_id, today = principal.location_id, local_today(now, principal.timezone)
    if checked.by_id:
        uid = checked.customer_id
        found = None
        if uid is not None:
            found = await reads.customer_for_pricing(location_id, today, customer_id=uid, hold=hold)
        if found is None:
            raise not_found("input.customerId", "Customer")
        return found
    if checked.card_code is not None:
        found = await reads.customer_for_pricing(
            location_id, today, card_code=checked.card_code, hold=hold
        )
        if found is None:
            raise fail(
                ErrorCode.CARD_NOT_FOUND,
                "input.cardCode",
                "No customer has this card: scan it again, or look the customer up.",
            )
        return found
    return None


def _context(
    principal: Principal,
    channel: SalesChannel,
    found: reads.Priced | None,
    offers: Sequence[GroupOffers] | None,
) -> PricingContext:
    """What pricing knows of the customer: its balance, today's usage and the synced offers of
    its linked groups."""
    if found is None:
        return PricingContext(principal.minor_units, None)
    groups = found.view.groups
    pos: list[PosGroupOffer] = []
    promotions: list[PromotionOffer] = []
    if groups and offers is not None:
        for group in offers:
            if channel is SalesChannel.ONLINE:
                promotions.extend(group.promotions)
            else:
                pos.extend(group.pos)
    customer = CustomerPricing(
        balance=found.view.customer.credit_balance,
        used_today=found.used_today,
        pos_groups=tuple(pos),
        promotions=tuple(promotions),
        has_groups=bool(groups),
    )
    return PricingContext(principal.minor_units, customer)


async def _offers(
    runtime: Runtime, location_id: UUID, found: reads.Priced | None
) -> Sequence[GroupOffers] | None:
    """The synced offers of the customer's groups, when it has any (`services.offers`: from
    the runtime's cache while the sync version read with the customer holds)."""
    if found is None or not found.view.groups:
        return None
    return await group_offers(runtime, location_id, found.sync_version, found.view.groups)


async def _priced(
    runtime: Runtime,
    principal: Principal,
    checked: _Checked,
    now: datetime,
    hold: Transaction | None = None,
) -> tuple[Quote, reads.Priced | None]:
    """The bill priced for the customer it names, as the database holds them now."""
    found = await _identify(principal, checked, now, hold)
    offers = await _offers(runtime, principal.location_id, found)
    context = _context(principal, checked.bill.channel, found, offers)
    return price(checked.bill, context), found


async def quote(runtime: Runtime, principal: Principal, request: CheckoutRequest) -> QuoteResult:
    """The price of the bill for the customer it names, now; writes nothing."""
    checks = Validator()
    checked = _checked(principal, request, checks)
    checks.check()
    priced, found = await _priced(runtime, principal, checked, runtime.clock())
    metrics.quoted(checked.bill.channel)
    return QuoteResult(
        priced,
        found.view.customer if found else None,
        found.view.card_code if found else None,
    )


# ------------------------------------------------------------------------------ writes


@dataclass(frozen=True)
class _Source:
    """Who writes a checkout's wallet entries: the location, and the key's name (None for the
    system, which releases held cashback)."""

    location_id: UUID
    actor: str | None

    @classmethod
    def of(cls, principal: Principal) -> _Source:
        return cls(principal.location_id, principal.api_key_name)


def _entry(
    source: _Source,
    operation: Movement,
    amount: int,
    kind: EntryKind,
    checkout_id: UUID,
    period: int,
    description: str,
    now: datetime,
) -> Application:
    """A checkout's wallet entry: `period` 0 for the commit's, the refund's number for a
    refund's."""
    return Application(
        location_id=source.location_id,
        operation=operation,
        amount=amount,
        kind=kind.value,
        source=EntrySource.CHECKOUT.value,
        source_id=checkout_id,
        period=period,
        description=description,
        actor=source.actor,
        now=now,
        netting_description=CLAWBACK_DESCRIPTION,
    )


async def _earlier_checkout(
    location_id: UUID, key: str, kind: str, request_hash: str
) -> CheckoutView | None:
    """The checkout an idempotency key already stands for (committed or refunded by it)."""
    record_id = await keyed_record_id(location_id, key, kind, request_hash, KEY_FIELD)
    if record_id is None:
        return None
    row = await Checkout.get_or_none(id=record_id, location_id=location_id)
    if row is None:
        raise fail(
            ErrorCode.IDEMPOTENCY_KEY_REUSED,
            KEY_FIELD,
            "This idempotency key was used for a different request.",
        )
    return checkout_view(row)


def _quote_changed(result: QuoteResult, expected: int, minor_units: int) -> QuoteChanged:
    now, shown = to_decimal(result.quote.total, minor_units), to_decimal(expected, minor_units)
    return QuoteChanged(result, f"The total is now {now}, not {shown}: check the new quote.")


async def commit(
    runtime: Runtime,
    principal: Principal,
    request: CheckoutRequest,
    *,
    idempotency_key: str,
    expected_total: Decimal | None = None,
) -> CheckoutView:
    """Price the bill and record the sale, once per idempotency key (see the module)."""
    checks = Validator()
    idempotency_key = parse_idempotency_key(idempotency_key, KEY_FIELD, checks.errors)
    expected = _expected_total(checks, expected_total, principal.minor_units)
    checked = _checked(principal, request, checks, sale=True)
    checks.check()
    location_id, key = principal.location_id, idempotency_key
    request_hash = _commit_hash(checked, expected)
    now = runtime.clock()
    checkout_id = new_id()
    try:
        async with transaction() as db:
            priced, found = await _priced(runtime, principal, checked, now, hold=db)
            view = found.view if found else None
            if expected is not None and priced.total != expected:
                result = QuoteResult(
                    priced, view.customer if view else None, view.card_code if view else None
                )
                raise _quote_changed(result, expected, principal.minor_units)
            sale = _sale(checked, priced, view, checkout_id, now)
            hold = _hold_days(view)
            # Taken with the sale: a concurrent duplicate fails here (IntegrityError, below)
            # and its transaction writes nothing.
            await store_key(location_id, key, CHECKOUT_KEY, request_hash, checkout_id, now, db)
            await insert_checkout(_row(principal, sale, priced, key, request_hash, hold), db)
            if sale.customer_id is not None:
                await _settle(principal, sale, sale.customer_id, hold, db, now)
    except IntegrityError as error:
        if is_balance_out_of_range(error):
            raise
        earlier = await _earlier_checkout(location_id, key, CHECKOUT_KEY, request_hash)
        if earlier is None:
            raise
        return earlier  # the same key, committed concurrently
    except DomainError:
        # A retry of a commit that landed answers with its checkout, even when the bill would
        # now be refused (the customer deleted since, the total changed by that very commit).
        earlier = await _earlier_checkout(location_id, key, CHECKOUT_KEY, request_hash)
        if earlier is None:
            raise
        return earlier
    metrics.committed(sale.channel)
    return sale


def _sale(
    checked: _Checked,
    priced: Quote,
    view: entities.CustomerView | None,
    checkout_id: UUID,
    now: datetime,
) -> CheckoutView:
    """The checkout a commit records: the priced bill, and the cashback on what is paid."""
    rate = _cashback_group(view).cashback_basis_points or 0 if view and view.groups else 0
    return CheckoutView(
        id=checkout_id,
        channel=checked.bill.channel,
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


def _hold_days(view: entities.CustomerView | None) -> int:
    """For how many days a sale's cashback is held before it can be spent."""
    if view is None or not view.groups:
        return 0
    return _cashback_group(view).cashback_hold_days


def _row(
    principal: Principal,
    sale: CheckoutView,
    priced: Quote,
    key: str,
    request_hash: str,
    hold_days: int,
) -> NewCheckout:
    held = sale.cashback_granted if hold_days else 0
    return NewCheckout(
        id=sale.id,
        location_id=principal.location_id,
        customer_id=sale.customer_id,
        channel=sale.channel.value,
        business_date=local_today(sale.created_at, principal.timezone),
        lines=[_line_json(line) for line in sale.lines],
        discounts=[_discount_json(d) for d in sale.discounts],
        subtotal=sale.subtotal,
        discount_total=sale.discount_total,
        total=sale.total,
        group_discount=priced.group_discount,
        credits_used=sale.credits_used,
        cashback_granted=sale.cashback_granted,
        actor=principal.api_key_name,
        idempotency_key=key,
        request_hash=request_hash,
        created_at=sale.created_at,
        api_key_id=principal.api_key_id,
        cashback_held=held,
        cashback_release_at=sale.created_at + timedelta(days=hold_days) if held else None,
    )


async def _settle(
    principal: Principal,
    sale: CheckoutView,
    customer_id: UUID,
    hold_days: int,
    db: Transaction,
    now: datetime,
) -> None:
    """The wallet entries of a commit: the credits used, then the cashback (or, while it is
    held, what the customer holds of it)."""
    moves: list[tuple[Movement, int, EntryKind, str]] = [
        (Movement.DEBIT, sale.credits_used, EntryKind.REDEEM, "Credits used at checkout"),
    ]
    if hold_days and sale.cashback_granted:
        await change_held(customer_id, sale.cashback_granted, now, db)
    else:
        moves.append((Movement.CREDIT, sale.cashback_granted, EntryKind.CASHBACK, "Cashback"))
    for operation, amount, kind, description in moves:
        if not amount:
            continue
        change = _entry(
            _Source.of(principal), operation, amount, kind, sale.id, 0, description, now
        )
        if await apply_chunk([customer_id], change, db) != 1:
            raise RuntimeError(f"checkout {sale.id}: the {kind.value} entry was not written")
        metrics.entries_written(kind.value)


@dataclass(frozen=True)
class RefundView:
    """What one refund gave back and took back."""

    id: UUID
    checkout_id: UUID
    lines: tuple[QuoteLine, ...]
    credits_returned: int
    cashback_reversed: int  # off the balance, or cancelled while held
    cashback_owed: int  # what the balance could not cover: owed by the customer
    created_at: datetime


@dataclass(frozen=True)
class Refunded:
    checkout: CheckoutView
    refund: RefundView


@dataclass(frozen=True)
class _Reversal:
    credits_returned: int
    cashback_reversed: int
    cashback_owed: int


# The first refund of a checkout: its wallet entries' period (a commit's are 0).
FIRST_REFUND = 1


async def refund(
    runtime: Runtime, principal: Principal, checkout_id: str, *, idempotency_key: str
) -> Refunded:
    """Refund a committed checkout, once (see the module). Any key of the location may refund
    any of its sales: a receipt can come back to another till."""
    checks = Validator()
    idempotency_key = parse_idempotency_key(idempotency_key, KEY_FIELD, checks.errors)
    checks.check()
    location_id, key = principal.location_id, idempotency_key
    uid = parse_id(checkout_id)
    if uid is None:
        raise not_found("id", "Checkout")
    request_hash = _refund_hash(uid)
    earlier = await _earlier_refund(location_id, key, request_hash)
    if earlier is not None:
        return earlier
    row = await Checkout.get_or_none(id=uid, location_id=location_id)
    if row is None:
        raise not_found("id", "Checkout")
    if row.status != COMMITTED:
        raise _already_refunded()
    now = runtime.clock()
    refund_id = new_id()
    try:
        async with transaction() as db:
            customer_id = row.customer_id
            # Held first, so that commits, releases and this refund of the customer's wallet
            # run one after the other; a deleted customer's wallet stays as it is.
            wallet = None
            if customer_id is not None:
                wallet = await lock_customer(location_id, customer_id, db)
            held = await take_held(uid, db) if wallet is not None else 0
            await store_key(location_id, key, REFUND_KEY, request_hash, refund_id, now, db)
            if not await mark_refunded(uid, now, db):
                raise _already_refunded()
            reversal = _Reversal(0, 0, 0)
            if customer_id is not None and wallet is not None:
                reversal = await _reverse(principal, row, customer_id, wallet, held, db, now)
            await insert_refund(
                NewRefund(
                    id=refund_id,
                    location_id=location_id,
                    checkout_id=uid,
                    number=FIRST_REFUND,
                    lines=row.lines,
                    credits_returned=reversal.credits_returned,
                    cashback_reversed=reversal.cashback_reversed,
                    cashback_owed=reversal.cashback_owed,
                    actor=principal.api_key_name,
                    api_key_id=principal.api_key_id,
                    created_at=now,
                ),
                db,
            )
    except IntegrityError as error:
        if is_balance_out_of_range(error):
            raise
        earlier = await _earlier_refund(location_id, key, request_hash)
        if earlier is None:
            raise
        return earlier  # the same key, refunded concurrently
    done = await _refunded(location_id, refund_id)
    assert done is not None, "the refund was committed"
    return done


async def _reverse(
    principal: Principal,
    row: Checkout,
    customer_id: UUID,
    wallet: HeldWallet,
    held: int,
    db: Transaction,
    now: datetime,
) -> _Reversal:
    """The credits back (netted against what is owed), the held cashback cancelled, then the
    released cashback off what that leaves, clamped at zero: the rest is owed."""
    source = _Source.of(principal)
    credits = row.credits_used
    owed_before = wallet.owed
    balance = wallet.balance
    if credits:
        change = _entry(
            source,
            Movement.CREDIT,
            credits,
            EntryKind.REFUND,
            row.id,
            FIRST_REFUND,
            "Checkout refunded",
            now,
        )
        metrics.entries_written(
            EntryKind.REFUND.value, await apply_chunk([customer_id], change, db)
        )
        paid_off = netted(credits, owed_before)
        balance += credits - paid_off
        owed_before -= paid_off
    if held:
        await change_held(customer_id, -held, now, db)
    released = row.cashback_granted - held
    taken, owed = reversal(released, balance)
    if released:
        change = _entry(
            source,
            Movement.REVERSE,
            released,
            EntryKind.CASHBACK_REVERSAL,
            row.id,
            FIRST_REFUND,
            "Cashback reversed",
            now,
        )
        metrics.entries_written(
            EntryKind.CASHBACK_REVERSAL.value, await apply_chunk([customer_id], change, db)
        )
    return _Reversal(credits, held + taken, owed)


async def _earlier_refund(location_id: UUID, key: str, request_hash: str) -> Refunded | None:
    """The refund an idempotency key already stands for."""
    record_id = await keyed_record_id(location_id, key, REFUND_KEY, request_hash, KEY_FIELD)
    if record_id is None:
        return None
    found = await _refunded(location_id, record_id)
    if found is None:  # a key of another kind of record would have been refused above
        raise fail(
            ErrorCode.IDEMPOTENCY_KEY_REUSED,
            KEY_FIELD,
            "This idempotency key was used for a different request.",
        )
    return found


async def _refunded(location_id: UUID, refund_id: UUID) -> Refunded | None:
    refund_row = await CheckoutRefund.get_or_none(id=refund_id, location_id=location_id)
    if refund_row is None:
        return None
    checkout_row = await Checkout.get(id=refund_row.checkout_id)
    return Refunded(checkout_view(checkout_row), refund_view(refund_row))


def refund_view(row: CheckoutRefund) -> RefundView:
    return RefundView(
        id=row.id,
        checkout_id=row.checkout_id,
        lines=tuple(QuoteLine(**line) for line in row.lines),
        credits_returned=row.credits_returned,
        cashback_reversed=row.cashback_reversed,
        cashback_owed=row.cashback_owed,
        created_at=row.created_at,
    )


async def release_held_cashback(runtime: Runtime, *, batch: int = 200, budget: float = 5.0) -> int:
    """Release the cashback of every sale whose hold has ended: each in a short transaction
    that holds the customer (so that a refund and a release of one sale never both happen),
    writing a CASHBACK_RELEASE entry netted against what the customer owes. Exactly once: the
    sale's held amount is taken with a conditional update, and the entry has the ledger's
    unique key. Runs from the periodic check, for at most `budget` seconds. Returns how many
    sales were released."""
    started = time.monotonic()
    released = 0
    while time.monotonic() - started < budget:
        due = await due_releases(runtime.clock(), batch)
        for item in due:
            released += await _release(runtime, item)
        if len(due) < batch:
            break
    return released


async def _release(runtime: Runtime, item: DueRelease) -> int:
    now = runtime.clock()
    async with transaction() as db:
        wallet = await lock_customer(item.location_id, item.customer_id, db)
        held = await take_held(item.checkout_id, db)
        if not held:
            return 0
        # A deleted customer's hold simply ends: there is no wallet to release it into.
        await change_held(item.customer_id, -held, now, db)
        if wallet is None:
            return 0
        change = _entry(
            _Source(item.location_id, None),
            Movement.CREDIT,
            held,
            EntryKind.CASHBACK_RELEASE,
            item.checkout_id,
            0,
            "Cashback released",
            now,
        )
        if await apply_chunk([item.customer_id], change, db) != 1:
            raise RuntimeError(f"checkout {item.checkout_id}: the release was not written")
    metrics.entries_written(EntryKind.CASHBACK_RELEASE.value)
    return 1


def _already_refunded() -> DomainError:
    return fail(ErrorCode.ALREADY_REFUNDED, "id", "This checkout was refunded already.")


# ------------------------------------------------------------------------------- views


def _line_json(line: QuoteLine) -> dict[str, Any]:
    return {
        "product_id": line.product_id,
        "name": line.name,
        "category_id": line.category_id,
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        "subtotal": line.subtotal,
        "discount": line.discount,
        "total": line.total,
    }


def _discount_json(discount: AppliedDiscount) -> dict[str, Any]:
    return {
        "id": discount.id,
        "kind": discount.kind.value,
        "name": discount.name,
        "amount": discount.amount,
        "reference": discount.reference,
        "removable": discount.removable,
    }


def checkout_view(row: Checkout) -> CheckoutView:
    return CheckoutView(
        id=row.id,
        channel=SalesChannel(row.channel),
        customer_id=row.customer_id,
        status=row.status,
        lines=tuple(QuoteLine(**line) for line in row.lines),
        subtotal=row.subtotal,
        discounts=tuple(
            AppliedDiscount(**{**d, "kind": DiscountKind(d["kind"])}) for d in row.discounts
        ),
        discount_total=row.discount_total,
        total=row.total,
        credits_used=row.credits_used,
        cashback_granted=row.cashback_granted,
        created_at=row.created_at,
        refunded_at=row.refunded_at,
    )


def _committed_by(principal: Principal) -> UUID | None:
    """Whose sales the caller reads: a till key its own, an ADMIN key every key's."""
    return None if principal.is_admin else principal.api_key_id


async def get_checkout(principal: Principal, checkout_id: str) -> CheckoutView | None:
    """One checkout of the caller's location; for a till key, only one it committed."""
    uid = parse_id(checkout_id)
    query = Checkout.filter(id=uid, location_id=principal.location_id)
    if (key_id := _committed_by(principal)) is not None:
        query = query.filter(api_key_id=key_id)
    row = await query.first() if uid else None
    return checkout_view(row) if row else None


async def list_checkouts(
    principal: Principal, filter: CheckoutFilter | None, first: int, after: str | None
) -> entities.Page[CheckoutView]:
    """The location's checkouts, newest first, matching `filter`; for a till key, only those
    it committed."""
    location_id = principal.location_id
    checks = Validator()
    if problem := page_size_problem(first):
        checks.add(ErrorCode.INVALID, "first", problem)
    after_key = None
    if after is not None and (after_key := parse_newest_first_key(after)) is None:
        checks.add(ErrorCode.INVALID, "after", "Not a cursor from this list.")
    criteria = filter or CheckoutFilter()
    if criteria.status is not None and criteria.status not in STATUSES:
        checks.add(ErrorCode.INVALID, "filter.status", "Status is COMMITTED or REFUNDED.")
    if criteria.channel is not None and criteria.channel not in set(SalesChannel):
        checks.add(ErrorCode.INVALID, "filter.channel", "Channel is POS, ONLINE or KIOSK.")
    for field, moment in (
        ("filter.createdFrom", criteria.created_from),
        ("filter.createdTo", criteria.created_to),
    ):
        if moment is not None and moment.utcoffset() is None:
            checks.add(ErrorCode.INVALID, field, "A time needs its offset from UTC.")
    customer_id = None
    if criteria.customer_id is not None:
        customer_id = parse_id(criteria.customer_id)
        if (
            customer_id is None
            or not await live_customers(location_id).filter(id=customer_id).exists()
        ):
            checks.add(ErrorCode.NOT_FOUND, "filter.customerId", "Customer not found.")
    checks.check()
    query = checkouts_matching(
        location_id,
        api_key_id=_committed_by(principal),
        customer_id=customer_id,
        status=criteria.status,
        channel=criteria.channel,
        created_from=criteria.created_from,
        created_to=criteria.created_to,
    )
    total = await query.count()
    rows = await newest_first(query, after_key, first + 1)
    return page_of(
        [checkout_view(r) for r in rows],
        first,
        total,
        key=lambda v: newest_first_key(v.created_at, v.id),
    )
