"""`models.operations` in memory: one-off and bulk credit operations."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import asdict
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from domain import entities
from domain.contacts import search_terms
from domain.credit_jobs import CreditRecord, OperationJob, stored_selection
from domain.credits import CustomerSelection, ParsedTarget
from domain.ledger import MAX_CREDIT_BALANCE, CreditOperation
from models.ledger import NETTED, PreviewTotals
from models.queries import entity_of
from tests.memory.ledger import new_balance
from tests.memory.tables import Customer, Memory, Operation


def selected(
    memory: Memory, location_id: UUID, selection: CustomerSelection | None
) -> list[Customer]:
    """The live customers a filter selects, in id order (`models.customers.filtered_customers`;
    each search term is found in the search text, which holds the card codes, as in SQL)."""
    found = memory.live(location_id)
    if selection is None:
        return found
    for term in search_terms(selection.search or ""):
        found = [c for c in found if term in c.search_text]
    if selection.ids is not None:
        found = [c for c in found if c.id in selection.ids]
    if selection.group_ids is not None:
        found = [c for c in found if c.group_ids & set(selection.group_ids)]
    if selection.has_credits is not None:
        found = [c for c in found if (c.credit_balance > 0) == selection.has_credits]
    return found


async def chunks(
    select: Callable[[], list[Customer]], size: int, after: UUID | None
) -> AsyncIterator[list[UUID]]:
    """Keyset pages of ids, each read when it is needed (`models.customers.id_chunks`)."""
    while True:
        page = [c.id for c in select() if after is None or c.id > after][:size]
        if not page:
            return
        yield page
        after = page[-1]


def entity(row: Operation) -> entities.WalletOperation:
    return entities.WalletOperation(
        id=row.id,
        operation=row.operation,
        amount=row.amount,
        description=row.description,
        status=str(row.status),
        total=row.total,
        processed=row.processed,
        error=row.error,
        created_at=row.created_at,
        expires_on=row.expires_on,
        finished_at=row.finished_at,
        actor=row.actor,
    )


class Operations:
    def __init__(self, memory: Memory) -> None:
        self.memory = memory

    async def view(
        self, operation_id: UUID, location_id: UUID | None = None
    ) -> entities.WalletOperation | None:
        row = self.memory.t.operations.get(operation_id)
        if row is None or location_id not in (None, row.location_id):
            return None
        return entity(row)

    async def current(self, operation_id: UUID) -> entities.WalletOperation:
        return entity(self.memory.t.operations[operation_id])

    async def keyed(
        self, location_id: UUID, key: str
    ) -> tuple[entities.WalletOperation, str | None] | None:
        for row in self.memory.t.operations.values():
            if row.location_id == location_id and row.idempotency_key == key:
                return entity(row), row.request_hash
        return None

    async def job(self, operation_id: UUID) -> OperationJob | None:
        row = self.memory.t.operations.get(operation_id)
        if row is None:
            return None
        ids = None if row.customer_ids is None else tuple(row.customer_ids)
        return entity_of(OperationJob, row, status=str(row.status), customer_ids=ids)

    async def count_selected(self, location_id: UUID, selection: CustomerSelection | None) -> int:
        return len(selected(self.memory, location_id, selection))

    async def target_chunks(
        self, operation: OperationJob, size: int, after: UUID | None = None
    ) -> AsyncIterator[list[UUID]]:
        """Its stored list as it is (deleted customers too), or its filter's live customers."""
        if operation.customer_ids is not None:
            ids = sorted(i for i in map(UUID, operation.customer_ids) if after is None or i > after)
            for start in range(0, len(ids), size):
                yield ids[start : start + size]
            return
        assert operation.customer_filter is not None
        selection = stored_selection(operation.customer_filter)
        location_id = operation.location_id
        async for chunk in chunks(
            lambda: selected(self.memory, location_id, selection), size, after
        ):
            yield chunk

    async def preview(
        self, location_id: UUID, target: ParsedTarget, operation: CreditOperation, amount: int
    ) -> PreviewTotals:
        if target.customer_ids is not None:
            wanted = set(target.distinct_customer_ids())
            found = [c for c in self.memory.live(location_id) if c.id in wanted]
        else:
            found = selected(self.memory, location_id, target.selection)
        before = [c.credit_balance for c in found]
        after = [new_balance(operation, c.credit_balance, amount) for c in found]
        if operation in NETTED:
            after = [b - min(amount, c.cashback_owed) for b, c in zip(after, found, strict=True)]
        return PreviewTotals(
            customers=len(found),
            changed=sum(a != b for a, b in zip(after, before, strict=True)),
            balance_before=sum(before),
            balance_after=sum(after),
            over_maximum=sum(a > MAX_CREDIT_BALANCE for a in after),
            clamped=sum(b < amount for b in before) if operation is CreditOperation.REDUCE else 0,
        )

    async def create(
        self,
        db: Any,
        record: CreditRecord,
        *,
        source: str,
        customer_ids: list[str] | None,
        customer_filter: dict[str, object] | None,
        total: int,
        expires_on: date | None = None,
    ) -> entities.WalletOperation:
        row = Operation(
            id=uuid4(),
            created_at=self.memory.clock(),
            **asdict(record),
            source=source,
            customer_ids=customer_ids,
            customer_filter=customer_filter,
            total=total,
            expires_on=expires_on,
        )
        self.memory.t.operations[row.id] = row
        return entity(row)
