"""Checkout through the API: quotes, commits, refunds and the history, on both databases.

The location's GoPOS and GoOrder are the in-process simulators of `tests/test_sync_api.py`;
each test synchronises both, so the CRM group "Stały klient" is LINKED to GoPOS group 17
(10% off, daily limit 50.00) and to GoOrder promotion pr_81 (10% off from 40.00).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from domain.access import Role
from gateway.schema.checkout import quantity_of
from tests.english import checked
from tests.helpers import Api, Clock, create_customer, create_group, new_location
from tests.test_sync_api import Shop, ShopFactory, configured, synchronized
from tests.test_sync_api import open_shop as open_shop
from tests.wallet_helpers import WALLET, credit_ok, nodes

NOW = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)  # 12:00 in Warsaw

MONEY = "{ amount }"
LINE_FIELDS = f"""
  productId name quantity unitPrice {MONEY} subtotal {MONEY} discount {MONEY} total {MONEY}
"""
DISCOUNT_FIELDS = f"id kind name amount {MONEY} reference removable"
QUOTE_FIELDS = f"""
  channel customer {{ id }}
  lines {{ {LINE_FIELDS} }}
  subtotal {{ amount currency }}
  discounts {{ {DISCOUNT_FIELDS} }}
  discountTotal {MONEY} total {MONEY}
  credits {{ available {MONEY} applied {MONEY} remainingAfter {MONEY} }}
  dailyLimit {{ limit {MONEY} used {MONEY} remaining {MONEY} }}
  messages
"""
CHECKOUT_FIELDS = f"""
  id channel status customer {{ id firstName }}
  lines {{ {LINE_FIELDS} }}
  subtotal {MONEY}
  discounts {{ {DISCOUNT_FIELDS} }}
  discountTotal {MONEY} total {MONEY} creditsUsed {MONEY} cashbackGranted {MONEY}
  createdAt refundedAt
