"""Checkout pricing: what a bill costs a customer, as a pure function of plain data.

A `Bill` comes parsed and valid from `domain.bill`. `price` computes the `Quote` from
the bill and a `PricingContext` that the caller has already read: the customer's wallet balance,
today's discount usage and the synced GoPOS groups or GoOrder promotions linked to the
customer's groups. Nothing here reads a database or a clock.

Rules, in the order they apply:

- A line's subtotal is quantity × unit price, rounded half-up to the minor unit
  (`domain.bill`); the bill's subtotal is the sum of the lines' and may not pass
  `domain.money.max_amount_minor`.
- One group discount at most (they do not stack): the one worth most to the customer among the
  enabled discounts of the linked GoPOS groups (POS, KIOSK) or the active linked GoOrder
  promotions at or above their minimum basket (ONLINE). A percentage is taken of the bill's
  subtotal and rounded half-up once; money off never exceeds the subtotal. Ids the cashier
  excluded are skipped and the best remaining one applies.
- POS and KIOSK: the discount is capped at what is left today of the daily limit of the GoPOS
  group it comes through, which counts only the discounts granted through that group today
  (as GoPOS counts it). The quote lists every daily limit of the customer's GoPOS groups.
- Then promotional credits: up to the lowest of what is left to pay, the balance and the
  cashier's `maxCredits`; none when the location has switched them off for the bill's channel,
  or the cashier removed them.
- Each applied discount is spread over the lines by largest remainder (`allocate`): the group
  discount in proportion to the line subtotals, the credits in proportion to what the group
  discount left of each line, so that no line total is ever negative. Line discounts sum exactly
  to the discounts and line totals exactly to the total.

Quantities are integers in thousandths (`QUANTITY_PLACES`); money is integer minor units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

# The arithmetic is re-exported too: what pricing spreads and grants, from one import.
from domain.allocation import BASIS_POINTS_WHOLE, allocate, cashback

# The bill's names are re-exported: callers price what they parse, from one import.
from domain.bill import (
    MAX_LINES,
    QUANTITY_PLACES,
    Bill,
    BillInput,
    Line,
    LineInput,
    SalesChannel,
    parse_bill,
    subtotal_problem,
)
from domain.errors import ErrorCode, fail
from domain.messages import Message, msg
from domain.money import half_up, money_text
from domain.sync import DiscountType, MirrorDiscount, MirrorPromotion, PromotionType

__all__ = [
    "MAX_LINES",
    "QUANTITY_PLACES",
    "AppliedDiscount",
    "Bill",
    "BillInput",
    "CreditsSummary",
    "CustomerPricing",
    "DailyLimitSummary",
    "DiscountKind",
    "Line",
    "LineInput",
    "PosGroupOffer",
    "PricingContext",
    "PromotionOffer",
    "Quote",
    "QuoteLine",
    "SalesChannel",
    "allocate",
    "cashback",
    "parse_bill",
    "price",
]

CREDITS_ID = "credits"
CREDITS_NAME = "Promotional credits"
CREDITS_NAME_ID = "discount.promotional_credits"  # its message: named in the reader's language
POS_DISCOUNT_PREFIX = "pos-discount:"
PROMOTION_PREFIX = "promotion:"


class DiscountKind(StrEnum):
    GROUP_DISCOUNT = "GROUP_DISCOUNT"
    PROMOTION = "PROMOTION"
    PROMOTIONAL_CREDITS = "PROMOTIONAL_CREDITS"


# ----------------------------------------------------------------------------- context


@dataclass(frozen=True, slots=True)
class PosGroupOffer:
    """A GoPOS group linked to one of the customer's groups, with its enabled discounts."""

    reference: str  # the customer's group reference it is linked through
    daily_limit: int | None  # minor units; None: no limit
    discounts: tuple[MirrorDiscount, ...]


@dataclass(frozen=True, slots=True)
class PromotionOffer:
    """An active GoOrder promotion linked to one of the customer's groups."""

    reference: str
    promotion: MirrorPromotion


