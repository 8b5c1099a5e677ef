"""Locations and API keys: creating them, and turning a presented key into a `Principal`.

Keys are random 256-bit secrets, shown once; only their SHA-256 is stored, which is enough for
secrets of that strength and keeps the lookup on the request path a single indexed read.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.core import get_global
from babel.numbers import get_currency_precision
from cachetools import TTLCache

from domain import entities
from domain.access import (
    ALL_CHANNELS,
    MAX_LISTED_API_KEYS,
    TILL_CHANNELS,
    Principal,
    Role,
)
from domain.errors import ErrorCode, Validator, fail, not_found
from domain.ids import parse_id
from domain.messages import msg
from domain.pricing import SalesChannel
from domain.text import text_problem
from models import locations
from models.db import transaction

KEY_PREFIX = "gocrm_"
MAX_KEY_NAME_LENGTH = 100
MAX_LOCATION_NAME_LENGTH = 100


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


async def authenticate(secret: str) -> Principal | None:
    """The principal behind a presented key, or None for an unknown or revoked key."""
    return await _principal(hash_secret(secret))


async def _principal(key_hash: str) -> Principal | None:
    found = await locations.key_holder(key_hash)
    if found is None:
        return None
    key, location = found
    return Principal(
        location_id=key.location_id,
        api_key_id=key.id,
        api_key_name=key.name,
        role=key.role,
        currency=location.currency,
        timezone=location.timezone,
        minor_units=currency_minor_units(location.currency),
        channels=ALL_CHANNELS if key.role is Role.ADMIN else frozenset(key.channels),
        language=location.language,
    )


class PrincipalCache:
    """This process's resolved API keys: key hash → `Principal`, or None for a key that is
    unknown or revoked, each kept for `ttl` seconds of `clock` and at most `size` of them
    (the least recently used go first).

    Revoking a key through `forget` takes effect in this process at once. Every other process
    keeps its own cache, so it answers with the revoked key for at most `ttl` seconds more; a
    key created after it was looked up as unknown works everywhere within `ttl` seconds too.
    """

    def __init__(self, ttl: float, size: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: TTLCache[str, Principal | None] = TTLCache(
            maxsize=size, ttl=ttl, timer=clock
        )

    def __len__(self) -> int:
        return len(self._entries)

    async def authenticate(self, secret: str) -> Principal | None:
        """The principal behind a presented key, as `authenticate`, from the cache if fresh."""
        key_hash = hash_secret(secret)
        try:
            return self._entries[key_hash]
        except KeyError:
            pass
        principal = await _principal(key_hash)
        self._entries[key_hash] = principal
        return principal

    def forget_location(self, location_id: UUID) -> None:
        """Drop every key of the location, so that a changed setting (its language) is read
        again at their next request in this process."""
        stale = [
            h for h, p in self._entries.items() if p is not None and p.location_id == location_id
        ]
        for key_hash in stale:
            self._entries.pop(key_hash, None)

    def forget(self, api_key_id: UUID) -> None:
        """Drop the key from this process's cache, so that its next request reads it again."""
        stale = [
            h for h, p in self._entries.items() if p is not None and p.api_key_id == api_key_id
        ]
        for key_hash in stale:
            self._entries.pop(key_hash, None)


@functools.cache
def currencies_in_use() -> frozenset[str]:
    """ISO 4217 codes of the currencies that are legal tender somewhere today, from Babel's
    copy of the Unicode CLDR (withdrawn ones such as DEM, and funds such as XAU, are not)."""
    return frozenset(
        code
        for entries in get_global("territory_currencies").values()
        for code, _start, end, tender in entries
        if end is None and tender
    )


@functools.cache
def currency_minor_units(code: str) -> int:
    """The currency's number of decimal places (ISO 4217 minor units): PLN 2, JPY 0, KWD 3."""
    return int(get_currency_precision(code))


def _checked_name(checks: Validator, raw: str, max_length: int) -> str:
    name = raw.strip()
    if not name:
        checks.add(ErrorCode.REQUIRED, "name", msg("name.empty"))
    elif problem := text_problem(name, max_length):
        checks.add(ErrorCode.INVALID, "name", problem)
    return name


