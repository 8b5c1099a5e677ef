"""Checkout at the till, the kiosk and the online store: quotes, commits, refunds, history.

Every operation here is open to POS keys as well as ADMIN keys, always within the key's own
location. The types are `gateway.schema.checkout`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import strawberry

from domain.access import Role
from domain.paging import DEFAULT_PAGE_SIZE
from domain.refunds import RefundLineInput as RefundLine
from gateway.context import Info
from gateway.schema.bill import CheckoutInput
from gateway.schema.checkout import (
    Checkout,
    CheckoutConnection,
    CheckoutEdge,
    CheckoutFilterInput,
    CheckoutQuote,
    CheckoutRefund,
    CommitCheckoutPayload,
    RefundCheckoutPayload,
)
from gateway.schema.common import PageInfo, user_errors
from gateway.schema.resolvers import mutation, query
from services import checkout as service


@strawberry.input
class RefundLineInput:
    line: int = strawberry.field(description="A 0-based index into the sale's lines.")
    quantity: Decimal

    def to_domain(self) -> RefundLine:
        return RefundLine(self.line, self.quantity)


@strawberry.type
class Query:
    @query(
        description="What a bill costs the customer now: group discount, promotion and "
        "promotional credits applied automatically. Nothing is written."
    )
    async def checkout_quote(self, info: Info, input: CheckoutInput) -> CheckoutQuote:
        principal = info.context.principal
        result = await service.quote(info.context.runtime, principal, input.to_domain())
        return CheckoutQuote.of(result, principal)

    @query()
    async def checkout(self, info: Info, id: strawberry.ID) -> Checkout | None:
        principal = info.context.principal
        found = await service.get_checkout(principal, id)
        return None if found is None else Checkout.of(found, principal)

    @query(description="Newest first.")
    async def checkouts(
        self,
        info: Info,
        first: int | None = 50,
        after: str | None = None,
        filter: CheckoutFilterInput | None = None,
    ) -> CheckoutConnection:
        principal = info.context.principal
        page = await service.list_checkouts(
            principal,
            None if filter is None else filter.to_domain(),
            DEFAULT_PAGE_SIZE if first is None else first,
            after,
        )
        return CheckoutConnection(
            edges=[
                CheckoutEdge(node=Checkout.of(view, principal), cursor=cursor)
                for view, cursor in zip(page.items, page.cursors, strict=True)
            ],
            page_info=PageInfo.of(page),
            total_count=page.total_count,
        )


@strawberry.type
class Mutation:
    @mutation(CommitCheckoutPayload, role=Role.POS)
    async def commit_checkout(
        self,
        info: Info,
        input: CheckoutInput,
        idempotency_key: str,
        expected_total: Decimal | None = None,
    ) -> CommitCheckoutPayload:
        principal = info.context.principal
        try:
            view = await service.commit(
                info.context.runtime,
                principal,
                input.to_domain(),
                idempotency_key=idempotency_key,
                expected_total=expected_total,
            )
        except service.QuoteChanged as changed:
            return CommitCheckoutPayload(
                quote=CheckoutQuote.of(changed.quote, principal),
                errors=user_errors(changed, principal.language),
            )
        return CommitCheckoutPayload(checkout=Checkout.of(view, principal))

    @mutation(RefundCheckoutPayload, role=Role.POS)
    async def refund_checkout(
        self,
        info: Info,
        id: strawberry.ID,
        idempotency_key: str,
        lines: Annotated[
            list[RefundLineInput] | None,
            strawberry.argument(
                description="The lines and quantities to refund; omitted: all that is left."
            ),
        ] = None,
    ) -> RefundCheckoutPayload:
        principal = info.context.principal
        done = await service.refund(
            info.context.runtime,
            principal,
            id,
            idempotency_key=idempotency_key,
            lines=None if lines is None else [line.to_domain() for line in lines],
        )
        return RefundCheckoutPayload(
            checkout=Checkout.of(done.checkout, principal),
            refund=CheckoutRefund.of(done.refund, principal),
        )
