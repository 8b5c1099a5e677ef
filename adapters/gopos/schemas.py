"""GoPOS's wire format: every GoPOS field name and path lives here.

Bodies are validated as they are read; a violation raises `FieldError` with the path of the
field ("data[3].reference") and the group or discount it belongs to, which the session reports
as a `MalformedResponse`.

A page is decoded first by `decode_groups_page` and `decode_discounts_page`: straight into typed
structs (msgspec), then into the same records, with the same checks. A page they leave
(`wire.Unchecked`) is read by `parse_groups_page` and `parse_discounts_page`, which accept it or
name the field that is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Literal

import msgspec

from adapters import wire
from domain.upstream import (
    MAX_EXTERNAL_ID,
    MAX_NAME,
    MAX_REFERENCE,
    PosDiscountRecord,
    PosGroupRecord,
    UpstreamMoney,
)

TOKEN_PATH = "/oauth/token"
PAGE_SIZE = 100  # the largest page GoPOS serves
DISCOUNT_TYPES = ("PERCENT", "AMOUNT")
DISCOUNT_STATUSES = ("ENABLED", "DISABLED")
MAX_TOKEN = 8192  # sent back in a header, never stored


def groups_path(organization_id: str) -> str:
    return f"/api/v3/{organization_id}/clients/groups"


def discounts_path(organization_id: str) -> str:
    return f"/api/v3/{organization_id}/discounts"


def token_form(client_id: str, client_secret: str, organization_id: str) -> dict[str, str]:
    return {
        "grant_type": "organization",
        "client_id": client_id,
        "client_secret": client_secret,
        "organization_id": organization_id,
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def page_params(page: int) -> dict[str, str | int]:
    return {"page": page, "size": PAGE_SIZE}


def parse_token(body: object) -> tuple[str, float]:
    """The access token and its lifetime in seconds."""
    root = wire.obj(body, "$")
    token = wire.text(*wire.field(root, "access_token", ""), max_length=MAX_TOKEN)
    if not token:
        raise wire.FieldError("access_token", "expected a non-empty string")
    lifetime = wire.number(*wire.field(root, "expires_in", ""))
    if not lifetime > 0:
        raise wire.FieldError("expires_in", "expected a positive number of seconds")
    return token, lifetime


def parse_groups_page(body: object) -> list[PosGroupRecord]:
    return [_group(item, path) for item, path in _data_list(body)]


def parse_discounts_page(body: object) -> list[PosDiscountRecord]:
    return [_discount(item, path) for item, path in _data_list(body)]


def _data_list(body: object) -> list[tuple[object, str]]:
    return wire.items(*wire.field(wire.obj(body, "$"), "data", ""))


def _id(value: object, path: str) -> str:
    return wire.identifier(value, path, max_length=MAX_EXTERNAL_ID)


def _group(item: object, path: str) -> PosGroupRecord:
    group = wire.obj(item, path)
    external_id = _id(*wire.field(group, "id", path))
    with wire.about(f"group {external_id}"):
        limit, limit_path = wire.field(group, "daily_discount_limit", path)
        discount_ids, ids_path = wire.field(group, "discount_ids", path)
        return PosGroupRecord(
            external_id=external_id,
            name=wire.text(*wire.field(group, "name", path), max_length=MAX_NAME),
            reference=wire.optional_text(
                *wire.field(group, "reference", path), max_length=MAX_REFERENCE
            ),
            daily_discount_limit=None if limit is None else _money(limit, limit_path),
            discount_ids=tuple(_id(*entry) for entry in wire.items(discount_ids, ids_path)),
        )


def _discount(item: object, path: str) -> PosDiscountRecord:
    discount = wire.obj(item, path)
    external_id = _id(*wire.field(discount, "id", path))
    with wire.about(f"discount {external_id}"):
        status = wire.choice(*wire.field(discount, "status", path), DISCOUNT_STATUSES)
        return PosDiscountRecord(
            external_id=external_id,
            name=wire.text(*wire.field(discount, "name", path), max_length=MAX_NAME),
            type=wire.choice(*wire.field(discount, "type", path), DISCOUNT_TYPES),
            value=wire.decimal(*wire.field(discount, "value", path)),
            enabled=status == "ENABLED",
        )


def _money(value: object, path: str) -> UpstreamMoney:
    money: Mapping[str, object] = wire.obj(value, path)
    return UpstreamMoney(
        amount=wire.decimal(*wire.field(money, "amount", path)),
        currency=wire.currency(*wire.field(money, "currency", path)),
    )


# ------------------------------------------------------------------------ the typed decoder


class _Money(msgspec.Struct):
    amount: wire.DecimalText
    currency: wire.CurrencyText


class _Group(msgspec.Struct):
    id: wire.Id
    name: str
    reference: str | None
    daily_discount_limit: _Money | None
    discount_ids: list[wire.Id]


class _Discount(msgspec.Struct):
    id: wire.Id
    name: str
    type: Literal["PERCENT", "AMOUNT"]
    value: wire.DecimalText
    status: Literal["ENABLED", "DISABLED"]


class _GroupsPage(msgspec.Struct):
    data: list[_Group]


class _DiscountsPage(msgspec.Struct):
    data: list[_Discount]


def _typed_group(group: _Group) -> PosGroupRecord:
    limit = group.daily_discount_limit
    reference = group.reference
    return PosGroupRecord(
        external_id=wire.plain_id(group.id, MAX_EXTERNAL_ID),
        name=wire.plain(group.name, MAX_NAME),
        reference=None if reference is None else wire.plain(reference, MAX_REFERENCE),
        daily_discount_limit=None
        if limit is None
        else UpstreamMoney(Decimal(limit.amount), limit.currency),
        discount_ids=tuple(wire.plain_id(each, MAX_EXTERNAL_ID) for each in group.discount_ids),
    )


def _typed_discount(discount: _Discount) -> PosDiscountRecord:
    return PosDiscountRecord(
        external_id=wire.plain_id(discount.id, MAX_EXTERNAL_ID),
        name=wire.plain(discount.name, MAX_NAME),
        type=discount.type,
        value=Decimal(discount.value),
        enabled=discount.status == "ENABLED",
    )


decode_groups_page = wire.typed(
    _GroupsPage, lambda page: [_typed_group(group) for group in page.data]
)
decode_discounts_page = wire.typed(
    _DiscountsPage, lambda page: [_typed_discount(discount) for discount in page.data]
)
