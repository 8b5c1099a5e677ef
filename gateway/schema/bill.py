"""The bill a till, a kiosk or the online store sends to quote or commit a checkout.

The till's largest input, and the one sent most often: it is built straight from the value
graphql-core has coerced, through the engine's `build_input_with`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import strawberry

from domain import pricing
from gateway.graphql.inputs import InputContext, build_input_with
from services import checkout as service

strawberry.enum(pricing.SalesChannel, name="SalesChannel")


@strawberry.input
class CheckoutLineInput:
    product_id: str
    name: str | None = None
    category_id: str | None = None
    quantity: Decimal
    unit_price: Decimal

    def to_domain(self) -> pricing.LineInput:
        return pricing.LineInput(
            product_id=self.product_id,
            quantity=self.quantity,
            unit_price=self.unit_price,
            name=self.name,
            category_id=self.category_id,
        )


@strawberry.input
class CheckoutInput:
    channel: pricing.SalesChannel = pricing.SalesChannel.POS
    customer_id: strawberry.ID | None = None
    card_code: str | None = strawberry.field(
        default=None, description="The scanned card; either this or customerId, or neither."
    )
    lines: list[CheckoutLineInput]
    use_credits: bool = True
    max_credits: Decimal | None = strawberry.field(
        default=None,
        description="Use at most this much of the credits (partial use); null = as much as fits.",
    )
    excluded_discount_ids: list[str] | None = strawberry.field(
        default=None, description="AppliedDiscount.id values the cashier removed."
    )

    def to_domain(self) -> service.CheckoutRequest:
        excluded = self.excluded_discount_ids
        bill = pricing.BillInput(
            channel=self.channel,
            lines=tuple(line.to_domain() for line in self.lines),
            use_credits=self.use_credits,
            max_credits=self.max_credits,
            excluded_discount_ids=None if excluded is None else tuple(excluded),
        )
        return service.CheckoutRequest(
            bill=bill,
            customer_id=None if self.customer_id is None else str(self.customer_id),
            card_code=self.card_code,
        )


def _checkout_input(
    cls: type[CheckoutInput], value: Mapping[str, Any], context: InputContext
) -> CheckoutInput:
    """A bill, the till's largest input, built straight from the value graphql-core has
    coerced (registered below with the engine's `build_input_with`). `tests/test_checkout_api.py`
    checks that this and Strawberry's generic conversion build the same input."""
    excluded = value.get("excludedDiscountIds")
    return cls(
        channel=value["channel"],
        customer_id=value.get("customerId"),
        card_code=value.get("cardCode"),
        lines=[
            CheckoutLineInput(
                product_id=line["productId"],
                name=line.get("name"),
                category_id=line.get("categoryId"),
                quantity=line["quantity"],
                unit_price=line["unitPrice"],
            )
            for line in value["lines"]
        ],
        use_credits=value["useCredits"],
        max_credits=value.get("maxCredits"),
        excluded_discount_ids=None if excluded is None else list(excluded),
    )


build_input_with(CheckoutInput, _checkout_input)
