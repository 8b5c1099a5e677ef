"""A refund gives back the credits its sale used with the expiry they had, on SQLite and
PostgreSQL: a part whose expiry day has passed expires at the end of the refund's day (in the
location's time zone), and the check expires it then."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID

from domain.requests import CreditRequest, Target
from services import checkout, wallet
from services.runtime import Runtime
from tests.helpers import Clock
from tests.lots_helpers import expire_due, lots_left, sums
from tests.test_checkout_service import MORNING, Shop, for_customer, new_customer, open_shop


async def _credit(
    runtime: Runtime, shop: Shop, customer_id: UUID, amount: str, expires_on: date | None
) -> None:
    request = CreditRequest(
        Target(customer_ids=(str(customer_id),)), "ADD", Decimal(amount), expires_on=expires_on
    )
    await wallet.apply_once(runtime, shop.principal, request)


async def test_a_refund_gives_back_the_credits_with_their_expiry(
    runtime: Runtime, clock: Clock
) -> None:
    clock.now = MORNING  # 2026-03-10, 11:00 in Warsaw
    shop = await open_shop("Bistro Lots")
    anna = await new_customer(shop, name="Anna")
    soon, later = date(2026, 3, 12), date(2026, 4, 30)
    await _credit(runtime, shop, anna, "10.00", soon)
    await _credit(runtime, shop, anna, "20.00", later)
    await _credit(runtime, shop, anna, "5.00", None)
    sale = await checkout.commit(
        runtime, shop.principal, for_customer(anna, ("1", "25.00")), idempotency_key="s1"
    )
    assert sale.credits_used == 2500
    assert await lots_left(anna) == [(2000, 500, later), (500, 500, None)]

    # refunded on Mar 20: the lot of Mar 12 has passed and comes back until the end of Mar 20
    clock.now = MORNING + timedelta(days=10)
    await checkout.refund(runtime, shop.principal, str(sale.id), idempotency_key="r1")
    assert await lots_left(anna) == [
        (2000, 500, later),
        (500, 500, None),
        (1500, 1500, later),
        (1000, 1000, date(2026, 3, 20)),
    ]
    assert await sums(anna) == (3500, 3500, 3500)
    clock.now = MORNING + timedelta(days=11)
    await expire_due(runtime)
    assert await sums(anna) == (2500, 2500, 2500)
