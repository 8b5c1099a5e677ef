"""Refund a committed checkout, once: its own transaction that first holds the customer.

It records the refund, gives the credits back (REFUND, netted against what is owed), cancels
cashback still held, and reverses released cashback off the balance, clamped at zero: what the
balance cannot cover becomes owed (CASHBACK_REVERSAL records the amount asked for and the delta
applied). It flips the checkout to REFUNDED with a conditional update, so that a second refund
is ALREADY_REFUNDED. The daily usage comes back by itself: it counts only COMMITTED checkouts.
The checkout and the refund are read through the checkouts repository (`models.checkouts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain.access import Principal
from domain.checkouts import COMMITTED, line_json
from domain.errors import DomainError, ErrorCode, Validator, fail, not_found
from domain.idempotency import parse_idempotency_key
from domain.ids import parse_id
from domain.ledger import (
    CASHBACK_REVERSED_DESCRIPTION,
    REFUND_DESCRIPTION,
    EntryKind,
    netted,
    reversal,
)
from domain.messages import msg
from models.checkouts import HeldWallet, NewRefund
from models.db import IntegrityError, Transaction
from models.ids import new_id
from models.ledger import Movement, is_balance_out_of_range
from services import metrics
from services.checkout.entries import FIRST_REFUND, Source, entry, restoring
from services.checkout.hold import hold_customer
from services.checkout.request import KEY_FIELD, refund_hash
from services.checkout.views import CheckoutView, Refunded
from services.idempotency import keyed_record_id, store_key
from services.runtime import Runtime
from services.stores import Stores

# What an idempotency key stands for (`idempotency_keys.kind`): the checkout it refunded.
REFUND_KEY = "CHECKOUT_REFUND"


@dataclass(frozen=True)
class _Reversal:
    credits_returned: int
    cashback_reversed: int
    cashback_owed: int


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
        raise not_found("id", "checkout")
    request_hash = refund_hash(uid)
    stores = runtime.stores
    earlier = await _earlier_refund(stores, location_id, key, request_hash)
    if earlier is not None:
        return earlier
    sale = await stores.checkouts.get(location_id, uid)
    if sale is None:
        raise not_found("id", "checkout")
    if sale.status != COMMITTED:
        raise _already_refunded()
    now = runtime.clock()
    refund_id = new_id()
    try:
        async with stores.transaction() as db:
            await _write(stores, principal, sale, key, request_hash, refund_id, now, db)
    except IntegrityError as error:
        if is_balance_out_of_range(error):
            raise
        earlier = await _earlier_refund(stores, location_id, key, request_hash)
        if earlier is None:
            raise
        return earlier  # the same key, refunded concurrently
    done = await _refunded(stores, location_id, refund_id)
    assert done is not None, "the refund was committed"
    return done


async def _write(
    stores: Stores,
    principal: Principal,
    sale: CheckoutView,
    key: str,
    request_hash: str,
    refund_id: UUID,
    now: datetime,
    db: Transaction,
) -> None:
    """The refund's writes in its transaction `db`."""
    location_id, customer_id = principal.location_id, sale.customer_id
    # Held first, so that commits, releases and this refund of the customer's wallet run one
    # after the other; a deleted customer's wallet stays as it is.
    wallet = None
    if customer_id is not None:
        wallet = await hold_customer(stores, db, location_id, customer_id)
    held = await stores.checkouts.take_held(sale.id, db) if wallet is not None else 0
    await store_key(stores, location_id, key, REFUND_KEY, request_hash, refund_id, now, db)
    if not await stores.checkouts.mark_refunded(sale.id, now, db):
        raise _already_refunded()
    reversed_ = _Reversal(0, 0, 0)
    if customer_id is not None and wallet is not None:
        reversed_ = await _reverse(stores, principal, sale, customer_id, wallet, held, db, now)
    await stores.checkouts.insert_refund(
        NewRefund(
            id=refund_id,
            location_id=location_id,
            checkout_id=sale.id,
            number=FIRST_REFUND,
            lines=[line_json(line) for line in sale.lines],
            credits_returned=reversed_.credits_returned,
            cashback_reversed=reversed_.cashback_reversed,
            cashback_owed=reversed_.cashback_owed,
            actor=principal.api_key_name,
            api_key_id=principal.api_key_id,
            created_at=now,
        ),
        db,
    )


async def _reverse(
    stores: Stores,
    principal: Principal,
    sale: CheckoutView,
    customer_id: UUID,
    wallet: HeldWallet,
    held: int,
    db: Transaction,
    now: datetime,
) -> _Reversal:
    """The credits back (netted against what is owed), the held cashback cancelled, then the
    released cashback off what that leaves, clamped at zero: the rest is owed."""
    source = Source.of(principal)
    credits = sale.credits_used
    owed_before = wallet.owed
    balance = wallet.balance
    if credits:
        change = entry(
            source,
            Movement.CREDIT,
            credits,
            EntryKind.REFUND,
            sale.id,
            FIRST_REFUND,
            REFUND_DESCRIPTION,
            now,
        )
        change = restoring(change, sale.id, principal.timezone)
        metrics.entries_written(
            EntryKind.REFUND.value, await stores.ledger.apply_chunk([customer_id], change, db)
        )
        paid_off = netted(credits, owed_before)
        balance += credits - paid_off
        owed_before -= paid_off
    if held:
        await stores.checkouts.change_held(customer_id, -held, now, db)
    released = sale.cashback_granted - held
    taken, owed = reversal(released, balance)
    if released:
        change = entry(
            source,
            Movement.REVERSE,
            released,
            EntryKind.CASHBACK_REVERSAL,
            sale.id,
            FIRST_REFUND,
            CASHBACK_REVERSED_DESCRIPTION,
            now,
        )
        written = await stores.ledger.apply_chunk([customer_id], change, db)
        metrics.entries_written(EntryKind.CASHBACK_REVERSAL.value, written)
    return _Reversal(credits, held + taken, owed)


async def _earlier_refund(
    stores: Stores, location_id: UUID, key: str, request_hash: str
) -> Refunded | None:
    """The refund an idempotency key already stands for."""
    record_id = await keyed_record_id(stores, location_id, key, REFUND_KEY, request_hash, KEY_FIELD)
    if record_id is None:
        return None
    found = await _refunded(stores, location_id, record_id)
    if found is None:  # a key of another kind of record would have been refused above
        raise fail(
            ErrorCode.IDEMPOTENCY_KEY_REUSED,
            KEY_FIELD,
            msg("idempotency.key_reused"),
        )
    return found


async def _refunded(stores: Stores, location_id: UUID, refund_id: UUID) -> Refunded | None:
    found = await stores.checkouts.refunded(location_id, refund_id)
    return Refunded(*found) if found else None


def _already_refunded() -> DomainError:
    return fail(ErrorCode.ALREADY_REFUNDED, "id", msg("checkout.already_refunded"))
