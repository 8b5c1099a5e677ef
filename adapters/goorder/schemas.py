"""GoOrder's wire format: every GoOrder field name and path lives here.

Bodies are validated as they are read; a violation raises `FieldError` with the path of the
field ("items[2].value") and the promotion it belongs to, which the session reports as a
`MalformedResponse`.

A page is decoded first by `decode_promotions_page`: straight into typed structs (msgspec), then
into the same records, with the same checks. A page it leaves (`wire.Unchecked`) is read by
`parse_promotions_page`, which accepts it or names the field that is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from adapters import wire
from domain.upstream import MAX_EXTERNAL_ID, MAX_NAME, MAX_REFERENCE, PromotionRecord

PER_PAGE = 100  # the largest page GoOrder serves
FIRST_PAGE = 1
PROMOTION_TYPES = ("ORDER_PERCENT", "ORDER_AMOUNT")
ADD_TYPES = ("MANUAL", "AUTOMATIC")


@dataclass(frozen=True, slots=True)
class PromotionsPage:
    promotions: list[PromotionRecord]
    page: int
    pages: int
    total: int


def promotions_path(store_id: str) -> str:
    return f"/api/v1/stores/{store_id}/promotions"


def api_key_header(api_key: str) -> dict[str, str]:
    return {"X-Api-Key": api_key}


def page_params(page: int) -> dict[str, str | int]:
    return {"page": page, "per_page": PER_PAGE}


def parse_promotions_page(body: object) -> PromotionsPage:
    root = wire.obj(body, "$")
    return PromotionsPage(
        promotions=[
            _promotion(item, path) for item, path in wire.items(*wire.field(root, "items", ""))
        ],
        page=wire.integer(*wire.field(root, "page", ""), minimum=FIRST_PAGE),
        pages=wire.integer(*wire.field(root, "pages", "")),
        total=wire.integer(*wire.field(root, "total", "")),
    )


def _promotion(item: object, path: str) -> PromotionRecord:
    promotion = wire.obj(item, path)
    external_id = wire.identifier(*wire.field(promotion, "id", path), max_length=MAX_EXTERNAL_ID)
    with wire.about(f"promotion {external_id}"):
        return PromotionRecord(
            external_id=external_id,
            name=wire.text(*wire.field(promotion, "name", path), max_length=MAX_NAME),
            reference=wire.optional_text(
                *wire.field(promotion, "reference", path), max_length=MAX_REFERENCE
            ),
            type=wire.choice(*wire.field(promotion, "type", path), PROMOTION_TYPES),
            add_type=wire.choice(*wire.field(promotion, "add_type", path), ADD_TYPES),
            value=wire.decimal(*wire.field(promotion, "value", path)),
            min_basket_value=wire.optional_decimal(
                *wire.field(promotion, "min_basket_value", path)
            ),
            active=wire.boolean(*wire.field(promotion, "active", path)),
        )


# ------------------------------------------------------------------------ the typed decoder


class _Promotion(msgspec.Struct):
    id: wire.Id
    name: str
    reference: str | None
    type: Literal["ORDER_PERCENT", "ORDER_AMOUNT"]
    add_type: Literal["MANUAL", "AUTOMATIC"]
    value: wire.DecimalText
    min_basket_value: wire.DecimalText | None
    active: bool


class _PromotionsPage(msgspec.Struct):
    items: list[_Promotion]
    page: Annotated[int, msgspec.Meta(ge=FIRST_PAGE)]
    pages: Annotated[int, msgspec.Meta(ge=0)]
    total: Annotated[int, msgspec.Meta(ge=0)]


def _typed_promotion(promotion: _Promotion) -> PromotionRecord:
    reference, basket = promotion.reference, promotion.min_basket_value
    return PromotionRecord(
        external_id=wire.plain_id(promotion.id, MAX_EXTERNAL_ID),
        name=wire.plain(promotion.name, MAX_NAME),
        reference=None if reference is None else wire.plain(reference, MAX_REFERENCE),
        type=promotion.type,
        add_type=promotion.add_type,
        value=Decimal(promotion.value),
        min_basket_value=None if basket is None else Decimal(basket),
        active=promotion.active,
    )


def _typed_page(page: _PromotionsPage) -> PromotionsPage:
    promotions = [_typed_promotion(promotion) for promotion in page.items]
    return PromotionsPage(promotions, page.page, page.pages, page.total)


decode_promotions_page = wire.typed(_PromotionsPage, _typed_page)
