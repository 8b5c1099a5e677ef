"""What the mirror's writes, reads and purge share: the row shapes and the batch size."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Generic, TypeVar

from domain.references import normalise_reference
from domain.sync import MirrorPosGroup, MirrorPromotion, PromotionType
from models.tables.integrations import OrderPromotionMirror, PosDiscountMirror, PosGroupMirror

BATCH_ROWS = 500
"""Rows per statement: at most 14 parameters a row keeps a batch far below either engine's
limit on parameters."""

SUCCEEDED = "SUCCEEDED"  # the job status of a finished sync run

MirrorModel = type[PosGroupMirror] | type[PosDiscountMirror] | type[OrderPromotionMirror]
T = TypeVar("T")


class MirrorTable(Enum):
    """One of the mirror's tables, as a sync names what it writes, marks removed or deletes:
    the services never hold the Tortoise model behind it (its value is the table's name)."""

    POS_GROUPS = "pos_customer_groups"
    POS_DISCOUNTS = "pos_discounts"
    PROMOTIONS = "order_promotions"

    @property
    def model(self) -> MirrorModel:
        return _MODELS[self]


_MODELS: dict[MirrorTable, MirrorModel] = {
    MirrorTable.POS_GROUPS: PosGroupMirror,
    MirrorTable.POS_DISCOUNTS: PosDiscountMirror,
    MirrorTable.PROMOTIONS: OrderPromotionMirror,
}


@dataclass(frozen=True, slots=True)
class Mirrored(Generic[T]):
    """A mirror row and whether it is marked removed (gone upstream)."""

    row: T
    removed: bool


def batches(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), BATCH_ROWS):
        yield items[start : start + BATCH_ROWS]


def utc(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("the time of a mirror write must be timezone-aware")
    return now.astimezone(UTC)


def reference_key(reference: str | None) -> str | None:
    return None if reference is None else normalise_reference(reference)


DISCOUNT_READ = ("external_id", "name", "type", "value", "enabled", "removed")
GROUP_READ = ("external_id", "name", "reference", "daily_limit", "discount_ids", "removed")
PROMOTION_READ = (
    "external_id",
    "name",
    "reference",
    "type",
    "add_type",
    "value",
    "min_basket",
    "active",
    "removed",
)


def group_row(row: dict[str, object]) -> Mirrored[MirrorPosGroup]:
    """A GoPOS group from the columns `GROUP_READ` (discount ids: JSON text on SQLite)."""
    ids = row["discount_ids"]
    discount_ids = json.loads(ids) if isinstance(ids, str | bytes) else ids
    group = MirrorPosGroup(
        str(row["external_id"]),
        str(row["name"]),
        None if row["reference"] is None else str(row["reference"]),
        None if row["daily_limit"] is None else int(str(row["daily_limit"])),
        tuple(str(i) for i in discount_ids or ()),  # type: ignore[union-attr]
    )
    return Mirrored(group, bool(row["removed"]))


def promotion_row(row: dict[str, object]) -> Mirrored[MirrorPromotion]:
    """A GoOrder promotion from the columns `PROMOTION_READ`."""
    basket = row["min_basket"]
    promotion = MirrorPromotion(
        external_id=str(row["external_id"]),
        name=str(row["name"]),
        reference=None if row["reference"] is None else str(row["reference"]),
        type=PromotionType(str(row["type"])),
        add_type=str(row["add_type"]),
        value=int(str(row["value"])),
        min_basket=None if basket is None else int(str(basket)),
        active=bool(row["active"]),
    )
    return Mirrored(promotion, bool(row["removed"]))
