"""Properties of checkout pricing over generated bills, customers and discounts: the lines add
up to the quote, discounts never exceed the subtotal, credits never exceed the balance or
maxCredits, nothing is ever negative, the daily limit is never passed, and a bill split any way
earns no more cashback than the whole."""

from __future__ import annotations

from dataclasses import dataclass, replace

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.bill import MAX_LINES, Bill, Line, SalesChannel
from domain.money import max_amount_minor
from domain.pricing import (
    CustomerPricing,
    DiscountKind,
    PosGroupOffer,
    PricingContext,
    PromotionOffer,
    allocate,
    cashback,
    price,
)
from domain.sync import DiscountType, MirrorDiscount, MirrorPromotion, PromotionType

# Generating a case costs a few milliseconds: 100 of each keeps the file under ten seconds.
EXAMPLES = settings(max_examples=100, deadline=None, database=None)
MANY = settings(max_examples=500, deadline=None, database=None)
MAX_QUANTITY = 50_000  # thousandths: 50 units
MAX_GENERATED_LINES = 12


@dataclass(frozen=True)
class Case:
    bill: Bill
    context: PricingContext


def money(minor_units: int, major: int) -> st.SearchStrategy[int]:
    return st.integers(0, major * 10**minor_units)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    minor_units = draw(st.sampled_from([0, 2, 3]))
    # At most 12 × 50 units × 1000.00: the subtotal stays under the maximum in every currency.
    # Prices of a few minor units make the rounding and the remainders matter.
    unit_price = st.integers(0, 5) | money(minor_units, 1000)
    lines = draw(
        st.lists(
            st.builds(
                Line,
                product_id=st.just("p"),
                name=st.none(),
                category_id=st.none(),
                quantity=st.just(1000) | st.integers(1, MAX_QUANTITY),
                unit_price=unit_price,
            ),
            min_size=1,
            max_size=MAX_GENERATED_LINES,
        )
    )
    ids = iter(range(1_000))
    discount = st.builds(
        lambda kind, value, enabled: MirrorDiscount(str(next(ids)), "d", kind, value, enabled),
        st.sampled_from(DiscountType),
        st.one_of(st.integers(0, 10_000), money(minor_units, 100_000)),
        st.booleans(),
    )
    limit = st.none() | money(minor_units, 500)
    groups = st.lists(
        st.builds(
            PosGroupOffer,
            reference=st.sampled_from(["a", "b"]),
            daily_limit=limit,
            discounts=st.lists(discount, max_size=3).map(tuple),
        ),
        max_size=3,
    ).map(tuple)
    promotion = st.builds(
        lambda kind, value, basket, active: PromotionOffer(
            "online",
            MirrorPromotion(str(next(ids)), "p", "online", kind, "MANUAL", value, basket, active),
        ),
        st.sampled_from(PromotionType),
        st.one_of(st.integers(0, 10_000), money(minor_units, 100_000)),
        st.none() | money(minor_units, 50_000),
        st.booleans(),
    )
    customer = st.none() | st.builds(
        CustomerPricing,
        balance=money(minor_units, 100_000),
        used_today=st.dictionaries(st.sampled_from(["a", "b"]), money(minor_units, 1_000)),
        pos_groups=groups,
        promotions=st.lists(promotion, max_size=3).map(tuple),
        has_groups=st.booleans(),
        credits_on=st.booleans(),
    )
    pricing = draw(customer)
    offered = [] if pricing is None else _ids(pricing)
    excluded = draw(st.sets(st.sampled_from([*offered, "credits", "other"]), max_size=3))
    bill = Bill(
        channel=draw(st.sampled_from(SalesChannel)),
        lines=tuple(lines),
        use_credits=draw(st.booleans()),
        max_credits=draw(st.none() | money(minor_units, 100_000)),
        excluded_ids=frozenset(excluded),
    )
    return Case(bill, PricingContext(minor_units, pricing))


def _ids(customer: CustomerPricing) -> list[str]:
    pos = [f"pos-discount:{d.external_id}" for g in customer.pos_groups for d in g.discounts]
    return pos + [f"promotion:{o.promotion.external_id}" for o in customer.promotions]


@given(cases())
@EXAMPLES
def test_lines_add_up_to_the_quote(case: Case) -> None:
    quote = price(case.bill, case.context)

    assert sum(line.subtotal for line in quote.lines) == quote.subtotal
    assert sum(line.discount for line in quote.lines) == quote.discount_total
    assert sum(line.total for line in quote.lines) == quote.total
    assert sum(d.amount for d in quote.discounts) == quote.discount_total
    assert quote.total == quote.subtotal - quote.discount_total
    for line in quote.lines:
        assert line.total == line.subtotal - line.discount


