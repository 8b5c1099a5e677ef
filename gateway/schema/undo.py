"""Undo of a wallet operation or a schedule's period, and what it would do."""

from __future__ import annotations

import strawberry

from domain.undo import UndoTotals
from gateway.context import Info
from gateway.schema.common import Money, UserError
from gateway.schema.resolvers import mutation, query
from gateway.schema.wallet import WalletOperation
from services import undo


@strawberry.type
class UndoPreview:
    restored_count: int = strawberry.field(description="Customers who would be fully restored.")
    partly_restored_count: int = strawberry.field(
        description="Customers restored only in part: they spent the credits since."
    )
    amount: Money = strawberry.field(description="What the undo would take back in all.")


@strawberry.type
class WalletOperationPayload:
    operation: WalletOperation | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class Query:
    @query(
        admin=True,
        description="What undoWalletOperation would do now, with the same errors; changes "
        "nothing. id: an operation, or a schedule period's operation.",
    )
    async def preview_undo_wallet_operation(self, info: Info, id: strawberry.ID) -> UndoPreview:
        principal = info.context.principal
        totals: UndoTotals = await undo.preview_undo(principal, id)
        return UndoPreview(
            restored_count=totals.restored,
            partly_restored_count=totals.partly_restored,
            amount=Money.of(totals.amount, principal),
        )


@strawberry.type
class Mutation:
    @mutation(WalletOperationPayload)
    async def undo_wallet_operation(
        self, info: Info, id: strawberry.ID, idempotency_key: str
    ) -> WalletOperationPayload:
        principal, runtime = info.context.principal, info.context.runtime
        created = await undo.undo_operation(runtime, principal, id, idempotency_key)
        return WalletOperationPayload(operation=WalletOperation.of(created, principal))
