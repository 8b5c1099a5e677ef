"""Refunds by the line, as plain data: what a refund may name, and what it reverses.

Tables for the rules and the rounding; properties over generated sales and any split of their
quantities into refunds: the refunds sum exactly to the whole refund's figures, no refund
reverses a negative amount, and together they never reverse more than the sale."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import DomainError
from domain.pricing import QuoteLine
from domain.refunds import (
    MAX_REFUND_LINES,
    MAX_REFUNDS,
    RefundLine,
    RefundLineInput,
    SaleFigures,
    parse_refund_lines,
    part,
    plan,
    quantity_text,
    reversed_so_far,
    share_of,
)

EXAMPLES = settings(max_examples=300, deadline=None, database=None)


def line(quantity: int, subtotal: int, discount: int, product: str = "p") -> QuoteLine:
    return QuoteLine(product, None, None, quantity, 0, subtotal, discount, subtotal - discount)


# 3 units of 10.00 with 3.00 off, and 1 unit of 5.00 with 1.00 off; 2.50 of it credits, 0.00
# of it promotions. PROMOTED: an online sale with 0.40 of promotions besides.
SALE = SaleFigures(
    lines=(line(3000, 3000, 300), line(1000, 500, 100)),
    credits_used=250,
    cashback_granted=105,
    group_discount=150,
    promotions=0,
)
PROMOTED = SaleFigures(
    lines=SALE.lines, credits_used=250, cashback_granted=105, group_discount=110, promotions=40
)


def errors_of(error: DomainError) -> list[tuple[str, str | None, str, dict[str, str]]]:
    return [(e.code.value, e.field, e.message_id, e.params) for e in error.errors]


def test_lines_omitted_mean_all_that_is_left() -> None:
    assert parse_refund_lines(None) is None
    assert plan(SALE, [1000, 0], None) == [3000, 1000]


def test_lines_are_parsed_into_thousandths() -> None:
    parsed = parse_refund_lines(
        [RefundLineInput(0, Decimal("1.5")), RefundLineInput(1, Decimal("1"))]
    )

    assert parsed == (RefundLine(0, 1500), RefundLine(1, 1000))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ([], [("INVALID", "lines", "refund.no_lines", {})]),
        (
            [RefundLineInput(0, Decimal("1"))] * (MAX_REFUND_LINES + 1),
            [("INVALID", "lines", "refund.too_many_lines", {"count": "250"})],
        ),
        (
            [RefundLineInput(-1, Decimal("1"))],
            [("INVALID", "lines.0.line", "refund.no_such_line", {})],
        ),
        (
            [RefundLineInput(0, Decimal("1")), RefundLineInput(0, Decimal("2"))],
            [("INVALID", "lines.1.line", "refund.line_twice", {})],
        ),
        (
            [RefundLineInput(0, Decimal("0.0001"))],
            [("INVALID", "lines.0.quantity", "amount.decimals", {"count": "3"})],
        ),
        (
            [RefundLineInput(0, Decimal("0")), RefundLineInput(1, Decimal("-1"))],
            [
                ("INVALID", "lines.0.quantity", "quantity.not_positive", {}),
                ("INVALID", "lines.1.quantity", "quantity.not_positive", {}),
            ],
        ),
    ],
)
def test_malformed_lines_are_refused_with_their_paths(
    raw: list[RefundLineInput], expected: list[tuple[str, str, str, dict[str, str]]]
) -> None:
    with pytest.raises(DomainError) as refused:
        parse_refund_lines(raw)

    assert errors_of(refused.value) == expected


def test_a_refund_never_takes_more_than_is_left_of_a_line() -> None:
    with pytest.raises(DomainError) as refused:
        plan(SALE, [2000, 0], (RefundLine(0, 1500), RefundLine(2, 1000)))

    assert errors_of(refused.value) == [
        ("INVALID", "lines.0.quantity", "refund.quantity_left", {"left": "1"}),
        ("INVALID", "lines.1.line", "refund.no_such_line", {}),
    ]


def test_a_sales_last_refund_takes_all_that_is_left() -> None:
    one_unit = (RefundLine(0, 1000),)
    assert plan(SALE, [1000, 0], one_unit, MAX_REFUNDS - 1) == [2000, 0]
    assert plan(SALE, [1000, 0], None, MAX_REFUNDS) == [3000, 1000]
    assert plan(SALE, [2000, 1000], one_unit, MAX_REFUNDS) == [3000, 1000]

    with pytest.raises(DomainError) as refused:
        plan(SALE, [1000, 0], one_unit, MAX_REFUNDS)

    assert errors_of(refused.value) == [
        ("INVALID", "lines", "refund.last_takes_all", {"count": "10"})
    ]


def test_a_sale_with_nothing_left_is_already_refunded() -> None:
    for asked in (None, (RefundLine(0, 1000),)):
        with pytest.raises(DomainError) as refused:
            plan(SALE, [3000, 1000], asked)

        assert errors_of(refused.value) == [
            ("ALREADY_REFUNDED", "id", "checkout.already_refunded", {})
        ]


@pytest.mark.parametrize(
    ("amount", "share", "whole", "expected"),
    [
        (100, 0, 3, 0),
        (100, 1, 3, 33),
        (100, 2, 3, 67),  # 66.67: the larger remainder
        (100, 3, 3, 100),
        (1, 1, 2, 1),  # a tie goes to the refunded part
        (5, 0, 0, 0),
        (0, 1, 7, 0),
    ],
)
def test_part_splits_by_largest_remainder(
    amount: int, share: int, whole: int, expected: int
) -> None:
    assert part(amount, share, whole) == expected


def test_one_unit_of_three_reverses_its_share_of_everything() -> None:
    refund = share_of(SALE, [0, 0], [1000, 0])

    # the line: 10.00, 1.00 off, 9.00 paid; the sale's value refunded 10.00 of 35.00
    assert refund.lines == (line(1000, 1000, 100),)
    assert (refund.credits, refund.cashback, refund.group_discount) == (71, 30, 43)


def test_three_refunds_of_one_unit_reverse_what_one_whole_refund_does() -> None:
    steps = [[0, 0], [1000, 0], [2000, 0], [3000, 1000]]

    refunds = [share_of(SALE, a, b) for a, b in itertools.pairwise(steps)]

    assert [(r.credits, r.cashback, r.group_discount) for r in refunds] == [
        (71, 30, 43),
        (72, 30, 43),
        (107, 45, 64),
    ]
    assert [[(x.quantity, x.subtotal, x.discount, x.total) for x in r.lines] for r in refunds] == [
        [(1000, 1000, 100, 900)],
        [(1000, 1000, 100, 900)],
        [(1000, 1000, 100, 900), (1000, 500, 100, 400)],
    ]
    whole = reversed_so_far(SALE, [3000, 1000])
    assert whole.lines == SALE.lines
    assert (whole.credits, whole.cashback, whole.group_discount) == (250, 105, 150)


def test_promotions_are_reversed_in_proportion_like_the_other_amounts() -> None:
    steps = [[0, 0], [1000, 0], [2000, 0], [3000, 1000]]

    refunds = [share_of(PROMOTED, a, b) for a, b in itertools.pairwise(steps)]

    # 0.40 split by the refunded value: 10.00, then 20.00, then all 35.00 of 35.00
    assert [(r.group_discount, r.promotions) for r in refunds] == [(31, 11), (32, 12), (47, 17)]
    assert reversed_so_far(PROMOTED, [2000, 0]).promotions == 23
    assert reversed_so_far(PROMOTED, [3000, 1000]).promotions == 40


def test_quantities_are_written_as_the_decimal_they_stand_for() -> None:
    assert [quantity_text(q) for q in (1000, 500, 1125, 20000, 1)] == [
        "1",
        "0.5",
        "1.125",
        "20",
        "0.001",
    ]


# ----------------------------------------------------------------------------- properties


@st.composite
def sales(draw: st.DrawFn) -> SaleFigures:
    lines = []
    for index in range(draw(st.integers(1, 6))):
        quantity = draw(st.sampled_from([1000, 3000]) | st.integers(1, 20_000))
        subtotal = draw(st.integers(0, 5) | st.integers(0, 1_000_000))
        discount = draw(st.integers(0, subtotal))
        lines.append(line(quantity, subtotal, discount, f"p{index}"))
    discounts = sum(x.discount for x in lines)
    total = sum(x.total for x in lines)
    credits = draw(st.integers(0, discounts))
    group_discount = draw(st.integers(0, discounts - credits))
    return SaleFigures(
        lines=tuple(lines),
        credits_used=credits,
        cashback_granted=draw(st.integers(0, total)),
        group_discount=group_discount,
        promotions=draw(st.integers(0, discounts - credits - group_discount)),
    )


@st.composite
def split_sales(draw: st.DrawFn) -> tuple[SaleFigures, list[list[int]]]:
    """A sale and the quantities refunded after each of a sequence of refunds that ends with
    all of it refunded: each refund takes a random part of what is left of random lines."""
    sale = draw(sales())
    sold = [x.quantity for x in sale.lines]
    steps = [[0] * len(sold)]
    for _ in range(draw(st.integers(0, 6))):
        now = list(steps[-1])
        for index, quantity in enumerate(sold):
            now[index] += draw(st.integers(0, quantity - now[index]))
        steps.append(now)
    steps.append(sold)
    return sale, steps


@EXAMPLES
@given(split_sales())
def test_any_split_into_refunds_sums_exactly_to_the_whole_refund(
    case: tuple[SaleFigures, list[list[int]]],
) -> None:
    sale, steps = case
    refunds = [share_of(sale, a, b) for a, b in itertools.pairwise(steps)]

    assert sum(r.credits for r in refunds) == sale.credits_used
    assert sum(r.cashback for r in refunds) == sale.cashback_granted
    assert sum(r.group_discount for r in refunds) == sale.group_discount
    assert sum(r.promotions for r in refunds) == sale.promotions
    for sold in sale.lines:  # each line's refunded parts, matched by product
        parts = [x for r in refunds for x in r.lines if x.product_id == sold.product_id]
        assert sum(x.quantity for x in parts) == sold.quantity
        assert sum(x.subtotal for x in parts) == sold.subtotal
        assert sum(x.discount for x in parts) == sold.discount
        assert sum(x.total for x in parts) == sold.total
    whole = reversed_so_far(sale, steps[-1])
    assert whole.lines == sale.lines
    assert sum(r.value for r in refunds) == sale.subtotal


@EXAMPLES
@given(split_sales())
def test_no_refund_reverses_a_negative_amount_or_more_than_the_sale(
    case: tuple[SaleFigures, list[list[int]]],
) -> None:
    sale, steps = case
    for before, after in itertools.pairwise(steps):
        refund = share_of(sale, before, after)
        so_far = reversed_so_far(sale, after)
        figures = (refund.credits, refund.cashback, refund.group_discount, refund.promotions)
        assert min(figures) >= 0
        for x in refund.lines:
            assert min(x.quantity, x.subtotal, x.discount, x.total) >= 0
        assert so_far.credits <= sale.credits_used
        assert so_far.cashback <= sale.cashback_granted
        assert so_far.group_discount <= sale.group_discount
        assert so_far.promotions <= sale.promotions
        for got, sold in zip(so_far.lines, sale.lines, strict=True):
            assert got.subtotal <= sold.subtotal
            assert got.discount <= sold.discount
            assert got.total <= sold.total
