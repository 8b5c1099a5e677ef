"""Who is calling: a location and a role, carried by an API key."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from domain.bill import SalesChannel

# The most keys `apiKeys` lists: a location has a handful (one per till, kiosk and back office).
MAX_LISTED_API_KEYS = 500


class Role(StrEnum):
    ADMIN = "ADMIN"
    POS = "POS"


# The channels a key may quote and commit for, in the order they are stored and listed. A POS key
# made without naming any gets POS and KIOSK: a GoPOS till and its kiosk share one integration.
# ONLINE is granted only when named: it is the online store's key. An ADMIN key has them all.
CHANNEL_ORDER = (SalesChannel.POS, SalesChannel.KIOSK, SalesChannel.ONLINE)
TILL_CHANNELS = frozenset({SalesChannel.POS, SalesChannel.KIOSK})
ALL_CHANNELS = frozenset(CHANNEL_ORDER)


def ordered_channels(channels: Iterable[SalesChannel]) -> tuple[SalesChannel, ...]:
    given = set(channels)
    return tuple(c for c in CHANNEL_ORDER if c in given)


def channels_text(channels: Iterable[SalesChannel]) -> str:
    """The channels as stored: comma-separated, in `CHANNEL_ORDER`."""
    return ",".join(c.value for c in ordered_channels(channels))


def parse_channels(text: str) -> frozenset[SalesChannel]:
    """The channels stored as `channels_text` wrote them (unknown names are ignored)."""
    known = {c.value: c for c in CHANNEL_ORDER}
    return frozenset(known[part] for part in text.split(",") if part in known)


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
    channels: frozenset[SalesChannel] = TILL_CHANNELS
    # The language the caller reads ("pl" or "en"): the request's Accept-Language, else the
    # location's language.
    language: str = "pl"

    def may_sell(self, channel: SalesChannel) -> bool:
        """Whether the key may quote and commit for `channel`."""
        return self.is_admin or channel in self.channels

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


def sees_everything(principal: Principal) -> bool:
    """Whether the key sees every field of a customer. A till key (POS) sees what a till shows:
    names, groups, the wallet's balances and the card it looked the customer up by; never
    email, phone, note, other cards or the ledger."""
    return principal.is_admin
