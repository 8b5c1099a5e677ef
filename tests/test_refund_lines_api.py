"""Refunds by the line through the API, on both databases: `refundCheckout` with `lines`, the
sale's `refunds`, the PARTIALLY_REFUNDED status and the problems a till is told.

The till of `tests/test_checkout_api.py`: Anna's bill of 2 lattes at 12.50 and half a cake at
30.00 (40.00) takes 4.00 of group discount (2.50 and 1.50) and 20.00 of credits (12.50 and
7.50): 10.00 and 6.00 paid, 0.80 of cashback.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from domain.access import Role
from tests.test_checkout_api import (
    CAKE,
    CHECKOUT_FIELDS,
    LATTE,
    LINE_FIELDS,
    MONEY,
    NOW,
    QUOTE,
    Till,
    checkouts,
    committed,
    line,
    m,
    wallet,
)
from tests.test_checkout_api import open_shop as open_shop
from tests.test_checkout_api import till as till

REFUND_FIELDS = f"""
  id lines {{ {LINE_FIELDS} }} creditsReturned {MONEY} cashbackReversed {MONEY}
  cashbackOwed {MONEY} createdAt
"""
# A sale's refunds are a list of up to 10 of up to 250 lines each: the query cost counts them so,
# so a client asks each refund's lines with a few fields (or the refund it just made in full).
SHOWN_FIELDS = f"""
  id lines {{ productId quantity }} creditsReturned {MONEY} cashbackReversed {MONEY}
  cashbackOwed {MONEY} createdAt
