"""Concurrent commits for one customer: credits are debited once, the daily limit is never
overspent, and one idempotency key makes one checkout.

On PostgreSQL the commits really overlap (20 pooled connections); on SQLite writers take turns.
A commit that skips the per-customer lock, swapped in as a negative control, must be caught
overspending the daily limit, the limit of one group among two included; each group's limit
counts only the discounts granted through it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from uuid import UUID

import pytest

from domain.errors import DomainError
from domain.requests import CustomerGroupInput
from domain.sync import DiscountType, MirrorDiscount, MirrorPosGroup
from models import reads
from models.mirror import upsert_pos_discounts, upsert_pos_groups
from models.tables.checkouts import Checkout
from services import checkout, groups
from services.checkout import CheckoutView
from services.runtime import Runtime
from tests.test_checkout_service import (
    SYNCED_AT,
    Shop,
    add_credits,
    balance_of,
    entries_of,
    for_customer,
    new_customer,
    open_shop,
)

# A bill of 60.00: the 10% group discount (over 5.00 off) is 6.00 of the daily limit of 50.00.
SIXTY = ("1", "60.00")


async def commit_all(
    runtime: Runtime, shop: Shop, customer_id: UUID, count: int, line: tuple[str, str]
) -> list[CheckoutView]:
    """`count` different commits of the same bill at once, each with its own key."""
    return list(
        await asyncio.gather(
            *(
                checkout.commit(
                    runtime,
                    shop.principal,
                    for_customer(customer_id, line),
                    idempotency_key=f"till-{n}",
                )
                for n in range(count)
            )
        )
    )


def group_discounts(views: list[CheckoutView]) -> list[int]:
    return sorted(
        (sum(d.amount for d in v.discounts if d.id.startswith("pos-discount:")) for v in views),
        reverse=True,
    )


async def test_100_commits_at_once_spend_credits_that_cover_10_exactly_once(
    runtime: Runtime,
) -> None:
    # given a customer in no group (no discount, no cashback) with 100.00 of credits
    shop = await open_shop()
    customer_id = await new_customer(shop)
    await add_credits(runtime, shop, customer_id, "100.00")

    # when 100 bills of 10.00 are committed at once
    views = await commit_all(runtime, shop, customer_id, 100, ("1", "10.00"))

    # then all committed, and exactly 10 were paid with 10.00 of credits each
    assert len({v.id for v in views}) == 100
    assert Counter(v.credits_used for v in views) == {1000: 10, 0: 90}
    assert Counter(v.total for v in views) == {0: 10, 1000: 90}
    entries = await entries_of(customer_id)
    redeemed = [e for e in entries if e.kind == "REDEEM"]
    assert [e.delta for e in redeemed] == [-1000] * 10
    assert {e.source_id for e in redeemed} == {v.id for v in views if v.credits_used}
    assert [e.balance_after for e in redeemed] == list(range(9000, -1, -1000))
    assert await balance_of(customer_id) == sum(e.delta for e in entries) == 0
    assert await Checkout.filter(customer_id=customer_id).count() == 100


async def test_commits_at_once_use_the_daily_limit_exactly_up_to_its_value(
    runtime: Runtime,
) -> None:
    # given a regular customer: 10% off, a daily limit of 50.00
    shop = await open_shop()
    customer_id = await new_customer(shop, shop.regular_group)

    # when 20 bills of 60.00 (6.00 of discount each) are committed at once
    views = await commit_all(runtime, shop, customer_id, 20, SIXTY)

    # then 8 got 6.00, one the 2.00 left, eleven nothing: 50.00 in all
    assert group_discounts(views) == [600] * 8 + [200] + [0] * 11
    assert sum(group_discounts(views)) == 5000
    stored = await Checkout.filter(customer_id=customer_id)
    assert sum(row.group_discount for row in stored) == 5000


async def link_vip(shop: Shop) -> None:
    """VIP linked to the GoPOS group "vip": 5.00 off, a daily limit of 30.00."""
    await upsert_pos_discounts(
        shop.location_id, [MirrorDiscount("v5", "VIP", DiscountType.AMOUNT, 500, True)], SYNCED_AT
    )
    await upsert_pos_groups(
        shop.location_id, [MirrorPosGroup("g2", "VIP", "vip", 3000, ("v5",))], SYNCED_AT
    )


async def used_per_group(customer_id: UUID) -> dict[str | None, int]:
    used: dict[str | None, int] = {}
    for row in await Checkout.filter(customer_id=customer_id):
        used[row.discount_reference] = used.get(row.discount_reference, 0) + row.group_discount
    return used


async def test_commits_at_once_use_each_groups_limit_exactly_up_to_its_value(
    runtime: Runtime,
) -> None:
    # given a customer in Stały klient (10%, 50.00 a day) and VIP (5.00 off, 30.00 a day)
    shop = await open_shop()
    await link_vip(shop)
    customer_id = await new_customer(shop, shop.regular_group, shop.vip_group)

    # when 20 bills of 60.00 are committed at once
    views = await commit_all(runtime, shop, customer_id, 20, SIXTY)

    # then Stały klient's 6.00 eight times, VIP's 5.00 six times, Stały klient's last 2.00:
    # each group's discounts count against its own limit only
    assert group_discounts(views) == [600] * 8 + [500] * 6 + [200] + [0] * 5
    assert await used_per_group(customer_id) == {"staly-klient": 5000, "vip": 3000, None: 0}


async def test_one_key_sent_20_times_at_once_makes_one_checkout(runtime: Runtime) -> None:
    # given a regular customer with 20.00 of credits
    shop = await open_shop()
    customer_id = await new_customer(shop, shop.regular_group)
    await add_credits(runtime, shop, customer_id, "20.00")

    # when the same commit is sent 20 times at once
    views = await asyncio.gather(
        *(
            checkout.commit(
                runtime,
                shop.principal,
                for_customer(customer_id, ("2", "40.00"), ("1", "20.00")),
                idempotency_key="till-1-0001",
            )
            for _ in range(20)
        )
    )

    # then every answer is the one checkout, whose credits were debited once
    assert len({v.id for v in views}) == 1
    assert await Checkout.filter(location_id=shop.location_id).count() == 1
    entries = await entries_of(customer_id)
    assert [(e.kind, e.delta) for e in entries] == [
        ("ADD", 2000),
        ("REDEEM", -2000),
        ("CASHBACK", 350),
    ]
    assert await balance_of(customer_id) == 350


async def test_the_same_key_with_different_requests_at_once_makes_one_checkout(
    runtime: Runtime,
) -> None:
    shop = await open_shop()
    customer_id = await new_customer(shop, shop.regular_group)

    # when 20 commits share a key, half of them for another bill
    results = await asyncio.gather(
        *(
            checkout.commit(
                runtime,
                shop.principal,
                for_customer(customer_id, ("1", "10.00" if n % 2 else "20.00")),
                idempotency_key="shared",
            )
            for n in range(20)
        ),
        return_exceptions=True,
    )

    # then one checkout was made; the requests like it answer with it, the others are refused
    (made,) = await Checkout.filter(location_id=shop.location_id)
    views = [r for r in results if isinstance(r, CheckoutView)]
    refusals = [r for r in results if isinstance(r, DomainError)]
    assert len(views) + len(refusals) == 20
    assert len(views) == 10
    assert {v.id for v in views} == {made.id}
    assert {e.code.value for r in refusals for e in r.errors} == {"IDEMPOTENCY_KEY_REUSED"}


async def test_commits_without_the_customer_lock_are_caught_overspending_the_limit(
    postgres_only: None, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given commits that read the customer without holding it
    monkeypatch.setattr(reads, "HELD_BY_ID", reads.CUSTOMER_BY_ID)
    monkeypatch.setattr(reads, "HELD_BY_CARD", reads.CUSTOMER_BY_CARD)
    shop = await open_shop()
    # (without cashback, so that no wallet entry locks the customer row either)
    await groups.update_group(
        shop.location_id, shop.regular_group, CustomerGroupInput(cashback_percent=None)
    )
    customer_id = await new_customer(shop, shop.regular_group)

    # when 20 bills of 60.00 are committed at once
    views = await commit_all(runtime, shop, customer_id, 20, SIXTY)

    # then the limit of 50.00 is overspent: commits priced against usage that others changed
    assert sum(group_discounts(views)) > 5000, "expected the limit to be overspent"


async def test_commits_without_the_customer_lock_are_caught_overspending_a_groups_limit(
    postgres_only: None, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given commits that read the customer without holding it, for a customer in two groups
    monkeypatch.setattr(reads, "HELD_BY_ID", reads.CUSTOMER_BY_ID)
    monkeypatch.setattr(reads, "HELD_BY_CARD", reads.CUSTOMER_BY_CARD)
    shop = await open_shop()
    await link_vip(shop)
    await groups.update_group(
        shop.location_id, shop.regular_group, CustomerGroupInput(cashback_percent=None)
    )
    await groups.update_group(
        shop.location_id, shop.vip_group, CustomerGroupInput(cashback_percent=None)
    )
    customer_id = await new_customer(shop, shop.regular_group, shop.vip_group)

    # when 20 bills of 60.00 are committed at once
    await commit_all(runtime, shop, customer_id, 20, SIXTY)

    # then Stały klient's 50.00 is overspent
    used = await used_per_group(customer_id)
    assert used["staly-klient"] > 5000, "expected the group's limit to be overspent"


async def test_refunds_at_once_with_different_keys_refund_once(runtime: Runtime) -> None:
    # given a checkout that used 20.00 of credits and granted 3.50 of cashback
    shop = await open_shop()
    customer_id = await new_customer(shop, shop.regular_group)
    await add_credits(runtime, shop, customer_id, "20.00")
    sale = await checkout.commit(
        runtime,
        shop.principal,
        for_customer(customer_id, ("2", "40.00"), ("1", "20.00")),
        idempotency_key="sale",
    )

    # when it is refunded 10 times at once, each with its own key
    results = await asyncio.gather(
        *(
            checkout.refund(runtime, shop.principal, str(sale.id), idempotency_key=f"refund-{n}")
            for n in range(10)
        ),
        return_exceptions=True,
    )

    # then one refund went through and nine were ALREADY_REFUNDED
    refunded = [r for r in results if isinstance(r, checkout.Refunded)]
    refusals = [r for r in results if isinstance(r, DomainError)]
    assert [r.checkout.status for r in refunded] == ["REFUNDED"]
    assert [[(e.code.value, e.field) for e in r.errors] for r in refusals] == [
        [("ALREADY_REFUNDED", "id")]
    ] * 9
    entries = await entries_of(customer_id)
    assert [(e.kind, e.delta) for e in entries] == [
        ("ADD", 2000),
        ("REDEEM", -2000),
        ("CASHBACK", 350),
        ("REFUND", 2000),
        ("CASHBACK_REVERSAL", -350),
    ]
    assert await balance_of(customer_id) == sum(e.delta for e in entries) == 2000
