"""Recurring promotional credits: schedules, their edits and the history of their periods."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import strawberry

from domain import entities
from domain.access import Principal
from domain.ledger import CreditOperation
from domain.requests import ScheduleUpdate
from domain.schedule import RecurrenceUnit
from gateway.context import Info
from gateway.schema.common import DeletePayload, Money, PageInfo, UserError
from gateway.schema.inputs import given
from gateway.schema.resolvers import mutation, query
from services import schedule_edits, schedules, undo
from services.i18n import render

if TYPE_CHECKING:
    from gateway.schema.wallet import WalletOperation

strawberry.enum(CreditOperation, name="CreditOperation")
strawberry.enum(RecurrenceUnit, name="RecurrenceUnit")

RUNS_PAGE_SIZE = 20


@strawberry.enum
class OperationStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@strawberry.enum(
    description="CUSTOMERS: a fixed list; GROUPS: the live membership of groups; ALL: every"
    " customer of the location, those created later too. Evaluated at each period."
)
class ScheduleTarget(StrEnum):
    CUSTOMERS = "CUSTOMERS"
    GROUPS = "GROUPS"
    ALL = "ALL"


@strawberry.type
class ScheduleRun:
    period: date
    status: OperationStatus
    customer_count: int = strawberry.field(
        description="Customers whose entry the period has written so far."
    )
    total: Money = strawberry.field(description="What those entries changed, summed.")
    finished_at: datetime | None
    run_id: strawberry.Private[UUID | None] = None

    @strawberry.field(
        description="The period as a wallet operation: its id is the period's, which "
        "undoWalletOperation and previewUndoWalletOperation take."
    )
    async def operation(
        self, info: Info
    ) -> Annotated[WalletOperation, strawberry.lazy("gateway.schema.wallet")] | None:
        from gateway.schema.wallet import WalletOperation

        if self.run_id is None:
            return None
        principal = info.context.principal
        found = await undo.operation_view(principal.location_id, self.run_id)
        return None if found is None else WalletOperation.of(found, principal)

    @classmethod
    def of(cls, run: entities.ScheduleRun, principal: Principal) -> ScheduleRun:
        return cls(
            period=run.period_on,
            status=OperationStatus(run.status),
            customer_count=run.customer_count,
            total=Money.of(run.total, principal),
            finished_at=run.finished_at,
            run_id=run.id,
        )


@strawberry.type
class ScheduleRunEdge:
    node: ScheduleRun
    cursor: str


@strawberry.type
class ScheduleRunConnection:
    edges: list[ScheduleRunEdge]
    page_info: PageInfo


@strawberry.type
class CreditSchedule:
    id: strawberry.ID
    operation: CreditOperation
    amount: Money
    description: str | None
    every: int
    unit: RecurrenceUnit
    start_date: date
    end_date: date | None
    target: ScheduleTarget
    group_ids: list[strawberry.ID]
    paused: bool
    next_run_on: date | None
    last_run_on: date | None
    created_at: datetime
    expires_after_days: int | None
    replace_previous: bool
    entity: strawberry.Private[entities.CreditSchedule]

    @classmethod
    def of(cls, schedule: entities.CreditSchedule, principal: Principal) -> CreditSchedule:
        return cls(
            id=strawberry.ID(str(schedule.id)),
            operation=CreditOperation(schedule.operation),
            amount=Money.of(schedule.amount, principal),
            description=schedule.description,
            every=schedule.every,
            unit=RecurrenceUnit(schedule.unit),
            start_date=schedule.start_date,
            end_date=schedule.end_date,
            target=ScheduleTarget(schedule.target),
            group_ids=[strawberry.ID(str(g)) for g in schedule.group_ids],
            paused=schedule.paused,
            next_run_on=None if schedule.paused else schedule.next_run_on,
            last_run_on=schedule.last_run_on,
            created_at=schedule.created_at,
            expires_after_days=schedule.expires_after_days,
            replace_previous=schedule.replace_previous,
            entity=schedule,
        )

    @strawberry.field(description="Customers the next period would reach.")
    async def customer_count(self, info: Info) -> int:
        return await info.context.loaders.schedule_customer_counts.load(self.entity.id)

    @strawberry.field(description="The schedule's periods, newest first (skipped ones left out).")
    async def runs(
        self, info: Info, first: int | None = RUNS_PAGE_SIZE, after: str | None = None
    ) -> ScheduleRunConnection:
        principal, runtime = info.context.principal, info.context.runtime
        size = RUNS_PAGE_SIZE if first is None else first
        page = await schedule_edits.schedule_runs(
            runtime, principal.location_id, self.entity.id, size, after
        )
        return ScheduleRunConnection(
            edges=[
                ScheduleRunEdge(node=ScheduleRun.of(r, principal), cursor=c)
                for r, c in zip(page.items, page.cursors, strict=True)
            ],
            page_info=PageInfo.of(page),
        )

    @strawberry.field(
        description="The latest period that ended FAILED (after its last attempt, or at once "
        "when no retry could succeed): its date and the error. Later periods still run."
    )
    async def last_error(self, info: Info) -> str | None:
        failure = await info.context.loaders.schedule_failures.load(self.entity.id)
        return None if failure is None else render(failure, info.context.principal.language)


@strawberry.input
class RecurrenceInput:
    every: int = 1
    unit: RecurrenceUnit
    start_date: date = strawberry.field(
        description="In the location's time zone; first application on this date."
    )
    end_date: date | None = None
    expires_after_days: int | None = strawberry.field(
        default=None, description="Each top-up expires this many days after its period."
    )
    replace_previous: bool | None = strawberry.field(
        default=False,
        description="At each period, what is left of the previous top-up expires first.",
    )


@strawberry.type
class CreditSchedulePayload:
    schedule: CreditSchedule | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(description="Applies from the next period; a period under way is not changed.")
class CreditScheduleUpdateInput:
    amount: Decimal | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    end_date: date | None = strawberry.UNSET

    def to_domain(self) -> ScheduleUpdate:
        return ScheduleUpdate(
            amount=given(self.amount),
            description=given(self.description),
            end_date=given(self.end_date),
        )


@strawberry.type
class Query:
    @query(admin=True)
    async def credit_schedules(self, info: Info) -> list[CreditSchedule]:
        principal = info.context.principal
        found = await schedules.list_schedules(principal.location_id)
        return [CreditSchedule.of(s, principal) for s in found]


@strawberry.type
class Mutation:
    @mutation(CreditSchedulePayload)
    async def pause_credit_schedule(self, info: Info, id: strawberry.ID) -> CreditSchedulePayload:
        principal = info.context.principal
        schedule = await schedules.pause_schedule(info.context.runtime, principal.location_id, id)
        return CreditSchedulePayload(schedule=CreditSchedule.of(schedule, principal))

    @mutation(CreditSchedulePayload)
    async def resume_credit_schedule(self, info: Info, id: strawberry.ID) -> CreditSchedulePayload:
        principal = info.context.principal
        schedule = await schedules.resume_schedule(info.context.runtime, principal.location_id, id)
        return CreditSchedulePayload(schedule=CreditSchedule.of(schedule, principal))

    @mutation(DeletePayload)
    async def delete_credit_schedule(self, info: Info, id: strawberry.ID) -> DeletePayload:
        principal = info.context.principal
        deleted = await schedules.delete_schedule(info.context.runtime, principal.location_id, id)
        return DeletePayload(deleted_id=strawberry.ID(str(deleted)))

    @mutation(CreditSchedulePayload)
    async def update_credit_schedule(
        self, info: Info, id: strawberry.ID, input: CreditScheduleUpdateInput
    ) -> CreditSchedulePayload:
        principal, runtime = info.context.principal, info.context.runtime
        schedule = await schedule_edits.update_schedule(runtime, principal, id, input.to_domain())
        return CreditSchedulePayload(schedule=CreditSchedule.of(schedule, principal))
