"""`expiringCredits` on SQLite and PostgreSQL: per customer, what expires before a date
(exclusive) and the first day it does, soonest first, paged, with the count and the total; on
PostgreSQL a plan that reads the partial index by location and expiry date."""

from __future__ import annotations

from datetime import UTC, datetime

from models import sql
from models.db import transaction
from services.runtime import Runtime
from tests.helpers import Api, Clock, create_customer
from tests.wallet_helpers import credit_ok

EXPIRING = """
query($before: Date!, $first: Int, $after: String) {
  expiringCredits(before: $before, first: $first, after: $after) {
    edges { cursor node { customer { firstName } amount { amount } firstExpiresOn } }
    pageInfo { hasNextPage endCursor }
    totalCount
    total { amount currency }
  }
}"""


def rows(data: dict[str, object]) -> list[tuple[str, str, str]]:
    found = data["expiringCredits"]
    return [
        (
            e["node"]["customer"]["firstName"],
            e["node"]["amount"]["amount"],
            e["node"]["firstExpiresOn"],
        )
        for e in found["edges"]  # type: ignore[index]
    ]


async def test_credits_expiring_before_a_date_per_customer_and_in_total(
    api: Api, runtime: Runtime, clock: Clock
) -> None:
    clock.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    anna, jan, ola = [
        (await create_customer(api, firstName=n))["id"] for n in ("Anna", "Jan", "Ola")
    ]
    await credit_ok(api, {"customerIds": [anna]}, "ADD", "10.00", expiresOn="2026-12-20")
    await credit_ok(api, {"customerIds": [anna]}, "ADD", "5.00", expiresOn="2026-12-05")
    await credit_ok(api, {"customerIds": [jan]}, "ADD", "7.00", expiresOn="2026-12-03")
    await credit_ok(api, {"customerIds": [jan]}, "ADD", "9.00", expiresOn="2026-12-31")
    await credit_ok(api, {"customerIds": [ola]}, "ADD", "20.00")
    await credit_ok(api, {"customerIds": [jan]}, "REDUCE", "2.00")  # spent from Dec 3's first

    first = await api.data(EXPIRING, {"before": "2026-12-21", "first": 1})
    assert rows(first) == [("Jan", "5.00", "2026-12-03")]
    assert first["expiringCredits"]["totalCount"] == 2
    assert first["expiringCredits"]["total"] == {"amount": "20.00", "currency": "PLN"}
    cursor = first["expiringCredits"]["pageInfo"]["endCursor"]
    second = await api.data(EXPIRING, {"before": "2026-12-21", "first": 1, "after": cursor})
    assert rows(second) == [("Anna", "15.00", "2026-12-05")]
    assert second["expiringCredits"]["pageInfo"]["hasNextPage"] is False
    # the date is exclusive
    until = await api.data(EXPIRING, {"before": "2026-12-05"})
    assert rows(until) == [("Jan", "5.00", "2026-12-03")]
    assert until["expiringCredits"]["total"]["amount"] == "5.00"


async def test_expiring_credits_are_the_callers_only(api: Api, other: Api, clock: Clock) -> None:
    clock.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    theirs = (await create_customer(other, firstName="Obcy"))["id"]
    await credit_ok(other, {"customerIds": [theirs]}, "ADD", "10.00", expiresOn="2026-12-02")
    mine = await api.data(EXPIRING, {"before": "2099-01-01"})
    assert mine["expiringCredits"] == {
        "edges": [],
        "pageInfo": {"hasNextPage": False, "endCursor": None},
        "totalCount": 0,
        "total": {"amount": "0.00", "currency": "PLN"},
    }
    assert rows(await other.data(EXPIRING, {"before": "2099-01-01"})) == [
        ("Obcy", "10.00", "2026-12-02")
    ]


async def test_a_bad_cursor_is_invalid(api: Api) -> None:
    result = await api.raw(EXPIRING, {"before": "2026-12-21", "after": "nonsense"})
    assert [e["extensions"]["code"] for e in result["errors"]] == ["INVALID"]


async def test_the_expiring_list_reads_the_expiry_index(api: Api) -> None:
    if not sql.dialect().numbered:
        return
    async with transaction() as db:
        await sql.fetch(db, "SET LOCAL enable_seqscan = off", [])
        plan = await sql.fetch(
            db,
            "EXPLAIN SELECT customer_id, SUM(remaining) FROM credit_lots WHERE location_id = $1 "
            "AND remaining > 0 AND expires_on IS NOT NULL AND expires_on < $2 GROUP BY customer_id",
            [api.location_id, datetime(2026, 12, 21).date()],
        )
    assert "credit_lots_expiring" in " ".join(str(row[0]) for row in plan)
