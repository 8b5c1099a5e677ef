"""The bill a till sends, parsed into trusted values: a line's subtotal and the one rounding
rule, the line count, and a table of bad inputs with their field paths. Pure: no database."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

import pytest

from domain.bill import Bill, BillInput, Line, LineInput, SalesChannel, parse_bill
from domain.errors import DomainError
from domain.money import half_up
from domain.pricing import PricingContext, price
from tests.english import en

POS = SalesChannel.POS
KIOSK = SalesChannel.KIOSK


def item(unit_price: str = "10.00", quantity: str = "1", product_id: str = "p1") -> LineInput:
    return LineInput(product_id, Decimal(quantity), Decimal(unit_price))


# ----------------------------------------------------------------------------- rounding


@pytest.mark.parametrize(
    ("quantity", "unit_price", "minor_units", "subtotal"),
    [
        pytest.param("1", "10.00", 2, 1000, id="whole"),
        pytest.param("0.333", "1.00", 2, 33, id="33.3 down"),
        pytest.param("0.335", "1.00", 2, 34, id="33.5 half up"),
        pytest.param("2.5", "0.01", 2, 3, id="2.5 half up, not to even"),
        pytest.param("0.25", "0.02", 2, 1, id="0.5 of a grosz up"),
        pytest.param("0.249", "0.02", 2, 0, id="0.498 of a grosz down"),
        pytest.param("1.999", "0.99", 2, 198, id="197.901 down"),
        pytest.param("0.5", "105", 0, 53, id="JPY 52.5 up"),
        pytest.param("0.333", "1.000", 3, 333, id="KWD 0.333"),
        pytest.param("1.5", "0.001", 3, 2, id="KWD 1.5 fils up"),
        pytest.param("100000", "100.00", 2, 1_000_000_000, id="the maximum exactly"),
    ],
)
def test_a_line_subtotal_is_rounded_half_up_to_the_minor_unit(
    quantity: str, unit_price: str, minor_units: int, subtotal: int
) -> None:
    lines = parse_bill(BillInput(POS, [item(unit_price, quantity)]), minor_units).lines

    assert lines[0].subtotal == subtotal
    assert price(Bill(POS, lines), PricingContext(minor_units)).subtotal == subtotal


@pytest.mark.parametrize(
    ("numerator", "denominator", "rounded"),
    [(0, 7, 0), (4, 10, 0), (5, 10, 1), (15, 10, 2), (14_499, 1000, 14), (14_500, 1000, 15)],
)
def test_the_one_rounding_rule_is_half_up_on_the_exact_quotient(
    numerator: int, denominator: int, rounded: int
) -> None:
    assert half_up(numerator, denominator) == rounded


# ----------------------------------------------------------------------------- parsing


def test_a_good_bill_parses_into_trusted_values() -> None:
    raw = BillInput(
        channel=KIOSK,
        lines=[
            LineInput("  SKU-1 ", Decimal("1.500"), Decimal("12.5"), "  Kawa  ", " hot "),
            LineInput("SKU-2", Decimal("2"), Decimal("0"), " ", None),
        ],
        use_credits=False,
        max_credits=Decimal("7.50"),
        excluded_discount_ids=[" credits ", "pos-discount:1", "credits"],
    )

    assert parse_bill(raw, 2) == Bill(
        channel=KIOSK,
        lines=(
            Line("SKU-1", "Kawa", "hot", 1500, 1250),
            Line("SKU-2", None, None, 2000, 0),
        ),
        use_credits=False,
        max_credits=750,
        excluded_ids=frozenset({"credits", "pos-discount:1"}),
    )


def lines_of(count: int) -> list[LineInput]:
    return [item("1.00") for _ in range(count)]


def parsing(*items: LineInput, minor_units: int = 2, **changes: object) -> Callable[[], object]:
    """Parse a bill of `items` (one good line when none) with `changes` to its fields."""
    raw = replace(BillInput(POS, list(items) or [item()]), **changes)  # type: ignore[arg-type]
    return lambda: parse_bill(raw, minor_units)


Errors = list[tuple[str, str, str]]
LINE = "input.lines.0"
QUANTITY = f"{LINE}.quantity"
PRICE = f"{LINE}.unitPrice"
MAX_CREDITS = "input.maxCredits"
EXCLUDED = "input.excludedDiscountIds"

BAD: list[tuple[str, Callable[[], object], Errors]] = [
    # lines
    ("no lines", parsing(lines=[]), [("INVALID", "input.lines", "A bill needs at least 1 line.")]),
    (
        "251 lines",
        parsing(lines=lines_of(251)),
        [("INVALID", "input.lines", "A bill has at most 250 lines.")],
    ),
    (
        "an empty product id",
        parsing(item(product_id="  ")),
        [("INVALID", f"{LINE}.productId", "Product id must not be empty.")],
    ),
    (
        "a product id over 100",
        parsing(item(product_id="p" * 101)),
        [("INVALID", f"{LINE}.productId", "At most 100 characters.")],
    ),
    (
        "NUL in a product id",
        parsing(item(product_id="p\x00")),
        [("INVALID", f"{LINE}.productId", "Must not contain control characters (U+0000).")],
    ),
    (
        "a name over 200",
        parsing(LineInput("p", Decimal(1), Decimal(1), name="n" * 201)),
        [("INVALID", f"{LINE}.name", "At most 200 characters.")],
    ),
    (
        "RLO in a name",
        parsing(LineInput("p", Decimal(1), Decimal(1), name="abc\u202edef")),
        [("INVALID", f"{LINE}.name", "Must not contain control characters (U+202E).")],
    ),
    (
        "a newline in a category",
        parsing(LineInput("p", Decimal(1), Decimal(1), category_id="a\nb")),
        [("INVALID", f"{LINE}.categoryId", "Must not contain control characters (U+000A).")],
    ),
    (
        "a category over 100",
        parsing(LineInput("p", Decimal(1), Decimal(1), category_id="c" * 101)),
        [("INVALID", f"{LINE}.categoryId", "At most 100 characters.")],
    ),
    # quantity
    (
        "zero quantity",
        parsing(item(quantity="0")),
        [("INVALID", QUANTITY, "Quantity must be greater than 0.")],
    ),
    (
        "-0 quantity",
        parsing(item(quantity="-0.000")),
        [("INVALID", QUANTITY, "Quantity must be greater than 0.")],
    ),
    (
        "negative quantity",
        parsing(item(quantity="-1")),
        [("INVALID", QUANTITY, "Quantity must be greater than 0.")],
    ),
    (
        "4 decimals",
        parsing(item(quantity="1.0001")),
        [("INVALID", QUANTITY, "At most 3 decimal places.")],
    ),
    (
        "NaN quantity",
        parsing(item(quantity="NaN")),
        [("INVALID", QUANTITY, "Quantity is not a number.")],
    ),
    (
        "sNaN quantity",
        parsing(item(quantity="sNaN")),
        [("INVALID", QUANTITY, "Quantity is not a number.")],
    ),
    (
        "infinite quantity",
        parsing(item(quantity="Infinity")),
        [("INVALID", QUANTITY, "Quantity is not a number.")],
    ),
    (
        "quantity over 100000",
        parsing(item(quantity="100000.001")),
        [("INVALID", QUANTITY, "Quantity must be at most 100000.")],
    ),
    (
        "a huge exponent",
        parsing(item(quantity="1e999999999")),
        [("INVALID", QUANTITY, "Quantity must be at most 100000.")],
    ),
    (
        "a tiny exponent",
        parsing(item(quantity="1e-999999999")),
        [("INVALID", QUANTITY, "At most 3 decimal places.")],
    ),
    # unit price
    (
        "negative price",
        parsing(item("-0.01")),
        [("INVALID", PRICE, "Unit price must not be negative.")],
    ),
    (
        "3 decimals in PLN",
        parsing(item("1.005")),
        [("INVALID", PRICE, "At most 2 decimal places.")],
    ),
    (
        "decimals in JPY",
        parsing(item("1.5"), minor_units=0),
        [("INVALID", PRICE, "Unit price must be a whole number.")],
    ),
    (
        "4 decimals in KWD",
        parsing(item("1.0005"), minor_units=3),
        [("INVALID", PRICE, "At most 3 decimal places.")],
    ),
    (
        "price over the maximum",
        parsing(item("10000000.01")),
        [("INVALID", PRICE, "Unit price must be at most 10000000.00.")],
    ),
    (
        "JPY price over the maximum",
        parsing(item("10000001"), minor_units=0),
        [("INVALID", PRICE, "Unit price must be at most 10000000.")],
    ),
    ("NaN price", parsing(item("NaN")), [("INVALID", PRICE, "Unit price is not a number.")]),
    # the bill as a whole
    (
        "a subtotal over the maximum",
        parsing(item("10000000.00"), item("0.01")),
        [("INVALID", "input.lines", "The bill's subtotal must be at most 10000000.00.")],
    ),
    (
        "a subtotal over the maximum by quantity",
        parsing(item("100.01", quantity="100000")),
        [("INVALID", "input.lines", "The bill's subtotal must be at most 10000000.00.")],
    ),
    # maxCredits
    (
        "negative maxCredits",
        parsing(max_credits=Decimal("-1")),
        [("INVALID", MAX_CREDITS, "Credits to use must not be negative.")],
    ),
    (
        "maxCredits decimals",
        parsing(max_credits=Decimal("0.001")),
        [("INVALID", MAX_CREDITS, "At most 2 decimal places.")],
    ),
    (
        "maxCredits NaN",
        parsing(max_credits=Decimal("NaN")),
        [("INVALID", MAX_CREDITS, "Credits to use is not a number.")],
    ),
    (
        "maxCredits huge",
        parsing(max_credits=Decimal("1e30")),
        [("INVALID", MAX_CREDITS, "Credits to use must be at most 10000000.00.")],
    ),
    # excluded ids
    (
        "51 excluded ids",
        parsing(excluded_discount_ids=["x"] * 51),
        [("INVALID", EXCLUDED, "At most 50 discount ids.")],
    ),
    (
        "an empty excluded id",
        parsing(excluded_discount_ids=["credits", " "]),
        [("INVALID", f"{EXCLUDED}.1", "Discount id must not be empty.")],
    ),
    (
        "an excluded id over 200",
        parsing(excluded_discount_ids=["x" * 201]),
        [("INVALID", f"{EXCLUDED}.0", "At most 200 characters.")],
    ),
    (
        "ESC in an excluded id",
        parsing(excluded_discount_ids=["\x1b"]),
        [("INVALID", f"{EXCLUDED}.0", "Must not contain control characters (U+001B).")],
    ),
    # every problem at once, in the order of the input's fields
    (
        "everything",
        parsing(
            item(),
            LineInput("", Decimal("0.0001"), Decimal("-1"), name="\x07"),
            item(),
            LineInput("p3", Decimal("1"), Decimal("1.001")),
            max_credits=Decimal("-0.5"),
            excluded_discount_ids=[""],
        ),
        [
            ("INVALID", "input.lines.1.productId", "Product id must not be empty."),
            ("INVALID", "input.lines.1.name", "Must not contain control characters (U+0007)."),
            ("INVALID", "input.lines.1.quantity", "At most 3 decimal places."),
            ("INVALID", "input.lines.1.unitPrice", "Unit price must not be negative."),
            ("INVALID", "input.lines.3.unitPrice", "At most 2 decimal places."),
            ("INVALID", MAX_CREDITS, "Credits to use must not be negative."),
            ("INVALID", f"{EXCLUDED}.0", "Discount id must not be empty."),
        ],
    ),
]


@pytest.mark.parametrize(("parse", "expected"), [pytest.param(p, e, id=n) for n, p, e in BAD])
def test_bad_input_names_every_problem_with_its_field(
    parse: Callable[[], object], expected: Errors
) -> None:
    with pytest.raises(DomainError) as raised:
        parse()

    assert [(e.code.value, e.field, en(e.message)) for e in raised.value.errors] == expected


@pytest.mark.parametrize(
    ("count", "errors"),
    [
        pytest.param(0, [("input.lines", "A bill needs at least 1 line.")], id="empty"),
        pytest.param(251, [("input.lines", "A bill has at most 250 lines.")], id="251"),
    ],
)
def test_parse_bill_counts_the_lines(count: int, errors: list[tuple[str, str]]) -> None:
    with pytest.raises(DomainError) as raised:
        parse_bill(BillInput(POS, lines_of(count)), 2)

    assert [(e.field, en(e.message)) for e in raised.value.errors] == errors


@pytest.mark.parametrize("count", [1, 250])
def test_one_to_250_lines_are_accepted(count: int) -> None:
    lines = parse_bill(BillInput(POS, lines_of(count)), 2).lines

    assert len(lines) == count
    assert price(Bill(POS, lines), PricingContext(2)).total == 100 * count
