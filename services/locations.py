"""A location's settings, one function per setting: each checks its value and writes it.

`update_settings` takes what a client sent for several settings at once, checks every one
before writing any (a refusal changes nothing), then writes them in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from domain import entities
from domain.errors import ErrorCode, Validator
from domain.messages import LANGUAGES, msg
from models import locations
from models.db import Transaction, transaction

LANGUAGE_FIELD = "input.language"


@dataclass(frozen=True)
class SettingsChange:
    language: str | None = None  # None: keep


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
    """Write a language that `checked_language` accepted."""
    return await locations.set_language(db, location_id, language)


async def update_settings(location_id: UUID, change: SettingsChange) -> entities.Location:
    """Apply every setting given in `change`; raises `DomainError` naming every bad value."""
    checks = Validator()
    language = None if change.language is None else checked_language(checks, change.language)
    checks.check()
    async with transaction() as db:
        await locations.hold(db, location_id)
        location = await locations.get(location_id)
        if language is not None:
            location = await set_language(db, location_id, language)
    return location