@dataclass(frozen=True, slots=True)
class CustomerPricing:
    """What pricing needs to know about the identified customer."""

    balance: int  # promotional credits, minor units
    # Per group reference: the discounts granted through that group on today's committed POS
    # and KIOSK checkouts (a group absent has none).
    used_today: Mapping[str, int] = field(default_factory=dict)
    pos_groups: tuple[PosGroupOffer, ...] = ()  # for POS and KIOSK
    promotions: tuple[PromotionOffer, ...] = ()  # for ONLINE
    has_groups: bool = False  # in at least one group (linked or not)
    credits_on: bool = True  # whether the location uses promotional credits on the channel


@dataclass(frozen=True, slots=True)
class PricingContext:
    minor_units: int  # the location currency's decimal places
    customer: CustomerPricing | None = None  # None: priced without discounts or credits


# ----------------------------------------------------------------------------- quote


@dataclass(frozen=True, slots=True)
class QuoteLine:
    product_id: str
    name: str | None
    category_id: str | None
    quantity: int  # thousandths
    unit_price: int
    subtotal: int
    discount: int  # every discount's share, credits included
    total: int


@dataclass(frozen=True, slots=True)
class AppliedDiscount:
    id: str  # "pos-discount:<id>", "promotion:<id>" or "credits"
    kind: DiscountKind
    name: str
    amount: int
    reference: str | None  # the customer's group reference it came through
    removable: bool = True


@dataclass(frozen=True, slots=True)
class CreditsSummary:
    available: int
    applied: int
    remaining_after: int


@dataclass(frozen=True, slots=True)
class DailyLimitSummary:
    reference: str  # of the customer's group whose linked GoPOS group has the limit
    limit: int
    used: int  # today, before this bill
    remaining: int  # limit - used, never below 0


@dataclass(frozen=True, slots=True)
class Quote:
    channel: SalesChannel
    lines: tuple[QuoteLine, ...]
    subtotal: int
    discounts: tuple[AppliedDiscount, ...]  # worth more than zero, in the order applied
    discount_total: int
    total: int
    credits: CreditsSummary | None
    daily_limit: DailyLimitSummary | None  # the limit of the group the discount came through
    messages: tuple[Message, ...]  # notices: e.g. why a promotion did not apply
    # Every daily limit of the customer's GoPOS groups (POS and KIOSK), by reference.
    daily_limits: tuple[DailyLimitSummary, ...] = ()

    @property
    def group_discount(self) -> int:
        """What this bill takes of the daily limit (the GoPOS group discount)."""
        return sum(d.amount for d in self.discounts if d.kind is DiscountKind.GROUP_DISCOUNT)

    @property
    def discount_reference(self) -> str | None:
        """The group the group discount came through: whose daily limit it takes."""
        kind = DiscountKind.GROUP_DISCOUNT
        return next((d.reference for d in self.discounts if d.kind is kind), None)

    @property
    def credits_used(self) -> int:
        return self.credits.applied if self.credits is not None else 0


@dataclass(frozen=True, slots=True)
class _Candidate:
    id: str
    kind: DiscountKind
    name: str
    reference: str
    full: int  # before the daily limit
    amount: int  # after it
    daily_limit: DailyLimitSummary | None