"""

QUOTE = f"""
query($input: CheckoutInput!) {{
  checkoutQuote(input: $input) {{ {QUOTE_FIELDS} }}
}}"""

COMMIT = f"""
mutation($input: CheckoutInput!, $key: String!, $expectedTotal: Decimal) {{
  commitCheckout(input: $input, idempotencyKey: $key, expectedTotal: $expectedTotal) {{
    checkout {{ {CHECKOUT_FIELDS} }}
    quote {{ {QUOTE_FIELDS} }}
    errors {{ code field message }}
  }}
}}"""

REFUND = f"""
mutation($id: ID!, $key: String!) {{
  refundCheckout(id: $id, idempotencyKey: $key) {{
    checkout {{ {CHECKOUT_FIELDS} }}
    errors {{ code field message }}
  }}
}}"""

GET_CHECKOUT = f"""
query($id: ID!) {{
  checkout(id: $id) {{ {CHECKOUT_FIELDS} }}
}}"""

LIST_CHECKOUTS = """
query($first: Int, $after: String, $filter: CheckoutFilter) {
  checkouts(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id status channel total { amount } customer { id } } }
  }
}"""

LATTE = {"productId": "latte", "name": "Latte", "quantity": "2", "unitPrice": "12.50"}
CAKE = {"productId": "cake", "quantity": "0.5", "unitPrice": "30.00"}

GROUP_DISCOUNT = {
    "id": "pos-discount:3",
    "kind": "GROUP_DISCOUNT",
    "name": "10% stały klient",
    "amount": {"amount": "4.00"},
    "reference": "staly-klient",
    "removable": True,
}
NO_LIMIT_USED = {
    "limit": {"amount": "50.00"},
    "used": {"amount": "0.00"},
    "remaining": {"amount": "50.00"},
}


def m(amount: str) -> dict[str, str]:
    return {"amount": amount}


def credits_discount(amount: str) -> dict[str, Any]:
    return {
        "id": "credits",
        "kind": "PROMOTIONAL_CREDITS",
        "name": "Promotional credits",
        "amount": m(amount),
        "reference": None,
        "removable": True,
    }


def line(product: dict[str, Any], subtotal: str, discount: str, total: str) -> dict[str, Any]:
    return {
        "productId": product["productId"],
        "name": product.get("name"),
        "quantity": product["quantity"],
        "unitPrice": m(product["unitPrice"]),
        "subtotal": m(subtotal),
        "discount": m(discount),
        "total": m(total),
    }


def credits(available: str, applied: str, remaining: str) -> dict[str, Any]:
    return {"available": m(available), "applied": m(applied), "remainingAfter": m(remaining)}


@dataclass
class Till:
    """A location whose "Stały klient" group (5% cashback) is linked in GoPOS and GoOrder, and
    Anna, a member with card CARD-1 and 20.00 of credits."""

    shop: Shop
    api: Api
    customer: str
    clock: Clock

    def bill(self, *lines: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {"input": {"cardCode": "CARD-1", "lines": list(lines or (LATTE, CAKE)), **extra}}


@pytest.fixture
async def till(open_shop: ShopFactory, clock: Clock) -> Till:
    clock.now = NOW
    shop = await open_shop()
    api = shop.api
    await configured(api, "GOPOS")
    await configured(api, "GOORDER")
    group = await create_group(api, "Stały klient", cashbackPercent="5")
    customer = await create_customer(
        api, firstName="Anna", cards=[{"code": "CARD-1"}], groupIds=[group["id"]]
    )
    await credit_ok(api, {"customerIds": [customer["id"]]}, "ADD", "20.00")
    for channel in ("GOPOS", "GOORDER"):
        assert (await synchronized(shop, channel))["status"] == "SUCCEEDED"
    return Till(shop, api, customer["id"], clock)


async def quote(api: Api, variables: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = (await api.data(QUOTE, variables))["checkoutQuote"]
    return found


async def commit(
    api: Api, variables: dict[str, Any], key: str, expected_total: str | None = None
) -> dict[str, Any]:
    return await api.mutate(COMMIT, {**variables, "key": key, "expectedTotal": expected_total})


async def committed(api: Api, variables: dict[str, Any], key: str) -> dict[str, Any]:
    payload = await commit(api, variables, key)
    assert payload["errors"] == [], payload
    found: dict[str, Any] = payload["checkout"]
    return found


async def checkouts(api: Api, **variables: Any) -> dict[str, Any]:
    found: dict[str, Any] = (await api.data(LIST_CHECKOUTS, variables))["checkouts"]
    return found


async def wallet(api: Api, customer_id: str) -> dict[str, Any]:
    found: dict[str, Any] = (await api.data(WALLET, {"id": customer_id}))["customer"]["wallet"]
    return found


def entries(wallet: dict[str, Any]) -> list[tuple[str, str, str, str, str | None]]:
    """(kind, delta, balance after, source, source id) of each entry, newest first."""
    return [
        (e["kind"], e["delta"]["amount"], e["balanceAfter"]["amount"], e["source"], e["sourceId"])
        for e in nodes(wallet)
    ]


# ----------------------------------------------------------------------------- rendering


@pytest.mark.parametrize(
    ("thousandths", "rendered"),
    [
        (2000, "2"),
        (500, "0.5"),
        (125, "0.125"),
        (1, "0.001"),
        (10_000, "10"),
        (100_000_000, "100000"),
    ],
)
def test_a_quantity_renders_as_its_exact_decimal(thousandths: int, rendered: str) -> None:
    assert str(quantity_of(thousandths)) == rendered
    assert quantity_of(thousandths) == Decimal(thousandths) / 1000


# ----------------------------------------------------------------------------- quotes


async def test_a_quote_applies_the_group_discount_then_the_credits(till: Till) -> None:
    found = await quote(till.api, till.bill())

    assert found == {
        "channel": "POS",
        "customer": {"id": till.customer},
        "lines": [
            line(LATTE, "25.00", "15.00", "10.00"),
            line(CAKE, "15.00", "9.00", "6.00"),
        ],
        "subtotal": {"amount": "40.00", "currency": "PLN"},
        "discounts": [GROUP_DISCOUNT, credits_discount("20.00")],
        "discountTotal": m("24.00"),
        "total": m("16.00"),
        "credits": credits("20.00", "20.00", "0.00"),
        "dailyLimit": NO_LIMIT_USED,
        "messages": [],
    }


async def test_a_quote_by_customer_id_is_the_quote_by_card(till: Till) -> None:
    by_card = await quote(till.api, till.bill())
    by_id = await quote(till.api, {"input": {"customerId": till.customer, "lines": [LATTE, CAKE]}})

    assert by_id == by_card


async def test_the_best_discount_applies_and_excluding_it_applies_the_next_best(
    till: Till,
) -> None:
    # given GoPOS enables the group's second discount, 5.00 off, and the mirror is synced
    five_off = next(d for d in till.shop.gopos.discounts if d["id"] == 8)
    five_off["status"] = "ENABLED"
    assert (await synchronized(till.shop, "GOPOS"))["status"] == "SUCCEEDED"

    # when the till quotes, then removes the 5.00 off, then removes the 10% too
    best = await quote(till.api, till.bill(useCredits=False))
    next_best = await quote(
        till.api, till.bill(useCredits=False, excludedDiscountIds=["pos-discount:8"])
    )
    neither = await quote(
        till.api,
        till.bill(useCredits=False, excludedDiscountIds=["pos-discount:8", "pos-discount:3"]),
    )

    # then 5.00 beats 10% of 40.00; without it the 10% applies; without both nothing does
    assert (best["discounts"], best["total"], best["messages"]) == (
        [
            {
                "id": "pos-discount:8",
                "kind": "GROUP_DISCOUNT",
                "name": "5 zł",
                "amount": m("5.00"),
                "reference": "staly-klient",
                "removable": True,
            }
        ],
        m("35.00"),
        ["Promotional credits removed."],
    )
    assert (next_best["discounts"], next_best["total"], next_best["messages"]) == (
        [GROUP_DISCOUNT],
        m("36.00"),
        ["Discount “5 zł” removed.", "Promotional credits removed."],
    )
    assert next_best["lines"] == [
        line(LATTE, "25.00", "2.50", "22.50"),
        line(CAKE, "15.00", "1.50", "13.50"),
    ]
    assert (neither["discounts"], neither["total"], neither["dailyLimit"]) == ([], m("40.00"), None)
    assert neither["messages"] == [
        "Discount “10% stały klient” removed.",
        "Discount “5 zł” removed.",
        "Promotional credits removed.",
    ]


async def test_excluding_the_credits_leaves_the_group_discount(till: Till) -> None:
    found = await quote(till.api, till.bill(excludedDiscountIds=["credits"]))

    assert found["discounts"] == [GROUP_DISCOUNT]
    assert found["lines"] == [
        line(LATTE, "25.00", "2.50", "22.50"),
        line(CAKE, "15.00", "1.50", "13.50"),
    ]
    assert (found["discountTotal"], found["total"]) == (m("4.00"), m("36.00"))
    assert found["credits"] == credits("20.00", "0.00", "20.00")
    assert found["messages"] == ["Promotional credits removed."]


async def test_max_credits_uses_part_of_the_balance(till: Till) -> None:
    found = await quote(till.api, till.bill(maxCredits="5.00"))

    # 5.00 of credits spread over 22.50 and 13.50: 3.125 and 1.875, the odd grosz to the first
    assert found["discounts"] == [GROUP_DISCOUNT, credits_discount("5.00")]
    assert found["lines"] == [
        line(LATTE, "25.00", "5.63", "19.37"),
        line(CAKE, "15.00", "3.37", "11.63"),
    ]
    assert (found["discountTotal"], found["total"]) == (m("9.00"), m("31.00"))
    assert found["credits"] == credits("20.00", "5.00", "15.00")
    assert found["messages"] == []


async def test_use_credits_false_leaves_the_balance_alone(till: Till) -> None:
    found = await quote(till.api, till.bill(useCredits=False))

    assert found["discounts"] == [GROUP_DISCOUNT]
    assert found["total"] == m("36.00")
    assert found["credits"] == credits("20.00", "0.00", "20.00")
    assert found["dailyLimit"] == NO_LIMIT_USED
    assert found["messages"] == ["Promotional credits removed."]


async def test_online_the_promotion_applies_from_its_minimum_basket(till: Till) -> None:
    small = {"productId": "latte", "quantity": "2", "unitPrice": "15.00"}

    below = await quote(till.api, till.bill(small, channel="ONLINE", useCredits=False))
    at = await quote(till.api, till.bill(small, CAKE, channel="ONLINE", useCredits=False))

    assert below["channel"] == "ONLINE"
    assert (below["discounts"], below["total"], below["dailyLimit"]) == ([], m("30.00"), None)
    assert below["messages"] == [
        "Promotion “10% rabatu dla stałych klientów” needs a basket of at least 40.00:"
        " add 10.00 more.",
        "Promotional credits removed.",
    ]
    assert at["discounts"] == [
        {
            "id": "promotion:pr_81",
            "kind": "PROMOTION",
            "name": "10% rabatu dla stałych klientów",
            "amount": m("4.50"),
            "reference": "staly-klient",
            "removable": True,
        }
    ]
    assert (at["subtotal"]["amount"], at["total"], at["dailyLimit"]) == ("45.00", m("40.50"), None)


async def test_online_credits_apply_below_the_minimum_basket(till: Till) -> None:
    small = {"productId": "latte", "quantity": "2", "unitPrice": "15.00"}

    found = await quote(till.api, till.bill(small, channel="ONLINE"))

    assert found["discounts"] == [credits_discount("20.00")]
    assert found["total"] == m("10.00")
    assert found["credits"] == credits("20.00", "20.00", "0.00")


async def test_kiosk_takes_the_percentage_of_the_subtotal_once(till: Till) -> None:
    # three lines of 0.05 at 10%: 0.02 off the bill, not 0.01 off each line
    cheap = [{"productId": f"p{n}", "quantity": "1", "unitPrice": "0.05"} for n in range(3)]

    found = await quote(till.api, till.bill(*cheap, channel="KIOSK", useCredits=False))

    assert found["channel"] == "KIOSK"
    assert found["discounts"] == [{**GROUP_DISCOUNT, "amount": m("0.02")}]
    assert found["lines"] == [
        line(cheap[0], "0.05", "0.01", "0.04"),
        line(cheap[1], "0.05", "0.01", "0.04"),
        line(cheap[2], "0.05", "0.00", "0.05"),
    ]
    assert (found["subtotal"]["amount"], found["total"]) == ("0.15", m("0.13"))
    assert found["dailyLimit"] == NO_LIMIT_USED


async def test_without_a_customer_the_bill_has_no_discounts_and_an_unknown_card_is_refused(
    till: Till,
) -> None:
    anonymous = await quote(till.api, {"input": {"lines": [LATTE, CAKE]}})
    unknown = await till.api.raw(QUOTE, {"input": {"cardCode": "NO-SUCH", "lines": [LATTE, CAKE]}})
    sold = await commit(till.api, {"input": {"cardCode": "NO-SUCH", "lines": [LATTE]}}, "k-1")
    unnamed = await commit(till.api, {"input": {"lines": [LATTE]}}, "k-2")

    expected = {
        "channel": "POS",
        "customer": None,
        "lines": [line(LATTE, "25.00", "0.00", "25.00"), line(CAKE, "15.00", "0.00", "15.00")],
        "subtotal": {"amount": "40.00", "currency": "PLN"},
        "discounts": [],
        "discountTotal": m("0.00"),
        "total": m("40.00"),
        "credits": None,
        "dailyLimit": None,
        "messages": [],
    }
    assert anonymous == expected
    assert unknown["data"] is None
    assert [(e["path"], checked(e)) for e in unknown["errors"]] == [
        (["checkoutQuote"], {"code": "CARD_NOT_FOUND", "field": "input.cardCode"})
    ]
    assert sold == {
        "checkout": None,
        "quote": None,
        "errors": [
            {
                "code": "CARD_NOT_FOUND",
                "field": "input.cardCode",
                "message": "No customer has this card: scan it again, or look the customer up.",
            }
        ],
    }
    assert unnamed["errors"] == [
        {
            "code": "REQUIRED",
            "field": "input.cardCode",
            "message": "A sale needs its customer: scan the card or give the customer's id.",
        }
    ]
    assert (await checkouts(till.api))["totalCount"] == 0


# ----------------------------------------------------------------------------- bad input


def with_lines(*lines: dict[str, Any]) -> dict[str, Any]:
    return {"input": {"cardCode": "CARD-1", "lines": list(lines)}}


@dataclass(frozen=True)
class BadInput:
    name: str
    variables: dict[str, Any]
    code: str
    field: str
    message: str


BAD_INPUTS = [
    BadInput(
        "quantity 0",
        with_lines(LATTE, LATTE, CAKE, {**CAKE, "quantity": "0"}),
        "INVALID",
        "input.lines.3.quantity",
        "Quantity must be greater than 0.",
    ),
    BadInput(
        "quantity with 4 decimals",
        with_lines(LATTE, LATTE, CAKE, {**CAKE, "quantity": "1.2345"}),
        "INVALID",
        "input.lines.3.quantity",
        "At most 3 decimal places.",
    ),
    BadInput(
        "unit price with 3 decimals",
        with_lines({**LATTE, "unitPrice": "1.005"}),
        "INVALID",
        "input.lines.0.unitPrice",
        "At most 2 decimal places.",
    ),
    BadInput(
        "251 lines",
        with_lines(*[LATTE] * 251),
        "INVALID",
        "input.lines",
        "A bill has at most 250 lines.",
    ),
    BadInput("no lines", with_lines(), "INVALID", "input.lines", "A bill needs at least 1 line."),
    BadInput(
        "negative unit price",
        with_lines(LATTE, {**CAKE, "unitPrice": "-1.00"}),
        "INVALID",
        "input.lines.1.unitPrice",
        "Unit price must not be negative.",
    ),
    BadInput(
        "negative maxCredits",
        {"input": {**with_lines(LATTE)["input"], "maxCredits": "-5.00"}},
        "INVALID",
        "input.maxCredits",
        "Credits to use must not be negative.",
    ),
    BadInput(
        "customer id and card code",
        {"input": {**with_lines(LATTE)["input"], "customerId": str(uuid.uuid4())}},
        "INVALID",
        "input.cardCode",
        "Give a customer id or a card code, not both.",
    ),
    BadInput(
        "unknown customer",
        {"input": {"customerId": str(uuid.uuid4()), "lines": [LATTE]}},
        "NOT_FOUND",
        "input.customerId",
        "Customer not found.",
    ),
]

# Keys the one idempotency-key rule refuses, on a commit and on a refund alike.
HOSTILE_KEYS = [
    ("empty", "", ("INVALID", "idempotencyKey", "Idempotency key must not be empty.")),
    ("of only spaces", "   ", ("INVALID", "idempotencyKey", "Idempotency key must not be empty.")),
    ("of 129 characters", "k" * 129, ("INVALID", "idempotencyKey", "At most 128 characters.")),
    (
        "with a newline",
        "sale\n1",
        ("INVALID", "idempotencyKey", "Must not contain control characters (U+000A)."),
    ),
    (
        "with ESC",
        "\x1b[2Jsale-1",
        ("INVALID", "idempotencyKey", "Must not contain control characters (U+001B)."),
    ),
    (
        "with a zero-width space",
        "sale\u200b1",
        ("INVALID", "idempotencyKey", "Must not contain control characters (U+200B)."),
    ),
]

# What only a commit takes: the idempotency key and the total the till showed.
BAD_COMMITS = [
    *BAD_INPUTS,
    *(
        BadInput(f"idempotency key {name}", {**with_lines(LATTE), "key": key}, *problem)
        for name, key, problem in HOSTILE_KEYS
    ),
    BadInput(
        "expected total with 3 decimals",
        {**with_lines(LATTE), "expectedTotal": "16.005"},
        "INVALID",
        "expectedTotal",
        "At most 2 decimal places.",
    ),
]


@pytest.mark.parametrize("bad", BAD_INPUTS, ids=[bad.name for bad in BAD_INPUTS])
async def test_a_bad_quote_is_a_graphql_error_naming_the_field(till: Till, bad: BadInput) -> None:
    body = await till.api.raw(QUOTE, bad.variables)

    assert body["data"] is None
    assert [(e["message"], e["path"], checked(e)) for e in body["errors"]] == [
        (bad.message, ["checkoutQuote"], {"code": bad.code, "field": bad.field})
    ]


@pytest.mark.parametrize("bad", BAD_COMMITS, ids=[bad.name for bad in BAD_COMMITS])
async def test_a_bad_commit_is_a_user_error_and_writes_nothing(till: Till, bad: BadInput) -> None:
    payload = await till.api.mutate(COMMIT, {"key": "bad-1", **bad.variables})

    assert payload == {
        "checkout": None,
        "quote": None,
        "errors": [{"code": bad.code, "field": bad.field, "message": bad.message}],
    }
    assert (await checkouts(till.api))["totalCount"] == 0
    assert (await wallet(till.api, till.customer))["balance"]["amount"] == "20.00"


async def test_a_nul_in_a_product_id_is_refused_before_any_resolver(till: Till) -> None:
    variables = with_lines(LATTE, {**CAKE, "productId": "ca\x00ke"})

    quoted = await till.api.raw(QUOTE, variables)
    committing = await till.api.raw(COMMIT, {**variables, "key": "nul-1"})

    for body in (quoted, committing):
        assert body.get("data") is None
        assert [checked(e) for e in body["errors"]] == [
            {"code": "INVALID", "field": "input.lines.1.productId"}
        ]
    assert (await checkouts(till.api))["totalCount"] == 0


# ----------------------------------------------------------------------------- commit


async def test_a_commit_writes_the_checkout_and_its_wallet_entries(till: Till) -> None:
    # when the till commits the bill it was quoted
    payload = await commit(till.api, till.bill(), "sale-1", expected_total="16.00")

    # then the checkout is the quote, with the credits used and 5% cashback of the 16.00 paid
    assert payload["errors"] == []
    assert payload["quote"] is None
    sale = payload["checkout"]
    checkout_id = sale["id"]
    assert sale == {
        "id": checkout_id,
        "channel": "POS",
        "status": "COMMITTED",
        "customer": {"id": till.customer, "firstName": "Anna"},
        "lines": [
            line(LATTE, "25.00", "15.00", "10.00"),
            line(CAKE, "15.00", "9.00", "6.00"),
        ],
        "subtotal": m("40.00"),
        "discounts": [GROUP_DISCOUNT, credits_discount("20.00")],
        "discountTotal": m("24.00"),
        "total": m("16.00"),
        "creditsUsed": m("20.00"),
        "cashbackGranted": m("0.80"),
        "createdAt": "2026-03-10T11:00:00+00:00",
        "refundedAt": None,
    }
    # and it reads back the same, alone and in the list
    assert (await till.api.data(GET_CHECKOUT, {"id": checkout_id}))["checkout"] == sale
    listed = await checkouts(till.api)
    assert listed["totalCount"] == 1
    assert [e["node"]["id"] for e in listed["edges"]] == [checkout_id]
    # and the wallet shows the credits redeemed and the cashback, both naming the checkout
    after = await wallet(till.api, till.customer)
    assert after["balance"]["amount"] == "0.80"
    assert entries(after)[:2] == [
        ("CASHBACK", "0.80", "0.80", "CHECKOUT", checkout_id),
        ("REDEEM", "-20.00", "0.00", "CHECKOUT", checkout_id),
    ]
    # and the next quote sees today's discount used and the new balance
    again = await quote(till.api, till.bill())
    assert again["dailyLimit"] == {
        "limit": m("50.00"),
        "used": m("4.00"),
        "remaining": m("46.00"),
    }
    assert again["credits"] == credits("0.80", "0.80", "0.00")


async def test_a_changed_total_is_quote_changed_with_the_fresh_quote(till: Till) -> None:
    # given the till showed 16.00, but the credits were spent elsewhere since
    shown = await quote(till.api, till.bill())
    assert shown["total"] == m("16.00")
    await credit_ok(till.api, {"customerIds": [till.customer]}, "SET", "5.00")

    # when it commits expecting 16.00
    payload = await commit(till.api, till.bill(), "sale-1", expected_total="16.00")

    # then nothing is committed and the payload carries the fresh quote
    assert payload["checkout"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("QUOTE_CHANGED", "expectedTotal")
    ]
    fresh = payload["quote"]
    assert fresh == await quote(till.api, till.bill())
    assert (fresh["total"], fresh["credits"]) == (m("31.00"), credits("5.00", "5.00", "0.00"))
    assert (await checkouts(till.api))["totalCount"] == 0
    assert (await wallet(till.api, till.customer))["balance"]["amount"] == "5.00"

    # and committing at the fresh total succeeds, with the same key
    retried = await commit(till.api, till.bill(), "sale-1", expected_total="31.00")
    assert retried["errors"] == []
    assert retried["checkout"]["total"] == m("31.00")


async def test_a_commit_without_expected_total_takes_the_price_of_the_moment(till: Till) -> None:
    await credit_ok(till.api, {"customerIds": [till.customer]}, "SET", "5.00")

    sale = await committed(till.api, till.bill(), "sale-1")

    assert (sale["total"], sale["creditsUsed"]) == (m("31.00"), m("5.00"))


async def test_the_same_key_and_bill_return_the_same_checkout(till: Till) -> None:
    first = await commit(till.api, till.bill(), "sale-1")
    till.clock.now = NOW + timedelta(minutes=5)

    replay = await commit(till.api, till.bill(), "sale-1")

    assert replay == first
    assert (await checkouts(till.api))["totalCount"] == 1
    assert (await wallet(till.api, till.customer))["balance"]["amount"] == "0.80"


async def test_the_same_key_with_another_bill_is_refused(till: Till) -> None:
    await committed(till.api, till.bill(), "sale-1")

    reused = await commit(till.api, till.bill(LATTE), "sale-1")

    assert reused["checkout"] is None
    assert reused["quote"] is None
    assert [(e["code"], e["field"]) for e in reused["errors"]] == [
        ("IDEMPOTENCY_KEY_REUSED", "idempotencyKey")
    ]
    assert (await checkouts(till.api))["totalCount"] == 1


async def test_a_key_is_trimmed_so_a_retry_without_its_spaces_is_the_same_sale(
    till: Till,
) -> None:
    first = await committed(till.api, till.bill(), "  sale-1 \t")

    replay = await commit(till.api, till.bill(), "sale-1")

    assert replay["errors"] == []
    assert replay["checkout"] == first
    assert (await checkouts(till.api))["totalCount"] == 1
    refund = await till.api.mutate(REFUND, {"id": first["id"], "key": " refund-1 "})
    again = await till.api.mutate(REFUND, {"id": first["id"], "key": "refund-1"})
    assert (refund["errors"], again) == ([], refund)


# ----------------------------------------------------------------------------- refund


@pytest.mark.parametrize(("name", "key", "problem"), HOSTILE_KEYS, ids=[k[0] for k in HOSTILE_KEYS])
async def test_a_refund_with_a_bad_key_is_refused_and_refunds_nothing(
    till: Till, name: str, key: str, problem: tuple[str, str, str]
) -> None:
    sale = await committed(till.api, till.bill(), "sale-1")

    payload = await till.api.mutate(REFUND, {"id": sale["id"], "key": key})

    code, field, message = problem
    assert payload == {
        "checkout": None,
        "errors": [{"code": code, "field": field, "message": message}],
    }
    assert (await till.api.data(GET_CHECKOUT, {"id": sale["id"]}))["checkout"] == sale
    assert (await wallet(till.api, till.customer))["balance"]["amount"] == "0.80"


async def test_a_refund_gives_back_the_credits_and_takes_back_the_cashback(till: Till) -> None:
    # given a committed sale (20.00 of credits used, 0.80 cashback granted)
    sale = await committed(till.api, till.bill(), "sale-1")
    till.clock.now = NOW + timedelta(hours=1)

    # when it is refunded
    payload = await till.api.mutate(REFUND, {"id": sale["id"], "key": "refund-1"})

    # then the checkout is REFUNDED, the balance is back at 20.00 and the limit is unused
    assert payload["errors"] == []
    refunded = payload["checkout"]
    assert refunded == {
        **sale,
        "status": "REFUNDED",
        "refundedAt": "2026-03-10T12:00:00+00:00",
    }
    after = await wallet(till.api, till.customer)
    assert after["balance"]["amount"] == "20.00"
    assert entries(after)[:4] == [
        ("CASHBACK_REVERSAL", "-0.80", "20.00", "CHECKOUT", sale["id"]),
        ("REFUND", "20.00", "20.80", "CHECKOUT", sale["id"]),
        ("CASHBACK", "0.80", "0.80", "CHECKOUT", sale["id"]),
        ("REDEEM", "-20.00", "0.00", "CHECKOUT", sale["id"]),
    ]
    assert (await quote(till.api, till.bill()))["dailyLimit"] == NO_LIMIT_USED
    assert (await till.api.data(GET_CHECKOUT, {"id": sale["id"]}))["checkout"] == refunded

    # and the same refund again returns the same answer; another refund is ALREADY_REFUNDED
    replay = await till.api.mutate(REFUND, {"id": sale["id"], "key": "refund-1"})
    second = await till.api.mutate(REFUND, {"id": sale["id"], "key": "refund-2"})
    assert replay == payload
    assert second["checkout"] is None
    assert [(e["code"], e["field"]) for e in second["errors"]] == [("ALREADY_REFUNDED", "id")]
    assert (await wallet(till.api, till.customer))["balance"]["amount"] == "20.00"


async def test_refunding_an_unknown_checkout_is_not_found(till: Till) -> None:
    for unknown in (str(uuid.uuid4()), "abc"):
        payload = await till.api.mutate(REFUND, {"id": unknown, "key": "refund-1"})

        assert payload == {
            "checkout": None,
            "errors": [{"code": "NOT_FOUND", "field": "id", "message": "Checkout not found."}],
        }


# ----------------------------------------------------------------------------- history


async def test_checkouts_are_listed_newest_first_with_filters_and_pages(till: Till) -> None:
    # given four sales an hour apart: Anna's at the till, Bob's, Anna's online (then
    # refunded) and Bob's at the kiosk
    bob = (await create_customer(till.api, firstName="Bob"))["id"]
    sales = []
    for hour, variables in enumerate(
        [
            till.bill(useCredits=False),
            {"input": {"customerId": bob, "lines": [LATTE]}},
            till.bill(channel="ONLINE", useCredits=False),
            {"input": {"channel": "KIOSK", "customerId": bob, "lines": [CAKE]}},
        ]
    ):
        till.clock.now = NOW + timedelta(hours=hour)
        sales.append((await committed(till.api, variables, f"sale-{hour}"))["id"])
    refunded = await till.api.mutate(REFUND, {"id": sales[2], "key": "refund-1"})
    assert refunded["errors"] == []

    def ids(found: dict[str, Any]) -> list[str]:
        return [edge["node"]["id"] for edge in found["edges"]]

    # then the whole list is newest first
    everything = await checkouts(till.api)
    assert (everything["totalCount"], ids(everything)) == (4, sales[::-1])
    assert [e["node"]["status"] for e in everything["edges"]] == [
        "COMMITTED",
        "REFUNDED",
        "COMMITTED",
        "COMMITTED",
    ]
    assert [e["node"]["customer"] for e in everything["edges"]] == [
        {"id": bob},
        {"id": till.customer},
        {"id": bob},
        {"id": till.customer},
    ]
    # and each filter narrows it
    anna = await checkouts(till.api, filter={"customerId": till.customer})
    assert (anna["totalCount"], ids(anna)) == (2, [sales[2], sales[0]])
    only_refunded = await checkouts(till.api, filter={"status": "REFUNDED"})
    assert ids(only_refunded) == [sales[2]]
    kiosk = await checkouts(till.api, filter={"channel": "KIOSK"})
    assert ids(kiosk) == [sales[3]]
    window = await checkouts(
        till.api,
        filter={
            "createdFrom": (NOW + timedelta(hours=1)).isoformat(),
            "createdTo": (NOW + timedelta(hours=3)).isoformat(),
        },
    )
    assert ids(window) == [sales[2], sales[1]]
    # and pages follow one another without overlap
    first = await checkouts(till.api, first=3)
    assert (ids(first), first["pageInfo"]["hasNextPage"]) == (sales[:0:-1], True)
    rest = await checkouts(till.api, first=3, after=first["pageInfo"]["endCursor"])
    assert (ids(rest), rest["pageInfo"]) == (
        [sales[0]],
        {"hasNextPage": False, "endCursor": rest["edges"][0]["cursor"]},
    )
    assert rest["totalCount"] == 4


async def test_a_deleted_customers_checkout_has_no_customer_and_stays_listed_by_its_id(
    till: Till,
) -> None:
    sale = await committed(till.api, till.bill(), "sale-1")
    deleted = await till.api.mutate(
        "mutation($id: ID!) { deleteCustomer(id: $id) { deletedId errors { code } } }",
        {"id": till.customer},
    )
    assert deleted["errors"] == []

    found = (await till.api.data(GET_CHECKOUT, {"id": sale["id"]}))["checkout"]
    listed = await checkouts(till.api, filter={"customerId": till.customer})

    assert found == {**sale, "customer": None}
    # the deleted customer's sales are still listed by its id
    assert [e["node"]["id"] for e in listed["edges"]] == [sale["id"]]
    assert listed["totalCount"] == 1


# ----------------------------------------------------------------------------- keys and locations


async def test_a_pos_key_quotes_commits_reads_and_refunds(till: Till) -> None:
    pos = await till.api.key_with_role(Role.POS, "till 1")

    quoted = await quote(pos, till.bill())
    sale = (await commit(pos, till.bill(), "sale-1", expected_total=quoted["total"]["amount"]))[
        "checkout"
    ]
    read = (await pos.data(GET_CHECKOUT, {"id": sale["id"]}))["checkout"]
    listed = await checkouts(pos)
    refund = await pos.mutate(REFUND, {"id": sale["id"], "key": "refund-1"})

    assert quoted["total"] == m("16.00")
    assert (sale["status"], sale["total"], sale["creditsUsed"]) == (
        "COMMITTED",
        m("16.00"),
        m("20.00"),
    )
    assert read == sale
    assert [e["node"]["id"] for e in listed["edges"]] == [sale["id"]]
    assert refund["errors"] == []
    assert refund["checkout"]["status"] == "REFUNDED"
    assert (await wallet(till.api, till.customer))["balance"]["amount"] == "20.00"


async def test_another_location_sees_and_changes_nothing(till: Till) -> None:
    # given a sale in the till's location, and an ADMIN key of another location
    sale = await committed(till.api, till.bill(), "sale-1")
    elsewhere = await new_location(till.api.http, "Elsewhere")

    # when the other location reads, lists, refunds and quotes with the till's ids
    read = await elsewhere.raw(GET_CHECKOUT, {"id": sale["id"]})
    listed = await checkouts(elsewhere)
    refund = await elsewhere.mutate(REFUND, {"id": sale["id"], "key": "refund-1"})
    by_id = await elsewhere.raw(QUOTE, {"input": {"customerId": till.customer, "lines": [LATTE]}})
    by_card = await elsewhere.raw(QUOTE, till.bill())

    # then it sees nothing of them
    assert read == {"data": {"checkout": None}}
    assert listed == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "endCursor": None},
        "edges": [],
    }
    assert refund == {
        "checkout": None,
        "errors": [{"code": "NOT_FOUND", "field": "id", "message": "Checkout not found."}],
    }
    assert [checked(e) for e in by_id["errors"]] == [
        {"code": "NOT_FOUND", "field": "input.customerId"}
    ]
    assert [checked(e) for e in by_card["errors"]] == [
        {"code": "CARD_NOT_FOUND", "field": "input.cardCode"}
    ]
    # and the sale is as it was
    assert (await till.api.data(GET_CHECKOUT, {"id": sale["id"]}))["checkout"] == sale


async def test_a_sync_that_changes_the_discount_reaches_the_next_quote_at_once(
    till: Till,
) -> None:
    # given a quote that read the mirror (the process keeps it while the sync version holds)
    before = await quote(till.api, till.bill())

    # when GoPOS raises the regulars' discount to 20% and a sync brings it in
    (regulars,) = [d for d in till.shop.gopos.discounts if str(d["id"]) == "3"]
    regulars.update(name="20% stały klient", value="20.00")
    assert (await synchronized(till.shop, "GOPOS"))["status"] == "SUCCEEDED"
    after = await quote(till.api, till.bill())

    # then the next quote prices with the new discount, in the same process
    assert before["discounts"][0] == GROUP_DISCOUNT
    assert after["discounts"][0] == {
        **GROUP_DISCOUNT,
        "name": "20% stały klient",
        "amount": {"amount": "8.00"},
    }


@pytest.mark.parametrize(
    "variables",
    [
        {"lines": [{"productId": "p1", "quantity": "2", "unitPrice": "12.50"}]},
        {
            "channel": "ONLINE",
            "customerId": "c-1",
            "lines": [
                {
                    "productId": "p1",
                    "name": "Pierogi",
                    "categoryId": "k",
                    "quantity": "0.125",
                    "unitPrice": "0",
                },
                {"productId": "p2", "name": None, "quantity": "1", "unitPrice": "3"},
            ],
            "useCredits": False,
            "maxCredits": "5.00",
            "excludedDiscountIds": ["credits", "g-1"],
        },
        {"channel": "KIOSK", "cardCode": "A1", "lines": [], "excludedDiscountIds": None},
    ],
)
def test_a_bill_is_built_as_strawberry_builds_other_inputs(
    variables: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bill's `from_input` hook gives what Strawberry's generic conversion gives."""
    from graphql import coerce_input_value
    from strawberry.types.arguments import convert_argument
    from strawberry.types.base import get_object_definition

    from gateway.schema.bill import CheckoutInput
    from gateway.schema.root import build_schema

    schema = build_schema(production=True)
    graphql_type = schema._schema.get_type("CheckoutInput")
    assert graphql_type is not None
    coerced = coerce_input_value(variables, graphql_type)  # type: ignore[arg-type]

    def convert() -> object:
        return convert_argument(
            coerced, CheckoutInput, schema.schema_converter.scalar_registry, schema.config
        )

    hooked = convert()
    monkeypatch.setattr(get_object_definition(CheckoutInput, strict=True), "from_input", None)
    generic = convert()
    assert hooked == generic
    assert isinstance(hooked, CheckoutInput)
    assert hooked.to_domain() == generic.to_domain()  # type: ignore[attr-defined]
