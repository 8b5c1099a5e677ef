"""The locations repository on both databases: locations and API keys, exactly as each function
reads and writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from tortoise.exceptions import DoesNotExist

from domain import entities
from domain.access import ALL_CHANNELS, Role
from domain.pricing import SalesChannel
from models import locations as repository
from models.db import IntegrityError, transaction
from models.tables.crm import Location
from settings import Settings
from tests.builders import sql_statements

REVOKED_AT = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)


@pytest.fixture
async def location(database: Settings) -> entities.Location:
    async with transaction() as db:
        return await repository.create(db, "Repository Bistro", "EUR", "Europe/Berlin")


async def add_key(
    location_id: UUID,
    name: str,
    role: Role = Role.POS,
    channels: frozenset[SalesChannel] = frozenset({SalesChannel.ONLINE, SalesChannel.POS}),
) -> entities.ApiKey:
    async with transaction() as db:
        return await repository.add_api_key(
            db, location_id, name, role, channels, f"hash-{name}-{location_id}"
        )


async def test_create_writes_a_location_that_get_and_find_read_back(
    location: entities.Location,
) -> None:
    assert (location.name, location.currency, location.timezone) == (
        "Repository Bistro",
        "EUR",
        "Europe/Berlin",
    )
    assert await repository.get(location.id) == location
    assert await repository.find(location.id) == location


async def test_find_answers_none_and_get_raises_for_an_unknown_location(
    location: entities.Location,
) -> None:
    unknown = uuid4()

    assert await repository.find(unknown) is None
    with pytest.raises(DoesNotExist):
        await repository.get(unknown)


async def test_exists_answers_for_a_location_and_an_unknown_id(
    location: entities.Location,
) -> None:
    assert await repository.exists(location.id) is True
    assert await repository.exists(uuid4()) is False


async def test_first_named_is_the_earliest_created_of_that_name(database: Settings) -> None:
    name = f"Twin Bistro {uuid4()}"  # other tests' locations stay in the database
    async with transaction() as db:
        second = await repository.create(db, name, "EUR", "Europe/Berlin")
        first = await repository.create(db, name, "PLN", "Europe/Warsaw")
    # Inserted last, created first: the creation time decides, not the order of the rows.
    await Location.filter(id=first.id).update(created_at=REVOKED_AT - timedelta(days=365))

    assert await repository.first_named(name) == first
    assert second != first
    assert await repository.first_named(f"No such bistro {uuid4()}") is None


async def test_location_timezones_reads_every_locations_zone_in_one_statement(
    location: entities.Location,
) -> None:
    async with transaction() as db:
        other = await repository.create(db, "Other Bistro", "PLN", "Europe/Warsaw")

    with sql_statements() as statements:
        timezones = await repository.location_timezones()

    assert len(statements) == 1
    assert (timezones[location.id], timezones[other.id]) == ("Europe/Berlin", "Europe/Warsaw")


async def test_add_api_key_stores_the_channels_in_their_order(
    location: entities.Location,
) -> None:
    key = await add_key(location.id, "till")

    assert (key.location_id, key.name, key.role, key.revoked_at) == (
        location.id,
        "till",
        Role.POS,
        None,
    )
    assert key.channels == (SalesChannel.POS, SalesChannel.ONLINE)
    assert await repository.api_key(location.id, key.id) == key


async def test_a_hash_is_stored_once(location: entities.Location) -> None:
    async with transaction() as db:
        await repository.add_api_key(db, location.id, "one", Role.POS, ALL_CHANNELS, "same")
    with pytest.raises(IntegrityError):
        async with transaction() as db:
            await repository.add_api_key(db, location.id, "two", Role.POS, ALL_CHANNELS, "same")

    assert [k.name for k in await repository.api_keys(location.id, 10)] == ["one"]


async def test_key_holder_reads_the_key_and_its_location_in_one_statement(
    location: entities.Location,
) -> None:
    key = await add_key(location.id, "till")

    with sql_statements() as statements:
        found = await repository.key_holder(f"hash-till-{location.id}")

    assert len(statements) == 1
    assert found == (key, location)
    assert await repository.key_holder("no such hash") is None


async def test_key_holder_ignores_a_revoked_key(location: entities.Location) -> None:
    key = await add_key(location.id, "till")
    async with transaction() as db:
        revoked = await repository.revoke(db, key, REVOKED_AT)

    assert await repository.key_holder(f"hash-till-{location.id}") is None
    assert revoked.revoked_at == REVOKED_AT
    assert await repository.api_key(location.id, key.id) == revoked


async def test_a_key_belongs_to_its_location_only(location: entities.Location) -> None:
    async with transaction() as db:
        other = await repository.create(db, "Other Bistro", "PLN", "Europe/Warsaw")
    key = await add_key(location.id, "till")

    assert await repository.api_key(other.id, key.id) is None
    async with transaction() as db:
        assert await repository.held_api_key(db, other.id, key.id) is None
        assert await repository.held_api_key(db, location.id, key.id) == key


async def test_api_keys_lists_revoked_ones_too_oldest_first_up_to_the_limit(
    location: entities.Location,
) -> None:
    first = await add_key(location.id, "first")
    second = await add_key(location.id, "second")
    third = await add_key(location.id, "third")
    async with transaction() as db:
        second = await repository.revoke(db, second, REVOKED_AT)

    listed = await repository.api_keys(location.id, 10)

    assert sorted(listed, key=lambda k: (k.created_at, k.id)) == listed
    assert {k.id for k in listed} == {first.id, second.id, third.id}
    assert [k for k in listed if k.id == second.id] == [second]
    assert len(await repository.api_keys(location.id, 2)) == 2


async def test_other_admin_key_exists_counts_live_admin_keys_but_the_one_named(
    location: entities.Location,
) -> None:
    admin = await add_key(location.id, "admin", Role.ADMIN, ALL_CHANNELS)
    await add_key(location.id, "till")

    async with transaction() as db:
        assert await repository.other_admin_key_exists(db, location.id, admin.id) is False
    second = await add_key(location.id, "second admin", Role.ADMIN, ALL_CHANNELS)
    async with transaction() as db:
        assert await repository.other_admin_key_exists(db, location.id, admin.id) is True
        await repository.revoke(db, second, REVOKED_AT)
        assert await repository.other_admin_key_exists(db, location.id, admin.id) is False


async def test_revoke_named_revokes_the_live_keys_of_the_role_and_names_only(
    location: entities.Location,
) -> None:
    admin = await add_key(location.id, "admin", Role.ADMIN, ALL_CHANNELS)
    again = await add_key(location.id, "demo admin", Role.ADMIN, ALL_CHANNELS)
    other_name = await add_key(location.id, "owner", Role.ADMIN, ALL_CHANNELS)
    async with transaction() as db:
        other_role = await repository.add_api_key(
            db, location.id, "demo admin", Role.POS, ALL_CHANNELS, f"hash-pos-{location.id}"
        )
    async with transaction() as db:
        other = await repository.create(db, "Other Bistro", "PLN", "Europe/Warsaw")
    other_location = await add_key(other.id, "admin", Role.ADMIN, ALL_CHANNELS)
    async with transaction() as db:
        earlier = await repository.revoke(db, again, REVOKED_AT)
    later = datetime(2026, 4, 1, tzinfo=UTC)

    async with transaction() as db:
        with sql_statements() as statements:
            count = await repository.revoke_named(
                db, location.id, Role.ADMIN, ("admin", "demo admin"), later
            )

    assert (count, len(statements)) == (1, 1)
    revoked = {k.id: k.revoked_at for k in await repository.api_keys(location.id, 10)}
    assert revoked == {
        admin.id: later,
        earlier.id: REVOKED_AT,
        other_name.id: None,
        other_role.id: None,
    }
    assert await repository.api_key(other.id, other_location.id) == other_location


async def test_revoke_writes_the_revocation_time_only(location: entities.Location) -> None:
    key = await add_key(location.id, "till")

    async with transaction() as db:
        await repository.hold(db, location.id)
        with sql_statements() as statements:
            revoked = await repository.revoke(db, key, REVOKED_AT)

    assert len(statements) == 1
    assert "revoked_at" in statements[0]
    assert "name" not in statements[0]
    assert revoked == entities.ApiKey(
        key.id, location.id, "till", Role.POS, key.created_at, REVOKED_AT, key.channels
    )
