"""Cashback that is held, released, reversed and owed, on SQLite and PostgreSQL.

The rule: after any sequence of commits and refunds, a customer never holds more credits than
if the refunded sales had never happened, and no amount is silently lost. A reversal the balance
cannot cover is owed, and netted against the customer's next incoming credits (refunded
credits, cashback, released cashback, ADD) with a CLAWBACK entry; SET and REDUCE leave it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from uuid import UUID

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from domain.requests import CreditRequest, CustomerGroupInput, Target
from domain.schedule import Recurrence, RecurrenceUnit
from models.tables.checkouts import Checkout
from models.tables.crm import Customer
from services import checkout, customers, groups, schedules, wallet
from services.runtime import Runtime
from tests.helpers import Clock
from tests.test_checkout_service import (
    MORNING,
    Shop,
    add_credits,
    balance_of,
    entries_of,
    for_customer,
    new_customer,
    open_shop,
)


@dataclass(frozen=True)
class Wallet:
    balance: int
    held: int
    owed: int


async def wallet_of(customer_id: UUID) -> Wallet:
    row = await Customer.get(id=customer_id)
    return Wallet(row.credit_balance, row.cashback_held, row.cashback_owed)


async def cashback_group(shop: Shop, percent: str, hold_days: int = 0) -> str:
    created = await groups.create_group(
        shop.location_id,
        CustomerGroupInput(
            name=f"Cashback {percent} {hold_days}",
            cashback_percent=Decimal(percent),
            cashback_hold_days=hold_days,
        ),
    )
    return str(created.id)


def kinds(entries: list[object]) -> list[tuple[str, int, int, int]]:
    return [(e.kind, e.requested, e.delta, e.balance_after) for e in entries]  # type: ignore[attr-defined]


async def sell(runtime: Runtime, shop: Shop, customer_id: UUID, amount: str, key: str) -> UUID:
    sale = await checkout.commit(
        runtime, shop.principal, for_customer(customer_id, ("1", amount)), idempotency_key=key
    )
    return sale.id


async def refund(runtime: Runtime, shop: Shop, sale: UUID, key: str) -> checkout.RefundView:
    done = await checkout.refund(runtime, shop.principal, str(sale), idempotency_key=key)
    return done.refund


@pytest.fixture
async def shop(runtime: Runtime, clock: Clock) -> Shop:
    clock.now = MORNING
    return await open_shop("Bistro Cashback")


# ------------------------------------------------------------------------ owed cashback


async def test_cashback_refunded_after_it_was_spent_is_owed_not_kept(
    runtime: Runtime, shop: Shop
) -> None:
    # given a customer in a group with 10% cashback and a balance of 0
    customer_id = await new_customer(shop, await cashback_group(shop, "10"))

    # when a bill of 100.00 earns 10.00 of cashback, a bill of 10.00 is paid with it,
    first = await sell(runtime, shop, customer_id, "100.00", "s-1")
    second = await sell(runtime, shop, customer_id, "10.00", "s-2")
    # and the first bill is refunded, then the second
    refunded_first = await refund(runtime, shop, first, "r-1")
    owed_between = await wallet_of(customer_id)
    refunded_second = await refund(runtime, shop, second, "r-2")

    # then the reversal the balance could not cover was owed, and the credits that came back
    # paid it off: the customer holds nothing, as if neither sale had happened
    assert (refunded_first.cashback_reversed, refunded_first.cashback_owed) == (0, 1000)
    assert owed_between == Wallet(balance=0, held=0, owed=1000)
    assert (refunded_second.credits_returned, refunded_second.cashback_owed) == (1000, 0)
    assert await wallet_of(customer_id) == Wallet(balance=0, held=0, owed=0)
    entries = await entries_of(customer_id)
    assert kinds(entries) == [
        ("CASHBACK", 1000, 1000, 1000),
        ("REDEEM", 1000, -1000, 0),
        ("CASHBACK_REVERSAL", 1000, 0, 0),
        ("REFUND", 1000, 1000, 1000),
        ("CLAWBACK", 1000, -1000, 0),
    ]
    assert [e.source_id for e in entries] == [first, second, first, second, second]


async def test_owed_cashback_is_netted_against_an_add_and_a_set_leaves_it(
    runtime: Runtime, shop: Shop
) -> None:
    # given 10.00 owed
    customer_id = await new_customer(shop, await cashback_group(shop, "10"))
    sale = await sell(runtime, shop, customer_id, "100.00", "s-1")
    await add_credits(runtime, shop, customer_id, "10.00", "REDUCE")
    await refund(runtime, shop, sale, "r-1")
    assert await wallet_of(customer_id) == Wallet(0, 0, 1000)

    # when 4.00 is added: all of it pays off what is owed
    await add_credits(runtime, shop, customer_id, "4.00")
    after_small = await wallet_of(customer_id)
    # when 25.00 is added: 6.00 pays off the rest, 19.00 is spendable
    await add_credits(runtime, shop, customer_id, "25.00")
    after_add = await wallet_of(customer_id)
    # a SET states the balance the manager wants and leaves what is owed as it is
    await add_credits(runtime, shop, customer_id, "100.00", "REDUCE")
    later = await sell(runtime, shop, customer_id, "50.00", "s-2")  # 5.00 of cashback
    await add_credits(runtime, shop, customer_id, "5.00", "REDUCE")
    await refund(runtime, shop, later, "r-2")
    before_set = await wallet_of(customer_id)
    await add_credits(runtime, shop, customer_id, "30.00", "SET")

    assert after_small == Wallet(0, 0, 600)
    assert after_add == Wallet(1900, 0, 0)
    assert before_set == Wallet(0, 0, 500)
    assert await wallet_of(customer_id) == Wallet(3000, 0, 500)
    entries = await entries_of(customer_id)
    assert kinds(entries[3:7]) == [
        ("ADD", 400, 400, 400),
        ("CLAWBACK", 400, -400, 0),
        ("ADD", 2500, 2500, 2500),
        ("CLAWBACK", 600, -600, 1900),
    ]
    assert kinds(entries[-1:]) == [("SET", 3000, 3000, 3000)]
    assert await balance_of(customer_id) == sum(e.delta for e in entries)


async def test_a_bulk_add_nets_each_customers_own_debt(runtime: Runtime, shop: Shop) -> None:
    # given three customers owing 0, 3.00 and 10.00
    group = await cashback_group(shop, "10")
    owing = []
    for number, spent in enumerate(("0", "3.00", "10.00")):
        customer_id = await new_customer(shop, group, name=f"C{number}")
        sale = await sell(runtime, shop, customer_id, "100.00", f"s-{number}")
        if spent != "0":
            await add_credits(runtime, shop, customer_id, spent, "REDUCE")
        await refund(runtime, shop, sale, f"r-{number}")
        owing.append(customer_id)
    assert [await wallet_of(c) for c in owing] == [
        Wallet(0, 0, 0),
        Wallet(0, 0, 300),
        Wallet(0, 0, 1000),
    ]

    # when 5.00 is added to all three in one operation
    await wallet.apply_once(
        runtime,
        shop.principal,
        CreditRequest(Target(customer_ids=tuple(map(str, owing))), "ADD", Decimal("5.00")),
    )

    # then each pays off what it owes first
    assert [await wallet_of(c) for c in owing] == [
        Wallet(500, 0, 0),
        Wallet(200, 0, 0),
        Wallet(0, 0, 500),
    ]


async def test_a_scheduled_top_up_is_netted_against_what_is_owed(
    runtime: Runtime, shop: Shop
) -> None:
    # given 10.00 owed
    customer_id = await new_customer(shop, await cashback_group(shop, "10"))
    sale = await sell(runtime, shop, customer_id, "100.00", "s-1")
    await add_credits(runtime, shop, customer_id, "10.00", "REDUCE")
    await refund(runtime, shop, sale, "r-1")

    # when a monthly top-up of 25.00 starting today is created (its first period runs at once)
    schedule = await schedules.create_schedule(
        runtime,
        shop.principal,
        CreditRequest(
            Target(customer_ids=(str(customer_id),)),
            "ADD",
            Decimal("25.00"),
            recurrence=Recurrence(1, RecurrenceUnit.MONTH, MORNING.date()),
        ),
    )
    await runtime.dispatcher.drain()  # type: ignore[attr-defined]

    # then the top-up pays off the 10.00 first
    assert await wallet_of(customer_id) == Wallet(1500, 0, 0)
    entries = await entries_of(customer_id)
    assert kinds(entries[-2:]) == [("ADD", 2500, 2500, 2500), ("CLAWBACK", 1000, -1000, 1500)]
    assert {(e.source, e.source_id) for e in entries[-2:]} == {("SCHEDULE", schedule.id)}


async def test_cashback_is_netted_against_what_is_owed(runtime: Runtime, shop: Shop) -> None:
    # given 10.00 owed
    customer_id = await new_customer(shop, await cashback_group(shop, "10"))
    sale = await sell(runtime, shop, customer_id, "100.00", "s-1")
    await add_credits(runtime, shop, customer_id, "10.00", "REDUCE")
    await refund(runtime, shop, sale, "r-1")

    # when a bill of 30.00 earns 3.00 of cashback
    await sell(runtime, shop, customer_id, "30.00", "s-2")

    # then the cashback pays off 3.00 of the debt
    assert await wallet_of(customer_id) == Wallet(0, 0, 700)
    assert kinds((await entries_of(customer_id))[-2:]) == [
        ("CASHBACK", 300, 300, 300),
        ("CLAWBACK", 300, -300, 0),
    ]


# ------------------------------------------------------------------------ held cashback


async def test_held_cashback_is_shown_not_spendable_and_released_once(
    runtime: Runtime, shop: Shop, clock: Clock
) -> None:
    # given a group that holds its 10% cashback for 7 days
    customer_id = await new_customer(shop, await cashback_group(shop, "10", hold_days=7))

    # when a bill of 100.00 is committed
    sale = await sell(runtime, shop, customer_id, "100.00", "s-1")

    # then 10.00 is held: no wallet entry, nothing to spend at the till
    assert await wallet_of(customer_id) == Wallet(0, 1000, 0)
    assert await entries_of(customer_id) == []
    quoted = await checkout.quote(runtime, shop.principal, for_customer(customer_id, ("1", "5")))
    assert quoted.quote.credits_used == 0
    assert quoted.customer is not None
    assert quoted.customer.cashback_held == 1000
    row = await Checkout.get(id=sale)
    assert (row.cashback_granted, row.cashback_held) == (1000, 1000)
    assert row.cashback_release_at == MORNING + timedelta(days=7)

    # and before the hold ends nothing is released; at its end, once
    clock.now = MORNING + timedelta(days=7, seconds=-1)
    assert await checkout.release_held_cashback(runtime) == 0
    clock.now = MORNING + timedelta(days=7)
    assert await checkout.release_held_cashback(runtime) == 1
    assert await checkout.release_held_cashback(runtime) == 0

    assert await wallet_of(customer_id) == Wallet(1000, 0, 0)
    entries = await entries_of(customer_id)
    assert kinds(entries) == [("CASHBACK_RELEASE", 1000, 1000, 1000)]
    assert (entries[0].source, entries[0].source_id) == ("CHECKOUT", sale)
    assert (await Checkout.get(id=sale)).cashback_held == 0


async def test_a_refund_inside_the_hold_simply_cancels_it(
    runtime: Runtime, shop: Shop, clock: Clock
) -> None:
    customer_id = await new_customer(shop, await cashback_group(shop, "10", hold_days=7))
    sale = await sell(runtime, shop, customer_id, "100.00", "s-1")

    refunded = await refund(runtime, shop, sale, "r-1")
    clock.now = MORNING + timedelta(days=8)
    released = await checkout.release_held_cashback(runtime)

    assert (refunded.cashback_reversed, refunded.cashback_owed) == (1000, 0)
    assert released == 0
    assert await wallet_of(customer_id) == Wallet(0, 0, 0)
    assert await entries_of(customer_id) == []


async def test_released_cashback_is_netted_and_reversed_like_any_cashback(
    runtime: Runtime, shop: Shop, clock: Clock
) -> None:
    # given 4.00 owed, and a held sale earning 10.00
    held_group = await cashback_group(shop, "10", hold_days=3)
    customer_id = await new_customer(shop, held_group)
    owing = await sell(runtime, shop, customer_id, "40.00", "s-0")  # held 4.00
    clock.now = MORNING + timedelta(days=3)
    await checkout.release_held_cashback(runtime)
    await add_credits(runtime, shop, customer_id, "4.00", "REDUCE")
    await refund(runtime, shop, owing, "r-0")
    assert await wallet_of(customer_id) == Wallet(0, 0, 400)
    sale = await sell(runtime, shop, customer_id, "100.00", "s-1")

    # when the hold ends: the release pays off the 4.00 first
    clock.now += timedelta(days=3)
    await checkout.release_held_cashback(runtime)
    released = await wallet_of(customer_id)
    # and when the sale is refunded after 2.00 of it was spent
    await add_credits(runtime, shop, customer_id, "2.00", "REDUCE")
    refunded = await refund(runtime, shop, sale, "r-1")

    assert released == Wallet(600, 0, 0)
    assert (refunded.cashback_reversed, refunded.cashback_owed) == (400, 600)
    assert await wallet_of(customer_id) == Wallet(0, 0, 600)
    assert kinds((await entries_of(customer_id))[-4:]) == [
        ("CASHBACK_RELEASE", 1000, 1000, 1000),
        ("CLAWBACK", 400, -400, 600),
        ("REDUCE", 200, -200, 400),
        ("CASHBACK_REVERSAL", 1000, -400, 0),
    ]


async def test_a_deleted_customers_hold_ends_without_a_release(
    runtime: Runtime, shop: Shop, clock: Clock
) -> None:
    customer_id = await new_customer(shop, await cashback_group(shop, "10", hold_days=1))
    sale = await sell(runtime, shop, customer_id, "100.00", "s-1")
    await customers.delete_customer(shop.location_id, str(customer_id))

    clock.now = MORNING + timedelta(days=1)
    assert await checkout.release_held_cashback(runtime) == 0

    assert (await Checkout.get(id=sale)).cashback_held == 0
    assert (await wallet_of(customer_id)).held == 0
    assert await entries_of(customer_id) == []


async def test_release_and_refund_of_one_sale_at_once_settle_it_exactly_once(
    runtime: Runtime, shop: Shop, clock: Clock, postgres_only: None
) -> None:
    # given ten held sales whose hold has ended
    group = await cashback_group(shop, "10", hold_days=1)
    sales = []
    for number in range(10):
        customer_id = await new_customer(shop, group, name=f"C{number}")
        sales.append((customer_id, await sell(runtime, shop, customer_id, "100.00", f"s-{number}")))
    clock.now = MORNING + timedelta(days=1)

    # when each is refunded while the release runs
    await asyncio.gather(
        checkout.release_held_cashback(runtime),
        *(refund(runtime, shop, sale, f"r-{n}") for n, (_, sale) in enumerate(sales)),
    )

    # then each customer ends where no sale happened: released and reversed, or cancelled
    for customer_id, sale in sales:
        assert await wallet_of(customer_id) == Wallet(0, 0, 0)
        entries = await entries_of(customer_id)
        assert [e.kind for e in entries] in ([], ["CASHBACK_RELEASE", "CASHBACK_REVERSAL"])
        assert sum(e.delta for e in entries) == 0
        assert (await Checkout.get(id=sale)).cashback_held == 0


# ------------------------------------------------------------------ the rule, as a property


@dataclass(frozen=True)
class Sell:
    amount: int  # minor units
    use_credits: bool


@dataclass(frozen=True)
class Refund:
    sale: int  # which of the sales so far (modulo their number)


@dataclass(frozen=True)
class Add:
    amount: int


@dataclass(frozen=True)
class Wait:
    days: int  # then held cashback whose hold has ended is released


Step = Sell | Refund | Add | Wait

STEPS = st.lists(
    st.one_of(
        st.builds(Sell, st.integers(1, 20_000), st.booleans()),
        st.builds(Refund, st.integers(0, 20)),
        st.builds(Refund, st.integers(0, 20)),
        st.builds(Add, st.integers(1, 5_000)),
        st.builds(Wait, st.integers(0, 3)),
    ),
    max_size=14,
)


ROUNDS = iter(range(1, 10**6))


@pytest.mark.parametrize(("percent", "hold_days"), [("10", 0), ("100", 0), ("50", 2)])
@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=STEPS)
# the attack: cashback spent on a second sale, then both sales refunded
@example(steps=[Sell(10_000, True), Sell(1_000, True), Refund(0), Refund(1)])
# the same with the hold over before the second sale
@example(steps=[Sell(10_000, True), Wait(3), Sell(1_000, True), Refund(0), Refund(1)])
async def test_a_customer_never_holds_more_than_if_the_refunded_sales_never_happened(
    runtime: Runtime, shop: Shop, clock: Clock, percent: str, hold_days: int, steps: list[Step]
) -> None:
    # each example: a new customer, at a day of its own, so that holds never mix
    start = MORNING + timedelta(days=100 * next(ROUNDS))
    clock.now = start
    group = await _group(shop, percent, hold_days)
    customer_id = await new_customer(shop, group)
    sales: list[UUID] = []
    refunded: set[int] = set()
    added = 0
    for number, step in enumerate(steps):
        key = f"{customer_id}-{number}"
        if isinstance(step, Sell):
            request = for_customer(customer_id, ("1", str(Decimal(step.amount) / 100)))
            request = replace(request, bill=replace(request.bill, use_credits=step.use_credits))
            made = await checkout.commit(runtime, shop.principal, request, idempotency_key=key)
            sales.append(made.id)
        elif isinstance(step, Refund) and sales:
            index = step.sale % len(sales)
            if index not in refunded:
                await refund(runtime, shop, sales[index], key)
                refunded.add(index)
        elif isinstance(step, Add):
            await add_credits(runtime, shop, customer_id, str(Decimal(step.amount) / 100))
            added += step.amount
        elif isinstance(step, Wait):
            clock.now += timedelta(days=step.days)
            await checkout.release_held_cashback(runtime)

    now = await wallet_of(customer_id)
    rows = {row.id: row for row in await Checkout.filter(id__in=sales)}
    kept = [rows[s] for n, s in enumerate(sales) if n not in refunded]
    entries = await entries_of(customer_id)
    # what the customer would hold if the refunded sales had never happened: what was added,
    # and what the kept sales earned less what they spent, exactly as they were sold (a sale
    # paid in cash because a refunded sale had taken the credits is not priced again)
    without_refunded = added + sum(sale.cashback_granted - sale.credits_used for sale in kept)
    # never more to spend than that; and nothing lost: spendable and held less owed is exactly
    # that, so what is owed is only ever what the customer spent of refunded cashback
    assert now.balance <= max(without_refunded, 0)
    assert now.balance + now.held - now.owed == without_refunded
    assert now.owed == 0 or now.balance == 0
    assert now.balance == sum(e.delta for e in entries)
    assert now.held == sum(rows[s].cashback_held for s in sales)
    assert min(now.balance, now.held, now.owed) >= 0


async def _group(shop: Shop, percent: str, hold_days: int) -> str:
    found = await groups.list_groups(shop.location_id)
    for group in found:
        if group.name == f"Cashback {percent} {hold_days}":
            return str(group.id)
    return await cashback_group(shop, percent, hold_days)
