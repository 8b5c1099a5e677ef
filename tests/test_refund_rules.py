"""Refunds by the line against the in-memory stores (`tests/memory/`): no database.

The daily limit given back refund by refund, and a refund that finds another refund of the
same sale settled between its claim and its settlement: it starts again, and writes once. (On
the databases the claim holds the sale's row, so this cannot happen there; the settlement's
condition is the guard behind it.)
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from domain.errors import DomainError
from domain.pricing import DailyLimitSummary
from domain.refunds import RefundLineInput
from models.checkouts import Settlement
from services import checkout
from services.checkout import CheckoutView
from tests.test_checkout_rules import HUNDRED, Shop, _request

ONE_OF_LINE_0 = [RefundLineInput(0, Decimal("1"))]


async def _sale(shop: Shop) -> tuple[UUID, CheckoutView]:
    customer_id = shop.customer(shop.regular, balance=2000)
    sale = await checkout.commit(
        shop.runtime, shop.principal, _request(customer_id, *HUNDRED), idempotency_key="s-1"
    )
    return customer_id, sale


async def _limit(shop: Shop, customer_id: UUID) -> DailyLimitSummary | None:
    quoted = await checkout.quote(shop.runtime, shop.principal, _request(customer_id, ("1", "1")))
    return quoted.quote.daily_limits[0]


async def test_each_refund_gives_back_its_share_of_the_daily_limit() -> None:
    shop = Shop()
    customer_id, sale = await _sale(shop)
    used = [await _limit(shop, customer_id)]

    for key, named in (("r-1", ONE_OF_LINE_0), ("r-2", None)):
        await checkout.refund(
            shop.runtime, shop.principal, str(sale.id), idempotency_key=key, lines=named
        )
        used.append(await _limit(shop, customer_id))

    assert [u.used if u else None for u in used] == [1000, 600, 0]


async def test_a_refund_overtaken_before_it_settles_starts_again_and_writes_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shop = Shop()
    customer_id, sale = await _sale(shop)
    store = shop.runtime.stores.checkouts
    settle = store.settle_refund
    calls: list[int] = []

    async def overtaken_once(checkout_id: UUID, settled: Settlement, db: Any) -> bool:
        calls.append(settled.number)
        return False if len(calls) == 1 else await settle(checkout_id, settled, db)

    monkeypatch.setattr(store, "settle_refund", overtaken_once)
    before = shop.written()

    done = await checkout.refund(
        shop.runtime, shop.principal, str(sale.id), idempotency_key="r-1", lines=ONE_OF_LINE_0
    )

    # the first attempt was rolled back: the second claims number 1 again
    assert calls == [1, 1]
    assert done.checkout.status == "PARTIALLY_REFUNDED"
    assert shop.written() == (before[0], before[1] + 1, before[2] + 2, before[3] + 1)
    assert shop.entries(customer_id)[-2:] == [
        ("REFUND", 800, 800, 1150),
        ("CASHBACK_REVERSAL", 140, -140, 1010),
    ]


async def test_a_refund_overtaken_every_time_gives_up_and_writes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shop = Shop()
    _, sale = await _sale(shop)

    async def always_overtaken(checkout_id: UUID, settled: Settlement, db: Any) -> bool:
        return False

    monkeypatch.setattr(shop.runtime.stores.checkouts, "settle_refund", always_overtaken)
    before = shop.written()

    with pytest.raises(RuntimeError, match="overtaken by other refunds 3 times"):
        await checkout.refund(
            shop.runtime, shop.principal, str(sale.id), idempotency_key="r-1", lines=ONE_OF_LINE_0
        )

    assert shop.written() == before
    assert shop.memory.t.sales[sale.id].refund_count == 0


async def test_a_sales_tenth_refund_must_take_all_that_is_left() -> None:
    shop = Shop()
    _, sale = await _sale(shop)
    thousandth = [RefundLineInput(1, Decimal("0.001"))]
    for n in range(9):
        await checkout.refund(
            shop.runtime, shop.principal, str(sale.id), idempotency_key=f"r-{n}", lines=thousandth
        )

    with pytest.raises(DomainError) as refused:
        await checkout.refund(
            shop.runtime, shop.principal, str(sale.id), idempotency_key="r-9", lines=thousandth
        )
    last = await checkout.refund(shop.runtime, shop.principal, str(sale.id), idempotency_key="r-9")

    assert [(e.code.value, e.field, e.message_id) for e in refused.value.errors] == [
        ("INVALID", "lines", "refund.last_takes_all")
    ]
    assert last.checkout.status == "REFUNDED"
    assert shop.memory.t.sales[sale.id].refund_count == 10
    refunds = [r for r in shop.memory.t.refunds.values() if r.checkout_id == sale.id]
    assert sum(r.credits_returned for r in refunds) == sale.credits_used
