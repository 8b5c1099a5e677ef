"""Checkout use cases on SQLite and PostgreSQL: quote, commit, refund and the history.

The shop: a PLN location in Europe/Warsaw whose synced mirror (rows written as a sync writes
them, with a succeeded run per channel) has the GoPOS group "staly-klient" (daily discount
limit 50.00; 10% off, 5.00 off, and a disabled 50% off) and the GoOrder promotion
"staly-klient" (15% off from a basket of 100.00). The CRM group "Stały klient" links to both
and grants 5% cashback; "VIP" links to nothing and grants 5% cashback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID, uuid4

import pytest
from tortoise import connections

from domain.access import Principal
from domain.bill import BillInput, LineInput, SalesChannel
from domain.errors import DomainError
from domain.pricing import (
    AppliedDiscount,
    CreditsSummary,
    DailyLimitSummary,
    DiscountKind,
    QuoteLine,
)
from domain.requests import CardInput, CreditRequest, CustomerGroupInput, CustomerInput, Target
from domain.sync import DiscountType, MirrorDiscount, MirrorPosGroup, MirrorPromotion, PromotionType
from models import checkouts, keys, reads
from models.mirror import upsert_pos_discounts, upsert_pos_groups, upsert_promotions
from models.tables.checkouts import Checkout
from models.tables.crm import Customer, IdempotencyKey
from models.tables.integrations import SyncRun
from models.tables.wallet import WalletEntry
from services import access, checkout, customers, groups, wallet
from services.checkout import CheckoutFilter, CheckoutRequest, QuoteChanged
from services.runtime import Runtime
from tests.builders import sql_statements
from tests.english import en, texts
from tests.helpers import Clock

SYNCED_AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
# 11:00 in Warsaw (CET, UTC+1) on 10 March 2026.
MORNING = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Shop:
    principal: Principal
    regular_group: str  # "Stały klient": linked to GoPOS and GoOrder, 5% cashback
    vip_group: str  # "VIP": linked to nothing, 5% cashback

    @property
    def location_id(self) -> UUID:
        return self.principal.location_id


async def open_shop(name: str = "Bistro Checkout") -> Shop:
    location, secret = await access.create_location(name)
    principal = await access.authenticate(secret)
    assert principal is not None
    await upsert_pos_discounts(
        location.id,
        [
            MirrorDiscount("d10", "10% stałego klienta", DiscountType.PERCENT, 1000, True),
            MirrorDiscount("d5", "5 zł mniej", DiscountType.AMOUNT, 500, True),
            MirrorDiscount("d50", "Pół ceny", DiscountType.PERCENT, 5000, False),
        ],
        SYNCED_AT,
    )
    await upsert_pos_groups(
        location.id,
        [MirrorPosGroup("g1", "Stali klienci", "Staly-Klient", 5000, ("d10", "d5", "d50"))],
        SYNCED_AT,
    )
    await upsert_promotions(
        location.id,
        [
            MirrorPromotion(
                "p1",
                "Online 15%",
                "staly-klient",
                PromotionType.ORDER_PERCENT,
                "MANUAL",
                1500,
                10000,
                True,
            )
        ],
        SYNCED_AT,
    )
    for channel in ("GOPOS", "GOORDER"):
        await SyncRun.create(
            location_id=location.id, channel=channel, status="SUCCEEDED", finished_at=SYNCED_AT
        )
    regular = await groups.create_group(
        location.id, CustomerGroupInput(name="Stały klient", cashback_percent=Decimal("5"))
    )
    vip = await groups.create_group(
        location.id, CustomerGroupInput(name="VIP", cashback_percent=Decimal("5"))
    )
    return Shop(principal, str(regular.id), str(vip.id))


async def new_customer(
    shop: Shop, *group_ids: str, card: str | None = None, name: str = "Ala"
) -> UUID:
    created = await customers.create_customer(
        shop.location_id,
        CustomerInput(
            first_name=name,
            cards=(CardInput(card),) if card else None,
            group_ids=group_ids or None,
        ),
    )
    return created.id


async def add_credits(
    runtime: Runtime, shop: Shop, customer_id: UUID, amount: str, operation: str = "ADD"
) -> None:
    await wallet.apply_once(
        runtime,
        shop.principal,
        CreditRequest(Target(customer_ids=(str(customer_id),)), operation, Decimal(amount)),
    )


def bill(
    *lines: tuple[str, str],
    channel: SalesChannel = SalesChannel.POS,
    use_credits: bool = True,
    max_credits: str | None = None,
    excluded: tuple[str, ...] | None = None,
) -> BillInput:
    """Lines as (quantity, unit price), products p0, p1, …"""
    return BillInput(
        channel=channel,
        lines=[
            LineInput(f"p{i}", Decimal(quantity), Decimal(unit_price))
            for i, (quantity, unit_price) in enumerate(lines)
        ],
        use_credits=use_credits,
        max_credits=Decimal(max_credits) if max_credits is not None else None,
        excluded_discount_ids=excluded,
    )


# 2 × 40.00 + 1 × 20.00 = 100.00
HUNDRED = (("2", "40.00"), ("1", "20.00"))


def for_customer(
    customer_id: UUID,
    *lines: tuple[str, str],
    channel: SalesChannel = SalesChannel.POS,
    max_credits: str | None = None,
    excluded: tuple[str, ...] | None = None,
) -> CheckoutRequest:
    return CheckoutRequest(
        bill(*lines, channel=channel, max_credits=max_credits, excluded=excluded),
        customer_id=str(customer_id),
    )


@dataclass(frozen=True)
class Entry:
    kind: str
    requested: int
    delta: int
    balance_after: int
    source: str
    source_id: UUID


async def entries_of(customer_id: UUID) -> list[Entry]:
    rows = await WalletEntry.filter(customer_id=customer_id).order_by("id")
    return [
        Entry(r.kind, r.requested_amount, r.delta, r.balance_after, r.source, r.source_id)
        for r in rows
    ]


async def balance_of(customer_id: UUID) -> int:
    return int((await Customer.get(id=customer_id)).credit_balance)


def errors_of(error: DomainError) -> list[tuple[str, str | None]]:
    return [(e.code.value, e.field) for e in error.errors]


async def written(location_id: UUID) -> tuple[int, int, int]:
    """Checkouts, wallet entries and idempotency keys of a location."""
    return (
        await Checkout.filter(location_id=location_id).count(),
        await WalletEntry.filter(location_id=location_id).count(),
        await IdempotencyKey.filter(location_id=location_id).count(),
    )


@pytest.fixture
async def shop(runtime: Runtime, clock: Clock) -> Shop:
    clock.now = MORNING
    return await open_shop()


# ------------------------------------------------------------------------------- quote


async def test_a_quote_applies_the_linked_group_discount_then_the_credits(
    runtime: Runtime, shop: Shop
) -> None:
    # given a regular customer with 20.00 of credits
    customer_id = await new_customer(shop, shop.regular_group, card="CARD-1")
    await add_credits(runtime, shop, customer_id, "20.00")

    # when the till scans the card for a bill of 100.00
    request = CheckoutRequest(bill(*HUNDRED), card_code="CARD-1")
    result = await checkout.quote(runtime, shop.principal, request)

    # then the best enabled discount (10% = 10.00, over 5.00 off) applies, then 20.00 of credits
    quote = result.quote
    assert result.customer is not None
    assert result.customer.id == customer_id
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
    assert quote.lines == (
        QuoteLine("p0", None, None, 2000, 4000, 8000, 2400, 5600),
        QuoteLine("p1", None, None, 1000, 2000, 2000, 600, 1400),
    )
    assert quote.credits == CreditsSummary(2000, 2000, 0)
    assert quote.daily_limit == DailyLimitSummary("staly-klient", 5000, 0, 5000)
    assert texts(quote.messages) == ()


async def test_a_quote_uses_part_of_the_credits(runtime: Runtime, shop: Shop) -> None:
    customer_id = await new_customer(shop, shop.regular_group)
    await add_credits(runtime, shop, customer_id, "20.00")

    result = await checkout.quote(
        runtime, shop.principal, for_customer(customer_id, *HUNDRED, max_credits="5.00")
    )

    assert [(d.id, d.amount) for d in result.quote.discounts] == [
        ("pos-discount:d10", 1000),
        ("credits", 500),
    ]
    assert result.quote.total == 8500
    assert result.quote.credits == CreditsSummary(2000, 500, 1500)


async def test_an_excluded_discount_leaves_the_best_remaining_one(
    runtime: Runtime, shop: Shop
) -> None:
    customer_id = await new_customer(shop, shop.regular_group)
    await add_credits(runtime, shop, customer_id, "20.00")

    result = await checkout.quote(
        runtime,
        shop.principal,
        for_customer(customer_id, *HUNDRED, excluded=("pos-discount:d10", "credits")),
    )

    assert [(d.id, d.amount) for d in result.quote.discounts] == [("pos-discount:d5", 500)]
    assert result.quote.total == 9500
    assert texts(result.quote.messages) == (
        "Discount “10% stałego klienta” removed.",
        "Promotional credits removed.",
    )


async def test_online_the_promotion_applies_only_from_its_minimum_basket(
    runtime: Runtime, shop: Shop
) -> None:
    customer_id = await new_customer(shop, shop.regular_group)
    await add_credits(runtime, shop, customer_id, "20.00")

    below = await checkout.quote(
        runtime,
        shop.principal,
        for_customer(customer_id, ("3", "20.00"), channel=SalesChannel.ONLINE),
    )
    at = await checkout.quote(
        runtime, shop.principal, for_customer(customer_id, *HUNDRED, channel=SalesChannel.ONLINE)
    )

    # below 100.00: no promotion, a message, the credits
    assert [(d.id, d.amount) for d in below.quote.discounts] == [("credits", 2000)]
    assert below.quote.total == 4000
    assert texts(below.quote.messages) == (
        "Promotion “Online 15%” needs a basket of at least 100.00: add 40.00 more.",
    )
    assert below.quote.daily_limit is None
    # at 100.00: 15% off, then the credits; no daily limit online
    assert [(d.id, d.kind, d.amount) for d in at.quote.discounts] == [
        ("promotion:p1", DiscountKind.PROMOTION, 1500),
        ("credits", DiscountKind.PROMOTIONAL_CREDITS, 2000),
    ]
    assert at.quote.total == 6500
    assert at.quote.daily_limit is None


async def test_an_unknown_card_is_card_not_found_so_that_the_cashier_rescans(
    runtime: Runtime, shop: Shop
) -> None:
    # given a card that a customer of another location holds, and one that nobody holds
    other = await open_shop("Elsewhere")
    await new_customer(other, card="THEIRS-1")
    deleted = await new_customer(shop, card="GONE-1")
    await customers.delete_customer(shop.location_id, str(deleted))

    for code in ("NO-SUCH-CARD", "THEIRS-1", "GONE-1"):
        request = CheckoutRequest(bill(*HUNDRED), card_code=code)
        with pytest.raises(DomainError) as quoted:
            await checkout.quote(runtime, shop.principal, request)
        with pytest.raises(DomainError) as committed:
            await checkout.commit(runtime, shop.principal, request, idempotency_key=f"k-{code}")

        assert errors_of(quoted.value) == [("CARD_NOT_FOUND", "input.cardCode")]
        assert errors_of(committed.value) == [("CARD_NOT_FOUND", "input.cardCode")]
        assert en(quoted.value.errors[0].message) == (
            "No customer has this card: scan it again, or look the customer up."
        )
    assert await written(shop.location_id) == (0, 0, 0)


async def test_a_group_linked_to_nothing_says_so(runtime: Runtime, shop: Shop) -> None:
    customer_id = await new_customer(shop, shop.vip_group)

    result = await checkout.quote(runtime, shop.principal, for_customer(customer_id, *HUNDRED))

    assert result.quote.discounts == ()
    assert texts(result.quote.messages) == (
        "No group discount: none of the customer's groups is linked to a GoPOS group.",
        "No promotional credits: the balance is 0.00.",
    )


async def test_a_customer_id_that_is_not_a_live_customer_here_is_not_found(
    runtime: Runtime, shop: Shop
) -> None:
    other = await open_shop("Elsewhere")
    theirs = await new_customer(other)
    deleted = await new_customer(shop, name="Gone")
    await customers.delete_customer(shop.location_id, str(deleted))

    for customer_id in (str(uuid4()), str(theirs), str(deleted), "not-an-id"):
        request = CheckoutRequest(bill(*HUNDRED), customer_id=customer_id)
        with pytest.raises(DomainError) as refused:
            await checkout.quote(runtime, shop.principal, request)
        assert errors_of(refused.value) == [("NOT_FOUND", "input.customerId")]


async def test_bill_problems_and_a_customer_named_twice_are_invalid(
    runtime: Runtime, shop: Shop
) -> None:
    request = CheckoutRequest(
        bill(("1", "10.00"), ("0", "5.00"), ("1", "2.001")),
        customer_id=str(uuid4()),
        card_code="CARD-1",
    )

    with pytest.raises(DomainError) as refused:
        await checkout.quote(runtime, shop.principal, request)

    assert errors_of(refused.value) == [
        ("INVALID", "input.cardCode"),
        ("INVALID", "input.lines.1.quantity"),
        ("INVALID", "input.lines.2.unitPrice"),
    ]


# ------------------------------------------------------------------------------ commit


async def test_a_commit_records_the_checkout_the_redeem_and_the_cashback(
    runtime: Runtime, shop: Shop, clock: Clock
) -> None:
    # given a regular customer (5% cashback) with 20.00 of credits
    customer_id = await new_customer(shop, shop.regular_group)
    await add_credits(runtime, shop, customer_id, "20.00")

    # when a bill of 100.00 is committed
    view = await checkout.commit(
        runtime, shop.principal, for_customer(customer_id, *HUNDRED), idempotency_key="till-1-001"
    )

    # then 10.00 of group discount and 20.00 of credits were taken: 70.00 paid, 3.50 cashback
    assert view.status == "COMMITTED"
    assert view.customer_id == customer_id
    assert view.channel is SalesChannel.POS
    assert (view.subtotal, view.discount_total, view.total) == (10000, 3000, 7000)
    assert (view.credits_used, view.cashback_granted) == (2000, 350)
    assert [(d.id, d.amount) for d in view.discounts] == [
        ("pos-discount:d10", 1000),
        ("credits", 2000),
    ]
    assert [line.total for line in view.lines] == [5600, 1400]
    assert (view.created_at, view.refunded_at) == (MORNING, None)
    row = await Checkout.get(id=view.id)
    assert (row.group_discount, row.business_date.isoformat()) == (1000, "2026-03-10")
    assert await checkout.get_checkout(shop.principal, str(view.id)) == view

    # and the wallet holds the REDEEM and the CASHBACK, both carrying the checkout's id
    entries = await entries_of(customer_id)
    assert [(e.kind, e.requested, e.delta, e.balance_after) for e in entries] == [
        ("ADD", 2000, 2000, 2000),
        ("REDEEM", 2000, -2000, 0),
        ("CASHBACK", 350, 350, 350),
    ]
    assert [(e.source, e.source_id) for e in entries[1:]] == [("CHECKOUT", view.id)] * 2
    assert await balance_of(customer_id) == sum(e.delta for e in entries) == 350


async def test_a_commit_without_a_customer_is_refused_and_writes_nothing(
    runtime: Runtime, shop: Shop
) -> None:
    # a quote may have no customer; a sale changes nothing in the CRM without one
    quoted = await checkout.quote(runtime, shop.principal, CheckoutRequest(bill(*HUNDRED)))
    with pytest.raises(DomainError) as refused:
        await checkout.commit(
            runtime, shop.principal, CheckoutRequest(bill(*HUNDRED)), idempotency_key="anon-1"
        )

    assert (quoted.customer, quoted.quote.total) == (None, 10000)
    assert errors_of(refused.value) == [("REQUIRED", "input.cardCode")]
    assert await written(shop.location_id) == (0, 0, 0)


async def test_a_different_expected_total_is_quote_changed_and_writes_nothing(
    runtime: Runtime, shop: Shop
) -> None:
    customer_id = await new_customer(shop, shop.regular_group)
    await add_credits(runtime, shop, customer_id, "20.00")
    before = await written(shop.location_id)

    with pytest.raises(QuoteChanged) as changed:
        await checkout.commit(
            runtime,
            shop.principal,
            for_customer(customer_id, *HUNDRED),
            idempotency_key="till-1-002",
            expected_total=Decimal("80.00"),
        )

    assert errors_of(changed.value) == [("QUOTE_CHANGED", "expectedTotal")]
    assert en(changed.value.errors[0].message) == (
        "The total is now 70.00, not 80.00: check the new quote."
    )
    fresh = changed.value.quote
    assert fresh.quote.total == 7000
    assert fresh.customer is not None
    assert fresh.customer.credit_balance == 2000
    assert await written(shop.location_id) == before
    assert await balance_of(customer_id) == 2000

    # and the same key may then commit at the new total
    view = await checkout.commit(
        runtime,
        shop.principal,
        for_customer(customer_id, *HUNDRED),
        idempotency_key="till-1-002",
        expected_total=Decimal("70.0"),
    )
    assert view.total == 7000


async def test_a_retried_commit_answers_with_its_checkout_when_the_bill_would_now_be_refused(
    runtime: Runtime, shop: Shop
) -> None:
    # given a commit at 70.00 that used the customer's 20.00 of credits
    customer_id = await new_customer(shop, shop.regular_group)
    await add_credits(runtime, shop, customer_id, "20.00")
    request = for_customer(customer_id, *HUNDRED)
    made = await checkout.commit(
        runtime, shop.principal, request, idempotency_key="k-1", expected_total=Decimal("70.00")
    )
    written_once = await written(shop.location_id)

    # when the till retries it: its own debit has changed the price (86.50 now)
    again = await checkout.commit(
        runtime, shop.principal, request, idempotency_key="k-1", expected_total=Decimal("70.00")
    )
    written_again = await written(shop.location_id)
    # and again once the customer is deleted (the deletion writes its own write-off entry)
    await customers.delete_customer(shop.location_id, str(customer_id))
    written_deleted = await written(shop.location_id)
    after_deletion = await checkout.commit(
        runtime, shop.principal, request, idempotency_key="k-1", expected_total=Decimal("70.00")
    )

    # then both answer with the checkout that landed, and nothing more is written
    assert again == made
    assert after_deletion == made
    assert written_again == written_once
    assert await written(shop.location_id) == written_deleted
    # while a new key is priced afresh
    with pytest.raises(DomainError) as refused:
        await checkout.commit(
            runtime, shop.principal, request, idempotency_key="k-2", expected_total=Decimal("70")
        )
    assert errors_of(refused.value) == [("NOT_FOUND", "input.customerId")]


async def test_a_quote_is_one_statement_and_a_commit_seven_to_eleven(
    runtime: Runtime, shop: Shop
) -> None:
    customer_id = await new_customer(shop, shop.regular_group)
    await add_credits(runtime, shop, customer_id, "20.00")
    request = for_customer(customer_id, *HUNDRED)
    await checkout.quote(runtime, shop.principal, request)  # the mirror is cached

    with sql_statements() as quoted:
        await checkout.quote(runtime, shop.principal, request)
    with sql_statements() as committed:
        await checkout.commit(runtime, shop.principal, request, idempotency_key="k-1")

    assert len(quoted) == 1
    assert ran(quoted[0], reads.PRICING_BY_ID)
    postgres = connections.get("default").capabilities.dialect == "postgres"
    held = (
        [reads.HELD_BY_ID, reads.STATE]
        if postgres
        else [reads.SQLITE_WRITE_LOCK, reads.PRICING_BY_ID]
    )
    expected = [*held, keys.TAKE_KEY, checkouts.INSERT_CHECKOUT]
    assert [ran(s, sql) for s, sql in zip(committed, expected, strict=False)] == [True] * 4
    # then the REDEEM and the CASHBACK: one statement each on PostgreSQL, two on SQLite (the
    # customer owes nothing, so the CASHBACK needs no CLAWBACK); the REDEEM takes from the
    # customer's credit lots in one more (two on SQLite), and on SQLite the CASHBACK's lot is
    # one more (PostgreSQL writes it in the CASHBACK's statement)
    assert len(committed) == (7 if postgres else 11)


def ran(logged: str, sql: str) -> bool:
    """Whether a logged statement (its text, then its values) is `sql`, on either engine."""

    def text(value: str) -> str:
        return " ".join(re.sub(r"\$(\d+)(::\w+)?", r"?\1", value).split())

    return text(logged).startswith(text(sql))


async def test_malformed_keys_and_expected_totals_are_invalid(runtime: Runtime, shop: Shop) -> None:
    customer_id = await new_customer(shop)
    for key, expected, problems in (
        ("", None, [("INVALID", "idempotencyKey")]),
        ("k" * 129, None, [("INVALID", "idempotencyKey")]),
        ("ok", Decimal("70.001"), [("INVALID", "expectedTotal")]),
        ("ok", Decimal("-1.00"), [("INVALID", "expectedTotal")]),
    ):
        with pytest.raises(DomainError) as refused:
            await checkout.commit(
                runtime,
                shop.principal,
                for_customer(customer_id, *HUNDRED),
                idempotency_key=key,
                expected_total=expected,
            )
        assert errors_of(refused.value) == problems
    assert await written(shop.location_id) == (0, 0, 0)
    view = await checkout.commit(
        runtime, shop.principal, for_customer(customer_id, *HUNDRED), idempotency_key="k" * 128
    )
    assert view.total == 10000


async def test_the_same_key_and_request_answer_with_the_same_checkout(
    runtime: Runtime, shop: Shop
) -> None:
    customer_id = await new_customer(shop, shop.regular_group)
    await add_credits(runtime, shop, customer_id, "20.00")
    first = await checkout.commit(
        runtime, shop.principal, for_customer(customer_id, *HUNDRED), idempotency_key="k-1"
    )

    # the same request, its quantities and prices written differently
    again = await checkout.commit(
        runtime,
        shop.principal,
        for_customer(customer_id, ("2.000", "40"), ("1", "20.0")),
        idempotency_key="k-1",
    )

    assert again == first
    assert await written(shop.location_id) == (1, 3, 1)  # ADD, REDEEM, CASHBACK; one key
    assert await balance_of(customer_id) == 350


async def test_the_same_key_with_another_request_is_refused(runtime: Runtime, shop: Shop) -> None:
    customer_id = await new_customer(shop, shop.regular_group)
    await checkout.commit(
        runtime, shop.principal, for_customer(customer_id, *HUNDRED), idempotency_key="k-1"
    )
    await wallet.apply_once(
        runtime,
        shop.principal,
        CreditRequest(
            Target(customer_ids=(str(customer_id),)), "ADD", Decimal("1"), idempotency_key="k-2"
        ),
    )
    before = await written(shop.location_id)

    for key, request in (
        ("k-1", for_customer(customer_id, ("1", "40.00"))),
        ("k-1", for_customer(customer_id, ("1", "100.00"))),
        ("k-2", for_customer(customer_id, *HUNDRED)),  # a wallet operation's key
    ):
        with pytest.raises(DomainError) as refused:
            await checkout.commit(runtime, shop.principal, request, idempotency_key=key)
        assert errors_of(refused.value) == [("IDEMPOTENCY_KEY_REUSED", "idempotencyKey")]
    assert await written(shop.location_id) == before


# ------------------------------------------------------------------------------ refund


async def test_a_refund_gives_the_credits_back_then_reverses_spent_cashback(
    runtime: Runtime, shop: Shop
) -> None:
    # given 20.00 of credits used on a bill of 120.00, so 5.00 of cashback on the 100.00 paid
    customer_id = await new_customer(shop, shop.vip_group)
    await add_credits(runtime, shop, customer_id, "20.00")
    sale = await checkout.commit(
        runtime, shop.principal, for_customer(customer_id, ("1", "120.00")), idempotency_key="s-1"
    )
    assert (sale.credits_used, sale.total, sale.cashback_granted) == (2000, 10000, 500)
    # and the 5.00 of cashback spent since: the balance is 0
    await add_credits(runtime, shop, customer_id, "5.00", "REDUCE")
    assert await balance_of(customer_id) == 0

    # when the checkout is refunded
    refunded = await checkout.refund(runtime, shop.principal, str(sale.id), idempotency_key="r-1")

    # then REFUND takes the balance to 20.00 and the reversal to 15.00
    assert refunded.checkout.status == "REFUNDED"
    assert refunded.checkout.refunded_at == MORNING
    assert (
        refunded.refund.credits_returned,
        refunded.refund.cashback_reversed,
        refunded.refund.cashback_owed,
    ) == (2000, 500, 0)
    entries = await entries_of(customer_id)
    assert [(e.kind, e.requested, e.delta, e.balance_after) for e in entries[-2:]] == [
        ("REFUND", 2000, 2000, 2000),
        ("CASHBACK_REVERSAL", 500, -500, 1500),
    ]
    assert {e.source_id for e in entries[-2:]} == {sale.id}
    assert await balance_of(customer_id) == sum(e.delta for e in entries) == 1500


async def test_a_cashback_reversal_is_clamped_at_the_balance(runtime: Runtime, shop: Shop) -> None:
    # given 5.00 of cashback granted without credits, and spent
    customer_id = await new_customer(shop, shop.vip_group)
    sale = await checkout.commit(
        runtime, shop.principal, for_customer(customer_id, ("1", "100.00")), idempotency_key="s-1"
    )
    await add_credits(runtime, shop, customer_id, "5.00", "REDUCE")

    await checkout.refund(runtime, shop.principal, str(sale.id), idempotency_key="r-1")

    entries = await entries_of(customer_id)
    assert [(e.kind, e.requested, e.delta, e.balance_after) for e in entries] == [
        ("CASHBACK", 500, 500, 500),
        ("REDUCE", 500, -500, 0),
        ("CASHBACK_REVERSAL", 500, 0, 0),
    ]
    assert await balance_of(customer_id) == 0


async def test_a_refund_restores_the_balance_and_the_daily_limit(
    runtime: Runtime, shop: Shop
) -> None:
    customer_id = await new_customer(shop, shop.regular_group)
    await add_credits(runtime, shop, customer_id, "20.00")
    sale = await checkout.commit(
        runtime, shop.principal, for_customer(customer_id, *HUNDRED), idempotency_key="s-1"
    )
    during = await checkout.quote(runtime, shop.principal, for_customer(customer_id, *HUNDRED))
    assert during.quote.daily_limit == DailyLimitSummary("staly-klient", 5000, 1000, 4000)

    await checkout.refund(runtime, shop.principal, str(sale.id), idempotency_key="r-1")

    after = await checkout.quote(runtime, shop.principal, for_customer(customer_id, *HUNDRED))
    assert after.quote.daily_limit == DailyLimitSummary("staly-klient", 5000, 0, 5000)
    assert after.quote.credits == CreditsSummary(2000, 2000, 0)
    assert await balance_of(customer_id) == 2000


async def test_a_second_refund_is_already_refunded_and_the_same_key_replays(
    runtime: Runtime, shop: Shop
) -> None:
    customer_id = await new_customer(shop, shop.regular_group)
    await add_credits(runtime, shop, customer_id, "20.00")
    sale = await checkout.commit(
        runtime, shop.principal, for_customer(customer_id, *HUNDRED), idempotency_key="s-1"
    )
    first = await checkout.refund(runtime, shop.principal, str(sale.id), idempotency_key="r-1")
    before = await written(shop.location_id)

    replay = await checkout.refund(runtime, shop.principal, str(sale.id), idempotency_key="r-1")
    with pytest.raises(DomainError) as again:
        await checkout.refund(runtime, shop.principal, str(sale.id), idempotency_key="r-2")
    with pytest.raises(DomainError) as reused:
        await checkout.refund(runtime, shop.principal, str(sale.id), idempotency_key="s-1")

    assert replay == first
    assert errors_of(again.value) == [("ALREADY_REFUNDED", "id")]
    assert errors_of(reused.value) == [("IDEMPOTENCY_KEY_REUSED", "idempotencyKey")]
    assert await written(shop.location_id) == before
    assert await balance_of(customer_id) == 2000


async def test_a_refund_of_a_checkout_that_is_not_the_locations_is_not_found(
    runtime: Runtime, shop: Shop
) -> None:
    other = await open_shop("Elsewhere")
    theirs = await checkout.commit(
        runtime,
        other.principal,
        for_customer(await new_customer(other), *HUNDRED),
        idempotency_key="s-1",
    )

    for checkout_id in (str(theirs.id), str(uuid4()), "nope"):
        with pytest.raises(DomainError) as refused:
            await checkout.refund(runtime, shop.principal, checkout_id, idempotency_key="r-1")
        assert errors_of(refused.value) == [("NOT_FOUND", "id")]
    assert await checkout.get_checkout(shop.principal, str(theirs.id)) is None
    assert (await Checkout.get(id=theirs.id)).status == "COMMITTED"


# ------------------------------------------------------------------------- daily limit


async def test_the_daily_limit_starts_again_at_midnight_in_warsaw(
    runtime: Runtime, shop: Shop, clock: Clock
) -> None:
    # given a regular customer at 23:30 in Warsaw (22:30 UTC)
    customer_id = await new_customer(shop, shop.regular_group)
    clock.now = datetime(2026, 3, 10, 22, 30, tzinfo=UTC)

    # when three bills of 300.00 (10% = 30.00 each) are committed against a limit of 50.00
    granted = []
    for number in range(3):
        view = await checkout.commit(
            runtime,
            shop.principal,
            for_customer(customer_id, ("1", "300.00")),
            idempotency_key=f"late-{number}",
        )
        granted.append([(d.id, d.amount) for d in view.discounts if d.id != "credits"])

    # then the discounts stop at the limit
    assert granted == [[("pos-discount:d10", 3000)], [("pos-discount:d10", 2000)], []]
    clock.now = datetime(2026, 3, 10, 22, 59, 59, tzinfo=UTC)
    late = await checkout.quote(runtime, shop.principal, for_customer(customer_id, *HUNDRED))
    assert late.quote.daily_limit == DailyLimitSummary("staly-klient", 5000, 5000, 0)
    assert en(late.quote.messages[0]) == (
        "No group discount: the daily discount limit of 50.00 is reached (50.00 used today)."
    )

    # and from midnight in Warsaw (23:00 UTC) the limit is whole again
    clock.now = datetime(2026, 3, 10, 23, 0, tzinfo=UTC)
    next_day = await checkout.quote(runtime, shop.principal, for_customer(customer_id, *HUNDRED))
    assert next_day.quote.daily_limit == DailyLimitSummary("staly-klient", 5000, 0, 5000)
    assert next_day.quote.group_discount == 1000


# ----------------------------------------------------------------------------- history


async def test_checkouts_are_listed_newest_first_with_filters_and_pages(
    runtime: Runtime, shop: Shop, clock: Clock
) -> None:
    # given five checkouts: three at 10:00 (the same instant), one at 11:00, one at 12:00
    ala = await new_customer(shop, shop.vip_group, name="Ala")
    ola = await new_customer(shop, shop.vip_group, name="Ola")
    made = []
    for number, (hour, customer_id, channel) in enumerate(
        [
            (10, ala, SalesChannel.POS),
            (10, ola, SalesChannel.ONLINE),
            (10, ala, SalesChannel.KIOSK),
            (11, ala, SalesChannel.POS),
            (12, ola, SalesChannel.POS),
        ]
    ):
        clock.now = datetime(2026, 3, 10, hour, 0, tzinfo=UTC)
        request = for_customer(customer_id, ("1", "10.00"), channel=channel)
        made.append(
            await checkout.commit(runtime, shop.principal, request, idempotency_key=f"h-{number}")
        )
    await checkout.refund(runtime, shop.principal, str(made[3].id), idempotency_key="r-3")
    at_ten = sorted((v.id for v in made[:3]), reverse=True)
    newest_first = [made[4].id, made[3].id, *at_ten]

    async def ids(filter: CheckoutFilter | None = None, first: int = 50) -> list[UUID]:
        page = await checkout.list_checkouts(shop.principal, filter, first, None)
        return [v.id for v in page.items]

    # then the whole list, and each filter
    assert await ids() == newest_first
    assert await ids(CheckoutFilter(customer_id=str(ala))) == [
        i for i in newest_first if i in {made[0].id, made[2].id, made[3].id}
    ]
    assert await ids(CheckoutFilter(status="REFUNDED")) == [made[3].id]
    assert await ids(CheckoutFilter(channel="POS")) == [
        i for i in newest_first if i in {made[0].id, made[3].id, made[4].id}
    ]
    assert await ids(
        CheckoutFilter(
            created_from=datetime(2026, 3, 10, 10, 0, tzinfo=UTC),
            created_to=datetime(2026, 3, 10, 12, 0, tzinfo=UTC),
        )
    ) == [made[3].id, *at_ten]

    # and pages of two walk the list once, across the three at the same instant
    seen: list[UUID] = []
    after = None
    pages = 0
    while True:
        page = await checkout.list_checkouts(shop.principal, None, 2, after)
        assert page.total_count == 5
        seen += [v.id for v in page.items]
        pages += 1
        if not page.has_next_page:
            break
        after = page.cursors[-1]
    assert (seen, pages) == (newest_first, 3)


async def test_list_filter_problems_name_their_fields(runtime: Runtime, shop: Shop) -> None:
    other = await open_shop("Elsewhere")
    theirs = await new_customer(other)

    for criteria, after, problems in (
        (CheckoutFilter(customer_id=str(theirs)), None, [("NOT_FOUND", "filter.customerId")]),
        (CheckoutFilter(customer_id="x"), None, [("NOT_FOUND", "filter.customerId")]),
        (
            CheckoutFilter(status="OPEN", channel="PHONE"),
            None,
            [("INVALID", "filter.status"), ("INVALID", "filter.channel")],
        ),
        (
            CheckoutFilter(created_from=datetime(2026, 3, 10)),  # no offset
            None,
            [("INVALID", "filter.createdFrom")],
        ),
        (None, "not-a-cursor", [("INVALID", "after")]),
    ):
        with pytest.raises(DomainError) as refused:
            await checkout.list_checkouts(shop.principal, criteria, 10, after)
        assert errors_of(refused.value) == problems
