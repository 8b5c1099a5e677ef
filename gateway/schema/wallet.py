"""Promotional credits: wallets, one-off and bulk operations, recurring schedules."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import strawberry

from domain import entities
from domain.access import Principal
from domain.ledger import CreditOperation, EntryKind, EntrySource
from domain.paging import DEFAULT_PAGE_SIZE
from domain.requests import CreditRequest
from domain.schedule import Recurrence
from gateway.context import Info
from gateway.schema.common import (
    Message,
    Money,
    PageInfo,
    UserError,
    entry_description,
    stored_message,
)
from gateway.schema.inputs import CreditTargetInput
from gateway.schema.lots import CreditLot
from gateway.schema.resolvers import mutation, query
from gateway.schema.schedules import (
    CreditSchedule,
    OperationStatus,
    RecurrenceInput,
)
from services import lots, schedules, undo, wallet

strawberry.enum(EntryKind, name="WalletEntryKind")
strawberry.enum(EntrySource, name="WalletEntrySource")


OPERATIONS_PAGE_SIZE = 20


@strawberry.type
class WalletEntry:
    id: strawberry.ID
    kind: EntryKind
    requested_amount: Money
    delta: Money = strawberry.field(description="Signed change actually applied.")
    balance_after: Money
    description: str | None
    source: EntrySource
    source_id: strawberry.ID | None
    actor: str | None
    created_at: datetime
    expires_on: date | None = strawberry.field(description="For a credit that expires.")

    @classmethod
    def of(cls, entry: entities.WalletEntry, principal: Principal) -> WalletEntry:
        return cls(
            id=strawberry.ID(str(entry.id)),
            kind=EntryKind(entry.kind),
            requested_amount=Money.of(entry.requested_amount, principal),
            delta=Money.of(entry.delta, principal),
            balance_after=Money.of(entry.balance_after, principal),
            description=entry_description(entry.kind, entry.description, principal.language),
            source=EntrySource(entry.source),
            source_id=strawberry.ID(str(entry.source_id)),
            actor=entry.actor,
            created_at=entry.created_at,
            expires_on=entry.expires_on,
        )


@strawberry.type
class WalletEntryEdge:
    node: WalletEntry
    cursor: str


@strawberry.type
class WalletEntryConnection:
    edges: list[WalletEntryEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type
class Wallet:
    balance: Money = strawberry.field(description="Spendable now.")
    held: Money = strawberry.field(description="Cashback granted but not yet released.")
    owed: Money = strawberry.field(
        description="Reversed cashback the balance could not cover; netted against the next "
        "credits."
    )
    updated_at: datetime | None
    customer: strawberry.Private[entities.Customer]
    # False for a till key, which sees the balances but not the ledger.
    ledger: strawberry.Private[bool] = True

    @query(description="Newest first.")
    async def entries(
        self, info: Info, first: int | None = 50, after: str | None = None
    ) -> WalletEntryConnection:
        principal = info.context.principal
        size = DEFAULT_PAGE_SIZE if first is None else first
        if not self.ledger:
            return WalletEntryConnection(
                edges=[], page_info=PageInfo(has_next_page=False, end_cursor=None), total_count=0
            )
        page = await wallet.entries(self.customer.id, size, after)
        return WalletEntryConnection(
            edges=[
                WalletEntryEdge(node=WalletEntry.of(e, principal), cursor=c)
                for e, c in zip(page.items, page.cursors, strict=True)
            ],
            page_info=PageInfo.of(page),
            total_count=page.total_count,
        )

    @query(
        description="What the balance is made of: the lots with something left, "
        "soonest-expiring first; their remaining amounts sum to the balance. A till key sees "
        "them too, so that a cashier can say what expires when.",
    )
    async def lots(self, info: Info) -> list[CreditLot]:
        principal = info.context.principal
        found = await lots.customer_lots(principal.location_id, self.customer.id)
        return [CreditLot.of(lot, principal) for lot in found]

    @classmethod
    def of(cls, customer: entities.Customer, principal: Principal, *, ledger: bool) -> Wallet:
        return cls(
            balance=Money.of(customer.credit_balance, principal),
            held=Money.of(customer.cashback_held, principal),
            owed=Money.of(customer.cashback_owed, principal),
            updated_at=customer.wallet_updated_at,
            customer=customer,
            ledger=ledger,
        )


@strawberry.type
class WalletOperation:
    id: strawberry.ID
    operation: CreditOperation
    amount: Money
    description: str | None
    status: OperationStatus
    total: int = strawberry.field(description="Customers targeted.")
    processed: int
    error: str | None = strawberry.field(description="In the request's language.")
    error_message: Message | None = strawberry.field(
        description="The same, with its stable id and parameters."
    )
    actor: str | None = strawberry.field(description="The name of the API key that asked for it.")
    created_at: datetime
    finished_at: datetime | None
    restored_count: int | None = strawberry.field(
        description="For an undo: customers fully restored (set when it ends)."
    )
    partly_restored_count: int | None = strawberry.field(
        description="For an undo: customers restored only in part (they had spent since)."
    )
    expires_on: date | None = strawberry.field(
        description="What the operation credits expires at the end of this day."
    )
    entity: strawberry.Private[entities.WalletOperation]

    @strawberry.field(description="The undo of this operation, once requested.")
    async def undone_by(self, info: Info) -> WalletOperation | None:
        found = await info.context.loaders.undos.load(self.entity.id)
        return None if found is None else WalletOperation.of(found, info.context.principal)

    @strawberry.field(description="For an undo: the operation (or schedule period) it reverses.")
    async def undo_of(self, info: Info) -> WalletOperation | None:
        if self.entity.undo_of_id is None:
            return None
        principal = info.context.principal
        found = await undo.operation_view(principal.location_id, self.entity.undo_of_id)
        return None if found is None else WalletOperation.of(found, principal)

    @classmethod
    def of(cls, op: entities.WalletOperation, principal: Principal) -> WalletOperation:
        error = stored_message(op.error, principal.language)
        return cls(
            id=strawberry.ID(str(op.id)),
            operation=CreditOperation(op.operation),
            amount=Money.of(op.amount, principal),
            description=op.description,
            status=OperationStatus(op.status),
            total=op.total,
            processed=op.processed,
            error=None if error is None else error.text,
            error_message=error,
            actor=op.actor,
            created_at=op.created_at,
            finished_at=op.finished_at,
            expires_on=op.expires_on,
            restored_count=op.restored_count,
            partly_restored_count=op.partly_restored_count,
            entity=op,
        )


@strawberry.type
class WalletOperationEdge:
    node: WalletOperation
    cursor: str


@strawberry.type
class WalletOperationConnection:
    edges: list[WalletOperationEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type
class CreditPreview:
    customer_count: int = strawberry.field(description="Customers the request targets now.")
    changed_count: int = strawberry.field(
        description="Of those, whose balance one application would change."
    )
    balance_before: Money = strawberry.field(description="The sum of their balances now.")
    balance_after: Money = strawberry.field(
        description="What the sum would be after one application (REDUCE stops at zero)."
    )
    over_maximum_count: int = strawberry.field(
        description="Of those, whose balance would pass the most a wallet may hold: an "
        "operation reaching one ends FAILED."
    )
    clamped_count: int = strawberry.field(
        description="REDUCE: customers whose balance is below the amount and would end at 0."
    )

    @classmethod
    def of(cls, preview: entities.CreditPreview, principal: Principal) -> CreditPreview:
        return cls(
            customer_count=preview.customer_count,
            changed_count=preview.changed_count,
            balance_before=Money.of(preview.balance_before, principal),
            balance_after=Money.of(preview.balance_after, principal),
            over_maximum_count=preview.over_maximum_count,
            clamped_count=preview.clamped_count,
        )


@strawberry.type
class CreditPreviewPayload:
    preview: CreditPreview | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class SetPromotionalCreditsInput:
    target: CreditTargetInput
    operation: CreditOperation
    amount: Decimal
    description: str | None = None
    recurrence: RecurrenceInput | None = strawberry.field(
        default=None, description="When given, creates a schedule instead of applying once."
    )
    idempotency_key: str | None = None
    expected_balance: Decimal | None = strawberry.field(
        default=None,
        description="Single customer only: refuse with STALE_BALANCE when the balance differs.",
    )
    expires_on: date | None = strawberry.field(
        default=None,
        description="The credited amount expires at the end of this day (the location's time "
        "zone); not before today.",
    )

    def to_domain(self) -> CreditRequest:
        recurrence = None
        if self.recurrence is not None:
            r = self.recurrence
            recurrence = Recurrence(
                r.every,
                r.unit,
                r.start_date,
                r.end_date,
                r.expires_after_days,
                bool(r.replace_previous),
            )
        return CreditRequest(
            target=self.target.to_domain(),
            operation=self.operation.value,
            amount=self.amount,
            description=self.description,
            recurrence=recurrence,
            idempotency_key=self.idempotency_key,
            expected_balance=self.expected_balance,
            expires_on=self.expires_on,
        )


@strawberry.type
class SetPromotionalCreditsPayload:
    operation: WalletOperation | None = strawberry.field(
        default=None, description="Set when applied once."
    )
    schedule: CreditSchedule | None = strawberry.field(
        default=None, description="Set when recurrence was given."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class Query:
    @query(admin=True)
    async def wallet_operation(self, info: Info, id: strawberry.ID) -> WalletOperation | None:
        """An operation, or a schedule's period by its operation's id (`ScheduleRun.operation`)."""
        principal = info.context.principal
        found = await undo.find_operation(principal.location_id, id)
        return WalletOperation.of(found, principal) if found else None

    @query(admin=True, description="Newest first.")
    async def wallet_operations(
        self, info: Info, first: int | None = OPERATIONS_PAGE_SIZE, after: str | None = None
    ) -> WalletOperationConnection:
        principal = info.context.principal
        size = OPERATIONS_PAGE_SIZE if first is None else first
        page = await wallet.list_operations(principal.location_id, size, after)
        return WalletOperationConnection(
            edges=[
                WalletOperationEdge(node=WalletOperation.of(op, principal), cursor=cursor)
                for op, cursor in zip(page.items, page.cursors, strict=True)
            ],
            page_info=PageInfo.of(page),
            total_count=page.total_count,
        )

    @query(
        admin=True,
        payload=CreditPreviewPayload,
        description="What setPromotionalCredits with this input would do now, applied once: "
        "checked the same way, with the same errors. Changes nothing.",
    )
    async def preview_promotional_credits(
        self, info: Info, input: SetPromotionalCreditsInput
    ) -> CreditPreviewPayload:
        principal, runtime = info.context.principal, info.context.runtime
        preview = await wallet.preview_credit(runtime, principal, input.to_domain())
        return CreditPreviewPayload(preview=CreditPreview.of(preview, principal))


@strawberry.type
class Mutation:
    @mutation(SetPromotionalCreditsPayload)
    async def set_promotional_credits(
        self, info: Info, input: SetPromotionalCreditsInput
    ) -> SetPromotionalCreditsPayload:
        principal, runtime = info.context.principal, info.context.runtime
        request = input.to_domain()
        if request.recurrence is not None:
            schedule = await schedules.create_schedule(runtime, principal, request)
            return SetPromotionalCreditsPayload(schedule=CreditSchedule.of(schedule, principal))
        operation = await wallet.apply_once(runtime, principal, request)
        return SetPromotionalCreditsPayload(operation=WalletOperation.of(operation, principal))
