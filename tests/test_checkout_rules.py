"""The checkout services' rules, against the in-memory stores (`tests/memory/`): no database.

A quote's group discount and daily limit, a commit's idempotency, credits debited once, a
refund's reversal once, held cashback released once. The SQL behind the same rules, the
statement counts and the races are tested in the database suites (`test_checkout_service.py`,
`test_cashback.py`, `test_checkout_concurrency.py`).

The shop: a PLN location in Europe/Warsaw. The CRM group "staly-klient" (5% cashback) links to
the GoPOS group with a daily discount limit of 50.00 and 10% off, 5.00 off and a disabled 50%
off; "vip" (5% cashback) links to nothing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from domain import entities
from domain.access import Principal, Role
from domain.bill import BillInput, LineInput, SalesChannel
from domain.errors import DomainError
from domain.pricing import AppliedDiscount, CreditsSummary, DailyLimitSummary, DiscountKind
from domain.sync import ConnectionStatus, DiscountType, MirrorDiscount, MirrorPosGroup
from domain.upstream import Channel
from services import checkout
from services.checkout import CheckoutRequest
from services.runtime import Runtime
from services.sync import GroupLink, PosGroupView
from tests.english import texts
from tests.helpers import Clock
from tests.memory import Memory, memory_runtime
from tests.memory.checkouts import Links

# 11:00 in Warsaw (CET, UTC+1) on 10 March 2026.
MORNING = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
# 2 × 40.00 + 1 × 20.00 = 100.00
HUNDRED = (("2", "40.00"), ("1", "20.00"))

_DISCOUNTS = (
    MirrorDiscount("d10", "10% stałego klienta", DiscountType.PERCENT, 1000, True),
    MirrorDiscount("d5", "5 zł mniej", DiscountType.AMOUNT, 500, True),
    MirrorDiscount("d50", "Pół ceny", DiscountType.PERCENT, 5000, False),
)
_POS_GROUP = MirrorPosGroup("g1", "Stali klienci", "Staly-Klient", 5000, ("d10", "d5", "d50"))


class Shop:
    """The memory, the runtime on it, its clock, a key of the location and its two groups."""

    def __init__(self) -> None:
        self.memory = Memory()
        self.clock = Clock(MORNING)
        self.runtime: Runtime = memory_runtime(self.memory, self.clock)[0]
        location_id = self.memory.add_location()
        self.principal = Principal(location_id, uuid4(), "till", Role.ADMIN)
        self.regular = self.memory.add_group(
            location_id, [], reference="staly-klient", cashback_basis_points=500
        )
        self.vip = self.memory.add_group(
            location_id, [], reference="vip", cashback_basis_points=500
        )
        linked = PosGroupView(_POS_GROUP, False, _DISCOUNTS)
        self.memory.t.links[self.regular] = (
            GroupLink(Channel.GOPOS, ConnectionStatus.LINKED, None, pos_group=linked),
        )

    def customer(
        self,
        *groups: UUID,
        balance: int = 0,
        card: str | None = None,
        expires_on: date | None = None,
    ) -> UUID:
        (customer_id,) = self.memory.add_customers(self.principal.location_id, 1)
        row = self.memory.t.customers[customer_id]
        row.credit_balance = balance
        row.group_ids.update(groups)
        if card is not None:
            row.card_codes.add(card)
            row.cards.append(entities.Card(customer_id, card, None, expires_on))
        return customer_id

    def link_vip(self) -> None:
        """VIP linked to the GoPOS group "vip": 50.00 off, no daily limit."""
        discount = MirrorDiscount("v50", "VIP 50 zł", DiscountType.AMOUNT, 5000, True)
        group = PosGroupView(MirrorPosGroup("g2", "VIP", "vip", None, ("v50",)), False, (discount,))
        self.memory.t.links[self.vip] = (
            GroupLink(Channel.GOPOS, ConnectionStatus.LINKED, None, pos_group=group),
        )

    def entries(self, customer_id: UUID) -> list[tuple[str, int, int, int]]:
        """(kind, requested, delta, balance after) of the customer's entries, in write order."""
        return [
            (e.kind, e.requested_amount, e.delta, e.balance_after)
            for e in self.memory.t.entries.values()
            if e.customer_id == customer_id
        ]

    def balance(self, customer_id: UUID) -> int:
        return self.memory.t.customers[customer_id].credit_balance

    def written(self) -> tuple[int, int, int, int]:
        """Checkouts, refunds, wallet entries and idempotency keys."""
        t = self.memory.t
        return len(t.sales), len(t.refunds), len(t.entries), len(t.keys)


