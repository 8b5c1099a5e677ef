"""Refunds by the line: what a refund names, parsed once, and how much of a sale it reverses.

A refund names lines of the sale (0-based indexes) and quantities (thousandths, like the
bill's), or nothing: then it takes all that is left. It never takes more of a line than was
sold less what earlier refunds took.

Arithmetic, the cumulative method: what the refunds of a sale have reversed so far is a function
of the quantities refunded so far (`reversed_so_far`), and one refund reverses the difference
between that figure after it and before it (`share_of`). Each amount so far is the sale's amount
split by largest remainder (`domain.allocation.allocate`) between the refunded part and the rest
(`part`), which never decreases as more is refunded and is the whole amount once everything is.
So refunds that add up to the whole sale reverse exactly what one whole refund would, no refund
reverses a negative amount, and together they never reverse more than the sale.

- A line: its discount and its total (what was paid on it) in proportion to the quantity
  refunded; its refunded subtotal is their sum.
- The sale: the credits used, the cashback granted, the group discount taken of the daily
  limit and the online promotions, in proportion to the refunded value (the refunded lines'
  subtotals) of the sale's subtotal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from domain.allocation import allocate
from domain.bill import MAX_LINES, QUANTITY_PLACES, parse_quantity
from domain.checkouts import CheckoutView
from domain.errors import ErrorCode, Validator, fail
from domain.messages import msg
from domain.pricing import DiscountKind, QuoteLine

MAX_REFUND_LINES = MAX_LINES  # a refund names each line of the sale at most once
# A sale takes at most this many refunds (the last takes all that is left), so that its list of
# refunds stays short enough to read in one answer.
MAX_REFUNDS = 10
LINES_FIELD = "lines"


@dataclass(frozen=True, slots=True)
class RefundLineInput:
    """What a till sends: a line's 0-based index and a quantity."""

    line: int
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class RefundLine:
    """One line of a refund, valid as far as it can be without the sale."""

    line: int
    quantity: int  # thousandths, positive


@dataclass(frozen=True, slots=True)
class SaleFigures:
    """What a refund reverses a share of: the sale's lines and amounts (minor units)."""

    lines: tuple[QuoteLine, ...]
    credits_used: int
    cashback_granted: int
    group_discount: int
    promotions: int  # what the sale's online promotions took off

    @property
    def subtotal(self) -> int:
        return sum(line.subtotal for line in self.lines)


@dataclass(frozen=True, slots=True)
class Reversed:
    """What refunds reverse: the lines' refunded parts, and the amounts of the sale."""

    lines: tuple[QuoteLine, ...]  # quantity, subtotal, discount and total refunded of each line
    credits: int
    cashback: int
    group_discount: int
    promotions: int

    @property
    def value(self) -> int:
        """The refunded value: the refunded lines' subtotals."""
        return sum(line.subtotal for line in self.lines)


def parse_refund_lines(raw: Sequence[RefundLineInput] | None) -> tuple[RefundLine, ...] | None:
    """The lines a refund names, valid (None: all that is left); raises `DomainError` naming
    every problem (``lines``, ``lines.<i>.line``, ``lines.<i>.quantity``)."""
    if raw is None:
        return None
    checks = Validator()
    if not raw:
        checks.add(ErrorCode.INVALID, LINES_FIELD, msg("refund.no_lines"))
    elif len(raw) > MAX_REFUND_LINES:
        checks.add(
            ErrorCode.INVALID, LINES_FIELD, msg("refund.too_many_lines", count=MAX_REFUND_LINES)
        )
    checks.check()
    seen: set[int] = set()
    lines: list[RefundLine] = []
    for index, item in enumerate(raw):
        path = f"{LINES_FIELD}.{index}"
        if item.line < 0 or item.line >= MAX_LINES:
            checks.add(ErrorCode.INVALID, f"{path}.line", msg("refund.no_such_line"))
        elif item.line in seen:
            checks.add(ErrorCode.INVALID, f"{path}.line", msg("refund.line_twice"))
        seen.add(item.line)
        quantity = parse_quantity(checks, f"{path}.quantity", item.quantity)
        lines.append(RefundLine(item.line, quantity))
    checks.check()
    return tuple(lines)


