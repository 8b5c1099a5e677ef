"""GoOrder's wire format: every GoOrder field name and path lives here.

Bodies are validated as they are read; a violation raises `FieldError` with the path of the
field ("items[2].value") and the promotion it belongs to, which the session reports as a
`MalformedResponse`.
"""

from __future__ import annotations

from dataclasses import dataclass

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