def _request(customer_id: UUID, *lines: tuple[str, str]) -> CheckoutRequest:
    return CheckoutRequest(
        BillInput(
            SalesChannel.POS,
            [LineInput(f"p{i}", Decimal(q), Decimal(price)) for i, (q, price) in enumerate(lines)],
        ),
        customer_id=str(customer_id),
    )


def _errors(error: DomainError) -> list[tuple[str, str | None]]:
    return [(e.code.value, e.field) for e in error.errors]


async def test_a_quote_prices_a_known_customers_bill_with_the_group_discount_and_daily_limit() -> (
    None
):
    shop = Shop()
    customer_id = shop.customer(shop.regular, balance=2000, card="CARD-1")

    request = CheckoutRequest(_request(customer_id, *HUNDRED).bill, card_code="CARD-1")
    result = await checkout.quote(shop.runtime, shop.principal, request)

    # the best enabled discount (10% = 10.00, over 5.00 off), then 20.00 of credits
    quote = result.quote
    assert result.customer is not None
    assert result.customer.id == customer_id
    assert result.card_code == "CARD-1"
    assert quote.discounts == (
        AppliedDiscount(
            "pos-discount:d10",
            DiscountKind.GROUP_DISCOUNT,
            "10% stałego klienta",
            1000,
            "staly-klient",
        ),
        AppliedDiscount(
            "credits", DiscountKind.PROMOTIONAL_CREDITS, "Promotional credits", 2000, None
        ),
    )
    assert (quote.subtotal, quote.discount_total, quote.total) == (10000, 3000, 7000)
    assert quote.credits == CreditsSummary(2000, 2000, 0)
    assert quote.daily_limit == DailyLimitSummary("staly-klient", 5000, 0, 5000)
    assert shop.written() == (0, 0, 0, 0)


async def test_the_daily_limit_counts_the_days_committed_group_discounts() -> None:
    shop = Shop()
    customer_id = shop.customer(shop.regular)
    await checkout.commit(
        shop.runtime, shop.principal, _request(customer_id, *HUNDRED), idempotency_key="s-1"
    )
    # 45.00 of the 50.00 used: a 10% discount on 100.00 is capped at the 5.00 left
    await checkout.commit(
        shop.runtime,
        shop.principal,
        _request(customer_id, ("1", "350.00")),
        idempotency_key="s-2",
    )

    result = await checkout.quote(shop.runtime, shop.principal, _request(customer_id, *HUNDRED))

    assert result.quote.daily_limit == DailyLimitSummary("staly-klient", 5000, 4500, 500)
    assert [
        (d.id, d.amount) for d in result.quote.discounts if d.kind is DiscountKind.GROUP_DISCOUNT
    ] == [("pos-discount:d10", 500)]
    assert texts(result.quote.messages) == (
        "Group discount capped at 5.00: daily discount limit 50.00, 45.00 used today.",
    )
    # and the offers were read from the mirror once: the cache held them since
    links = shop.runtime.stores.links
    assert isinstance(links, Links)
    assert links.reads == 1


async def test_a_commit_with_the_same_key_returns_the_first_sale_and_writes_nothing_more() -> None:
    shop = Shop()
    customer_id = shop.customer(shop.regular, balance=2000)
    first = await checkout.commit(
        shop.runtime, shop.principal, _request(customer_id, *HUNDRED), idempotency_key="s-1"
    )
    before = shop.written()

    shop.clock.now = MORNING + timedelta(minutes=5)
    again = await checkout.commit(
        shop.runtime, shop.principal, _request(customer_id, *HUNDRED), idempotency_key="s-1"
    )

    assert again == first
    assert before == shop.written() == (1, 0, 2, 1)


