"""What a till asks, parsed once: the bill in the domain's shape and who it names.

The bill is parsed here, for the caller's currency, into `domain.pricing.Bill`: the one shape
that is priced, fingerprinted for the idempotency key and recorded. Every problem of the request
joins one `Validator`, so that the till learns them all at once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from domain.access import Principal
from domain.contacts import card_code_problem, normalise_card_code
from domain.errors import DomainError, ErrorCode, Validator
from domain.ids import parse_id
from domain.messages import msg
from domain.money import decimal_places, to_minor
from domain.pricing import Bill, BillInput, parse_bill
from domain.refunds import RefundLine

KEY_FIELD = "idempotencyKey"


@dataclass(frozen=True)
class CheckoutRequest:
    bill: BillInput
    customer_id: str | None = None
    card_code: str | None = None


@dataclass(frozen=True, slots=True)
class Named:
    """Who a request names: a customer by id (None: malformed, so unknown), by card, or no
    one (neither given)."""

    customer_id: UUID | None
    by_id: bool
    card_code: str | None


@dataclass(frozen=True, slots=True)
class ParsedRequest:
    """A request as parsed: the bill and who it names."""

    bill: Bill
    customer: Named


def parse_request(
    principal: Principal, request: CheckoutRequest, checks: Validator, *, sale: bool = False
) -> ParsedRequest:
    """The request parsed for the caller's currency; problems join `checks`. A `sale` (a
    commit) must name its customer."""
    # Normalised as stored codes are: a card typed "demo 0002" is DEMO0002.
    card = normalise_card_code(request.card_code) if request.card_code is not None else None
    if request.customer_id is not None and card is not None:
        checks.add(ErrorCode.INVALID, "input.cardCode", msg("checkout.customer_and_card"))
    elif card is not None and (problem := card_code_problem(card)):
        checks.add(ErrorCode.INVALID, "input.cardCode", problem)
    elif sale and request.customer_id is None and card is None:
        checks.add(
            ErrorCode.REQUIRED,
            "input.cardCode",
            msg("checkout.customer_required"),
        )
    if not principal.may_sell(request.bill.channel):
        checks.add(
            ErrorCode.FORBIDDEN,
            "input.channel",
            msg("checkout.channel_forbidden", channel=request.bill.channel.value),
        )
    try:
        bill = parse_bill(request.bill, principal.minor_units)
    except DomainError as error:
        checks.errors.extend(error.errors)
        bill = Bill(request.bill.channel, ())
    by_id = request.customer_id is not None
    customer_id = parse_id(request.customer_id) if request.customer_id is not None else None
    return ParsedRequest(bill, Named(customer_id, by_id, None if by_id else card))


def parse_expected_total(checks: Validator, raw: Decimal | None, minor_units: int) -> int | None:
    """The total the client showed, in minor units; problems join `checks`."""
    if raw is None:
        return None
    places = decimal_places(raw)
    value = to_minor(raw, minor_units) if places is not None else None
    if places is None:
        problem = msg("expected_total.not_a_number")
    elif places > minor_units:
        problem = (
            msg("expected_total.whole")
            if minor_units == 0
            else msg("amount.decimals", count=minor_units)
        )
    elif raw.is_signed() and not raw.is_zero():
        problem = msg("expected_total.negative")
    elif value is None:
        problem = msg("expected_total.too_large")
    else:
        return value
    checks.add(ErrorCode.INVALID, "expectedTotal", problem)
    return None


def commit_hash(parsed: ParsedRequest, expected_total: int | None) -> str:
    """A fingerprint of what the commit means: the parsed bill (so "2" and "2.000" are the same
    quantity), who it is for and the total the client showed."""
    bill, named = parsed.bill, parsed.customer
    payload = {
        "channel": bill.channel.value,
        "lines": [
            [line.product_id, line.name, line.category_id, line.quantity, line.unit_price]
            for line in bill.lines
        ],
        "use_credits": bill.use_credits,
        "max_credits": bill.max_credits,
        "excluded": sorted(bill.excluded_ids),
        "customer_id": str(named.customer_id) if named.by_id else None,
        "card_code": named.card_code,
        "expected_total": expected_total,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def refund_hash(checkout_id: UUID, lines: Sequence[RefundLine] | None = None) -> str:
    """A fingerprint of what a refund means: the checkout, and the lines and quantities it
    names in the order of the sale's lines (none: all that is left)."""
    if lines is None:
        return hashlib.sha256(f"refund:{checkout_id}".encode()).hexdigest()
    named = sorted((line.line, line.quantity) for line in lines)
    return hashlib.sha256(f"refund:{checkout_id}:{json.dumps(named)}".encode()).hexdigest()
