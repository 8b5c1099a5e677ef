"""The mirror as the API and a sync read it: whole tables of a location, or rows by id.

Rows come back as the domain's mirror rows, with the removed flag beside them (`Mirrored`), or
as `domain.links.MirrorObject` for the connections view; never as model instances.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.links import MirrorObject
from domain.sync import DiscountType, MirrorDiscount, MirrorPosGroup, MirrorPromotion
from domain.upstream import Channel
from models.mirror.rows import (
    DISCOUNT_READ,
    GROUP_READ,
    PROMOTION_READ,
    SUCCEEDED,
    Mirrored,
    group_row,
    promotion_row,
)
from models.tables.integrations import (
    OrderPromotionMirror,
    PosDiscountMirror,
    PosGroupMirror,
    SyncRun,
)


def _by_name(item: Mirrored[MirrorPosGroup] | Mirrored[MirrorPromotion]) -> tuple[str, str]:
    return item.row.name.casefold(), item.row.external_id


def _discounts(rows: Sequence[Sequence[Any]]) -> dict[str, Mirrored[MirrorDiscount]]:
    """Discount rows read as `DISCOUNT_READ` names them, by external id."""
    return {
        external_id: Mirrored(
            MirrorDiscount(external_id, name, DiscountType(kind), value, bool(enabled)),
            bool(removed),
        )
        for external_id, name, kind, value, enabled, removed in rows
    }


async def pos_groups(
    location_id: UUID, db: BaseDBAsyncClient | None = None
) -> list[Mirrored[MirrorPosGroup]]:
    """The location's GoPOS groups, removed ones included, by name."""
    rows = (
        await PosGroupMirror.filter(location_id=location_id)
        .using_db(db)
        .values_list("external_id", "name", "reference", "daily_limit", "discount_ids", "removed")
    )
    groups = [
        Mirrored(MirrorPosGroup(external_id, name, reference, limit, tuple(ids)), bool(removed))
        for external_id, name, reference, limit, ids, removed in rows
    ]
    return sorted(groups, key=_by_name)


async def pos_discounts_by_id(
    location_id: UUID, db: BaseDBAsyncClient | None = None
) -> dict[str, Mirrored[MirrorDiscount]]:
    """The location's GoPOS discounts by external id, removed ones included."""
    rows = (
        await PosDiscountMirror.filter(location_id=location_id)
        .using_db(db)
        .values_list(*DISCOUNT_READ)
    )
    return _discounts(rows)


async def promotions(
    location_id: UUID, db: BaseDBAsyncClient | None = None
) -> list[Mirrored[MirrorPromotion]]:
    """The location's GoOrder promotions, removed ones included, by name."""
    rows = (
        await OrderPromotionMirror.filter(location_id=location_id)
        .using_db(db)
        .values(*PROMOTION_READ)
    )
    found = [promotion_row(row) for row in rows]
    return sorted(found, key=_by_name)


async def existing_pos(
    location_id: UUID, db: BaseDBAsyncClient | None = None
) -> tuple[dict[str, MirrorPosGroup], set[str], dict[str, MirrorDiscount], set[str]]:
    """The GoPOS mirror as `diff_rows` compares it: (groups by id, ids of removed groups,
    discounts by id, ids of removed discounts)."""
    groups = await pos_groups(location_id, db)
    discounts = await pos_discounts_by_id(location_id, db)
    return (
        {item.row.external_id: item.row for item in groups},
        {item.row.external_id for item in groups if item.removed},
        {key: item.row for key, item in discounts.items()},
        {key for key, item in discounts.items() if item.removed},
    )


async def existing_promotions(
    location_id: UUID, db: BaseDBAsyncClient | None = None
) -> tuple[dict[str, MirrorPromotion], set[str]]:
    """The GoOrder mirror as `diff_rows` compares it: (promotions by id, ids of removed
    ones)."""
    found = await promotions(location_id, db)
    return (
        {item.row.external_id: item.row for item in found},
        {item.row.external_id for item in found if item.removed},
    )


async def mirror_objects(
    location_id: UUID, channel: Channel, db: BaseDBAsyncClient | None = None
) -> list[MirrorObject]:
    """One channel's mirrored objects as the connections view sees them (GoPOS groups or
    GoOrder promotions), removed ones included, by external id."""
    if channel is Channel.GOPOS:
        groups = (
            await PosGroupMirror.filter(location_id=location_id)
            .using_db(db)
            .values_list("external_id", "name", "reference", "removed")
        )
        objects = [
            MirrorObject(external_id, name, reference, removed=bool(removed))
            for external_id, name, reference, removed in groups
        ]
    else:
        found = (
            await OrderPromotionMirror.filter(location_id=location_id)
            .using_db(db)
            .values_list("external_id", "name", "reference", "removed", "active")
        )
        objects = [
            MirrorObject(external_id, name, reference, removed=bool(removed), active=bool(active))
            for external_id, name, reference, removed, active in found
        ]
    return sorted(objects, key=lambda item: item.external_id)


async def has_succeeded_sync(
    location_id: UUID, channel: Channel, db: BaseDBAsyncClient | None = None
) -> bool:
    """Whether a sync of the channel ever succeeded for the location."""
    return bool(
        await SyncRun.filter(location_id=location_id, channel=channel.value, status=SUCCEEDED)
        .using_db(db)
        .exists()
    )


async def pos_discounts(
    location_id: UUID, external_ids: Sequence[str], db: BaseDBAsyncClient | None = None
) -> dict[str, Mirrored[MirrorDiscount]]:
    """The GoPOS discounts with these external ids (removed ones included), by external id."""
    if not external_ids:
        return {}
    rows = (
        await PosDiscountMirror.filter(location_id=location_id, external_id__in=list(external_ids))
        .using_db(db)
        .values_list(*DISCOUNT_READ)
    )
    return _discounts(rows)


async def names(
    channel: Channel, location_id: UUID, db: BaseDBAsyncClient | None = None
) -> list[tuple[str, str]]:
    """`(external_id, name)` of each of the location's GoPOS groups or GoOrder promotions,
    removed ones included: what a page of the mirror is ordered by, and nothing more."""
    model = PosGroupMirror if channel is Channel.GOPOS else OrderPromotionMirror
    rows = (
        await model.filter(location_id=location_id).using_db(db).values_list("external_id", "name")
    )
    return [(str(external_id), str(name)) for external_id, name in rows]


async def pos_groups_by_id(
    location_id: UUID, external_ids: Sequence[str], db: BaseDBAsyncClient | None = None
) -> dict[str, Mirrored[MirrorPosGroup]]:
    """The GoPOS groups with these external ids, by external id."""
    rows = (
        await PosGroupMirror.filter(location_id=location_id, external_id__in=list(external_ids))
        .using_db(db)
        .values(*GROUP_READ)
    )
    return {str(row["external_id"]): group_row(row) for row in rows}


async def promotions_by_id(
    location_id: UUID, external_ids: Sequence[str], db: BaseDBAsyncClient | None = None
) -> dict[str, Mirrored[MirrorPromotion]]:
    """The GoOrder promotions with these external ids, by external id."""
    rows = (
        await OrderPromotionMirror.filter(
            location_id=location_id, external_id__in=list(external_ids)
        )
        .using_db(db)
        .values(*PROMOTION_READ)
    )
    return {str(row["external_id"]): promotion_row(row) for row in rows}
