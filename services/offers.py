"""The synced offers a bill may get through the customer's CRM groups, cached per process.

A CRM group brings the enabled discounts of the GoPOS group it is linked to (POS and KIOSK) and
the GoOrder promotion it is linked to (ONLINE). They are read from the mirror by the group's
reference (`services.sync.group_links`: indexed statements over that reference alone), the
first time a bill needs the group, and kept in the runtime's cache (`Runtime.mirrors`) per
location and sync version: a sync that changes anything moves the version on, and the next
quote reads the group again. So a process holds at most one entry per CRM group that a bill
has needed, however large the location's mirror, and never reads what no group uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from domain import entities
from domain.pricing import PosGroupOffer, PromotionOffer
from domain.sync import ConnectionStatus
from services.runtime import Runtime
from services.sync import group_links


@dataclass(frozen=True)
class GroupOffers:
    """What one CRM group brings to a bill: its linked GoPOS groups' enabled discounts (POS and
    KIOSK) and its linked GoOrder promotions (ONLINE)."""

    pos: tuple[PosGroupOffer, ...]
    promotions: tuple[PromotionOffer, ...]


class LocationOffers:
    """A location's synced offers per CRM group `(id, reference)`, for one sync version."""

    def __init__(self, location_id: UUID) -> None:
        self.location_id = location_id
        self._groups: dict[tuple[UUID, str], GroupOffers] = {}

    async def of(self, groups: Sequence[entities.CustomerGroup]) -> list[GroupOffers]:
        keys = [(g.id, g.reference) for g in groups]
        missing = [key for key in dict.fromkeys(keys) if key not in self._groups]
        if missing:
            links = await group_links(self.location_id, missing)
            for group_id, reference in missing:
                linked = [
                    link for link in links[group_id] if link.status is ConnectionStatus.LINKED
                ]
                self._groups[(group_id, reference)] = GroupOffers(
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
        return [self._groups[key] for key in keys]


async def group_offers(
    runtime: Runtime,
    location_id: UUID,
    sync_version: int,
    groups: Sequence[entities.CustomerGroup],
) -> list[GroupOffers]:
    """The offers of each of `groups` (the location's CRM groups of one customer), as of
    `sync_version`, the location's sync version read with the customer."""
    offers: LocationOffers | None = runtime.mirrors.get(location_id, sync_version)
    if offers is None:
        offers = LocationOffers(location_id)
        runtime.mirrors.put(location_id, sync_version, offers)
    return await offers.of(groups)
