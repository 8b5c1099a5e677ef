"""Refund a checkout, by the line or all that is left: its own transaction that first holds
the customer.

A refund names lines of the sale and quantities (`domain.refunds`), or nothing: then it takes
all that is left. It claims the sale's next refund number with a conditional update that holds
the sale's row and returns what earlier refunds took (`models.refunds`), so that refunds of one
sale run one after the other and never take more than was sold (else INVALID naming the line,
or ALREADY_REFUNDED when nothing is left). It reverses its share of the sale, by the cumulative
largest-remainder rule: the credits back (REFUND, netted against what is owed), the cashback
taken back, held cashback first, then off the balance, clamped at zero: what the balance cannot
cover becomes owed (CASHBACK_REVERSAL records the amount asked for and the delta applied), and
its share of the group discount given back to the daily limit. The sale becomes
PARTIALLY_REFUNDED, or REFUNDED once nothing is left; the refund is recorded with its number
(unique per sale), which is the period of the wallet entries it writes. The same key with the
same request answers with the same refund. The checkout and the refund are read through the
checkouts repository (`models.checkouts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain.access import Principal
from domain.checkouts import REFUNDED, line_json
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
from domain.refunds import (
    RefundLine,
    RefundLineInput,
    Reversed,
    figures_of,
    parse_refund_lines,
    plan,
    share_of,
)
from models.checkouts import HeldWallet, NewRefund, RefundClaim, Settlement
from models.db import IntegrityError, Transaction
from models.ids import new_id
from models.ledger import Movement, is_balance_out_of_range
from services import metrics
from services.checkout.entries import Source, entry, restoring
from services.checkout.hold import hold_customer
from services.checkout.request import KEY_FIELD, refund_hash
from services.checkout.views import CheckoutView, Refunded
from services.idempotency import keyed_record_id, store_key
from services.runtime import Runtime
from services.stores import Stores

# What an idempotency key stands for (`idempotency_keys.kind`): the checkout it refunded.
REFUND_KEY = "CHECKOUT_REFUND"
# A refund that finds another refund of the same sale settled between its claim and its own
# settlement starts again (it cannot happen while the claim holds the sale's row): so often.
ATTEMPTS = 3


@dataclass(frozen=True)
class _Reversal:
    credits_returned: int
    cashback_reversed: int
    cashback_owed: int
    held_taken: int  # of the sale's held cashback


class _OvertakenError(Exception):
    """Another refund of the sale settled first: nothing of this one was written."""


@dataclass(frozen=True)
class _Asked:
    sale: CheckoutView
    lines: tuple[RefundLine, ...] | None  # None: all that is left
    key: str
    request_hash: str


async def refund(
    runtime: Runtime,
    principal: Principal,
    checkout_id: str,
    *,
    idempotency_key: str,
    lines: Sequence[RefundLineInput] | None = None,
) -> Refunded:
    """Refund `lines` of a checkout, or all that is left of it (see the module). Any key of the
    location may refund any of its sales: a receipt can come back to another till."""
    checks = Validator()
    idempotency_key = parse_idempotency_key(idempotency_key, KEY_FIELD, checks.errors)
    asked = None
    try:
        asked = parse_refund_lines(lines)
    except DomainError as error:
        checks.errors.extend(error.errors)
    checks.check()
    location_id, key = principal.location_id, idempotency_key
    uid = parse_id(checkout_id)
    if uid is None:
        raise not_found("id", "checkout")
    request_hash = refund_hash(uid, asked)
    stores = runtime.stores
    earlier = await _earlier_refund(stores, location_id, key, request_hash)
    if earlier is not None:
        return earlier
    sale = await stores.checkouts.get(location_id, uid)
    if sale is None:
        raise not_found("id", "checkout")
    if sale.status == REFUNDED:
        raise _already_refunded()
    refund_id = new_id()
    for _ in range(ATTEMPTS):
        try:
            async with stores.transaction() as db:
                request = _Asked(sale, asked, key, request_hash)
                await _write(stores, principal, request, refund_id, runtime.clock(), db)
        except _OvertakenError:
            continue
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
    raise RuntimeError(f"checkout {uid}: overtaken by other refunds {ATTEMPTS} times")


async def _write(
    stores: Stores,
    principal: Principal,
    asked: _Asked,
    refund_id: UUID,
    now: datetime,
    db: Transaction,
) -> None:
    """The refund's writes in its transaction `db`."""
    sale, location_id, customer_id = asked.sale, principal.location_id, asked.sale.customer_id
    # Held first, so that commits, releases and this refund of the customer's wallet run one
    # after the other; a deleted customer's wallet stays as it is.
    wallet = None
    if customer_id is not None:
        wallet = await hold_customer(stores, db, location_id, customer_id)
    await store_key(
        stores, location_id, asked.key, REFUND_KEY, asked.request_hash, refund_id, now, db
    )
    claim = await stores.checkouts.claim_refund(sale.id, db)
    if claim is None:
        raise _already_refunded()
    figures = figures_of(sale)
    before = list(claim.refunded or [0] * len(sale.lines))
    after = plan(figures, before, asked.lines, claim.number)
    share = share_of(figures, before, after)
    reversed_ = _Reversal(0, 0, 0, 0)
    if customer_id is not None and wallet is not None:
        reversed_ = await _reverse(
            stores, principal, sale.id, customer_id, wallet, claim, share, db, now
        )
    settled = Settlement(
        number=claim.number,
        refunded=after,
        whole=after == [line.quantity for line in sale.lines],
        group_discount_returned=share.group_discount,
        credits_used_returned=share.credits,
        promotions_returned=share.promotions,
        cashback_held=claim.cashback_held - reversed_.held_taken,
        now=now,
    )
    if not await stores.checkouts.settle_refund(sale.id, settled, db):
        raise _OvertakenError()
    await stores.checkouts.insert_refund(
        NewRefund(
            id=refund_id,
            location_id=location_id,
            checkout_id=sale.id,
            number=claim.number,
            lines=[line_json(line) for line in share.lines],
            credits_returned=reversed_.credits_returned,
            cashback_reversed=reversed_.cashback_reversed,
            cashback_owed=reversed_.cashback_owed,
            actor=principal.api_key_name,
            api_key_id=principal.api_key_id,
            created_at=now,
            group_discount=share.group_discount,
        ),
        db,
    )


