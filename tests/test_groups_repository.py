"""The groups repository on both databases: what each function reads and writes, exactly."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest

from domain.credits import CustomerSelection
from domain.customer_checks import CustomerWrite, NewGroup
from models import customers as customer_repository
from models import groups as repository
from models.db import IntegrityError, transaction
from models.tables.crm import Customer
from services import access
from settings import Settings


@pytest.fixture
async def location(database: Settings) -> UUID:
    created, _ = await access.create_location("Groups Bistro")
    return created.id


def new_group(
    name: str, reference: str, *, cashback_basis_points: int | None = None, hold_days: int = 0
) -> NewGroup:
    return NewGroup(
        name=name,
        reference=reference,
        reference_field="input.name",
        cashback_basis_points=cashback_basis_points,
        cashback_hold_days=hold_days,
    )


async def customers(location_id: UUID, *names: str) -> list[UUID]:
    writes = [CustomerWrite({"first_name": name}) for name in names]
    async with transaction() as db:
        created = await customer_repository.create_many(db, location_id, writes)
    return [c.id for c in created]


async def test_create_get_list_update_and_delete(location: UUID) -> None:
    vip = await repository.create(location, new_group("VIP", "vip", cashback_basis_points=250))
    staff = await repository.create(location, new_group("Staff", "staff", hold_days=7))

    assert (vip.location_id, vip.name, vip.reference, vip.description) == (
        location,
        "VIP",
        "vip",
        None,
    )
    assert (vip.cashback_basis_points, vip.cashback_hold_days) == (250, 0)
    assert await repository.get(location, vip.id) == vip
    assert await repository.in_location(location) == [staff, vip]
    assert await repository.ids_by_reference(location) == {"vip": vip.id, "staff": staff.id}
    assert await repository.ids_in_location(location, [vip.id, location]) == {vip.id}
    with pytest.raises(IntegrityError):
        await repository.create(location, new_group("Other VIP", "vip"))

    assert await repository.reference_taken(location, "vip")
    assert not await repository.reference_taken(location, "vip", exclude=vip.id)
    renamed = await repository.update(vip, {"name": "Gold", "cashback_basis_points": None})
    assert (renamed.name, renamed.reference, renamed.cashback_basis_points) == ("Gold", "vip", None)
    assert await repository.get(location, vip.id) == renamed

    assert await repository.delete(location, staff.id)
    assert not await repository.delete(location, staff.id)
    assert await repository.get(location, staff.id) is None


async def test_members_are_added_once_and_removed_by_id_or_selection(location: UUID) -> None:
    vip = await repository.create(location, new_group("VIP", "vip"))
    anna, jan, ola = await customers(location, "Anna", "Jan", "Ola")

    async with transaction() as db:
        await repository.add_members(db, vip.id, [anna, jan])
        await repository.add_members(db, vip.id, [jan, ola])
    assert await repository.member_counts([vip.id]) == {vip.id: 3}

    async with transaction() as db:
        await repository.remove_members(db, vip.id, [jan])
    assert await customer_repository.memberships([anna, jan, ola], [vip.id]) == {
        (anna, vip.id),
        (ola, vip.id),
    }

    await repository.remove_selected(location, vip.id, CustomerSelection(search="ola"))
    assert await repository.member_counts([vip.id]) == {vip.id: 1}
    await repository.remove_selected(location, vip.id, None)
    assert await repository.member_counts([vip.id]) == {}


async def test_a_deleted_customers_leftover_membership_is_not_counted(location: UUID) -> None:
    # given two members, one of whom was deleted while a bulk add wrote its membership again
    vip = await repository.create(location, new_group("VIP", "vip"))
    anna, jan = await customers(location, "Anna", "Jan")
    async with transaction() as db:
        await repository.add_members(db, vip.id, [anna, jan])
    await Customer.filter(id=jan).update(deleted_at=datetime.now(UTC))

    # then the group counts its live member only
    assert await repository.member_counts([vip.id]) == {vip.id: 1}
