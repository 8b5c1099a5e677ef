"""The wallet operations repository on both databases: what each function reads and writes,
exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from tortoise.exceptions import DoesNotExist

from domain import entities
from domain.credit_jobs import CreditRecord, OperationJob
from domain.credits import CustomerSelection, ParsedTarget
from domain.ledger import CreditOperation, EntrySource
from models import operations as repository
from models.db import transaction
from models.ledger import Application, PreviewTotals, apply_chunk
from models.tables.crm import Customer, CustomerGroup, GroupMembership
from services import access
from settings import Settings
from tests.builders import sql_statements

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
async def location(database: Settings) -> UUID:
    created, _ = await access.create_location("Operations Bistro")
    return created.id


async def customers(location_id: UUID, *balances: int) -> list[UUID]:
    """Customers with these balances, in the order given."""
    rows = [
        await Customer.create(location_id=location_id, first_name=f"C{n}", credit_balance=b)
        for n, b in enumerate(balances)
    ]
    return [row.id for row in rows]


def record(location_id: UUID, key: str | None = None) -> CreditRecord:
    return CreditRecord(location_id, "ADD", 500, "Spring", "admin", key, "hash-1")


async def create(
    location_id: UUID,
    *,
    key: str | None = None,
    customer_ids: list[str] | None = None,
    customer_filter: dict[str, object] | None = None,
    total: int = 0,
) -> entities.WalletOperation:
    async with transaction() as db:
        return await repository.create(
            db,
            record(location_id, key),
            source="BULK",
            customer_ids=customer_ids,
            customer_filter=customer_filter,
            total=total,
        )


async def chunks(operation: OperationJob, size: int, after: UUID | None = None) -> list[list[UUID]]:
    return [chunk async for chunk in repository.target_chunks(operation, size, after)]


async def job(operation_id: UUID) -> OperationJob:
    found = await repository.job(operation_id)
    assert found is not None
    return found


async def test_create_writes_a_queued_operation_read_back_by_id_key_and_job(
    location: UUID,
) -> None:
    created = await create(location, key="spring", customer_ids=["b", "a"], total=2)

    assert (created.operation, created.amount, created.description, created.actor) == (
        "ADD",
        500,
        "Spring",
        "admin",
    )
    assert (created.status, created.total, created.processed, created.error) == (
        "QUEUED",
        2,
        0,
        None,
    )
    assert await repository.view(created.id) == created
    assert await repository.view(created.id, location) == created
    assert await repository.view(created.id, uuid4()) is None
    assert await repository.view(uuid4()) is None
    assert await repository.current(created.id) == created
    with pytest.raises(DoesNotExist):
        await repository.current(uuid4())
    assert await repository.keyed(location, "spring") == (created, "hash-1")
    assert await repository.keyed(location, "autumn") is None
    assert await repository.job(created.id) == OperationJob(
        id=created.id,
        location_id=location,
        operation="ADD",
        amount=500,
        description="Spring",
        actor="admin",
        source="BULK",
        status="QUEUED",
        attempts=0,
        total=2,
        customer_ids=("b", "a"),
        customer_filter=None,
    )
    assert await repository.job(uuid4()) is None


async def test_first_id_is_the_earliest_operation_from_the_source(location: UUID) -> None:
    assert await repository.first_id(location, EntrySource.BULK) is None
    first = await create(location)
    await create(location)

    assert await repository.first_id(location, EntrySource.BULK) == first.id
    assert await repository.first_id(location, EntrySource.MANUAL) is None


async def test_a_listed_target_is_its_ids_sorted_in_chunks_after_the_given_one(
    location: UUID,
) -> None:
    ids = sorted(uuid4() for _ in range(5))
    created = await create(location, customer_ids=[str(i) for i in reversed(ids)])
    operation = await job(created.id)

    assert await chunks(operation, 2) == [ids[0:2], ids[2:4], ids[4:5]]
    assert await chunks(operation, 2, after=ids[1]) == [ids[2:4], ids[4:5]]
    assert await chunks(operation, 10, after=ids[4]) == []


async def test_a_stored_filter_reaches_the_live_customers_it_selects_now(location: UUID) -> None:
    rich_a, poor, rich_b, gone = await customers(location, 100, 0, 200, 300)
    await Customer.filter(id=gone).update(deleted_at=T0)
    other, _ = await access.create_location("Other Bistro")
    await customers(other.id, 50)
    everyone = await job((await create(location, customer_filter={})).id)
    with_credits = await job((await create(location, customer_filter={"has_credits": True})).id)

    live = sorted([rich_a, poor, rich_b])
    rich = sorted([rich_a, rich_b])
    assert await chunks(everyone, 2) == [live[0:2], live[2:3]]
    assert await chunks(with_credits, 1) == [rich[0:1], rich[1:2]]
    assert await chunks(with_credits, 5, after=rich[0]) == [rich[1:2]]
    assert await repository.count_selected(location, None) == 3
    assert await repository.count_selected(location, CustomerSelection(has_credits=False)) == 1


async def test_a_group_filter_counts_and_reaches_its_members(location: UUID) -> None:
    first, second, outside = await customers(location, 0, 0, 0)
    group = await CustomerGroup.create(location_id=location, name="VIP", reference="vip")
    for member in (first, second):
        await GroupMembership.create(group_id=group.id, customer_id=member)
    selection = CustomerSelection(group_ids=(group.id, None))
    stored = {"group_ids": [str(group.id)]}
    operation = await job((await create(location, customer_filter=stored)).id)

    assert await repository.count_selected(location, selection) == 2
    assert await chunks(operation, 10) == [sorted([first, second])]
    assert outside not in (await chunks(operation, 10))[0]


async def test_the_page_is_newest_first_and_counts_every_operation(location: UUID) -> None:
    made = [await create(location, total=n) for n in range(3)]
    newest = sorted(made, key=lambda o: (o.created_at, o.id), reverse=True)

    with sql_statements() as statements:
        total, first_two = await repository.page(location, None, 2)
    after = (first_two[-1].created_at, first_two[-1].id)
    _, rest = await repository.page(location, after, 2)

    assert len(statements) == 2  # a count and a page
    assert total == 3
    assert first_two == newest[:2]
    assert rest == newest[2:]
    assert await repository.page(uuid4(), None, 2) == (0, [])


async def test_entries_are_newest_first_below_the_given_id(location: UUID) -> None:
    (customer,) = await customers(location, 0)
    for n, amount in enumerate((100, 250, 75)):
        change = Application(
            location_id=location,
            operation=CreditOperation.ADD,
            amount=amount,
            kind="ADD",
            source="MANUAL",
            source_id=uuid4(),
            period=0,
            description=f"credit {n}",
            actor="admin",
            now=T0 + timedelta(minutes=n),
        )
        assert await apply_chunk([customer], change) == 1

    with sql_statements() as statements:
        total, found = await repository.entries(customer, None, 2)
    _, older = await repository.entries(customer, found[-1].id, 2)

    assert len(statements) == 2  # a count and a page

    assert total == 3
    assert [(e.delta, e.balance_after, e.description) for e in found] == [
        (75, 425, "credit 2"),
        (250, 350, "credit 1"),
    ]
    assert [(e.delta, e.balance_after, e.description) for e in older] == [(100, 100, "credit 0")]
    assert await repository.entries(uuid4(), None, 5) == (0, [])


async def test_a_preview_sums_the_live_customers_a_target_reaches(location: UUID) -> None:
    low, _, gone = await customers(location, 100, 300, 50)
    await Customer.filter(id=gone).update(deleted_at=T0)
    listed = ParsedTarget(customer_ids=(low, gone, low, None))

    by_list = await repository.preview(location, listed, CreditOperation.REDUCE, 200)
    everyone = await repository.preview(
        location, ParsedTarget(all_customers=True), CreditOperation.SET, 300
    )
    rich = ParsedTarget(selection=CustomerSelection(has_credits=True))
    by_filter = await repository.preview(location, rich, CreditOperation.ADD, 1)

    assert by_list == PreviewTotals(
        customers=1, changed=1, balance_before=100, balance_after=0, over_maximum=0, clamped=1
    )
    assert everyone == PreviewTotals(
        customers=2, changed=1, balance_before=400, balance_after=600, over_maximum=0, clamped=0
    )
    assert by_filter == PreviewTotals(
        customers=2, changed=2, balance_before=400, balance_after=402, over_maximum=0, clamped=0
    )
