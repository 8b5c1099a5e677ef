"""The integrations repository on both databases: one row per location and channel, its secret
written and read back sealed, exactly as each function reads and writes it."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest

from domain.integrations import IntegrationSettings, SealedIntegration, StoredIntegration
from domain.upstream import Channel
from models import credentials as repository
from models import locations
from models.db import IntegrityError, transaction
from settings import Settings

NOW = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
GOPOS = IntegrationSettings(
    channel=Channel.GOPOS,
    base_url="https://gopos.example",
    client_id="client-1",
    organization_id="org-1",
    store_id=None,
    secret=None,
)
GOORDER = IntegrationSettings(
    channel=Channel.GOORDER,
    base_url="https://goorder.example",
    client_id=None,
    organization_id=None,
    store_id="store-9",
    secret=None,
)


@pytest.fixture
async def location(database: Settings) -> UUID:
    async with transaction() as db:
        return (await locations.create(db, "Repository Bistro", "PLN", "Europe/Warsaw")).id


async def create(location_id: UUID, settings: IntegrationSettings, sealed: str | None) -> None:
    async with transaction() as db:
        await repository.create(db, location_id, settings, sealed)


async def update(location_id: UUID, settings: IntegrationSettings, sealed: str | None) -> bool:
    async with transaction() as db:
        return await repository.update(db, location_id, settings, sealed, NOW)


async def test_create_stores_the_settings_and_the_sealed_secret_per_channel(
    location: UUID,
) -> None:
    await create(location, GOPOS, "sealed-1")
    await create(location, GOORDER, None)

    assert await repository.sealed(location, Channel.GOPOS) == SealedIntegration(
        "https://gopos.example", "client-1", "org-1", None, "sealed-1"
    )
    goorder = await repository.sealed(location, Channel.GOORDER)
    assert goorder == SealedIntegration("https://goorder.example", None, None, "store-9", None)
    assert goorder.stored() == StoredIntegration("https://goorder.example", has_secret=False)


async def test_the_sealed_secret_stays_out_of_the_repr(location: UUID) -> None:
    await create(location, GOPOS, "sealed-1")

    assert "sealed-1" not in repr(await repository.sealed(location, Channel.GOPOS))


async def test_a_second_row_of_a_channel_is_refused(location: UUID) -> None:
    await create(location, GOPOS, "sealed-1")

    with pytest.raises(IntegrityError):
        await create(location, GOPOS, "sealed-2")
    assert (await repository.sealed(location, Channel.GOPOS)) == SealedIntegration(
        "https://gopos.example", "client-1", "org-1", None, "sealed-1"
    )


async def test_update_without_a_secret_keeps_the_stored_one(location: UUID) -> None:
    await create(location, GOPOS, "sealed-1")
    moved = IntegrationSettings(
        Channel.GOPOS, "https://gopos.example", "client-2", "org-2", None, secret=None
    )

    assert await update(location, moved, None) is True
    assert await repository.sealed(location, Channel.GOPOS) == SealedIntegration(
        "https://gopos.example", "client-2", "org-2", None, "sealed-1"
    )
    assert await update(location, moved, "sealed-2") is True
    assert await repository.sealed(location, Channel.GOPOS) == SealedIntegration(
        "https://gopos.example", "client-2", "org-2", None, "sealed-2"
    )


async def test_update_of_a_missing_row_writes_nothing(location: UUID) -> None:
    assert await update(location, GOORDER, "sealed-1") is False
    assert await repository.sealed(location, Channel.GOORDER) is None


async def test_sealed_secret_count_counts_rows_with_a_secret(location: UUID) -> None:
    before = await repository.sealed_secret_count()
    await create(location, GOPOS, "sealed-1")
    await create(location, GOORDER, None)

    assert await repository.sealed_secret_count() == before + 1


async def test_configured_lists_the_integrations_that_hold_a_secret(location: UUID) -> None:
    async with transaction() as db:
        other = (await locations.create(db, "Other Bistro", "EUR", "Europe/Berlin")).id
    await create(location, GOPOS, "sealed-1")
    await create(location, GOORDER, None)
    await create(other, GOORDER, "sealed-2")

    found = [pair for pair in await repository.configured() if pair[0] in {location, other}]
    assert sorted(found, key=str) == sorted(
        [(location, Channel.GOPOS), (other, Channel.GOORDER)], key=str
    )
