"""The locations repository: locations and the API keys that act for them, read and written as
`domain` values, so that services never hold a Tortoise model or build a query.

A location is the tenant: every other row belongs to one. Its API keys are stored as the
SHA-256 of their secret, never the secret itself.

The hot statement is `key_holder`: every request that the process has not resolved lately
(`services.access.PrincipalCache`) turns its key into the key and its location with it, one
indexed read joined to the location. The schedules' tick reads every location's time zone
(`location_timezones`) in one statement. Everything else runs when a location is set up, found
(the importer's `exists`, the demo's `first_named`) or its keys are managed. Writes take the
transaction (`models.db.Transaction`) of the service that owns it; reads run on their own unless
they must see the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from domain import entities
from domain.access import Role, channels_text
from domain.messages import default_language
from domain.pricing import SalesChannel
from models.db import Transaction
from models.queries import api_key_entity, hold_location, location_entity
from models.tables.crm import ApiKey, Location

# Locations


async def get(location_id: UUID) -> entities.Location:
    """The location `location_id`, which must exist (the location of a live key does): a
    missing one raises the ORM's `DoesNotExist`, an internal error."""
    return location_entity(await Location.get(id=location_id))


async def find(location_id: UUID) -> entities.Location | None:
    """The location `location_id`; None when there is none."""
    row = await Location.get_or_none(id=location_id)
    return location_entity(row) if row else None


async def exists(location_id: UUID) -> bool:
    """Whether the location `location_id` exists, read on its key with no row decoded."""
    return await Location.exists(id=location_id)


async def first_named(name: str) -> entities.Location | None:
    """The earliest created location called `name`; None when there is none (names are not
    unique: the demo finds the location it seeded by its name)."""
    row = await Location.filter(name=name).order_by("created_at").first()
    return location_entity(row) if row else None


async def delete_named(name: str) -> int:
    """Delete every location called `name` with everything that belongs to it (the tables'
    foreign keys cascade from the location); how many there were. Only `gocrm demo --fresh`
    deletes a location, its own."""
    deleted: int = await Location.filter(name=name).delete()
    return deleted


async def location_timezones() -> dict[UUID, str]:
    """Every location's time zone, in one statement: the schedules' tick dates each due period
    in its location's zone."""
    return dict(await Location.all().values_list("id", "timezone"))


async def hold(db: Transaction, location_id: UUID) -> None:
    """Hold the location's row until the transaction `db` ends, so that the location's changes
    that must see each other run one at a time (`models.queries.hold_location`)."""
    await hold_location(location_id, db)


async def create(db: Transaction, name: str, currency: str, timezone: str) -> entities.Location:
    """Insert a new location, with no key yet."""
    row = await Location.create(
        name=name,
        currency=currency,
        timezone=timezone,
        language=default_language(currency),
        using_db=db,
    )
    return location_entity(row)


async def set_language(db: Transaction, location_id: UUID, language: str) -> entities.Location:
    """Change the location's language; the location must exist."""
    await Location.filter(id=location_id).using_db(db).update(language=language)
    return location_entity(await Location.get(id=location_id, using_db=db))


async def set_credit_channels(
    db: Transaction, location_id: UUID, channels: Iterable[SalesChannel]
) -> entities.Location:
    """Change where the location's promotional credits may be used (`channels_text`); the
    location must exist."""
    await (
        Location.filter(id=location_id).using_db(db).update(credit_channels=channels_text(channels))
    )
    return location_entity(await Location.get(id=location_id, using_db=db))


# API keys


async def key_holder(key_hash: str) -> tuple[entities.ApiKey, entities.Location] | None:
    """The unrevoked key with this hash and its location, in one statement (on the request
    path); None when no such key is stored."""
    row = await ApiKey.filter(key_hash=key_hash, revoked_at=None).select_related("location").first()
    if row is None:
        return None
    return api_key_entity(row), location_entity(row.location)


async def api_key(location_id: UUID, key_id: UUID) -> entities.ApiKey | None:
    """The location's key `key_id`, revoked or not; None when the location has no such key."""
    row = await ApiKey.get_or_none(id=key_id, location_id=location_id)
    return api_key_entity(row) if row else None


async def api_keys(location_id: UUID, limit: int) -> list[entities.ApiKey]:
    """Up to `limit` of the location's keys, revoked ones included, oldest first."""
    rows = await ApiKey.filter(location_id=location_id).order_by("created_at", "id").limit(limit)
    return [api_key_entity(row) for row in rows]


async def add_api_key(
    db: Transaction,
    location_id: UUID,
    name: str,
    role: Role,
    channels: Iterable[SalesChannel],
    key_hash: str,
) -> entities.ApiKey:
    """Insert a key of the location, stored as the hash of its secret."""
    row = await ApiKey.create(
        location_id=location_id,
        name=name,
        role=role.value,
        channels=channels_text(channels),
        key_hash=key_hash,
        using_db=db,
    )
    return api_key_entity(row)


async def held_api_key(db: Transaction, location_id: UUID, key_id: UUID) -> entities.ApiKey | None:
    """The location's key `key_id` as the transaction `db` sees it; None when there is none."""
    row = await ApiKey.filter(id=key_id, location_id=location_id).using_db(db).first()
    return api_key_entity(row) if row else None


async def other_admin_key_exists(db: Transaction, location_id: UUID, key_id: UUID) -> bool:
    """Whether the location has an unrevoked ADMIN key other than `key_id`, as `db` sees it."""
    others = ApiKey.filter(location_id=location_id, role=Role.ADMIN.value, revoked_at=None)
    return await others.exclude(id=key_id).using_db(db).exists()


async def revoke_named(
    db: Transaction, location_id: UUID, role: Role, names: Iterable[str], now: datetime
) -> int:
    """Revoke at `now` the location's unrevoked keys of `role` called one of `names`, in one
    statement; returns how many were revoked."""
    live = ApiKey.filter(location_id=location_id, role=role.value, revoked_at=None)
    return await live.filter(name__in=list(names)).using_db(db).update(revoked_at=now)


async def revoke(db: Transaction, key: entities.ApiKey, now: datetime) -> entities.ApiKey:
    """The key revoked at `now`: its revocation time is the only column written."""
    await ApiKey.filter(id=key.id).using_db(db).update(revoked_at=now)
    return replace(key, revoked_at=now)
