"""Credits expiring soon, per customer and in total; and the runs that expired them (ADMIN
only)."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import strawberry

from domain.access import Principal
from domain.expiry_runs import ExpiryRunInfo
from gateway.context import Info
from gateway.loaders import CustomerKey
from gateway.schema.common import Message, Money, PageInfo, stored_message
from gateway.schema.customers import Customer
from gateway.schema.resolvers import query
from gateway.schema.schedules import OperationStatus
from services import expiry, lots

EXPIRY_RUNS_PAGE_SIZE = 20


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


@strawberry.type(
    description="The expiry of the location's credits whose expiry day ended before `day`, "
    "made by the periodic check once a day when some are due."
)
class ExpiryRun:
    id: strawberry.ID
    day: date = strawberry.field(description="In the location's time zone.")
    status: OperationStatus
    attempts: int
    lots_expired: int = strawberry.field(description="Credit lots expired so far.")
    amount_expired: Money = strawberry.field(description="What they held.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None = strawberry.field(description="In the request's language.")
    error_message: Message | None = strawberry.field(
        description="The same, with its stable id and parameters."
    )

    @classmethod
    def of(cls, run: ExpiryRunInfo, principal: Principal) -> ExpiryRun:
        error = stored_message(run.error, principal.language)
        return cls(
            id=strawberry.ID(str(run.id)),
            day=run.day,
            status=OperationStatus(run.status.value),
            attempts=run.attempts,
            lots_expired=run.lots_expired,
            amount_expired=Money.of(run.amount_expired, principal),
            created_at=run.created_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
            error=None if error is None else error.text,
            error_message=error,
        )


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

    @query(admin=True, description="The location's expiry runs, newest day first.")
    async def expiry_runs(
        self, info: Info, first: int | None = EXPIRY_RUNS_PAGE_SIZE
    ) -> list[ExpiryRun]:
        principal = info.context.principal
        size = EXPIRY_RUNS_PAGE_SIZE if first is None else first
        runs = await expiry.latest_runs(principal.location_id, size)
        return [ExpiryRun.of(run, principal) for run in runs]
