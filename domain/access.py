"""Who is calling: a location and a role, carried by an API key."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

# The most keys `apiKeys` lists: a location has a handful (one per till, kiosk and back office).
MAX_LISTED_API_KEYS = 500


class Role(StrEnum):
    ADMIN = "ADMIN"
    POS = "POS"


@dataclass(frozen=True)
class Principal:
    location_id: UUID
    api_key_id: UUID
    api_key_name: str
    role: Role
    currency: str = "PLN"
    timezone: str = "Europe/Warsaw"
    # Decimal places of the currency (ISO 4217): PLN 2, JPY 0, KWD 3.
    minor_units: int = 2

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN
