"""The customers repository on both databases: what each function reads and writes, exactly."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID

import pytest

from domain import entities
from domain.credits import CustomerSelection
from domain.customer_checks import CheckedCard, CustomerWrite
from domain.paging import CustomerOrder
from gateway.loaders import CustomerKey, Loaders
from models import customers as repository
from models.db import IntegrityError, transaction
from models.tables.crm import Customer, CustomerGroup
from services import access
from services.runtime import Runtime
from settings import Settings
from tests.builders import sql_statements

ANNA = {"first_name": "Anna", "last_name": "Łukasik", "email": "anna@example.com"}


@pytest.fixture
async def location(database: Settings) -> UUID:
    created, _ = await access.create_location("Repository Bistro")
    return created.id


async def group(location_id: UUID, name: str) -> UUID:
    row = await CustomerGroup.create(location_id=location_id, name=name, reference=name.lower())
    return row.id


async def create(location_id: UUID, write: CustomerWrite) -> entities.Customer:
    async with transaction() as db:
        return await repository.create(db, location_id, write)


async def search_text(customer_id: UUID) -> str:
    return (await Customer.get(id=customer_id)).search_text


async def test_create_writes_the_contact_cards_groups_and_search_text(location: UUID) -> None:
    vip, staff = await group(location, "VIP"), await group(location, "Staff")
    card = CheckedCard("R1", "0001", date(2030, 1, 31))

    created = await create(location, CustomerWrite(ANNA, (card,), (vip, staff)))

    assert (created.location_id, created.first_name, created.last_name, created.email) == (
        location,
        "Anna",
        "Łukasik",
        "anna@example.com",
    )
    assert (created.phone, created.note, created.credit_balance) == (None, None, 0)
    assert await repository.live(location, created.id) == created
    # names, email and card codes folded (ł → l), for search without diacritics
    assert await search_text(created.id) == "anna lukasik anna@example.com r1"
    cards = await repository.cards_of([created.id])
    assert cards == {created.id: [entities.Card(created.id, "R1", "0001", date(2030, 1, 31))]}
    groups = await repository.groups_of([created.id])
    assert [g.name for g in groups[created.id]] == ["Staff", "VIP"]


async def test_create_many_writes_in_order_and_a_taken_code_fails_the_whole_batch(
    location: UUID,
) -> None:
    vip = await group(location, "VIP")
    writes = [
        CustomerWrite({"first_name": f"N{n}"}, (CheckedCard(f"M{n}", None, None),), (vip,))
        for n in range(3)
    ]
    async with transaction() as db:
        created = await repository.create_many(db, location, writes)

    assert [c.first_name for c in created] == ["N0", "N1", "N2"]
    holders = await repository.card_holders(location, ["M0", "M2", "NONE"])
    assert {code: c.first_name for code, c in holders.items()} == {"M0": "N0", "M2": "N2"}
    assert await repository.memberships([c.id for c in created], [vip]) == {
        (c.id, vip) for c in created
    }
    clash = CustomerWrite({"first_name": "Late"}, (CheckedCard("M1", None, None),))
    with pytest.raises(IntegrityError):
        async with transaction() as db:
            await repository.create_many(db, location, [CustomerWrite({"first_name": "X"}), clash])
    total, _ = await repository.page(location, None, CustomerOrder.NAME_ASC, None, 10)
    assert total == 3


async def test_views_read_a_batch_with_groups_by_name_and_leave_out_the_deleted(
    location: UUID,
) -> None:
    vip, regular = await group(location, "VIP"), await group(location, "Regular")
    anna = await create(location, CustomerWrite(ANNA, (), (vip, regular)))
    jan = await create(location, CustomerWrite({"first_name": "Jan"}))
    gone = await create(location, CustomerWrite({"first_name": "Gone"}))
    async with transaction() as db:
        assert await repository.delete(db, location, gone.id, datetime.now(UTC))

    with sql_statements() as statements:
        found = await repository.views(location, [jan.id, anna.id, gone.id, jan.id])

    assert len(statements) == 1
    assert set(found) == {anna.id, jan.id}
    assert found[jan.id] == entities.CustomerView(jan, ())
    assert [g.name for g in found[anna.id].groups] == ["Regular", "VIP"]
    assert found[anna.id].customer == anna
    assert found[anna.id] == await repository.view(location, anna.id)
    assert await repository.views(location, []) == {}


async def test_the_card_lookup_is_one_statement_and_names_the_card(location: UUID) -> None:
    anna = await create(location, CustomerWrite(ANNA, (CheckedCard("SCAN1", None, None),)))

    with sql_statements() as statements:
        found = await repository.view_by_card(location, "SCAN1")

    assert len(statements) == 1
    assert found == entities.CustomerView(anna, (), card_code="SCAN1")
    assert await repository.view_by_card(location, "SCAN2") is None


async def test_update_writes_only_what_is_given_and_replaces_cards_and_groups(
    location: UUID,
) -> None:
    vip, staff = await group(location, "VIP"), await group(location, "Staff")
    cards = (CheckedCard("U1", None, None), CheckedCard("U2", None, None))
    anna = await create(location, CustomerWrite(ANNA, cards, (vip,)))

    async with transaction() as db:
        kept = await repository.update(db, location, anna.id, CustomerWrite({"phone": "+48 1"}))
    assert kept is not None
    assert (kept.first_name, kept.phone) == ("Anna", "+48 1")
    # the phone's digits, and the codes of the cards the customer kept
    assert await search_text(anna.id) == "anna lukasik anna@example.com 481 u1 u2"
    assert [c.code for c in (await repository.cards_of([anna.id]))[anna.id]] == ["U1", "U2"]

    new_cards = (CheckedCard("U3", None, None),)
    async with transaction() as db:
        changed = await repository.update(
            db, location, anna.id, CustomerWrite({"last_name": None}, new_cards, (staff,))
        )
    assert changed is not None
    assert (changed.last_name, changed.updated_at > kept.updated_at) == (None, True)
    assert await search_text(anna.id) == "anna anna@example.com 481 u3"
    assert [c.code for c in (await repository.cards_of([anna.id]))[anna.id]] == ["U3"]
    assert [g.name for g in (await repository.groups_of([anna.id]))[anna.id]] == ["Staff"]
    assert await repository.taken_codes(location, ["U1", "U3"], owner=None) == ["U3"]
    assert await repository.taken_codes(location, ["U3"], owner=anna.id) == []


async def test_update_and_delete_find_no_deleted_customer(location: UUID) -> None:
    vip = await group(location, "VIP")
    anna = await create(location, CustomerWrite(ANNA, (CheckedCard("D1", None, None),), (vip,)))
    now = datetime.now(UTC)

    async with transaction() as db:
        assert await repository.delete(db, location, anna.id, now)
    async with transaction() as db:
        assert not await repository.delete(db, location, anna.id, now)
        assert await repository.update(db, location, anna.id, CustomerWrite(ANNA)) is None

    row = await Customer.get(id=anna.id)
    assert (row.first_name, row.last_name, row.email, row.search_text) == (None, None, None, "")
    assert row.deleted_at == now
    assert await repository.live(location, anna.id) is None
    assert await repository.live_ids(location, [anna.id]) == set()
    assert await repository.card_holders(location, ["D1"]) == {}
    assert await repository.groups_of([anna.id]) == {}


async def test_update_contacts_writes_the_named_columns_and_the_search_text(
    location: UUID,
) -> None:
    anna = await create(location, CustomerWrite({**ANNA, "note": "kept"}))
    jan = await create(location, CustomerWrite({"first_name": "Jan"}))
    await Customer.filter(id=anna.id).update(phone="+48 2")  # a concurrent edit of another field

    async with transaction() as db:
        await repository.update_contacts(
            db,
            [
                entities.Customer(**{**vars(anna), "first_name": "Ania"}),
                entities.Customer(**{**vars(jan), "first_name": "Janek"}),
            ],
            {"first_name"},
        )

    ania = await repository.live(location, anna.id)
    assert ania is not None
    assert (ania.first_name, ania.phone, ania.note) == ("Ania", "+48 2", "kept")
    assert await search_text(anna.id) == "ania lukasik anna@example.com"
    assert await search_text(jan.id) == "janek"
    assert ania.updated_at > anna.updated_at


async def test_pages_and_chunks_follow_the_ids_and_the_selection(location: UUID) -> None:
    vip = await group(location, "VIP")
    created = [
        await create(location, CustomerWrite({"first_name": f"P{n}"}, (), (vip,) * (n % 2)))
        for n in range(5)
    ]
    # Ids made within one millisecond are in no particular order: chunks follow the ids,
    # pages the order (here the names, P0 … P4, each with its name key).
    by_id = sorted(created, key=lambda c: c.id)
    ids = [c.id for c in by_id]
    by_name = CustomerOrder.NAME_ASC

    total, first = await repository.page(location, None, by_name, None, 2)
    assert (total, first) == (5, [(c, f"p{n}") for n, c in enumerate(created[:3])])
    total, rest = await repository.page(location, None, by_name, ("p2", created[2].id), 2)
    assert (total, [c for c, _ in rest]) == (5, created[3:])
    members = CustomerSelection(group_ids=(vip,))
    total, found = await repository.page(location, members, CustomerOrder.NAME_DESC, None, 10)
    assert (total, [c.first_name for c, _ in found]) == (2, ["P3", "P1"])
    total, found = await repository.page(location, CustomerSelection(search="p4"), by_name, None, 9)
    assert (total, found) == (1, [(created[4], "p4")])

    def pages(after: UUID | None) -> repository.CustomerQuery:
        return repository.filtered_customers(location, None, after)

    chunks = [chunk async for chunk in repository.id_chunks(pages, 2)]
    assert chunks == [ids[:2], ids[2:4], ids[4:]]
    assert [chunk async for chunk in repository.id_chunks(pages, 2, ids[3])] == [ids[4:]]
    assert await repository.live_ids(location, [ids[0], ids[4], vip]) == {ids[0], ids[4]}


async def test_a_requests_customer_loader_reads_its_batch_in_one_statement(
    location: UUID, runtime: Runtime
) -> None:
    anna = await create(location, CustomerWrite(ANNA))
    jan = await create(location, CustomerWrite({"first_name": "Jan"}))
    unknown = CustomerKey(location, location)
    loader = Loaders(runtime).customers

    with sql_statements() as statements:
        found = await loader.load_many(
            [CustomerKey(location, jan.id), unknown, CustomerKey(location, anna.id)]
        )

    assert len(statements) == 1
    assert found == [entities.CustomerView(jan, ()), None, entities.CustomerView(anna, ())]
