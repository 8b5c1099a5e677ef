"""The customers and groups services' rules, against the in-memory stores (`tests/memory/`):
no database.

A card code belongs to one customer of a location; the search text follows every write; a
soft delete hides a customer, frees its card codes and memberships and writes its balance off;
group members are added and removed by ids or by selection; a group reference is used once per
location. The SQL behind the same rules is tested in the database suites
(`test_customers_api.py`, `test_groups_api.py`, `test_customers_repository.py`,
`test_groups_repository.py`, `test_soft_delete.py`)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest

from domain.errors import DomainError, ErrorCode
from domain.requests import CardInput, CustomerFilter, CustomerGroupInput, CustomerInput, Target
from services import customers, groups
from services.runtime import Runtime
from tests.english import en
from tests.helpers import Clock
from tests.memory import Memory, memory_runtime

NOW = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def _world() -> tuple[Memory, Runtime, UUID]:
    memory = Memory()
    runtime, _ = memory_runtime(memory, Clock(NOW))
    return memory, runtime, memory.add_location()


def _person(first: str, last: str, *cards: str) -> CustomerInput:
    return CustomerInput(
        first_name=first, last_name=last, cards=tuple(CardInput(code) for code in cards)
    )


def _errors(refused: pytest.ExceptionInfo[DomainError]) -> list[tuple[ErrorCode, str | None, str]]:
    return [(e.code, e.field, en(e.message)) for e in refused.value.errors]


async def _found_by(runtime: Runtime, location_id: UUID, search: str) -> list[UUID]:
    page = await customers.list_customers(
        location_id, CustomerFilter(search=search), 50, None, runtime.stores
    )
    return [c.id for c in page.items]


async def test_a_customer_is_created_with_its_card_and_found_by_it() -> None:
    memory, runtime, location_id = _world()

    created = await customers.create_customer(
        location_id, _person("Anna", "Nowak", "C-1"), runtime.stores
    )

    found = await customers.get_customer_by_card(location_id, "C-1", runtime.stores)
    assert found == created
    assert (created.first_name, created.last_name) == ("Anna", "Nowak")
    cards = await customers.cards_of([created.id], runtime.stores)
    assert [(c.code, c.number) for c in cards[created.id]] == [("C-1", None)]
    assert memory.t.customers[created.id].search_text == "anna nowak c-1"


async def test_a_card_another_customer_holds_is_refused() -> None:
    memory, runtime, location_id = _world()
    first = await customers.create_customer(
        location_id, _person("Anna", "Nowak", "C-1"), runtime.stores
    )

    with pytest.raises(DomainError) as refused:
        await customers.create_customer(
            location_id, _person("Jan", "Kos", "C-2", "C-1"), runtime.stores
        )

    assert _errors(refused) == [
        (
            ErrorCode.DUPLICATE,
            "input.cards.1.code",
            "Card code 'C-1' already belongs to another customer.",
        )
    ]
    assert list(memory.t.customers) == [first.id]
    # the code is also refused to an update of another customer, but its holder may keep it
    other = await customers.create_customer(location_id, _person("Jan", "Kos"), runtime.stores)
    with pytest.raises(DomainError) as again:
        await customers.update_customer(
            location_id, str(other.id), CustomerInput(cards=(CardInput("C-1"),)), runtime.stores
        )
    assert [(e.code, e.field) for e in again.value.errors] == [
        (ErrorCode.DUPLICATE, "input.cards.0.code")
    ]
    await customers.update_customer(
        location_id, str(first.id), CustomerInput(cards=(CardInput("C-1"),)), runtime.stores
    )


async def test_an_update_keeps_the_search_text_current() -> None:
    _, runtime, location_id = _world()
    anna = await customers.create_customer(
        location_id, _person("Anna", "Nowak", "C-1"), runtime.stores
    )
    await customers.create_customer(location_id, _person("Jan", "Kos"), runtime.stores)
    assert await _found_by(runtime, location_id, "nowak") == [anna.id]

    updated = await customers.update_customer(
        location_id, str(anna.id), CustomerInput(last_name="Kowalska"), runtime.stores
    )

    assert (updated.first_name, updated.last_name) == ("Anna", "Kowalska")
    assert await _found_by(runtime, location_id, "KOWALSKA") == [anna.id]
    assert await _found_by(runtime, location_id, "anna kowalska") == [anna.id]
    assert await _found_by(runtime, location_id, "nowak") == []
    # cards given no new value stay
    assert await customers.get_customer_by_card(location_id, "C-1", runtime.stores) == updated


async def test_a_soft_delete_hides_the_customer_frees_its_card_and_writes_off_its_balance() -> None:
    memory, runtime, location_id = _world()
    vip = await groups.create_group(location_id, CustomerGroupInput(name="VIP"), runtime.stores)
    data = CustomerInput(first_name="Anna", cards=(CardInput("C-1"),), group_ids=(str(vip.id),))
    anna = await customers.create_customer(location_id, data, runtime.stores)
    jan = await customers.create_customer(location_id, _person("Jan", "Kos", "C-2"), runtime.stores)
    memory.t.customers[anna.id].credit_balance = 1_500

    deleted = await customers.delete_customer(location_id, str(anna.id), runtime.stores)

    assert deleted == customers.DeletedCustomer(anna.id, 1_500)
    assert await customers.get_customer(location_id, str(anna.id), runtime.stores) is None
    assert await customers.get_customer_by_card(location_id, "C-1", runtime.stores) is None
    assert await _found_by(runtime, location_id, "anna") == []
    assert await groups.customer_counts([vip.id], runtime.stores) == {}
    row = memory.t.customers[anna.id]
    assert (row.deleted, row.credit_balance, row.contact["first_name"]) == (True, 0, None)
    assert [
        (e.customer_id, e.kind, e.requested_amount, e.delta, e.balance_after, e.source_id)
        for e in memory.t.entries.values()
    ] == [(anna.id, "WRITE_OFF", 1_500, -1_500, 0, anna.id)]
    # its code is free again; the other customer keeps its own card
    again = await customers.create_customer(
        location_id, _person("Ewa", "Lis", "C-1"), runtime.stores
    )
    assert await customers.get_customer_by_card(location_id, "C-1", runtime.stores) == again
    assert await customers.get_customer_by_card(location_id, "C-2", runtime.stores) == jan
    with pytest.raises(DomainError) as gone:
        await customers.delete_customer(location_id, str(anna.id), runtime.stores)
    assert _errors(gone) == [(ErrorCode.NOT_FOUND, "id", "Customer not found.")]
    assert len(memory.t.entries) == 1
    # a customer holding nothing is deleted without an entry
    assert await customers.delete_customer(
        location_id, str(jan.id), runtime.stores
    ) == customers.DeletedCustomer(jan.id, 0)
    assert len(memory.t.entries) == 1


async def test_members_are_added_and_removed_by_ids_and_by_selection() -> None:
    _, runtime, location_id = _world()
    vip = await groups.create_group(location_id, CustomerGroupInput(name="VIP"), runtime.stores)
    people = [
        await customers.create_customer(location_id, _person(first, last), runtime.stores)
        for first, last in [("Anna", "Nowak"), ("Jan", "Nowak"), ("Ewa", "Lis")]
    ]
    anna, jan, ewa = (p.id for p in people)
    group_id = str(vip.id)

    async def members() -> dict[UUID, int]:
        return await groups.customer_counts([vip.id], runtime.stores)

    by_ids = Target(customer_ids=(str(ewa), str(ewa)))
    await groups.add_customers(location_id, group_id, by_ids, runtime.stores)
    assert await members() == {vip.id: 1}
    nowaks = Target(filter=CustomerFilter(search="nowak"))
    await groups.add_customers(location_id, group_id, nowaks, runtime.stores)
    assert await members() == {vip.id: 3}
    groups_of = await customers.groups_of([anna, jan, ewa], runtime.stores)
    assert {uid: [g.name for g in found] for uid, found in groups_of.items()} == {
        anna: ["VIP"],
        jan: ["VIP"],
        ewa: ["VIP"],
    }

    await groups.remove_customers(location_id, group_id, nowaks, runtime.stores)
    assert await members() == {vip.id: 1}
    await groups.remove_customers(location_id, group_id, by_ids, runtime.stores)
    assert await members() == {}


async def test_an_unknown_customer_in_a_target_is_refused_and_adds_no_one() -> None:
    _, runtime, location_id = _world()
    vip = await groups.create_group(location_id, CustomerGroupInput(name="VIP"), runtime.stores)
    anna = await customers.create_customer(location_id, _person("Anna", "Nowak"), runtime.stores)
    unknown = "00000000-0000-0000-0000-000000000001"

    with pytest.raises(DomainError) as refused:
        await groups.add_customers(
            location_id, str(vip.id), Target(customer_ids=(str(anna.id), unknown)), runtime.stores
        )

    assert [(e.code, e.field) for e in refused.value.errors] == [
        (ErrorCode.NOT_FOUND, "target.customerIds.1")
    ]
    assert await groups.customer_counts([vip.id], runtime.stores) == {}


async def test_a_group_reference_is_used_once_per_location() -> None:
    memory, runtime, location_id = _world()
    first = await groups.create_group(
        location_id, CustomerGroupInput(name="Stały klient"), runtime.stores
    )
    assert first.reference == "staly-klient"

    with pytest.raises(DomainError) as by_name:
        await groups.create_group(
            location_id, CustomerGroupInput(name="Stały Klient"), runtime.stores
        )
    other = await groups.create_group(location_id, CustomerGroupInput(name="Nowi"), runtime.stores)
    with pytest.raises(DomainError) as by_update:
        await groups.update_group(
            location_id,
            str(other.id),
            CustomerGroupInput(reference="staly-klient"),
            runtime.stores,
        )

    clash = "Reference 'staly-klient' is already used by another group."
    assert _errors(by_name) == [(ErrorCode.DUPLICATE, "input.name", clash)]
    assert _errors(by_update) == [(ErrorCode.DUPLICATE, "input.reference", clash)]
    assert [g.reference for g in await groups.list_groups(location_id, runtime.stores)] == [
        "nowi",
        "staly-klient",
    ]
    # another location may use the same reference
    elsewhere = memory.add_location()
    again = await groups.create_group(
        elsewhere, CustomerGroupInput(name="Stały klient"), runtime.stores
    )
    assert again.reference == "staly-klient"


async def test_deleting_a_group_ends_its_memberships_and_keeps_its_customers() -> None:
    _, runtime, location_id = _world()
    vip = await groups.create_group(location_id, CustomerGroupInput(name="VIP"), runtime.stores)
    data = CustomerInput(first_name="Anna", group_ids=(str(vip.id),))
    anna = await customers.create_customer(location_id, data, runtime.stores)

    deleted = await groups.delete_group(location_id, str(vip.id), runtime.stores)

    assert deleted == vip.id
    assert await groups.get_group(location_id, str(vip.id), runtime.stores) is None
    assert await customers.groups_of([anna.id], runtime.stores) == {}
    assert await customers.get_customer(location_id, str(anna.id), runtime.stores) == anna
    with pytest.raises(DomainError) as gone:
        await groups.delete_group(location_id, str(vip.id), runtime.stores)
    assert _errors(gone) == [(ErrorCode.NOT_FOUND, "id", "Customer group not found.")]
