"""The reports through the API: names and figures as a client reads them, the refusal of a bad
range as a GraphQL error with its code and field, and each location's reports reading its own
data only."""

from __future__ import annotations

from datetime import UTC, date, datetime

from domain.access import Role
from tests.builders import give_credits
from tests.helpers import Api, Clock, create_customer, create_group
from tests.test_tenancy import COMMIT_CHECKOUT
from tests.wallet_helpers import credit_ok

REPORTS = """
query($from: Date!, $to: Date!, $at: Date) {
  liabilityReport(at: $at) {
    at outstanding { amount currency } held { amount } owed { amount }
    byGroup { group { name } amount { amount } customers }
    byExpiryMonth { month amount { amount } }
    scheduledNext30Days { amount }
  }
  activityReport(from: $from, to: $to, interval: DAY) {
    start issuedManual { amount } issuedBulk { amount } redeemed { amount } netChange { amount }
  }
  discountCostReport(from: $from, to: $to) {
    day group { name } groupDiscounts { amount } promotions { amount } creditsUsed { amount } sales
  }
  topCustomersReport(from: $from, to: $to, first: 5) {
    customer { firstName } creditsUsed { amount } sales
  }
}"""

# 12:00 in Warsaw on 10 March 2026
NOON = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)
DAY = "2026-03-10"


async def _sale(api: Api, customer_id: str, key: str, price: str) -> None:
    till = await api.key_with_role(Role.POS, f"till {key}")
    payload = await till.mutate(
        COMMIT_CHECKOUT,
        {
            "input": {
                "customerId": customer_id,
                "lines": [{"productId": "obiad", "quantity": "1", "unitPrice": price}],
            },
            "key": key,
        },
    )
    assert payload["errors"] == [], payload


async def _location(api: Api, name: str, credits: str, price: str) -> None:
    group = await create_group(api, f"Stali {name}")
    customer = await create_customer(api, firstName=name, groupIds=[group["id"]])
    loner = await create_customer(api, firstName=f"{name} bez grupy")
    await give_credits(api, [customer["id"]], credits)
    await give_credits(api, [customer["id"], loner["id"]], "1.00")
    await _sale(api, customer["id"], f"sale-{name}", price)


async def test_the_reports_read_as_a_client_reads_them(api: Api, clock: Clock) -> None:
    clock.now = NOON
    await _location(api, "Anna", "30.00", "12.50")

    data = await api.data(REPORTS, {"from": DAY, "to": DAY})

    assert data["liabilityReport"] == {
        "at": DAY,
        "outstanding": {"amount": "19.50", "currency": "PLN"},
        "held": {"amount": "0.00"},
        "owed": {"amount": "0.00"},
        "byGroup": [
            {"group": {"name": "Stali Anna"}, "amount": {"amount": "18.50"}, "customers": 1},
            {"group": None, "amount": {"amount": "1.00"}, "customers": 1},
        ],
        "byExpiryMonth": [{"month": None, "amount": {"amount": "19.50"}}],
        "scheduledNext30Days": {"amount": "0.00"},
    }
    assert data["activityReport"] == [
        {
            "start": DAY,
            "issuedManual": {"amount": "30.00"},
            "issuedBulk": {"amount": "2.00"},
            "redeemed": {"amount": "12.50"},
            "netChange": {"amount": "19.50"},
        }
    ]
    assert data["discountCostReport"] == [
        {
            "day": DAY,
            "group": None,
            "groupDiscounts": {"amount": "0.00"},
            "promotions": {"amount": "0.00"},
            "creditsUsed": {"amount": "12.50"},
            "sales": 1,
        }
    ]
    assert data["topCustomersReport"] == [
        {"customer": {"firstName": "Anna"}, "creditsUsed": {"amount": "12.50"}, "sales": 1}
    ]


async def test_each_locations_reports_read_its_own_data_only(
    api: Api, other: Api, clock: Clock
) -> None:
    clock.now = NOON
    await _location(api, "Anna", "30.00", "12.50")
    await _location(other, "Bob", "70.00", "45.00")

    mine = await api.data(REPORTS, {"from": DAY, "to": DAY})
    theirs = await other.data(REPORTS, {"from": DAY, "to": DAY})

    assert mine["liabilityReport"]["outstanding"]["amount"] == "19.50"
    assert theirs["liabilityReport"]["outstanding"]["amount"] == "27.00"
    assert [g["group"] for g in mine["liabilityReport"]["byGroup"]] == [
        {"name": "Stali Anna"},
        None,
    ]
    assert mine["activityReport"][0]["netChange"]["amount"] == "19.50"
    assert theirs["activityReport"][0]["netChange"]["amount"] == "27.00"
    assert [r["sales"] for r in mine["discountCostReport"]] == [1]
    assert [c["customer"]["firstName"] for c in mine["topCustomersReport"]] == ["Anna"]
    assert [c["customer"]["firstName"] for c in theirs["topCustomersReport"]] == ["Bob"]


