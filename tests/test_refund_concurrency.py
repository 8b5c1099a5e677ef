"""Partial refunds of one sale at once never take more than was sold.

On PostgreSQL the refunds really overlap (20 pooled connections); on SQLite writers take turns.
Each refund holds the customer, then claims the sale's next refund number with a conditional
UPDATE that holds the sale's row (`models.refunds`), settles on the condition that no other
refund claimed a number meanwhile, and records its number, unique per sale. A deleted
customer is held by nothing: then the claim alone keeps the refunds apart. The negative
control takes every one of those guards away (the customer's and the sale's locks, the
settlement's condition, and the refund numbers drawn apart so that the unique index does not
meet them): the same refunds then take more than was sold.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from uuid import UUID

import pytest

from domain import refunds as domain_refunds
from domain.errors import DomainError
from domain.refunds import RefundLineInput
from models import checkouts, refunds
from models.tables.checkouts import Checkout
from services import checkout, customers
from services.checkout import CheckoutView
from services.runtime import Runtime
from tests.test_checkout_service import (
    Shop,
    add_credits,
    balance_of,
    entries_of,
    for_customer,
    new_customer,
    open_shop,
)

ONE = [RefundLineInput(0, Decimal("1"))]


async def five_units(runtime: Runtime) -> tuple[Shop, UUID, CheckoutView]:
    """A sale of 5 × 10.00 that used 20.00 of credits and granted 5% of 30.00: 1.50."""
    shop = await open_shop()
    customer_id = await new_customer(shop, shop.vip_group)
    await add_credits(runtime, shop, customer_id, "20.00")
    sale = await checkout.commit(
        runtime, shop.principal, for_customer(customer_id, ("5", "10.00")), idempotency_key="s"
    )
    assert (sale.credits_used, sale.cashback_granted) == (2000, 150)
    return shop, customer_id, sale


async def refund_one_each(
    runtime: Runtime, shop: Shop, sale: CheckoutView, count: int
) -> tuple[list[checkout.Refunded], list[DomainError]]:
    """`count` refunds of one unit of the sale at once, each with its own key."""
    results = await asyncio.gather(
        *(
            checkout.refund(
                runtime, shop.principal, str(sale.id), idempotency_key=f"r-{n}", lines=ONE
            )
            for n in range(count)
        ),
        return_exceptions=True,
    )
    unexpected = [r for r in results if not isinstance(r, checkout.Refunded | DomainError)]
    assert unexpected == []
    return (
        [r for r in results if isinstance(r, checkout.Refunded)],
        [r for r in results if isinstance(r, DomainError)],
    )


async def test_ten_refunds_of_one_unit_of_five_at_once_refund_exactly_five(
    runtime: Runtime,
) -> None:
    shop, customer_id, sale = await five_units(runtime)

    refunded, refused = await refund_one_each(runtime, shop, sale, 10)

    assert len(refunded) == 5
    assert [[(e.code.value, e.field) for e in r.errors] for r in refused] == [
        [("ALREADY_REFUNDED", "id")]
    ] * 5
    assert sum(r.refund.credits_returned for r in refunded) == 2000
    assert sum(r.refund.cashback_reversed for r in refunded) == 150
    row = await Checkout.get(id=sale.id)
    assert (row.status, row.refund_count, row.refunded_quantities) == ("REFUNDED", 5, [5000])
    entries = await entries_of(customer_id)
    assert await balance_of(customer_id) == sum(e.delta for e in entries) == 2000


async def test_refunds_of_a_deleted_customers_sale_at_once_are_kept_apart_by_the_claim(
    runtime: Runtime,
) -> None:
    shop, customer_id, sale = await five_units(runtime)
    await customers.delete_customer(shop.location_id, str(customer_id))

    refunded, refused = await refund_one_each(runtime, shop, sale, 10)

    assert (len(refunded), len(refused)) == (5, 5)
    assert sorted(r.refund.lines[0].quantity for r in refunded) == [1000] * 5
    row = await Checkout.get(id=sale.id)
    assert (row.status, row.refund_count, row.refunded_quantities) == ("REFUNDED", 5, [5000])


async def test_refunds_without_their_guards_are_caught_taking_more_than_was_sold(
    postgres_only: None, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the customer read without its lock, the sale's state read without claiming it, the
    # settlement unconditional, and each refund a number of its own
    monkeypatch.setattr(
        checkouts, "_LOCK_POSTGRES", checkouts._LOCK_POSTGRES.replace(" FOR UPDATE", "")
    )
    monkeypatch.setattr(
        refunds,
        "CLAIM_REFUND",
        "SELECT refund_count + 1 + CAST(floor(random() * 1000000) AS INT),"
        " refunded_quantities, cashback_held FROM checkouts"
        " WHERE id = $1 AND status <> 'REFUNDED'",
    )
    monkeypatch.setattr(
        refunds,
        "SETTLE_REFUND",
        refunds.SETTLE_REFUND.replace("AND refund_count = $2", "AND $2::int IS NOT NULL"),
    )
    # (numbers drawn that far apart are past a sale's last refund: that rule is not the guard)
    monkeypatch.setattr(domain_refunds, "MAX_REFUNDS", 10**9)
    shop, _, sale = await five_units(runtime)

    refunded, _ = await refund_one_each(runtime, shop, sale, 10)

    assert len(refunded) > 5, "expected the sale to be refunded past what it sold"
    assert sum(r.refund.credits_returned for r in refunded) > 2000
