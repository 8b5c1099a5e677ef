"""The synced offers a bill may get through the customer's CRM groups, cached per process.

A CRM group brings the enabled discounts of the GoPOS group it is linked to (POS and KIOSK) and
the GoOrder promotion it is linked to (ONLINE). The till's snapshot read
(`services.checkout.snapshot`) reads them from the mirror by the group's reference, the first
time a bill needs the group, and keeps them here: one `LocationOffers` per location and sync
version, in the runtime's typed cache `Runtime.mirrors`. A sync that changes anything moves the
version on, and the next quote reads the group again. So a process holds at most one entry per
CRM group that a bill has needed, however large the location's mirror, and never reads what no
group uses.

The back office's view of the mirror (`services.sync.MirrorReads`, in `Runtime.mirror_reads`)
is another cache on purpose: it holds every group's connection with its status and detail, and
is current only for the channels that had a succeeded sync, which it reads on every request; the
till reads only the sync version, in the customer's statement, and keeps only what prices.

This module imports nothing but the domain, so that `services.runtime` can type its cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from domain.pricing import PosGroupOffer, PromotionOffer

GroupKey = tuple[UUID, str]
"""A CRM group as its offers are matched: its id and its reference when it was read."""


@dataclass(frozen=True, slots=True)
class GroupOffers:
    """What one CRM group brings to a bill: its linked GoPOS groups' enabled discounts (POS and
    KIOSK) and its linked GoOrder promotions (ONLINE)."""

    pos: tuple[PosGroupOffer, ...]
    promotions: tuple[PromotionOffer, ...]


class LocationOffers:
    """A location's synced offers per CRM group `(id, reference)`, for one sync version."""

    def __init__(self, location_id: UUID) -> None:
        self.location_id = location_id
        self._groups: dict[GroupKey, GroupOffers] = {}

    def missing(self, keys: Sequence[GroupKey]) -> list[GroupKey]:
        """The groups of `keys` not read yet, each once, in order."""
        return [key for key in dict.fromkeys(keys) if key not in self._groups]

    def remember(self, key: GroupKey, offers: GroupOffers) -> None:
        self._groups[key] = offers

    def of(self, keys: Sequence[GroupKey]) -> list[GroupOffers]:
        """The offers of each of `keys`, all remembered already."""
        return [self._groups[key] for key in keys]