"""
REFUND_LINES = f"""
mutation($id: ID!, $key: String!, $lines: [RefundLineInput!]) {{
  refundCheckout(id: $id, idempotencyKey: $key, lines: $lines) {{
    checkout {{ {CHECKOUT_FIELDS} refunds {{ id }} }}
    refund {{ {REFUND_FIELDS} }}
    errors {{ code field message messageId params {{ name value }} }}
  }}
}}"""
GET_REFUNDS = f"""
query($id: ID!) {{
  checkout(id: $id) {{ status refundedAt refunds {{ {SHOWN_FIELDS} }} }}
}}"""


async def refund(
    till: Till, sale: dict[str, Any], key: str, lines: list[dict[str, Any]] | None
) -> dict[str, Any]:
    return await till.api.mutate(REFUND_LINES, {"id": sale["id"], "key": key, "lines": lines})


async def test_a_refund_of_one_latte_shows_on_the_sale_and_gives_back_its_share(
    till: Till,
) -> None:
    sale = await committed(till.api, till.bill(), "sale-1")
    till.clock.now = NOW + timedelta(hours=1)

    payload = await refund(till, sale, "refund-1", [{"line": 0, "quantity": "1"}])

    assert payload["errors"] == []
    refunded = payload["refund"]
    assert refunded == {
        "id": refunded["id"],
        "lines": [line({**LATTE, "quantity": "1"}, "12.50", "7.50", "5.00")],
        "creditsReturned": m("6.25"),
        "cashbackReversed": m("0.25"),
        "cashbackOwed": m("0.00"),
        "createdAt": "2026-03-10T12:00:00+00:00",
    }
    assert payload["checkout"] == {
        **sale,
        "status": "PARTIALLY_REFUNDED",
        "refundedAt": None,
        "refunds": [{"id": refunded["id"]}],
    }
    assert (await wallet(till.api, till.customer))["balance"]["amount"] == "6.80"
    limit = (await till.api.data(QUOTE, till.bill()))["checkoutQuote"]["dailyLimit"]
    assert limit == {"limit": m("50.00"), "used": m("2.75"), "remaining": m("47.25")}
    listed = await checkouts(till.api, filter={"status": "PARTIALLY_REFUNDED"})
    assert [edge["node"]["id"] for edge in listed["edges"]] == [sale["id"]]


async def test_the_rest_of_the_sale_comes_back_with_lines_omitted(till: Till) -> None:
    sale = await committed(till.api, till.bill(), "sale-1")
    first = await refund(till, sale, "refund-1", [{"line": 1, "quantity": "0.25"}])
    till.clock.now = NOW + timedelta(hours=2)

    rest = await refund(till, sale, "refund-2", None)

    assert rest["errors"] == []
    assert rest["refund"]["lines"] == [
        line(LATTE, "25.00", "15.00", "10.00"),
        line({**CAKE, "quantity": "0.25"}, "7.50", "4.50", "3.00"),
    ]
    shown = (await till.api.data(GET_REFUNDS, {"id": sale["id"]}))["checkout"]
    assert (shown["status"], shown["refundedAt"]) == ("REFUNDED", "2026-03-10T13:00:00+00:00")
    assert [r["id"] for r in shown["refunds"]] == [first["refund"]["id"], rest["refund"]["id"]]
    assert [[(x["productId"], x["quantity"]) for x in r["lines"]] for r in shown["refunds"]] == [
        [("cake", "0.25")],
        [("latte", "2"), ("cake", "0.25")],
    ]
    returned = [r["creditsReturned"]["amount"] for r in shown["refunds"]]
    reversed_ = [r["cashbackReversed"]["amount"] for r in shown["refunds"]]
    assert (returned, reversed_) == (["3.75", "16.25"], ["0.15", "0.65"])
    assert (await wallet(till.api, till.customer))["balance"]["amount"] == "20.00"


async def test_a_till_is_told_what_is_left_and_which_lines_are_wrong(till: Till) -> None:
    sale = await committed(till.api, till.bill(), "sale-1")
    await refund(till, sale, "refund-1", [{"line": 0, "quantity": "1.5"}])

    payload = await refund(
        till,
        sale,
        "refund-2",
        [{"line": 0, "quantity": "1"}, {"line": 7, "quantity": "1"}],
    )
    malformed = await refund(till, sale, "refund-3", [{"line": 1, "quantity": "0.0001"}])

    assert payload == {
        "checkout": None,
        "refund": None,
        "errors": [
            {
                "code": "INVALID",
                "field": "lines.0.quantity",
                "message": "At most 0.5 of this line is left to refund.",
                "messageId": "refund.quantity_left",
                "params": [{"name": "left", "value": "0.5"}],
            },
            {
                "code": "INVALID",
                "field": "lines.1.line",
                "message": "The sale has no such line.",
                "messageId": "refund.no_such_line",
                "params": [],
            },
        ],
    }
    assert [(e["code"], e["field"]) for e in malformed["errors"]] == [
        ("INVALID", "lines.0.quantity")
    ]
    shown = (await till.api.data(GET_REFUNDS, {"id": sale["id"]}))["checkout"]
    assert (shown["status"], len(shown["refunds"])) == ("PARTIALLY_REFUNDED", 1)


async def test_a_polish_till_reads_its_problems_in_polish(till: Till) -> None:
    sale = await committed(till.api, till.bill(), "sale-1")
    polish = replace(till.api, language="pl")

    payload = await polish.mutate(
        REFUND_LINES,
        {"id": sale["id"], "key": "refund-1", "lines": [{"line": 1, "quantity": "1"}]},
    )

    assert [e["message"] for e in payload["errors"]] == [
        "Z tej pozycji do zwrotu zostało najwyżej 0.5."
    ]


async def test_a_till_key_refunds_by_the_line_and_reads_the_refunds_of_its_own_sales(
    till: Till,
) -> None:
    pos = await till.api.key_with_role(Role.POS, "till 1")
    other = await till.api.key_with_role(Role.POS, "till 2")
    sale = await committed(pos, till.bill(), "sale-1")

    payload = await pos.mutate(
        REFUND_LINES,
        {"id": sale["id"], "key": "refund-1", "lines": [{"line": 0, "quantity": "2"}]},
    )
    mine = (await pos.data(GET_REFUNDS, {"id": sale["id"]}))["checkout"]
    theirs = (await other.data(GET_REFUNDS, {"id": sale["id"]}))["checkout"]

    assert payload["errors"] == []
    assert payload["checkout"]["customer"] == {"id": till.customer, "firstName": "Anna"}
    assert mine["status"] == "PARTIALLY_REFUNDED"
    assert [r["id"] for r in mine["refunds"]] == [payload["refund"]["id"]]
    assert theirs is None  # another till reads only the sales it committed
