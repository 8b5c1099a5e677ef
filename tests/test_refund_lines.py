"""Refunds by the line on SQLite and PostgreSQL: a refund names lines and quantities (or takes
all that is left), reverses its share of the credits, the cashback (held first) and the daily
limit's usage, never takes more than is left, and replays by its key.

The sale most tests refund (`HUNDRED` for a customer of "Stały klient" with 20.00 of credits):
2 × 40.00 + 1 × 20.00 = 100.00, 10.00 of group discount (8.00 and 2.00 on the lines), 20.00
of credits (16.00 and 4.00), so 56.00 and 14.00 paid, and 5% cashback on the 70.00: 3.50.
"""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import pytest

from domain.errors import DomainError
from domain.pricing import DailyLimitSummary, QuoteLine
from domain.refunds import RefundLineInput
from models.tables.checkouts import Checkout, CheckoutRefund
from services import checkout
from services.checkout import CheckoutView
from services.runtime import Runtime
from tests.helpers import Clock
from tests.test_cashback import Wallet, cashback_group, kinds, wallet_of
from tests.test_checkout_service import (
    HUNDRED,
    MORNING,
    Shop,
    add_credits,
    balance_of,
    entries_of,
    for_customer,
    new_customer,
    open_shop,
    written,
)


def lines(*named: tuple[int, str]) -> list[RefundLineInput]:
    return [RefundLineInput(line, Decimal(quantity)) for line, quantity in named]


def line(product: str, quantity: int, unit_price: int, subtotal: int, discount: int) -> QuoteLine:
    return QuoteLine(
        product, None, None, quantity, unit_price, subtotal, discount, subtotal - discount
    )


def errors_of(error: DomainError) -> list[tuple[str, str | None, str, dict[str, str]]]:
    return [(e.code.value, e.field, e.message_id, e.params) for e in error.errors]


async def sell_hundred(runtime: Runtime, shop: Shop) -> tuple[UUID, CheckoutView]:
    customer_id = await new_customer(shop, shop.regular_group)
    await add_credits(runtime, shop, customer_id, "20.00")
    sale = await checkout.commit(
        runtime, shop.principal, for_customer(customer_id, *HUNDRED), idempotency_key="s-1"
    )
    assert (sale.credits_used, sale.total, sale.cashback_granted) == (2000, 7000, 350)
    return customer_id, sale


async def used_today(runtime: Runtime, shop: Shop, customer_id: UUID) -> DailyLimitSummary | None:
    quoted = await checkout.quote(runtime, shop.principal, for_customer(customer_id, ("1", "1")))
    return quoted.quote.daily_limits[0] if quoted.quote.daily_limits else None


@pytest.fixture
async def shop(runtime: Runtime, clock: Clock) -> Shop:
    clock.now = MORNING
    return await open_shop("Bistro Refunds")


async def test_a_refund_of_one_unit_reverses_its_share_and_leaves_the_sale_partly_refunded(
    runtime: Runtime, shop: Shop
) -> None:
    customer_id, sale = await sell_hundred(runtime, shop)

    # when one of the two units of 40.00 comes back
    done = await checkout.refund(
        runtime, shop.principal, str(sale.id), idempotency_key="r-1", lines=lines((0, "1"))
    )

    # then 40.00 of the 100.00 is refunded: 8.00 of credits back, 1.40 of cashback taken back,
    # 4.00 of the daily limit's 10.00 given back
    assert done.checkout.status == "PARTIALLY_REFUNDED"
    assert done.checkout.refunded_at is None
    assert done.refund.lines == (line("p0", 1000, 4000, 4000, 1200),)
    assert (
        done.refund.credits_returned,
        done.refund.cashback_reversed,
        done.refund.cashback_owed,
    ) == (800, 140, 0)
    assert kinds((await entries_of(customer_id))[-2:]) == [
        ("REFUND", 800, 800, 1150),
        ("CASHBACK_REVERSAL", 140, -140, 1010),
    ]
    assert await used_today(runtime, shop, customer_id) == DailyLimitSummary(
        "staly-klient", 5000, 600, 4400
    )
    row = await CheckoutRefund.get(id=done.refund.id)
    assert (row.number, row.group_discount) == (1, 400)