async def _reverse(
    stores: Stores,
    principal: Principal,
    checkout_id: UUID,
    customer_id: UUID,
    wallet: HeldWallet,
    claim: RefundClaim,
    share: Reversed,
    db: Transaction,
    now: datetime,
) -> _Reversal:
    """The refund's share of the credits back (netted against what is owed), of the cashback
    taken back: what is still held first, then the rest off what that leaves of the balance,
    clamped at zero: the rest is owed."""
    source, number = Source.of(principal), claim.number
    credits = share.credits
    owed_before = wallet.owed
    balance = wallet.balance
    if credits:
        change = entry(
            source,
            Movement.CREDIT,
            credits,
            EntryKind.REFUND,
            checkout_id,
            number,
            REFUND_DESCRIPTION,
            now,
        )
        change = restoring(change, checkout_id, principal.timezone)
        metrics.entries_written(
            EntryKind.REFUND.value, await stores.ledger.apply_chunk([customer_id], change, db)
        )
        paid_off = netted(credits, owed_before)
        balance += credits - paid_off
        owed_before -= paid_off
    held = min(share.cashback, claim.cashback_held)
    if held:
        await stores.checkouts.change_held(customer_id, -held, now, db)
    released = share.cashback - held
    taken, owed = reversal(released, balance)
    if released:
        change = entry(
            source,
            Movement.REVERSE,
            released,
            EntryKind.CASHBACK_REVERSAL,
            checkout_id,
            number,
            CASHBACK_REVERSED_DESCRIPTION,
            now,
        )
        written = await stores.ledger.apply_chunk([customer_id], change, db)
        metrics.entries_written(EntryKind.CASHBACK_REVERSAL.value, written)
    return _Reversal(credits, held + taken, owed, held)


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
