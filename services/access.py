"""Locations and API keys: creating them, and turning a presented key into a `Principal`.

Keys are random 256-bit secrets, shown once; only their SHA-256 is stored, which is enough for
secrets of that strength and keeps the lookup on the request path a single indexed read.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain import entities
from domain.access import Principal, Role
from domain.errors import ErrorCode, Validator, not_found
from models.db import transaction
from models.entities import ApiKey, Location
from models.ids import parse_id
from models.queries import api_key_entity, location_entity

KEY_PREFIX = "gocrm_"
MAX_KEY_NAME_LENGTH = 100


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


async def authenticate(secret: str) -> Principal | None:
    """The principal behind a presented key, or None for an unknown or revoked key."""
    row = (
        await ApiKey.filter(key_hash=hash_secret(secret), revoked_at=None)
        .select_related("location")
        .first()
    )
    if row is None:
        return None
    return Principal(
        location_id=row.location_id,
        api_key_id=row.id,
        api_key_name=row.name,
        role=Role(row.role),
        currency=row.location.currency,
        timezone=row.location.timezone,
    )


async def create_location(
    name: str, currency: str = "PLN", timezone: str = "Europe/Warsaw"
) -> tuple[entities.Location, str]:
    """A new location with its first ADMIN key; returns the location and the key's secret."""
    checks = Validator()
    name = name.strip()
    if not name:
        checks.add(ErrorCode.REQUIRED, "name", "Name must not be empty.")
    if not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
        checks.add(ErrorCode.INVALID, "currency", "Currency must be a 3-letter ISO 4217 code.")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        checks.add(ErrorCode.INVALID, "timezone", f"Unknown time zone '{timezone}'.")
    checks.check()
    async with transaction():
        location = await Location.create(name=name, currency=currency.upper(), timezone=timezone)
        secret = _new_secret()
        await ApiKey.create(
            location=location, name="admin", role=Role.ADMIN.value, key_hash=hash_secret(secret)
        )
    return location_entity(location), secret


async def get_location(location_id: UUID) -> entities.Location:
    return location_entity(await Location.get(id=location_id))


async def find_location(location_id: str) -> entities.Location | None:
    uid = parse_id(location_id)
    row = await Location.get_or_none(id=uid) if uid else None
    return location_entity(row) if row else None


async def get_api_key(location_id: UUID, key_id: UUID) -> entities.ApiKey | None:
    row = await ApiKey.get_or_none(id=key_id, location_id=location_id)
    return api_key_entity(row) if row else None


async def create_api_key(location_id: UUID, name: str, role: Role) -> tuple[entities.ApiKey, str]:
    checks = Validator()
    name = name.strip()
    if not name:
        checks.add(ErrorCode.REQUIRED, "name", "Name must not be empty.")
    elif len(name) > MAX_KEY_NAME_LENGTH:
        checks.add(
            ErrorCode.INVALID, "name", f"Name must be at most {MAX_KEY_NAME_LENGTH} characters."
        )
    checks.check()
    secret = _new_secret()
    row = await ApiKey.create(
        location_id=location_id, name=name, role=role.value, key_hash=hash_secret(secret)
    )
    return api_key_entity(row), secret


async def revoke_api_key(location_id: UUID, key_id: str) -> entities.ApiKey:
    """Revoke a key of the location; revoking a revoked key keeps its first revocation time."""
    uid = parse_id(key_id)
    if uid is None:
        raise not_found("id", "API key")
    await ApiKey.filter(id=uid, location_id=location_id, revoked_at=None).update(
        revoked_at=datetime.now(UTC)
    )
    row = await ApiKey.get_or_none(id=uid, location_id=location_id)
    if row is None:
        raise not_found("id", "API key")
    return api_key_entity(row)
