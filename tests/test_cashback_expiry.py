"""Cashback that expires, on SQLite and PostgreSQL: a group's `cashbackExpiresAfterDays` makes
granted cashback expire that many days after it becomes spendable: at the sale when it is not
held, at its release when it is."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID

from domain.requests import CustomerGroupInput
from services import checkout, groups
from services.runtime import Runtime
from tests.helpers import Api, Clock
from tests.lots_helpers import lots_left, sums
from tests.test_checkout_service import MORNING, Shop, for_customer, new_customer, open_shop
from tests.wallet_helpers import error_fields

CREATE_GROUP = """
mutation($input: CustomerGroupInput!) {
  createCustomerGroup(input: $input) {
    group { cashbackExpiresAfterDays } errors { code field message }
  }
}"""


async def _group(shop: Shop, name: str, hold_days: int, expires_after: int) -> str:
    created = await groups.create_group(
        shop.location_id,
        CustomerGroupInput(
            name=name,
            cashback_percent=Decimal("10"),
            cashback_hold_days=hold_days,
            cashback_expires_after_days=expires_after,
        ),
    )
    return str(created.id)


async def _sell(runtime: Runtime, shop: Shop, customer_id: UUID, key: str) -> None:
    await checkout.commit(
        runtime, shop.principal, for_customer(customer_id, ("1", "100.00")), idempotency_key=key
    )


async def test_cashback_expires_days_after_it_becomes_spendable(
    runtime: Runtime, clock: Clock
) -> None:
    clock.now = MORNING  # 2026-03-10 in Warsaw
    shop = await open_shop("Bistro Cashback Expiry")
    at_once = await _group(shop, "Od razu", 0, 5)
    held = await _group(shop, "Wstrzymany", 2, 3)
    anna = await new_customer(shop, at_once, name="Anna")
    jan = await new_customer(shop, held, name="Jan")
    await _sell(runtime, shop, anna, "a1")
    await _sell(runtime, shop, jan, "j1")
    assert await lots_left(anna) == [(1000, 1000, date(2026, 3, 15))]
    assert await lots_left(jan) == []
    clock.now = MORNING + timedelta(days=2)
    assert await checkout.release_held_cashback(runtime) >= 1
    assert await lots_left(jan) == [(1000, 1000, date(2026, 3, 15))]
    assert await sums(jan) == (1000, 1000, 1000)


async def test_the_group_shows_and_checks_its_cashback_expiry(api: Api) -> None:
    payload = await api.mutate(
        CREATE_GROUP, {"input": {"name": "Miesiąc", "cashbackExpiresAfterDays": 30}}
    )
    assert payload["group"] == {"cashbackExpiresAfterDays": 30}
    refused = await api.mutate(
        CREATE_GROUP, {"input": {"name": "Zero", "cashbackExpiresAfterDays": 0}}
    )
    assert error_fields(refused) == [("INVALID", "input.cashbackExpiresAfterDays")]