async def create_location(
    name: str, currency: str = "PLN", timezone: str = "Europe/Warsaw"
) -> tuple[entities.Location, str]:
    """A new location with its first ADMIN key; returns the location and the key's secret."""
    checks = Validator()
    name = _checked_name(checks, name, MAX_LOCATION_NAME_LENGTH)
    currency = currency.strip().upper()
    if currency not in currencies_in_use():
        checks.add(
            ErrorCode.INVALID,
            "currency",
            msg("location.currency", currency=currency[:10]),
        )
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        checks.add(ErrorCode.INVALID, "timezone", msg("location.timezone", timezone=timezone[:100]))
    checks.check()
    secret = _new_secret()
    async with transaction() as db:
        location = await locations.create(db, name, currency, timezone)
        await locations.add_api_key(
            db, location.id, "admin", Role.ADMIN, ALL_CHANNELS, hash_secret(secret)
        )
    return location, secret


async def get_location(location_id: UUID) -> entities.Location:
    return await locations.get(location_id)


async def find_location(location_id: str) -> entities.Location | None:
    uid = parse_id(location_id)
    return await locations.find(uid) if uid else None


async def get_api_key(location_id: UUID, key_id: UUID) -> entities.ApiKey | None:
    return await locations.api_key(location_id, key_id)


async def list_api_keys(location_id: UUID) -> list[entities.ApiKey]:
    """The location's keys, revoked ones included, oldest first (at most
    `MAX_LISTED_API_KEYS`); never their secrets or hashes."""
    return await locations.api_keys(location_id, MAX_LISTED_API_KEYS)


def _key_channels(
    checks: Validator, role: Role, channels: Sequence[SalesChannel] | None
) -> frozenset[SalesChannel]:
    """The channels a new key gets: every channel for an ADMIN key (which names none); for a
    POS key those named, else POS and KIOSK (ONLINE only when named)."""
    if role is Role.ADMIN:
        if channels is not None:
            checks.add(
                ErrorCode.INVALID,
                "channels",
                msg("api_key.admin_channels"),
            )
        return ALL_CHANNELS
    if channels is None:
        return TILL_CHANNELS
    if not channels:
        checks.add(ErrorCode.INVALID, "channels", msg("api_key.no_channel"))
    return frozenset(channels)


async def create_api_key(
    location_id: UUID, name: str, role: Role, channels: Sequence[SalesChannel] | None = None
) -> tuple[entities.ApiKey, str]:
    """A new key of the location, with the channels it may sell on (`_key_channels`); returns
    it with its secret, shown once."""
    checks = Validator()
    name = _checked_name(checks, name, MAX_KEY_NAME_LENGTH)
    granted = _key_channels(checks, role, channels)
    checks.check()
    secret = _new_secret()
    async with transaction() as db:
        key = await locations.add_api_key(db, location_id, name, role, granted, hash_secret(secret))
    return key, secret


async def revoke_api_key(location_id: UUID, key_id: str) -> entities.ApiKey:
    """Revoke a key of the location; revoking a revoked key keeps its first revocation time.
    The location's last ADMIN key is never revoked (LAST_ADMIN_KEY): the location would be
    left with no key that can manage it. Revocations in one location run one at a time, so two
    ADMIN keys revoking each other at once leave one."""
    uid = parse_id(key_id)
    if uid is None:
        raise not_found("id", "api_key")
    async with transaction() as db:
        await locations.hold(db, location_id)
        key = await locations.held_api_key(db, location_id, uid)
        if key is None:
            raise not_found("id", "api_key")
        if key.revoked_at is not None:
            return key
        if key.role is Role.ADMIN and not await locations.other_admin_key_exists(
            db, location_id, uid
        ):
            raise fail(
                ErrorCode.LAST_ADMIN_KEY,
                "id",
                msg("api_key.last_admin"),
            )
        return await locations.revoke(db, key, datetime.now(UTC))
