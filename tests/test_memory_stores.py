"""The in-memory ledger (`tests/memory/`) against the SQL one, on both databases: the same
changes to the same customers leave the same balances, debts and entries, refuse the same
balance past the maximum, and preview the same totals. The wallet and schedule rule tests
lean on the in-memory stores; this keeps them honest."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from domain.credits import ParsedTarget
from domain.ledger import MAX_CREDIT_BALANCE, CreditOperation
from models.db import transaction
from models.ledger import Application, apply_chunk, is_balance_out_of_range
from models.operations import preview
from models.tables.crm import Customer
from models.tables.wallet import WalletEntry
from services import access
from settings import Settings
from tests.memory import Memory
from tests.memory.ledger import Ledger
from tests.memory.operations import Operations
from tests.memory.tables import Customer as MemoryCustomer

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
BALANCES = (0, 500, 1000, MAX_CREDIT_BALANCE - 50)
OWED = (300, 0, 0, 0)

Row = tuple[int, int]
EntryRow = tuple[str, str, str, int, int, int]


async def _both(database: Settings) -> tuple[UUID, list[UUID], Memory]:
    """The same customers in the database and in memory, in the order of `BALANCES`."""
    location, _ = await access.create_location("Ledger Twins")
    memory = Memory()
    ids: list[UUID] = []
    for n, (balance, owed) in enumerate(zip(BALANCES, OWED, strict=True)):
        row = await Customer.create(
            location_id=location.id, first_name=f"C{n}", credit_balance=balance, cashback_owed=owed
        )
        memory.t.customers[row.id] = MemoryCustomer(
            location.id, row.id, credit_balance=balance, cashback_owed=owed
        )
        ids.append(row.id)
    return location.id, ids, memory


def _change(
    location_id: UUID, operation: CreditOperation, amount: int, source: UUID
) -> Application:
    return Application(
        location_id=location_id,
        operation=operation,
        amount=amount,
        kind=operation.value,
        source="BULK",
        source_id=source,
        period=0,
        description="twin",
        actor="admin",
        now=T0,
        netting_description="Owed cashback paid off",
    )


async def _sql_state(ids: Sequence[UUID]) -> tuple[list[Row], list[EntryRow]]:
    customers = {c.id: c for c in await Customer.filter(id__in=list(ids))}
    entries = await WalletEntry.filter(customer_id__in=list(ids))
    return (
        [(customers[i].credit_balance, customers[i].cashback_owed) for i in ids],
        sorted(
            (
                str(e.source_id),
                str(e.customer_id),
                e.kind,
                e.requested_amount,
                e.delta,
                e.balance_after,
            )  # type: ignore[attr-defined]
            for e in entries
        ),
    )


def _memory_state(memory: Memory, ids: Sequence[UUID]) -> tuple[list[Row], list[EntryRow]]:
    customers = memory.t.customers
    return (
        [(customers[i].credit_balance, customers[i].cashback_owed) for i in ids],
        sorted(
            (
                str(e.source_id),
                str(e.customer_id),
                e.kind,
                e.requested_amount,
                e.delta,
                e.balance_after,
            )
            for e in memory.t.entries.values()
        ),
    )


async def test_the_same_changes_leave_the_same_balances_debts_and_entries(
    database: Settings,
) -> None:
    location_id, ids, memory = await _both(database)
    ledger = Ledger(memory)
    repeated = uuid4()
    changes = [
        (ids, _change(location_id, CreditOperation.REDUCE, 700, uuid4())),
        (ids[:3], _change(location_id, CreditOperation.ADD, 200, uuid4())),
        (ids, _change(location_id, CreditOperation.SET, 450, repeated)),
        (ids, _change(location_id, CreditOperation.SET, 450, repeated)),  # applied already
        (ids[1:], _change(location_id, CreditOperation.ADD, 100, uuid4())),
    ]

    applied = []
    for chunk, change in changes:
        async with transaction() as db:
            in_sql = await apply_chunk(chunk, change, db)
        applied.append((in_sql, await ledger.apply_chunk(chunk, change)))

    assert applied == [(4, 4), (3, 3), (4, 4), (0, 0), (3, 3)]
    assert await _sql_state(ids) == _memory_state(memory, ids)
    assert _memory_state(memory, ids)[0] == [(450, 100), (550, 0), (550, 0), (550, 0)]


async def test_a_balance_past_the_maximum_is_refused_alike_and_changes_nothing(
    database: Settings,
) -> None:
    location_id, ids, memory = await _both(database)
    change = _change(location_id, CreditOperation.ADD, 100, uuid4())

    with pytest.raises(Exception) as in_sql:  # noqa: PT011 (the database's own error class)
        async with transaction() as db:
            await apply_chunk(ids, change, db)
    with pytest.raises(Exception) as in_memory:  # noqa: PT011
        await Ledger(memory).apply_chunk(ids, change)

    assert is_balance_out_of_range(in_sql.value)
    assert is_balance_out_of_range(in_memory.value)
    assert await _sql_state(ids) == _memory_state(memory, ids)
    assert _memory_state(memory, ids) == ([*zip(BALANCES, OWED, strict=True)], [])


@pytest.mark.parametrize(
    ("operation", "amount"),
    [
        (CreditOperation.ADD, 1000),
        (CreditOperation.ADD, 100),
        (CreditOperation.REDUCE, 700),
        (CreditOperation.SET, 500),
    ],
)
async def test_previews_sum_alike(
    database: Settings, operation: CreditOperation, amount: int
) -> None:
    location_id, _, memory = await _both(database)
    target = ParsedTarget(all_customers=True)

    in_sql = await preview(location_id, target, operation, amount)
    in_memory = await Operations(memory).preview(location_id, target, operation, amount)

    assert in_sql == in_memory
