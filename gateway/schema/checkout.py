"""Checkout at the till, the kiosk and the online store: quotes, commits, refunds, history.

The operations are `gateway.schema.checkout_operations`. Amounts are rendered with the location
currency's decimals; quantities as the exact decimal they stand for ("2", "0.5", "1.125").
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

import strawberry

from domain import pricing
from domain.access import Principal
from domain.messages import msg
from gateway.context import Info
from gateway.loaders import CheckoutKey, CustomerKey
from gateway.schema.common import Message, Money, PageInfo, UserError
from gateway.schema.customers import Customer
from services import checkout as service
from services.i18n import render

strawberry.enum(pricing.DiscountKind, name="DiscountKind")


@strawberry.enum
class CheckoutStatus(StrEnum):
    COMMITTED = "COMMITTED"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"


def quantity_of(thousandths: int) -> Decimal:
    """A quantity in thousandths as its exact decimal, without trailing zeros or an exponent."""
    value = Decimal(thousandths).scaleb(-pricing.QUANTITY_PLACES).normalize()
    exponent = value.as_tuple().exponent
    return value.quantize(Decimal(1)) if isinstance(exponent, int) and exponent > 0 else value


# ----------------------------------------------------------------------------- input


@strawberry.input(name="CheckoutFilter")
class CheckoutFilterInput:
    customer_id: strawberry.ID | None = None
    status: CheckoutStatus | None = None
    channel: pricing.SalesChannel | None = None
    created_from: datetime | None = strawberry.field(default=None, description="Inclusive.")
    created_to: datetime | None = strawberry.field(default=None, description="Exclusive.")

    def to_domain(self) -> service.CheckoutFilter:
        return service.CheckoutFilter(
            customer_id=None if self.customer_id is None else str(self.customer_id),
            status=None if self.status is None else self.status.value,
            channel=None if self.channel is None else self.channel.value,
            created_from=self.created_from,
            created_to=self.created_to,
        )


# ----------------------------------------------------------------------------- output


@strawberry.type
class AppliedDiscount:
    id: str = strawberry.field(
        description='Stable within a quote: "credits", "pos-discount:<id>", "promotion:<id>".'
    )
    kind: pricing.DiscountKind
    name: str
    amount: Money
    reference: str | None = strawberry.field(description="The group reference it came through.")
    removable: bool

    @classmethod
    def of(cls, discount: pricing.AppliedDiscount, principal: Principal) -> AppliedDiscount:
        return cls(
            id=discount.id,
            kind=discount.kind,
            name=_discount_name(discount, principal.language),
            amount=Money.of(discount.amount, principal),
            reference=discount.reference,
            removable=discount.removable,
        )


def _discount_name(discount: pricing.AppliedDiscount, language: str) -> str:
    """Promotional credits are named in the reader's language ("Kredyty promocyjne"); a group
    discount or a promotion keeps the name it has upstream."""
    if discount.kind is pricing.DiscountKind.PROMOTIONAL_CREDITS:
        return render(msg(pricing.CREDITS_NAME_ID), language)
    return discount.name


@strawberry.type
class QuoteLine:
    product_id: str
    name: str | None
    quantity: Decimal
    unit_price: Money
    subtotal: Money
    discount: Money
    total: Money

    @classmethod
    def of(cls, line: pricing.QuoteLine, principal: Principal) -> QuoteLine:
        return cls(
            product_id=line.product_id,
            name=line.name,
            quantity=quantity_of(line.quantity),
            unit_price=Money.of(line.unit_price, principal),
            subtotal=Money.of(line.subtotal, principal),
            discount=Money.of(line.discount, principal),
            total=Money.of(line.total, principal),
        )


@strawberry.type
class CreditsSummary:
    available: Money
    applied: Money
    remaining_after: Money


@strawberry.type
class DailyLimitSummary:
    reference: str | None = strawberry.field(
        description="The customer's group whose linked GoPOS group has the limit."
    )
    limit: Money
    used: Money = strawberry.field(
        description="Used today (discounts granted through that group), before this bill."
    )
    remaining: Money = strawberry.field(description="limit - used.")


def _credits(summary: pricing.CreditsSummary | None, principal: Principal) -> CreditsSummary | None:
    if summary is None:
        return None
    return CreditsSummary(
        available=Money.of(summary.available, principal),
        applied=Money.of(summary.applied, principal),
        remaining_after=Money.of(summary.remaining_after, principal),
    )


def _daily_limit(
    summary: pricing.DailyLimitSummary | None, principal: Principal
) -> DailyLimitSummary | None:
    return None if summary is None else _limit(summary, principal)


def _limit(summary: pricing.DailyLimitSummary, principal: Principal) -> DailyLimitSummary:
    return DailyLimitSummary(
        reference=summary.reference,
        limit=Money.of(summary.limit, principal),
        used=Money.of(summary.used, principal),
        remaining=Money.of(summary.remaining, principal),
    )


@strawberry.type
class CheckoutQuote:
    channel: pricing.SalesChannel
    customer: Customer | None
    lines: list[QuoteLine]
    subtotal: Money
    discounts: list[AppliedDiscount] = strawberry.field(
        description="Only those worth more than zero, in the order applied."
    )
    discount_total: Money = strawberry.field(
        description="All discounts, promotional credits included."
    )
    total: Money = strawberry.field(description="subtotal - discountTotal: what the customer pays.")
    credits: CreditsSummary | None = strawberry.field(description="Null without a customer.")
    daily_limit: DailyLimitSummary | None = strawberry.field(
        description="The limit of the group the discount came through; null when none applies."
    )
    messages: list[str] = strawberry.field(
        description="E.g. why a promotion did not apply, in the request's language."
    )
    notices: list[Message] = strawberry.field(
        description="The same, with stable ids and parameters."
    )
    daily_limits: list[DailyLimitSummary] = strawberry.field(
        description="Every daily limit of the customer's GoPOS groups, by reference "
        "(POS and KIOSK; none online)."
    )

    @classmethod
    def of(cls, result: service.QuoteResult, principal: Principal) -> CheckoutQuote:
        quote = result.quote
        notices = [Message.of(notice, principal.language) for notice in quote.messages]
        return cls(
            channel=quote.channel,
            customer=None
            if result.customer is None
            else Customer.of(result.customer, principal, scanned_card=result.card_code),
            lines=[QuoteLine.of(line, principal) for line in quote.lines],
            subtotal=Money.of(quote.subtotal, principal),
            discounts=[AppliedDiscount.of(d, principal) for d in quote.discounts],
            discount_total=Money.of(quote.discount_total, principal),
            total=Money.of(quote.total, principal),
            credits=_credits(quote.credits, principal),
            daily_limit=_daily_limit(quote.daily_limit, principal),
            messages=[notice.text for notice in notices],
            notices=notices,
            daily_limits=[_limit(limit, principal) for limit in quote.daily_limits],
        )


@strawberry.type
class CheckoutRefund:
    id: strawberry.ID
    lines: list[QuoteLine]
    credits_returned: Money
    cashback_reversed: Money = strawberry.field(
        description="Taken back from the balance or from held cashback."
    )
    cashback_owed: Money = strawberry.field(
        description="What the balance could not cover; recorded as owed, and netted against "
        "the customer's next credits."
    )
    created_at: datetime

    @classmethod
    def of(cls, view: service.RefundView, principal: Principal) -> CheckoutRefund:
        return cls(
            id=strawberry.ID(str(view.id)),
            lines=[QuoteLine.of(line, principal) for line in view.lines],
            credits_returned=Money.of(view.credits_returned, principal),
            cashback_reversed=Money.of(view.cashback_reversed, principal),
            cashback_owed=Money.of(view.cashback_owed, principal),
            created_at=view.created_at,
        )


@strawberry.type
class Checkout:
    id: strawberry.ID
    channel: pricing.SalesChannel
    status: CheckoutStatus
    lines: list[QuoteLine]
    subtotal: Money
    discounts: list[AppliedDiscount]
    discount_total: Money
    total: Money
    credits_used: Money
    cashback_granted: Money
    created_at: datetime
    refunded_at: datetime | None = strawberry.field(
        description="When the last of it was refunded; null while anything is left."
    )
    view: strawberry.Private[service.CheckoutView]

    @classmethod
    def of(cls, view: service.CheckoutView, principal: Principal) -> Checkout:
        return cls(
            id=strawberry.ID(str(view.id)),
            channel=view.channel,
            status=CheckoutStatus(view.status),
            lines=[QuoteLine.of(line, principal) for line in view.lines],
            subtotal=Money.of(view.subtotal, principal),
            discounts=[AppliedDiscount.of(d, principal) for d in view.discounts],
            discount_total=Money.of(view.discount_total, principal),
            total=Money.of(view.total, principal),
            credits_used=Money.of(view.credits_used, principal),
            cashback_granted=Money.of(view.cashback_granted, principal),
            created_at=view.created_at,
            refunded_at=view.refunded_at,
            view=view,
        )

    @strawberry.field(description="Its refunds, oldest first.")
    async def refunds(self, info: Info) -> list[CheckoutRefund]:
        principal = info.context.principal
        key = CheckoutKey(principal.location_id, self.view.id)
        found = await info.context.loaders.refunds.load(key)
        return [CheckoutRefund.of(refund, principal) for refund in found]

    @strawberry.field(description="Null without a customer, or once the customer is deleted.")
    async def customer(self, info: Info) -> Customer | None:
        customer_id = self.view.customer_id
        if customer_id is None:
            return None
        key = CustomerKey(info.context.principal.location_id, customer_id)
        found = await info.context.loaders.customers.load(key)
        if found is None:
            return None
        return Customer.of(found.customer, info.context.principal, found.groups)


@strawberry.type
class CheckoutEdge:
    node: Checkout
    cursor: str


@strawberry.type
class CheckoutConnection:
    edges: list[CheckoutEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type
class CommitCheckoutPayload:
    checkout: Checkout | None = None
    quote: CheckoutQuote | None = strawberry.field(
        default=None, description="The fresh quote, when the total changed (QUOTE_CHANGED)."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RefundCheckoutPayload:
    checkout: Checkout | None = None
    refund: CheckoutRefund | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