async def test_refunds_that_add_up_to_the_sale_reverse_exactly_what_a_whole_refund_does(
    runtime: Runtime, shop: Shop, clock: Clock
) -> None:
    customer_id, sale = await sell_hundred(runtime, shop)
    other = await open_shop("Whole")
    whole_customer, whole_sale = await sell_hundred(runtime, other)

    # when the sale comes back in three refunds: 1 unit, half a unit, then all that is left
    refunds = []
    for key, named in (("r-1", lines((0, "1"))), ("r-2", lines((0, "0.5"))), ("r-3", None)):
        clock.now = MORNING.replace(minute=len(refunds))
        done = await checkout.refund(
            runtime, shop.principal, str(sale.id), idempotency_key=key, lines=named
        )
        refunds.append(done.refund)
    whole = await checkout.refund(runtime, other.principal, str(whole_sale.id), idempotency_key="w")

    # then the refunds sum to the whole refund's figures, and the wallets are alike
    assert done.checkout.status == "REFUNDED"
    assert done.checkout.refunded_at == MORNING.replace(minute=2)
    assert [(r.credits_returned, r.cashback_reversed) for r in refunds] == [
        (800, 140),
        (400, 70),
        (800, 140),
    ]
    assert (whole.refund.credits_returned, whole.refund.cashback_reversed) == (2000, 350)
    assert [r.lines for r in refunds] == [
        (line("p0", 1000, 4000, 4000, 1200),),
        (line("p0", 500, 4000, 2000, 600),),
        (line("p0", 500, 4000, 2000, 600), line("p1", 1000, 2000, 2000, 600)),
    ]
    assert whole.refund.lines == sale.lines
    assert await balance_of(customer_id) == await balance_of(whole_customer) == 2000
    assert await used_today(runtime, shop, customer_id) == DailyLimitSummary(
        "staly-klient", 5000, 0, 5000
    )
    row = await Checkout.get(id=sale.id)
    assert (
        row.refund_count,
        row.refunded_quantities,
        row.group_discount_returned,
        row.credits_used_returned,
        row.promotions_returned,
    ) == (3, [2000, 1000], 1000, 2000, 0)
    # and the sale shows its refunds, oldest first
    shown = await checkout.refunds_of(shop.location_id, [sale.id, whole_sale.id])
    assert shown == {sale.id: refunds}  # the other location's sale is not this one's


async def test_a_refund_never_takes_more_than_is_left_and_writes_nothing_when_refused(
    runtime: Runtime, shop: Shop
) -> None:
    customer_id, sale = await sell_hundred(runtime, shop)
    await checkout.refund(
        runtime, shop.principal, str(sale.id), idempotency_key="r-1", lines=lines((0, "1.5"))
    )
    before = await written(shop.location_id), await balance_of(customer_id)

    with pytest.raises(DomainError) as too_much:
        await checkout.refund(
            runtime,
            shop.principal,
            str(sale.id),
            idempotency_key="r-2",
            lines=lines((1, "1"), (0, "0.501"), (2, "1")),
        )

    assert errors_of(too_much.value) == [
        ("INVALID", "lines.1.quantity", "refund.quantity_left", {"left": "0.5"}),
        ("INVALID", "lines.2.line", "refund.no_such_line", {}),
    ]
    assert (await written(shop.location_id), await balance_of(customer_id)) == before
    # and once nothing is left, any refund is ALREADY_REFUNDED
    await checkout.refund(runtime, shop.principal, str(sale.id), idempotency_key="r-3")
    for named in (None, lines((1, "1"))):
        with pytest.raises(DomainError) as again:
            await checkout.refund(
                runtime, shop.principal, str(sale.id), idempotency_key="r-4", lines=named
            )
        assert errors_of(again.value) == [
            ("ALREADY_REFUNDED", "id", "checkout.already_refunded", {})
        ]