async def test_the_same_key_with_another_bill_is_refused_and_writes_nothing() -> None:
    shop = Shop()
    customer_id = shop.customer(shop.regular, balance=2000)
    await checkout.commit(
        shop.runtime, shop.principal, _request(customer_id, *HUNDRED), idempotency_key="s-1"
    )
    before = shop.written()

    with pytest.raises(DomainError) as refused:
        await checkout.commit(
            shop.runtime,
            shop.principal,
            _request(customer_id, ("1", "99.00")),
            idempotency_key="s-1",
        )

    assert _errors(refused.value) == [("IDEMPOTENCY_KEY_REUSED", "idempotencyKey")]
    assert shop.written() == before


async def test_credits_used_are_debited_once_and_the_cashback_granted_on_what_is_paid() -> None:
    shop = Shop()
    customer_id = shop.customer(shop.regular, balance=2000)

    sale = await checkout.commit(
        shop.runtime, shop.principal, _request(customer_id, *HUNDRED), idempotency_key="s-1"
    )
    await checkout.commit(
        shop.runtime, shop.principal, _request(customer_id, *HUNDRED), idempotency_key="s-1"
    )

    assert (sale.total, sale.credits_used, sale.cashback_granted) == (7000, 2000, 350)
    assert shop.entries(customer_id) == [
        ("REDEEM", 2000, -2000, 0),
        ("CASHBACK", 350, 350, 350),
    ]
    assert shop.balance(customer_id) == 350


async def test_a_refund_gives_the_credits_back_and_reverses_the_cashback_once() -> None:
    # given 20.00 of credits used on 120.00, so 5.00 of cashback on the 100.00 paid, spent since
    shop = Shop()
    customer_id = shop.customer(shop.vip, balance=2000)
    sale = await checkout.commit(
        shop.runtime, shop.principal, _request(customer_id, ("1", "120.00")), idempotency_key="s-1"
    )
    assert (sale.credits_used, sale.total, sale.cashback_granted) == (2000, 10000, 500)
    shop.memory.t.customers[customer_id].credit_balance = 0

    refunded = await checkout.refund(
        shop.runtime, shop.principal, str(sale.id), idempotency_key="r-1"
    )

    assert refunded.checkout.status == "REFUNDED"
    assert refunded.checkout.refunded_at == MORNING
    assert (
        refunded.refund.credits_returned,
        refunded.refund.cashback_reversed,
        refunded.refund.cashback_owed,
    ) == (2000, 500, 0)
    assert shop.entries(customer_id)[-2:] == [
        ("REFUND", 2000, 2000, 2000),
        ("CASHBACK_REVERSAL", 500, -500, 1500),
    ]
    assert shop.balance(customer_id) == 1500
    after = shop.written()

    # a second refund is ALREADY_REFUNDED; the first one's key replays it
    with pytest.raises(DomainError) as refused:
        await checkout.refund(shop.runtime, shop.principal, str(sale.id), idempotency_key="r-2")
    replayed = await checkout.refund(
        shop.runtime, shop.principal, str(sale.id), idempotency_key="r-1"
    )

    assert _errors(refused.value) == [("ALREADY_REFUNDED", "id")]
    assert replayed == refunded
    assert shop.written() == after
    assert shop.balance(customer_id) == 1500


