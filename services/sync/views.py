"""Pages of a location's mirror, for the back office: GoPOS groups with their discounts, and
GoOrder promotions, each ordered by name, removed ones included.

A page never loads the location's whole mirror: it reads the ids and names it is ordered by,
then that page's rows (and, for GoPOS groups, their discounts).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from uuid import UUID

from domain.paging import items_after
from domain.sync import MirrorDiscount, MirrorPosGroup, MirrorPromotion
from domain.upstream import Channel
from models import mirror
from models.mirror import Mirrored


@dataclass(frozen=True)
class PosGroupView:
    group: MirrorPosGroup
    removed: bool
    discounts: tuple[MirrorDiscount, ...]  # in id order


@dataclass(frozen=True)
class PromotionView:
    promotion: MirrorPromotion
    removed: bool


def _by_name(item: tuple[str, str]) -> tuple[str, str]:
    external_id, name = item
    return name.casefold(), external_id


async def _page_ids(
    channel: Channel, location_id: UUID, first: int, after: str | None
) -> list[str]:
    """The external ids of a page of the channel's mirror by name (then external id), after
    the object whose external id is `after`. Only ids and names are read to order it."""
    ordered = sorted(await mirror.names(channel, location_id), key=_by_name)
    page = items_after(ordered, first, after, key=lambda item: item[0])
    return [external_id for external_id, _ in page]


async def pos_groups_page(
    location_id: UUID, first: int, after: str | None
) -> tuple[PosGroupView, ...]:
    """`first` of the location's GoPOS groups by name (removed ones included), after the one
    whose external id is `after`, with their discounts. Raises `DomainError` on `first` or
    `after`."""
    ids = await _page_ids(Channel.GOPOS, location_id, first, after)
    groups = await mirror.pos_groups_by_id(location_id, ids)
    discount_ids = sorted({i for item in groups.values() for i in item.row.discount_ids})
    discounts = await mirror.pos_discounts(location_id, discount_ids)
    return tuple(pos_group_view(groups[i], discounts) for i in ids if i in groups)


async def promotions_page(
    location_id: UUID, first: int, after: str | None
) -> tuple[PromotionView, ...]:
    """`first` of the location's GoOrder promotions by name (removed ones included), after the
    one whose external id is `after`. Raises `DomainError` on `first` or `after`."""
    ids = await _page_ids(Channel.GOORDER, location_id, first, after)
    found = await mirror.promotions_by_id(location_id, ids)
    return tuple(PromotionView(found[i].row, found[i].removed) for i in ids if i in found)


def pos_group_view(
    item: Mirrored[MirrorPosGroup], discounts: Mapping[str, Mirrored[MirrorDiscount]]
) -> PosGroupView:
    own = tuple(discounts[i].row for i in item.row.discount_ids if i in discounts)
    return PosGroupView(item.row, item.removed, own)