async def test_the_same_key_replays_its_refund_and_refuses_another_request(
    runtime: Runtime, shop: Shop
) -> None:
    customer_id, sale = await sell_hundred(runtime, shop)
    first = await checkout.refund(
        runtime, shop.principal, str(sale.id), idempotency_key="r-1", lines=lines((0, "1"))
    )
    before = await written(shop.location_id), await balance_of(customer_id)

    # "1.000" is the same quantity as "1": the same request
    replay = await checkout.refund(
        runtime, shop.principal, str(sale.id), idempotency_key="r-1", lines=lines((0, "1.000"))
    )
    refusals = []
    for named in (lines((1, "1")), None):
        with pytest.raises(DomainError) as reused:
            await checkout.refund(
                runtime, shop.principal, str(sale.id), idempotency_key="r-1", lines=named
            )
        refusals.append(errors_of(reused.value))

    assert replay == first
    assert (
        refusals
        == [[("IDEMPOTENCY_KEY_REUSED", "idempotencyKey", "idempotency.key_reused", {})]] * 2
    )
    assert (await written(shop.location_id), await balance_of(customer_id)) == before


async def test_malformed_lines_are_refused_with_the_key_before_anything_is_read(
    runtime: Runtime, shop: Shop
) -> None:
    with pytest.raises(DomainError) as refused:
        await checkout.refund(
            runtime,
            shop.principal,
            "not-an-id",
            idempotency_key="",
            lines=lines((0, "0"), (0, "1.0001")),
        )

    assert [(code, field) for code, field, _, _ in errors_of(refused.value)] == [
        ("INVALID", "idempotencyKey"),
        ("INVALID", "lines.0.quantity"),
        ("INVALID", "lines.1.line"),
        ("INVALID", "lines.1.quantity"),
    ]


async def test_held_cashback_is_taken_back_first_and_the_rest_is_released_once(
    runtime: Runtime, shop: Shop, clock: Clock
) -> None:
    # given 4 units of 25.00 earning 10.00 of cashback held for 7 days
    customer_id = await new_customer(shop, await cashback_group(shop, "10", hold_days=7))
    sale = await checkout.commit(
        runtime, shop.principal, for_customer(customer_id, ("4", "25.00")), idempotency_key="s"
    )

    # when one unit comes back inside the hold, and another after it ended and 9.00 was spent
    first = await checkout.refund(
        runtime, shop.principal, str(sale.id), idempotency_key="r-1", lines=lines((0, "1"))
    )
    held_after_first = await wallet_of(customer_id)
    clock.now = MORNING.replace(day=17)
    assert await checkout.release_held_cashback(runtime) == 1
    await add_credits(runtime, shop, customer_id, "6.00", "REDUCE")
    second = await checkout.refund(
        runtime, shop.principal, str(sale.id), idempotency_key="r-2", lines=lines((0, "2"))
    )

    # then the first cancels 2.50 of what was held; the release gives the 7.50 left; the second
    # takes 5.00 back off the 1.50 left: 3.50 owed
    assert (first.refund.cashback_reversed, first.refund.cashback_owed) == (250, 0)
    assert held_after_first == Wallet(0, 750, 0)
    assert (second.refund.cashback_reversed, second.refund.cashback_owed) == (150, 350)
    assert await wallet_of(customer_id) == Wallet(0, 0, 350)
    assert kinds(await entries_of(customer_id)) == [
        ("CASHBACK_RELEASE", 750, 750, 750),
        ("REDUCE", 600, -600, 150),
        ("CASHBACK_REVERSAL", 500, -150, 0),
    ]
    assert second.checkout.status == "PARTIALLY_REFUNDED"