def price(bill: Bill, context: PricingContext) -> Quote:
    """The quote for `bill`; raises `DomainError` (``input.lines``) when its subtotal passes the
    maximum amount."""
    minor_units = context.minor_units
    subtotals = [line.subtotal for line in bill.lines]
    subtotal = sum(subtotals)
    if problem := subtotal_problem(subtotal, minor_units):
        raise fail(ErrorCode.INVALID, "input.lines", problem)
    left = list(subtotals)  # what is left to pay of each line
    discounts: list[AppliedDiscount] = []
    messages: list[Message] = []
    daily_limit: DailyLimitSummary | None = None
    credits: CreditsSummary | None = None

    def apply(discount: AppliedDiscount) -> None:
        for index, share in enumerate(allocate(discount.amount, left)):
            left[index] -= share
        discounts.append(discount)

    customer = context.customer
    limits: dict[str, DailyLimitSummary] = {}
    if customer is not None:
        _check_customer(customer)
        limits = _daily_limits(customer)
        chosen, daily_limit = _group_discount(
            bill, customer, limits, subtotal, minor_units, messages
        )
        if chosen is not None:
            apply(chosen)
        credits = _credits(bill, customer, sum(left), minor_units, messages)
        if credits.applied:
            kind = DiscountKind.PROMOTIONAL_CREDITS
            apply(AppliedDiscount(CREDITS_ID, kind, CREDITS_NAME, credits.applied, None))
    discount_total = sum(d.amount for d in discounts)
    return Quote(
        channel=bill.channel,
        lines=_quote_lines(bill, subtotals, left),
        subtotal=subtotal,
        discounts=tuple(discounts),
        discount_total=discount_total,
        total=subtotal - discount_total,
        credits=credits,
        daily_limit=daily_limit,
        messages=tuple(messages),
        daily_limits=tuple(limits.values()),
    )


def _quote_lines(
    bill: Bill, subtotals: Sequence[int], left: Sequence[int]
) -> tuple[QuoteLine, ...]:
    """Each line with its subtotal, what the discounts took off it and what is left to pay."""
    return tuple(
        QuoteLine(
            line.product_id,
            line.name,
            line.category_id,
            line.quantity,
            line.unit_price,
            line_subtotal,
            line_subtotal - line_left,
            line_left,
        )
        for line, line_subtotal, line_left in zip(bill.lines, subtotals, left, strict=True)
    )


def _check_customer(customer: CustomerPricing) -> None:
    if customer.balance < 0 or any(used < 0 for used in customer.used_today.values()):
        raise ValueError("a balance and a daily usage are never negative")


def _daily_limits(customer: CustomerPricing) -> dict[str, DailyLimitSummary]:
    """The daily limit of each of the customer's GoPOS groups that has one, by the reference
    of the customer's group it is linked through (the lowest, were one linked twice), sorted
    by reference: what that group's discounts used today, and what is left."""
    caps: dict[str, int] = {}
    for group in customer.pos_groups:
        if group.daily_limit is not None:
            caps[group.reference] = min(
                group.daily_limit, caps.get(group.reference, group.daily_limit)
            )
    limits: dict[str, DailyLimitSummary] = {}
    for reference, cap in sorted(caps.items()):
        used = customer.used_today.get(reference, 0)
        limits[reference] = DailyLimitSummary(reference, cap, used, max(0, cap - used))
    return limits


def _group_discount(
    bill: Bill,
    customer: CustomerPricing,
    limits: Mapping[str, DailyLimitSummary],
    subtotal: int,
    minor_units: int,
    messages: list[Message],
) -> tuple[AppliedDiscount | None, DailyLimitSummary | None]:
    """The discount that applies, and the daily limit reported with it."""
    online = bill.channel is SalesChannel.ONLINE
    if online:
        offered = bool(customer.promotions)
        candidates = _promotions(bill, customer, subtotal, minor_units, messages)
    else:
        offered = bool(customer.pos_groups)
        candidates = _pos_discounts(bill, customer, limits, subtotal, messages)
    if not offered and customer.has_groups:
        messages.append(
            msg("quote.no_linked_promotion") if online else msg("quote.no_linked_group")
        )
    if not candidates:
        return None, None
    best = min(candidates, key=lambda c: (-c.amount, -c.full, c.id, c.reference))
    limit = best.daily_limit
    if limit is not None and best.amount < best.full:
        cap, used = money_text(limit.limit, minor_units), money_text(limit.used, minor_units)
        messages.append(
            msg(
                "quote.discount_capped",
                amount=money_text(best.amount, minor_units),
                limit=cap,
                used=used,
            )
            if best.amount
            else msg("quote.limit_reached", limit=cap, used=used)
        )
    if not best.amount:
        return None, limit
    return AppliedDiscount(best.id, best.kind, best.name, best.amount, best.reference), limit