async def test_a_bad_range_is_a_graphql_error_naming_its_argument(api: Api, clock: Clock) -> None:
    clock.now = NOON

    body = await api.raw('query { activityReport(from: "2026-03-10", to: "2026-03-09") { start } }')
    far = await api.raw('query { liabilityReport(at: "9999-12-31") { at } }')
    future = await api.raw('query { liabilityReport(at: "2026-03-11") { at } }')

    assert body["data"] is None
    assert [
        (e["extensions"]["code"], e["extensions"]["field"], e["message"]) for e in body["errors"]
    ] == [("INVALID", "to", "The last day must not be before the first.")]
    assert [(e["extensions"]["field"], e["extensions"]["messageId"]) for e in far["errors"]] == [
        ("at", "report.day_out_of_range")
    ]
    assert [e["extensions"]["messageId"] for e in future["errors"]] == ["report.at_in_future"]


async def test_the_liability_of_today_is_the_default(api: Api, clock: Clock) -> None:
    clock.now = NOON

    data = await api.data(
        "{ liabilityReport { at outstanding { amount } byGroup { amount { amount } } } }"
    )

    assert data["liabilityReport"] == {
        "at": date(2026, 3, 10).isoformat(),
        "outstanding": {"amount": "0.00"},
        "byGroup": [],
    }


async def test_todays_liability_splits_the_credits_by_the_month_they_expire(
    api: Api, clock: Clock
) -> None:
    clock.now = NOON
    anna = await create_customer(api, firstName="Anna")
    for amount, expires in (("5.00", "2026-04-15"), ("1.50", "2026-04-30"), ("3.00", "2026-05-01")):
        await credit_ok(api, {"customerIds": [anna["id"]]}, "ADD", amount, expiresOn=expires)
    await give_credits(api, [anna["id"]], "2.00")

    today = await api.data(REPORTS, {"from": DAY, "to": DAY})
    past = await api.data(REPORTS, {"from": DAY, "to": DAY, "at": "2026-03-09"})

    assert today["liabilityReport"]["byExpiryMonth"] == [
        {"month": "2026-04", "amount": {"amount": "6.50"}},
        {"month": "2026-05", "amount": {"amount": "3.00"}},
        {"month": None, "amount": {"amount": "2.00"}},
    ]
    assert past["liabilityReport"]["byExpiryMonth"] == []


async def test_a_past_days_liability_splits_the_credits_by_the_month_they_expired_then(
    api: Api, clock: Clock
) -> None:
    clock.now = NOON
    anna = await create_customer(api, firstName="Anna")
    for amount, expires in (("5.00", "2026-04-15"), ("1.50", "2026-04-30"), ("3.00", "2026-05-01")):
        await credit_ok(api, {"customerIds": [anna["id"]]}, "ADD", amount, expiresOn=expires)
    await give_credits(api, [anna["id"]], "2.00")
    await _sale(api, anna["id"], "sale-1", "4.00")  # from the lot of 15 April
    clock.now = datetime(2026, 3, 11, 11, 0, tzinfo=UTC)
    # April's lots, May's and 0.50 that never expires; then credits of June
    await _sale(api, anna["id"], "sale-2", "6.00")
    await credit_ok(api, {"customerIds": [anna["id"]]}, "ADD", "1.00", expiresOn="2026-06-01")

    past = await api.data(REPORTS, {"from": DAY, "to": DAY, "at": DAY})
    today = await api.data(REPORTS, {"from": DAY, "to": DAY})

    assert past["liabilityReport"]["outstanding"] == {"amount": "7.50", "currency": "PLN"}
    assert past["liabilityReport"]["byExpiryMonth"] == [
        {"month": "2026-04", "amount": {"amount": "2.50"}},
        {"month": "2026-05", "amount": {"amount": "3.00"}},
        {"month": None, "amount": {"amount": "2.00"}},
    ]
    assert today["liabilityReport"]["byExpiryMonth"] == [
        {"month": "2026-06", "amount": {"amount": "1.00"}},
        {"month": None, "amount": {"amount": "1.50"}},
    ]