def quantity_text(thousandths: int) -> str:
    """A quantity as the exact decimal it stands for ("2", "0.5", "1.125")."""
    text = f"{Decimal(thousandths).scaleb(-QUANTITY_PLACES):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def plan(
    sale: SaleFigures,
    refunded: Sequence[int],
    asked: tuple[RefundLine, ...] | None,
    number: int = 1,
) -> list[int]:
    """The quantities of each line of the sale refunded once this refund, the sale's `number`th,
    is made, given those refunded before (`refunded`, one per line). Raises ALREADY_REFUNDED
    when nothing is left, INVALID naming the line when the refund asks for a line the sale has
    not or for more than is left of it, and INVALID on ``lines`` when the sale's last refund
    (`MAX_REFUNDS`) leaves anything."""
    sold = [line.quantity for line in sale.lines]
    left = [q - r for q, r in zip(sold, refunded, strict=True)]
    if not any(left):
        raise fail(ErrorCode.ALREADY_REFUNDED, "id", msg("checkout.already_refunded"))
    if asked is None:
        return list(sold)
    after = list(refunded)
    checks = Validator()
    for index, item in enumerate(asked):
        path = f"{LINES_FIELD}.{index}"
        if item.line >= len(sold):
            checks.add(ErrorCode.INVALID, f"{path}.line", msg("refund.no_such_line"))
        elif item.quantity > left[item.line]:
            checks.add(
                ErrorCode.INVALID,
                f"{path}.quantity",
                msg("refund.quantity_left", left=quantity_text(left[item.line])),
            )
        else:
            after[item.line] += item.quantity
    checks.check()
    if number >= MAX_REFUNDS and after != sold:
        raise fail(ErrorCode.INVALID, LINES_FIELD, msg("refund.last_takes_all", count=MAX_REFUNDS))
    return after


def part(amount: int, share: int, whole: int) -> int:
    """`amount`'s part for `share` of `whole`, by largest remainder: `amount` split between
    `share` and `whole - share` (0 when `whole` is)."""
    if not 0 <= share <= whole:
        raise ValueError("a share is between nothing and the whole")
    if whole == 0:
        return 0
    return allocate(amount, [share, whole - share])[0]


def reversed_so_far(sale: SaleFigures, refunded: Sequence[int]) -> Reversed:
    """What refunds of `refunded` quantities (one per line) reverse of the sale in all."""
    lines = tuple(
        _line_part(line, quantity) for line, quantity in zip(sale.lines, refunded, strict=True)
    )
    value = sum(line.subtotal for line in lines)
    subtotal = sale.subtotal
    return Reversed(
        lines=lines,
        credits=part(sale.credits_used, value, subtotal),
        cashback=part(sale.cashback_granted, value, subtotal),
        group_discount=part(sale.group_discount, value, subtotal),
        promotions=part(sale.promotions, value, subtotal),
    )


def _line_part(line: QuoteLine, quantity: int) -> QuoteLine:
    discount = part(line.discount, quantity, line.quantity)
    total = part(line.total, quantity, line.quantity)
    return replace(
        line, quantity=quantity, subtotal=discount + total, discount=discount, total=total
    )


def share_of(sale: SaleFigures, before: Sequence[int], after: Sequence[int]) -> Reversed:
    """What one refund reverses: the figures for the quantities refunded after it less those
    before it; its lines are those whose refunded quantity it changes."""
    if any(b > a for b, a in zip(before, after, strict=True)):
        raise ValueError("a refund never gives back what was refunded")
    then, now = reversed_so_far(sale, before), reversed_so_far(sale, after)
    lines = tuple(
        replace(
            b,
            quantity=b.quantity - a.quantity,
            subtotal=b.subtotal - a.subtotal,
            discount=b.discount - a.discount,
            total=b.total - a.total,
        )
        for a, b in zip(then.lines, now.lines, strict=True)
        if b.quantity != a.quantity
    )
    return Reversed(
        lines=lines,
        credits=now.credits - then.credits,
        cashback=now.cashback - then.cashback,
        group_discount=now.group_discount - then.group_discount,
        promotions=now.promotions - then.promotions,
    )


def figures_of(sale: CheckoutView) -> SaleFigures:
    """What a refund of the recorded sale reverses a share of."""
    return SaleFigures(
        lines=sale.lines,
        credits_used=sale.credits_used,
        cashback_granted=sale.cashback_granted,
        group_discount=sum(
            d.amount for d in sale.discounts if d.kind is DiscountKind.GROUP_DISCOUNT
        ),
        promotions=sum(d.amount for d in sale.discounts if d.kind is DiscountKind.PROMOTION),
    )