@given(cases())
@EXAMPLES
def test_nothing_is_negative_and_discounts_never_exceed_the_subtotal(case: Case) -> None:
    quote = price(case.bill, case.context)

    assert 0 <= quote.discount_total <= quote.subtotal <= max_amount_minor(case.context.minor_units)
    assert quote.total >= 0
    assert all(d.amount > 0 for d in quote.discounts)
    assert all(0 <= line.discount <= line.subtotal for line in quote.lines)
    assert len(quote.discounts) <= 2  # one group discount or promotion, then credits


@given(cases())
@EXAMPLES
def test_credits_never_exceed_the_balance_or_max_credits(case: Case) -> None:
    quote = price(case.bill, case.context)
    customer = case.context.customer

    if customer is None:
        assert quote.credits is None
        assert quote.discounts == ()
        return
    assert quote.credits is not None
    assert quote.credits.available == customer.balance
    assert 0 <= quote.credits.applied <= customer.balance
    assert quote.credits.remaining_after == customer.balance - quote.credits.applied
    if case.bill.max_credits is not None:
        assert quote.credits.applied <= case.bill.max_credits
    if not case.bill.use_credits or "credits" in case.bill.excluded_ids:
        assert quote.credits.applied == 0
    if not customer.credits_on:
        assert quote.credits.applied == 0


@given(cases())
@EXAMPLES
def test_no_excluded_discount_applies_and_the_daily_limit_holds(case: Case) -> None:
    quote = price(case.bill, case.context)

    assert not {d.id for d in quote.discounts} & case.bill.excluded_ids
    if quote.daily_limit is not None:
        assert quote.group_discount <= quote.daily_limit.remaining
        assert case.bill.channel is not SalesChannel.ONLINE
    limits = {limit.reference: limit for limit in quote.daily_limits}
    assert [limit.reference for limit in quote.daily_limits] == sorted(limits)
    if quote.discount_reference in limits:
        # a group discount takes only what is left of its own group's limit
        assert quote.group_discount <= limits[quote.discount_reference].remaining
        assert quote.daily_limit == limits[quote.discount_reference]
    kinds = [d.kind for d in quote.discounts]
    if case.bill.channel is SalesChannel.ONLINE:
        assert DiscountKind.GROUP_DISCOUNT not in kinds
    else:
        assert DiscountKind.PROMOTION not in kinds


@given(cases())
@EXAMPLES
def test_the_order_of_groups_and_promotions_does_not_change_the_quote(case: Case) -> None:
    customer = case.context.customer
    if customer is None:
        return
    reordered = replace(
        case.context,
        customer=replace(
            customer,
            pos_groups=customer.pos_groups[::-1],
            promotions=customer.promotions[::-1],
        ),
    )

    assert price(case.bill, reordered) == price(case.bill, case.context)


@given(
    st.lists(st.integers(0, 9), min_size=1, max_size=8),
    st.integers(0, 100),
    st.integers(0, 100),
)
@MANY
def test_a_group_discount_and_credits_on_tiny_lines_leave_no_line_negative(
    prices: list[int], off: int, balance: int
) -> None:
    # Two discounts spread one after the other: their remainders must not meet on one line.
    lines = tuple(Line("p", None, None, 1000, p) for p in prices)
    group = PosGroupOffer("a", None, (MirrorDiscount("1", "d", DiscountType.AMOUNT, off, True),))
    context = PricingContext(2, CustomerPricing(balance, pos_groups=(group,)))

    quote = price(Bill(SalesChannel.POS, lines), context)

    assert quote.discount_total == min(sum(prices), off + balance)
    assert all(0 <= line.total <= line.subtotal for line in quote.lines)
    assert sum(line.total for line in quote.lines) == quote.total


@given(
    st.integers(0, 10**12),
    st.lists(st.integers(0, 10**10), min_size=1, max_size=MAX_LINES),
)
@MANY
def test_allocate_sums_exactly_and_stays_within_a_unit_of_the_proportion(
    amount: int, weights: list[int]
) -> None:
    total = sum(weights)
    if total == 0:
        assert allocate(0, weights) == [0] * len(weights)
        return

    shares = allocate(amount, weights)

    assert sum(shares) == amount
    for share, weight in zip(shares, weights, strict=True):
        floor = amount * weight // total
        assert floor <= share <= floor + 1
        if amount <= total:
            assert share <= weight


@given(
    st.integers(0, 10_000),
    st.lists(st.integers(0, 10**9), min_size=1, max_size=50),
)
@MANY
def test_a_bill_split_any_way_never_earns_more_cashback_than_the_whole(
    basis_points: int, parts: list[int]
) -> None:
    whole = cashback(sum(parts), basis_points)

    assert sum(cashback(part, basis_points) for part in parts) <= whole
    assert whole <= sum(parts) * basis_points / 10_000


def test_twenty_bills_of_five_groszy_earn_no_more_than_one_bill_of_a_zloty() -> None:
    assert sum(cashback(5, 1_000) for _ in range(20)) == 0
    assert cashback(100, 1_000) == 10