async def test_held_cashback_is_released_once_when_its_hold_ends() -> None:
    shop = Shop()
    group = shop.memory.add_group(
        shop.principal.location_id,
        [],
        reference="held",
        cashback_basis_points=500,
        cashback_hold_days=14,
    )
    customer_id = shop.customer(group)
    sale = await checkout.commit(
        shop.runtime, shop.principal, _request(customer_id, ("1", "100.00")), idempotency_key="s-1"
    )
    customer = shop.memory.t.customers[customer_id]
    assert (sale.cashback_granted, customer.cashback_held, shop.balance(customer_id)) == (
        500,
        500,
        0,
    )
    assert shop.entries(customer_id) == []

    # not before the hold ends
    shop.clock.now = MORNING + timedelta(days=14) - timedelta(seconds=1)
    assert await checkout.release_held_cashback(shop.runtime) == 0

    shop.clock.now = MORNING + timedelta(days=14)
    released = await checkout.release_held_cashback(shop.runtime)
    again = await checkout.release_held_cashback(shop.runtime)

    assert (released, again) == (1, 0)
    assert shop.entries(customer_id) == [("CASHBACK_RELEASE", 500, 500, 500)]
    assert (customer.cashback_held, shop.balance(customer_id)) == (0, 500)


async def test_an_expired_card_is_refused_at_quote_and_commit_and_nothing_is_written() -> None:
    shop = Shop()
    shop.customer(shop.regular, balance=2000, card="OLD-1", expires_on=date(2026, 3, 9))
    shop.customer(shop.regular, card="TODAY-1", expires_on=date(2026, 3, 10))
    request = CheckoutRequest(_request(uuid4(), *HUNDRED).bill, card_code="OLD-1")

    with pytest.raises(DomainError) as quoted:
        await checkout.quote(shop.runtime, shop.principal, request)
    with pytest.raises(DomainError) as committed:
        await checkout.commit(shop.runtime, shop.principal, request, idempotency_key="s-1")
    last_day = await checkout.quote(
        shop.runtime, shop.principal, replace(request, card_code="TODAY-1")
    )

    assert _errors(quoted.value) == _errors(committed.value) == [("CARD_EXPIRED", "input.cardCode")]
    assert shop.written() == (0, 0, 0, 0)
    assert last_day.quote.total == 9000


async def test_a_groups_daily_limit_counts_only_what_was_granted_through_it() -> None:
    # given a customer in VIP (50.00 off, no limit) and Stały klient (10%, 50.00 a day)
    shop = Shop()
    shop.link_vip()
    customer_id = shop.customer(shop.regular, shop.vip)

    # when two bills of 100.00 are sold through VIP
    for key in ("s-1", "s-2"):
        await checkout.commit(
            shop.runtime, shop.principal, _request(customer_id, *HUNDRED), idempotency_key=key
        )
    result = await checkout.quote(shop.runtime, shop.principal, _request(customer_id, *HUNDRED))

    # then Stały klient's limit is untouched by them
    regular = DailyLimitSummary("staly-klient", 5000, 0, 5000)
    group = DiscountKind.GROUP_DISCOUNT
    offered = [(d.id, d.reference) for d in result.quote.discounts if d.kind is group]
    assert offered == [("pos-discount:v50", "vip")]
    assert result.quote.daily_limits == (regular,)
    assert [s.row.discount_reference for s in shop.memory.t.sales.values()] == ["vip", "vip"]


async def test_credits_are_off_on_the_channels_the_location_left_out() -> None:
    shop = Shop()
    location_id = shop.principal.location_id
    location = shop.memory.t.locations[location_id]
    shop.memory.t.locations[location_id] = replace(location, credit_channels=(SalesChannel.POS,))
    customer_id = shop.customer(shop.vip, balance=2000)
    kiosk = _request(customer_id, ("1", "30.00"))
    kiosk = replace(kiosk, bill=replace(kiosk.bill, channel=SalesChannel.KIOSK))

    at_kiosk = await checkout.commit(shop.runtime, shop.principal, kiosk, idempotency_key="k-1")
    till = _request(customer_id, ("1", "30.00"))
    at_till = await checkout.quote(shop.runtime, shop.principal, till)

    # the kiosk sale used no credits (and earned 5% cashback); the till still may
    assert (at_kiosk.credits_used, at_kiosk.total) == (0, 3000)
    assert shop.balance(customer_id) == 2000 + 150
    assert at_till.quote.credits_used == 2150
