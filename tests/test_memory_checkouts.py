"""The in-memory till stores (`tests/memory/checkouts.py`) against the SQL ones, on both
databases: the same sales, quotes, releases and refunds of the same customer give the same
answers and leave the same wallet and entries. `test_checkout_rules.py` leans on the
in-memory stores; this keeps them honest."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from uuid import UUID

from domain import entities
from domain.checkouts import CheckoutView, RefundView
from domain.errors import DomainError
from domain.refunds import RefundLineInput
from domain.requests import CustomerGroupInput
from models.tables.crm import Customer
from models.tables.wallet import WalletEntry
from services import checkout, groups
from services.runtime import Runtime
from tests.helpers import Clock
from tests.memory import Memory, memory_runtime
from tests.memory.tables import Customer as MemoryCustomer
from tests.memory.tables import Lot as MemoryLot
from tests.test_checkout_service import (
    HUNDRED,
    MORNING,
    add_credits,
    for_customer,
    new_customer,
    open_shop,
)

Wallet = tuple[int, int, int]
EntryRow = tuple[str, int, int, int]


async def _sql_state(customer_id: UUID) -> tuple[Wallet, list[EntryRow]]:
    row = await Customer.get(id=customer_id)
    entries = await WalletEntry.filter(customer_id=customer_id).order_by("id")
    return (
        (row.credit_balance, row.cashback_held, row.cashback_owed),
        [(e.kind, e.requested_amount, e.delta, e.balance_after) for e in entries],
    )


def _memory_state(memory: Memory, customer_id: UUID) -> tuple[Wallet, list[EntryRow]]:
    row = memory.t.customers[customer_id]
    return (
        (row.credit_balance, row.cashback_held, row.cashback_owed),
        [
            (e.kind, e.requested_amount, e.delta, e.balance_after)
            for e in memory.t.entries.values()
            if e.customer_id == customer_id
        ],
    )


def _same(view: CheckoutView) -> CheckoutView:
    """A checkout but for its id, which each store draws anew."""
    return replace(view, id=UUID(int=0))


def _refund(refunded: checkout.Refunded) -> tuple[CheckoutView, RefundView]:
    """A refund and its checkout but for their ids."""
    nil = UUID(int=0)
    return _same(refunded.checkout), replace(refunded.refund, id=nil, checkout_id=nil)


def _twin_location_and_lot(memory: Memory, location_id: UUID, customer_id: UUID) -> None:
    """The location, and the lot the 20.00 of credits the SQL twin was given is made of."""
    memory.t.locations[location_id] = entities.Location(
        location_id, "Till Twins", "PLN", "Europe/Warsaw"
    )
    memory.t.lots[1] = MemoryLot(
        1, location_id, customer_id, 0, "MANUAL", 2000, 2000, None, MORNING
    )


async def test_sales_a_release_and_refunds_answer_and_write_alike(
    runtime: Runtime, clock: Clock
) -> None:
    # given one customer, in SQL and in memory: 20.00 of credits, a group with 5% cashback held
    # a day and linked to nothing
    clock.now = MORNING
    shop = await open_shop("Till Twins")
    group = await groups.create_group(
        shop.location_id,
        CustomerGroupInput(name="Held", cashback_percent=Decimal("5"), cashback_hold_days=1),
    )
    customer_id = await new_customer(shop, str(group.id))
    await add_credits(runtime, shop, customer_id, "20.00")
    memory = Memory()
    twin, _ = memory_runtime(memory, clock)
    memory.t.group_rows[group.id] = group
    memory.t.customers[customer_id] = MemoryCustomer(
        shop.location_id, customer_id, credit_balance=2000, group_ids={group.id}
    )
    _twin_location_and_lot(memory, shop.location_id, customer_id)
    sql_before = (await _sql_state(customer_id))[1]

    answers: dict[str, list[object]] = {"sql": [], "memory": []}
    for name, built in (("sql", runtime), ("memory", twin)):
        said = answers[name]
        clock.now = MORNING
        first = await checkout.commit(
            built, shop.principal, for_customer(customer_id, *HUNDRED), idempotency_key="s-1"
        )
        clock.now = MORNING + timedelta(seconds=1)  # released after the first
        second = await checkout.commit(
            built, shop.principal, for_customer(customer_id, ("1", "30.00")), idempotency_key="s-2"
        )
        said += [_same(first), _same(second)]
        quoted = await checkout.quote(built, shop.principal, for_customer(customer_id, *HUNDRED))
        said.append(quoted.quote)
        clock.now = MORNING + timedelta(days=1, seconds=1)
        said.append(await checkout.release_held_cashback(built))
        for sale, key in ((first, "r-1"), (second, "r-2")):
            refunded = await checkout.refund(
                built, shop.principal, str(sale.id), idempotency_key=key
            )
            said.append(_refund(refunded))

    assert answers["sql"] == answers["memory"]
    in_sql = await _sql_state(customer_id)
    assert in_sql[0] == _memory_state(memory, customer_id)[0]
    assert in_sql[1][len(sql_before) :] == _memory_state(memory, customer_id)[1]
    assert _memory_state(memory, customer_id) == (
        (2000, 0, 0),
        [
            ("REDEEM", 2000, -2000, 0),
            ("CASHBACK_RELEASE", 400, 400, 400),
            ("CASHBACK_RELEASE", 150, 150, 550),
            ("REFUND", 2000, 2000, 2550),
            ("CASHBACK_REVERSAL", 400, -400, 2150),
            ("CASHBACK_REVERSAL", 150, -150, 2000),
        ],
    )


async def test_partial_refunds_answer_and_write_alike(runtime: Runtime, clock: Clock) -> None:
    # given one customer, in SQL and in memory: 20.00 of credits, 5% cashback held a day
    clock.now = MORNING
    shop = await open_shop("Till Twins Partly")
    group = await groups.create_group(
        shop.location_id,
        CustomerGroupInput(name="Held", cashback_percent=Decimal("5"), cashback_hold_days=1),
    )
    customer_id = await new_customer(shop, str(group.id))
    await add_credits(runtime, shop, customer_id, "20.00")
    memory = Memory()
    twin, _ = memory_runtime(memory, clock)
    memory.t.group_rows[group.id] = group
    memory.t.customers[customer_id] = MemoryCustomer(
        shop.location_id, customer_id, credit_balance=2000, group_ids={group.id}
    )
    _twin_location_and_lot(memory, shop.location_id, customer_id)
    sql_before = (await _sql_state(customer_id))[1]

    # when each sells 100.00, refunds 1 unit of 40.00 inside the hold, releases the rest,
    # refunds half a unit, then all that is left, then tries once more
    answers: dict[str, list[object]] = {"sql": [], "memory": []}
    for name, built in (("sql", runtime), ("memory", twin)):
        said = answers[name]
        clock.now = MORNING
        sale = await checkout.commit(
            built, shop.principal, for_customer(customer_id, *HUNDRED), idempotency_key="s-1"
        )
        said.append(_same(sale))
        steps = (("r-1", "1"), ("r-2", "0.5"), ("r-3", None), ("r-4", None))
        for key, quantity in steps:
            named = None if quantity is None else [RefundLineInput(0, Decimal(quantity))]
            try:
                refunded = await checkout.refund(
                    built, shop.principal, str(sale.id), idempotency_key=key, lines=named
                )
            except DomainError as error:
                said.append([e.message_id for e in error.errors])
            else:
                said.append(_refund(refunded))
            if key == "r-1":
                clock.now = MORNING + timedelta(days=1)
                said.append(await checkout.release_held_cashback(built))

    # then both answer and write alike
    assert answers["sql"] == answers["memory"]
    assert answers["sql"][-1] == ["checkout.already_refunded"]
    in_sql = await _sql_state(customer_id)
    assert in_sql[0] == _memory_state(memory, customer_id)[0]
    assert in_sql[1][len(sql_before) :] == _memory_state(memory, customer_id)[1]
    assert _memory_state(memory, customer_id) == (
        (2000, 0, 0),
        [
            ("REDEEM", 2000, -2000, 0),
            ("REFUND", 800, 800, 800),
            ("CASHBACK_RELEASE", 240, 240, 1040),
            ("REFUND", 400, 400, 1440),
            ("CASHBACK_REVERSAL", 80, -80, 1360),
            ("REFUND", 800, 800, 2160),
            ("CASHBACK_REVERSAL", 160, -160, 2000),
        ],
    )
