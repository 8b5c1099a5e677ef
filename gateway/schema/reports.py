"""The owner's reports (ADMIN): liability, activity, discount cost and top customers."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

import strawberry

from domain import entities
from domain.access import Principal
from domain.reports import ActivityTotals, ReportInterval
from gateway.context import Info
from gateway.loaders import CustomerKey
from gateway.schema.common import Money
from gateway.schema.customers import Customer
from gateway.schema.groups import CustomerGroup
from gateway.schema.resolvers import query
from services import reports

strawberry.enum(ReportInterval, name="ReportInterval")


@strawberry.type
class LiabilityByGroup:
    group: CustomerGroup | None = strawberry.field(description="Null: the customers in no group.")
    amount: Money
    customers: int = strawberry.field(description="Customers of the group holding credits.")


@strawberry.type
class LiabilityByExpiry:
    month: str | None = strawberry.field(description='"2027-01"; null: credits that never expire.')
    amount: Money


@strawberry.type
class LiabilityReport:
    at: date
    outstanding: Money = strawberry.field(description="Spendable credits.")
    held: Money = strawberry.field(description="Cashback granted and not yet released.")
    owed: Money = strawberry.field(
        description="Reversed cashback the balances could not cover, netted against later credits."
    )
    by_group: list[LiabilityByGroup] = strawberry.field(
        description="Today's groups: a customer in two groups counts in both."
    )
    by_expiry_month: list[LiabilityByExpiry] = strawberry.field(
        description="The outstanding credits at the day's end by the month they expire, soonest"
        " first, then those that never expire: together the outstanding."
    )
    scheduled_next_30_days: Money = strawberry.field(
        name="scheduledNext30Days",
        description="What live schedules would credit from today over the next 30 days: an ADD"
        " in full; a SET what its first period adds to today's balances, and at most its amount"
        " per customer for each later period.",
    )


@strawberry.type
class ActivityRow:
    start: date = strawberry.field(description="The period's first day (a week starts on Monday).")
    issued_manual: Money
    issued_bulk: Money
    issued_schedule: Money
    issued_cashback: Money = strawberry.field(description="Cashback made spendable.")
    refunded: Money = strawberry.field(description="Credits given back by refunds of sales.")
    redeemed: Money
    expired: Money
    cashback_reversed: Money
    reduced: Money = strawberry.field(description="REDUCE, and SET to a lower balance.")
    clawed_back: Money
    written_off: Money = strawberry.field(description="Balances of deleted customers.")
    undone: Money = strawberry.field(
        description="What undoing operations changed, signed (negative: credits taken back)."
    )
    net_change: Money = strawberry.field(
        description="The change of all balances over the period: the columns above, signed."
    )

    @classmethod
    def of(cls, start: date, totals: ActivityTotals, principal: Principal) -> ActivityRow:
        def money(minor: int) -> Money:
            return Money.of(minor, principal)

        return cls(
            start=start,
            issued_manual=money(totals.issued_manual),
            issued_bulk=money(totals.issued_bulk),
            issued_schedule=money(totals.issued_schedule),
            issued_cashback=money(totals.issued_cashback),
            refunded=money(totals.refunded),
            redeemed=money(totals.redeemed),
            expired=money(totals.expired),
            cashback_reversed=money(totals.cashback_reversed),
            reduced=money(totals.reduced),
            clawed_back=money(totals.clawed_back),
            written_off=money(totals.written_off),
            undone=money(totals.undone_in - totals.undone_out),
            net_change=money(totals.net),
        )


@strawberry.type
class CustomerUsage:
    customer: Customer
    credits_used: Money
    sales: int


@strawberry.type
class DiscountCostRow:
    day: date
    group: CustomerGroup | None = strawberry.field(
        description="The group the sale's discount came through; null: none, or a group gone."
    )
    group_discounts: Money
    promotions: Money
    credits_used: Money
    sales: int


async def _groups(info: Info) -> dict[UUID, entities.CustomerGroup]:
    found = await info.context.runtime.stores.groups.in_location(info.context.principal.location_id)
    return {group.id: group for group in found}


def _group(
    groups: dict[UUID, entities.CustomerGroup], group_id: UUID | None
) -> CustomerGroup | None:
    group = groups.get(group_id) if group_id is not None else None
    return None if group is None else CustomerGroup.of(group)


@strawberry.type
class Query:
    @query(admin=True)
    async def liability_report(self, info: Info, at: date | None = None) -> LiabilityReport:
        principal, runtime = info.context.principal, info.context.runtime
        found = await reports.liability_report(runtime, principal, at)
        groups = await _groups(info)
        return LiabilityReport(
            at=found.at,
            outstanding=Money.of(found.outstanding, principal),
            held=Money.of(found.held, principal),
            owed=Money.of(found.owed, principal),
            by_group=[
                LiabilityByGroup(
                    group=_group(groups, group_id),
                    amount=Money.of(amount, principal),
                    customers=customers,
                )
                for group_id, amount, customers in found.by_group
                if group_id is None or group_id in groups
            ],
            by_expiry_month=[
                LiabilityByExpiry(month=bucket.month, amount=Money.of(bucket.amount, principal))
                for bucket in found.by_expiry
            ],
            scheduled_next_30_days=Money.of(found.scheduled, principal),
        )

    @query(admin=True)
    async def activity_report(
        self,
        info: Info,
        from_: Annotated[date, strawberry.argument(name="from")],
        to: date,
        interval: ReportInterval = ReportInterval.DAY,
    ) -> list[ActivityRow]:
        principal, runtime = info.context.principal, info.context.runtime
        rows = await reports.activity_report(runtime, principal, from_, to, interval)
        return [ActivityRow.of(start, totals, principal) for start, totals in rows]

    @query(admin=True)
    async def discount_cost_report(
        self, info: Info, from_: Annotated[date, strawberry.argument(name="from")], to: date
    ) -> list[DiscountCostRow]:
        principal, runtime = info.context.principal, info.context.runtime
        rows = await reports.discount_cost_report(runtime, principal, from_, to)
        groups = await _groups(info)
        return [
            DiscountCostRow(
                day=row.day,
                group=_group(groups, row.group_id),
                group_discounts=Money.of(row.group_discounts, principal),
                promotions=Money.of(row.promotions, principal),
                credits_used=Money.of(row.credits_used, principal),
                sales=row.sales,
            )
            for row in rows
        ]

    @query(admin=True)
    async def top_customers_report(
        self,
        info: Info,
        from_: Annotated[date, strawberry.argument(name="from")],
        to: date,
        first: int = 20,
    ) -> list[CustomerUsage]:
        principal, runtime = info.context.principal, info.context.runtime
        rows = await reports.top_customers_report(runtime, principal, from_, to, first)
        views = await info.context.loaders.customers.load_many(
            [CustomerKey(principal.location_id, customer_id) for customer_id, _, _ in rows]
        )
        usage: list[CustomerUsage] = []
        for (_, used, sales), view in zip(rows, views, strict=True):
            if view is None:
                continue
            usage.append(
                CustomerUsage(
                    customer=Customer.of(view.customer, principal, view.groups),
                    credits_used=Money.of(used, principal),
                    sales=sales,
                )
            )
        return usage
