"""The till's rules through the API, on both databases: a quote's daily limits by reference, an
expired card refused at quote and commit, and a location's credit channels, set by an ADMIN key
with `updateLocationSettings` and read by the next quote.

The till is `test_checkout_api`'s: "Stały klient" linked to GoPOS group 17 (10% off, daily limit
50.00); Anna, a member with card CARD-1 and 20.00 of credits.
"""

from __future__ import annotations

from typing import Any

from tests.english import checked
from tests.test_checkout_api import (
    Till,
    checkouts,
    commit,
    committed,
    m,
    open_shop,
    till,
    wallet,
)

__all__ = ["open_shop", "till"]  # the fixtures this module's tests use

LIMITS_QUOTE = """
query($input: CheckoutInput!) {
  checkoutQuote(input: $input) {
    total { amount }
    credits { applied { amount } }
    dailyLimit { reference limit { amount } used { amount } remaining { amount } }
    dailyLimits { reference limit { amount } used { amount } remaining { amount } }
    messages
  }
}"""

UPDATE_CARDS = """
mutation($id: ID!, $input: CustomerInput!) {
  updateCustomer(id: $id, input: $input) { errors { code field message } }
}"""

SETTINGS = """
mutation($input: LocationSettingsInput!) {
  updateLocationSettings(input: $input) {
    location { id creditChannels }
    errors { code field message }
  }
}"""

VIEWER_CHANNELS = "query { viewer { location { creditChannels } } }"


def limit(reference: str, cap: str, used: str, remaining: str) -> dict[str, Any]:
    return {"reference": reference, "limit": m(cap), "used": m(used), "remaining": m(remaining)}


async def test_a_quote_lists_the_customers_daily_limits_by_reference(till: Till) -> None:
    # given a sale through Stały klient today (10% of 40.00)
    await committed(till.api, till.bill(), "k-1")

    # when the next bill is quoted
    found = (await till.api.data(LIMITS_QUOTE, till.bill()))["checkoutQuote"]

    # then the limit reads what the group's discounts used
    regular = limit("staly-klient", "50.00", "4.00", "46.00")
    assert (found["dailyLimit"], found["dailyLimits"]) == (regular, [regular])


async def test_an_expired_card_is_card_expired_at_quote_and_commit(till: Till) -> None:
    # given Anna's card ended yesterday (10 March 2026 in Warsaw is today)
    card = {"code": "CARD-1", "expiresOn": "2026-03-09"}
    payload = await till.api.mutate(UPDATE_CARDS, {"id": till.customer, "input": {"cards": [card]}})
    assert payload["errors"] == []
    before = await wallet(till.api, till.customer)

    # when the card is scanned
    quoted = await till.api.raw(LIMITS_QUOTE, till.bill())
    sold = await commit(till.api, till.bill(), "k-expired")

    # then both refuse it, and nothing is applied
    assert quoted["data"] is None
    assert [(e["path"], checked(e)) for e in quoted["errors"]] == [
        (["checkoutQuote"], {"code": "CARD_EXPIRED", "field": "input.cardCode"})
    ]
    assert sold["checkout"] is None
    assert sold["errors"] == [
        {
            "code": "CARD_EXPIRED",
            "field": "input.cardCode",
            "message": "This card expired on 2026-03-09: ask for another card, "
            "or look the customer up.",
        }
    ]
    assert (await checkouts(till.api))["totalCount"] == 0
    assert await wallet(till.api, till.customer) == before


async def test_credit_channels_are_set_by_an_admin_and_read_by_the_next_quote(till: Till) -> None:
    kiosk = {"input": {**till.bill()["input"], "channel": "KIOSK"}}
    default = (await till.api.data(VIEWER_CHANNELS))["viewer"]["location"]["creditChannels"]
    warm = (await till.api.data(LIMITS_QUOTE, kiosk))["checkoutQuote"]

    # a channel named twice is refused; nothing changes
    twice = await till.api.mutate(SETTINGS, {"input": {"creditChannels": ["ONLINE", "ONLINE"]}})
    # credits kept for the till and the online store
    kept = await till.api.mutate(SETTINGS, {"input": {"creditChannels": ["ONLINE", "POS"]}})
    cold = (await till.api.data(LIMITS_QUOTE, kiosk))["checkoutQuote"]

    assert default == ["POS", "KIOSK", "ONLINE"]
    assert warm["credits"] == {"applied": m("20.00")}
    assert twice == {
        "location": None,
        "errors": [
            {
                "code": "INVALID",
                "field": "input.creditChannels",
                "message": "ONLINE is named twice: name each channel at most once.",
            }
        ],
    }
    assert kept["errors"] == []
    assert kept["location"]["creditChannels"] == ["POS", "ONLINE"]
    assert cold["credits"] == {"applied": m("0.00")}
    assert cold["messages"] == [
        "No promotional credits: this location does not use them on the KIOSK channel."
    ]
    viewer = await till.api.data(VIEWER_CHANNELS)
    assert viewer["viewer"]["location"]["creditChannels"] == ["POS", "ONLINE"]
