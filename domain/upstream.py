"""What the GoPOS and GoOrder adapters read, as plain values.

The adapters parse each upstream's wire format (field names, wrappers, paging) and hand these
values up; nothing above `adapters/` knows an upstream field name. Every text fits the mirror's
limits below and holds no control character. Money stays as the upstream's decimal amount with
its currency until a service converts it with the location's minor units.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from domain.messages import Message, msg

# The longest texts the mirror stores (the sizes of its columns): the adapters refuse an answer
# with a longer one as malformed.
MAX_EXTERNAL_ID = 200
MAX_NAME = 500
MAX_REFERENCE = 500


class Channel(StrEnum):
    GOPOS = "GOPOS"
    GOORDER = "GOORDER"

    @property
    def upstream_name(self) -> str:
        return "GoPOS" if self is Channel.GOPOS else "GoOrder"

    @property
    def mirrored(self) -> str:
        """What a location mirrors of the upstream, and counts against its cap."""
        return "groups and discounts" if self is Channel.GOPOS else "promotions"


def too_many_objects(channel: Channel, count: int, cap: int, *, read_so_far: bool) -> Message:
    """Why a sync mirrors nothing of an upstream that holds more than `cap` objects: `count`
    of them, or (`read_so_far`) the `count` read when reading stopped."""
    what = "sync.too_many_read" if read_so_far else "sync.too_many"
    kind = "gopos" if channel is Channel.GOPOS else "goorder"
    return msg(f"{what}_{kind}", upstream=channel.upstream_name, objects=count, cap=cap)


@dataclass(frozen=True, slots=True)
class UpstreamMoney:
    amount: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class PosDiscountRecord:
    external_id: str
    name: str
    type: str  # PERCENT | AMOUNT
    value: Decimal  # a percentage for PERCENT, money off for AMOUNT
    enabled: bool


@dataclass(frozen=True, slots=True)
class PosGroupRecord:
    external_id: str
    name: str
    reference: str | None
    daily_discount_limit: UpstreamMoney | None
    discount_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GoposSnapshot:
    """Everything one GoPOS organisation holds that the gateway mirrors."""

    groups: tuple[PosGroupRecord, ...]
    discounts: tuple[PosDiscountRecord, ...]


@dataclass(frozen=True, slots=True)
class PromotionRecord:
    external_id: str
    name: str
    reference: str | None
    type: str  # ORDER_PERCENT | ORDER_AMOUNT
    add_type: str  # MANUAL | AUTOMATIC: how it was created; does not change how it applies
    value: Decimal
    min_basket_value: Decimal | None  # in the store's currency
    active: bool


@dataclass(frozen=True, slots=True)
class GoorderSnapshot:
    promotions: tuple[PromotionRecord, ...]


@dataclass(frozen=True, slots=True)
class GoposCredentials:
    base_url: str
    client_id: str
    client_secret: str
    organization_id: str

    def __repr__(self) -> str:  # never print the secret
        return (
            f"GoposCredentials(base_url={self.base_url!r}, client_id={self.client_id!r}, "
            f"organization_id={self.organization_id!r})"
        )


@dataclass(frozen=True, slots=True)
class GoorderCredentials:
    base_url: str
    api_key: str
    store_id: str

    def __repr__(self) -> str:
        return f"GoorderCredentials(base_url={self.base_url!r}, store_id={self.store_id!r})"
