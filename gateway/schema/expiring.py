"""Credits expiring soon, per customer and in total (ADMIN only)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import strawberry

from gateway.context import Info
from gateway.loaders import CustomerKey
from gateway.schema.common import Money, PageInfo
from gateway.schema.customers import Customer
from gateway.schema.resolvers import query
from services import lots


@strawberry.type
class ExpiringCredits:
    amount: Money
    first_expires_on: date
    customer_id: strawberry.Private[UUID]

    @strawberry.field
    async def customer(self, info: Info) -> Customer:
        key = CustomerKey(info.context.principal.location_id, self.customer_id)
        found = await info.context.loaders.customers.load(key)
        assert found is not None  # a deleted customer's lots hold nothing
        return Customer.of(found.customer, info.context.principal, found.groups)


@strawberry.type
class ExpiringCreditsEdge:
    node: ExpiringCredits
    cursor: str


@strawberry.type
class ExpiringCreditsConnection:
    edges: list[ExpiringCreditsEdge]
    page_info: PageInfo
    total_count: int
    total: Money = strawberry.field(description="Over every customer, not only this page's.")


@strawberry.type
class Query:
    @query(
        admin=True,
        description="Credits expiring before the date (exclusive), per customer, the soonest "
        "first; and in total.",
    )
    async def expiring_credits(
        self, info: Info, before: date, first: int | None = 50, after: str | None = None
    ) -> ExpiringCreditsConnection:
        principal = info.context.principal
        size = 50 if first is None else first
        found = await lots.expiring_credits(principal.location_id, before, size, after)
        page = found.page
        return ExpiringCreditsConnection(
            edges=[
                ExpiringCreditsEdge(
                    node=ExpiringCredits(
                        amount=Money.of(e.amount, principal),
                        first_expires_on=e.first_expires_on,
                        customer_id=e.customer_id,
                    ),
                    cursor=c,
                )
                for e, c in zip(page.items, page.cursors, strict=True)
            ],
            page_info=PageInfo.of(page),
            total_count=page.total_count,
            total=Money.of(found.total, principal),
        )
