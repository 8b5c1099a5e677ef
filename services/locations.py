"""A location's settings, one function per setting: each checks its value and writes it.

`update_settings` takes what a client sent for several settings at once, checks every one
before writing any (a refusal changes nothing), then writes them in one transaction. Setting a
value twice leaves the location as setting it once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from domain import entities
from domain.access import ordered_channels
from domain.bill import SalesChannel
from domain.errors import ErrorCode, Validator
from domain.messages import LANGUAGES, msg
from models import locations
from models.db import Transaction, transaction

CREDIT_CHANNELS_FIELD = "input.creditChannels"
LANGUAGE_FIELD = "input.language"


@dataclass(frozen=True)
class SettingsChange:
    # None: keep; empty: promotional credits off on every channel.
    credit_channels: Sequence[SalesChannel] | None = None
    language: str | None = None  # None: keep


def checked_credit_channels(
    checks: Validator, raw: Sequence[SalesChannel]
) -> tuple[SalesChannel, ...]:
    """Where promotional credits may be used, in `domain.access.CHANNEL_ORDER`: each channel
    named at most once; none switches them off everywhere."""
    seen: set[SalesChannel] = set()
    for channel in raw:
        if channel in seen:
            checks.add(
                ErrorCode.INVALID,
                CREDIT_CHANNELS_FIELD,
                msg("location.channel_twice", channel=channel.value),
            )
            break
        seen.add(channel)
    return ordered_channels(seen)


async def set_credit_channels(
    db: Transaction, location_id: UUID, channels: Sequence[SalesChannel]
) -> entities.Location:
    """Write credit channels that `checked_credit_channels` accepted. The till reads them with
    the customer on every bill (`services.checkout.snapshot`), so the next quote in every
    process sees them; nothing caches them."""
    return await locations.set_credit_channels(db, location_id, channels)


def checked_language(checks: Validator, raw: str) -> str:
    """`raw` as a supported language ("pl", "en"; case and surrounding spaces ignored)."""
    language = raw.strip().lower()
    if language not in LANGUAGES:
        checks.add(
            ErrorCode.INVALID,
            LANGUAGE_FIELD,
            msg("location.language", language=raw[:20], languages=", ".join(LANGUAGES)),
        )
    return language


async def set_language(db: Transaction, location_id: UUID, language: str) -> entities.Location:
    """Write a language that `checked_language` accepted. Keys resolved before keep the
    previous language in other processes for as long as they cache them."""
    return await locations.set_language(db, location_id, language)


async def update_settings(location_id: UUID, change: SettingsChange) -> entities.Location:
    """Apply every setting given in `change`; raises `DomainError` naming every bad value."""
    checks = Validator()
    credit_channels = (
        None
        if change.credit_channels is None
        else checked_credit_channels(checks, change.credit_channels)
    )
    language = None if change.language is None else checked_language(checks, change.language)
    checks.check()
    async with transaction() as db:
        await locations.hold(db, location_id)
        location = await locations.get(location_id)
        if credit_channels is not None:
            location = await set_credit_channels(db, location_id, credit_channels)
        if language is not None:
            location = await set_language(db, location_id, language)
    return location