def _pos_discounts(
    bill: Bill,
    customer: CustomerPricing,
    limits: Mapping[str, DailyLimitSummary],
    subtotal: int,
    messages: list[Message],
) -> list[_Candidate]:
    candidates: list[_Candidate] = []
    removed: dict[str, str] = {}
    for group in customer.pos_groups:
        limit = limits.get(group.reference)
        for discount in group.discounts:
            if not discount.enabled:
                continue
            discount_id = POS_DISCOUNT_PREFIX + discount.external_id
            if discount_id in bill.excluded_ids:
                removed[discount_id] = discount.name
                continue
            full = _value(discount.type is DiscountType.PERCENT, discount.value, subtotal)
            amount = full if limit is None else min(full, limit.remaining)
            candidates.append(
                _Candidate(
                    discount_id,
                    DiscountKind.GROUP_DISCOUNT,
                    discount.name,
                    group.reference,
                    full,
                    amount,
                    limit,
                )
            )
    messages.extend(msg("quote.discount_removed", name=removed[i]) for i in sorted(removed))
    return candidates


def _promotions(
    bill: Bill, customer: CustomerPricing, subtotal: int, minor_units: int, messages: list[Message]
) -> list[_Candidate]:
    candidates: list[_Candidate] = []
    removed: dict[str, Message] = {}
    short: dict[str, Message] = {}
    for offer in customer.promotions:
        promotion = offer.promotion
        if not promotion.active:
            continue
        promotion_id = PROMOTION_PREFIX + promotion.external_id
        if promotion_id in bill.excluded_ids:
            removed[promotion_id] = msg("quote.promotion_removed", name=promotion.name)
            continue
        if promotion.min_basket is not None and subtotal < promotion.min_basket:
            missing = promotion.min_basket - subtotal
            short[promotion_id] = msg(
                "quote.basket_short",
                name=promotion.name,
                minimum=money_text(promotion.min_basket, minor_units),
                missing=money_text(missing, minor_units),
            )
            continue
        percent = promotion.type is PromotionType.ORDER_PERCENT
        full = _value(percent, promotion.value, subtotal)
        candidates.append(
            _Candidate(
                promotion_id,
                DiscountKind.PROMOTION,
                promotion.name,
                offer.reference,
                full,
                full,
                None,
            )
        )
    messages.extend(removed[i] for i in sorted(removed))
    messages.extend(short[i] for i in sorted(short))
    return candidates


def _value(percent: bool, value: int, subtotal: int) -> int:
    """A discount's worth on a bill: basis points of the subtotal rounded half-up once, or money
    off; never negative and never more than the subtotal."""
    amount = half_up(subtotal * max(0, value), BASIS_POINTS_WHOLE) if percent else value
    return min(max(0, amount), subtotal)


def _credits(
    bill: Bill, customer: CustomerPricing, to_pay: int, minor_units: int, messages: list[Message]
) -> CreditsSummary:
    balance = customer.balance
    applied = 0
    if not customer.credits_on:
        messages.append(msg("quote.credits_off", channel=bill.channel.value))
    elif not bill.use_credits or CREDITS_ID in bill.excluded_ids:
        messages.append(msg("quote.credits_removed"))
    elif not balance:
        messages.append(msg("quote.no_credits", balance=money_text(0, minor_units)))
    elif bill.max_credits is not None and bill.max_credits <= 0:
        messages.append(msg("quote.credits_capped_zero", maximum=money_text(0, minor_units)))
    elif not to_pay:
        messages.append(msg("quote.nothing_to_pay"))
    else:
        applied = min(to_pay, balance)
        if bill.max_credits is not None:
            applied = min(applied, bill.max_credits)
    return CreditsSummary(balance, applied, balance - applied)
