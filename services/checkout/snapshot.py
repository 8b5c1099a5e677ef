"""Step 1 of the till's path: the snapshot read, everything a price depends on besides the bill.

`read_snapshot` reads, for the customer a request names:
- the customer statement (`models.reads.customer_for_pricing`): the customer with its groups
  (and, found by card, that card's expiry date), the location's sync version and the channels
  where it uses promotional credits, and the customer's use today of each of its groups' daily
  discount limits, in one statement; in a commit's transaction, the statement that holds the
  customer (`services.checkout.hold`). The location's settings are read there on every quote,
  never cached, so that a changed setting holds for the next bill in every process;
- the synced offers of the customer's groups, by their references, from the one per-process
  cache `Runtime.mirrors` (`services.offers`) while the sync version read with the customer
  holds; read from the mirror only for the groups the cache lacks.

It returns one frozen `Snapshot` of domain values, which `domain.pricing.price` prices with.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

from domain import entities
from domain.access import ALL_CHANNELS, Principal
from domain.errors import ErrorCode, fail, not_found
from domain.messages import msg
from domain.pricing import (
    CustomerPricing,
    PosGroupOffer,
    PricingContext,
    PromotionOffer,
    SalesChannel,
)
from domain.schedule import local_today
from domain.sync import ConnectionStatus
from models.db import Transaction
from models.reads import CustomerSnapshot
from services.checkout.hold import hold_customer
from services.checkout.request import Named
from services.offers import GroupKey, GroupOffers, LocationOffers
from services.runtime import Runtime
from services.stores import Stores
from services.sync import GroupLink


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a bill is priced against: the location's currency and, when the request names a
    customer, the customer with its groups, its use of today's daily discount limit and the
    synced offers of its groups (GoPOS discounts for POS and KIOSK, GoOrder promotions for
    ONLINE)."""

    minor_units: int
    customer: entities.CustomerView | None = None
    used_today: Mapping[str, int] = field(default_factory=dict)  # by group reference
    pos_offers: tuple[PosGroupOffer, ...] = ()
    promotions: tuple[PromotionOffer, ...] = ()
    credit_channels: frozenset[SalesChannel] = ALL_CHANNELS

    def context(self, channel: SalesChannel) -> PricingContext:
        """What pricing knows of the customer on `channel`."""
        if self.customer is None:
            return PricingContext(self.minor_units, None)
        online = channel is SalesChannel.ONLINE
        customer = CustomerPricing(
            balance=self.customer.customer.credit_balance,
            used_today=self.used_today,
            pos_groups=() if online else self.pos_offers,
            promotions=self.promotions if online else (),
            has_groups=bool(self.customer.groups),
            credits_on=channel in self.credit_channels,
        )
        return PricingContext(self.minor_units, customer)


async def read_snapshot(
    runtime: Runtime,
    principal: Principal,
    named: Named,
    now: datetime,
    hold: Transaction | None = None,
) -> Snapshot:
    """The snapshot for the customer `named`, as the database holds it now (held until the
    transaction `hold` ends, when given). Raises NOT_FOUND on `input.customerId` for an id that
    is not a live customer's here, CARD_NOT_FOUND on `input.cardCode` for a card that no
    live customer here holds, and CARD_EXPIRED for a card whose last valid day is before the
    location's business date."""
    today = local_today(now, principal.timezone)
    found = await _customer(runtime.stores, principal, named, today, hold)
    if found is None:
        return Snapshot(principal.minor_units)
    groups = found.view.groups
    offers: Sequence[GroupOffers] = ()
    if groups:
        offers = await _offers(runtime, principal.location_id, found.sync_version, groups)
    return Snapshot(
        principal.minor_units,
        found.view,
        found.used_today,
        tuple(offer for group in offers for offer in group.pos),
        tuple(promotion for group in offers for promotion in group.promotions),
        found.credit_channels,
    )


async def _customer(
    stores: Stores, principal: Principal, named: Named, today: date, hold: Transaction | None
) -> CustomerSnapshot | None:
    """The customer `named` with what pricing reads of it (one statement)."""
    location_id = principal.location_id
    if named.by_id:
        found = None
        if named.customer_id is not None:
            found = await _statement(
                stores, location_id, today, hold, customer_id=named.customer_id
            )
        if found is None:
            raise not_found("input.customerId", "customer")
        return found
    if named.card_code is not None:
        found = await _statement(stores, location_id, today, hold, card_code=named.card_code)
        if found is None:
            raise fail(
                ErrorCode.CARD_NOT_FOUND,
                "input.cardCode",
                msg("card.not_found"),
            )
        expires_on = found.view.card_expires_on
        if expires_on is not None and expires_on < today:
            raise fail(
                ErrorCode.CARD_EXPIRED,
                "input.cardCode",
                msg("card.expired", date=expires_on.isoformat()),
            )
        return found
    return None


def _statement(
    stores: Stores,
    location_id: UUID,
    today: date,
    hold: Transaction | None,
    *,
    customer_id: UUID | None = None,
    card_code: str | None = None,
) -> Awaitable[CustomerSnapshot | None]:
    """The customer statement: in a transaction, the one that holds the customer."""
    if hold is not None:
        return hold_customer(
            stores, hold, location_id, customer_id, card_code=card_code, priced_on=today
        )
    return stores.reads.customer_for_pricing(
        location_id, today, card_code=card_code, customer_id=customer_id
    )


async def _offers(
    runtime: Runtime,
    location_id: UUID,
    sync_version: int,
    groups: Sequence[entities.CustomerGroup],
) -> list[GroupOffers]:
    """The offers of each of `groups` (the location's CRM groups of one customer), as of
    `sync_version`, the location's sync version read with the customer."""
    cached = runtime.mirrors.get(location_id, sync_version)
    if cached is None:
        cached = LocationOffers(location_id)
        runtime.mirrors.put(location_id, sync_version, cached)
    keys: list[GroupKey] = [(g.id, g.reference) for g in groups]
    missing = cached.missing(keys)
    if missing:
        links = await runtime.stores.links.group_links(location_id, missing)
        for group_id, reference in missing:
            cached.remember((group_id, reference), _group_offers(reference, links[group_id]))
    return cached.of(keys)


def _group_offers(reference: str, links: Sequence[GroupLink]) -> GroupOffers:
    """What a CRM group with `reference` brings to a bill through its LINKED connections."""
    linked = [link for link in links if link.status is ConnectionStatus.LINKED]
    return GroupOffers(
        pos=tuple(
            PosGroupOffer(
                reference,
                link.pos_group.group.daily_limit,
                tuple(d for d in link.pos_group.discounts if d.enabled),
            )
            for link in linked
            if link.pos_group is not None
        ),
        promotions=tuple(
            PromotionOffer(reference, link.promotion.promotion)
            for link in linked
            if link.promotion is not None
        ),
    )
