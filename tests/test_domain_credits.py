"""Parsing a credit request, a target and a filter: one table of bad inputs for every entry
point (one-off and recurring credits, group membership targets, customer list filters), and
the values a good request parses into. Pure: no database."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from uuid import UUID

import pytest

from domain.credits import (
    CustomerSelection,
    ParsedCredit,
    ParsedTarget,
    parse_credit,
    parse_filter,
    parse_target,
)
from domain.errors import DomainError
from domain.ledger import CreditOperation
from domain.money import percent_to_basis_points, to_decimal, to_minor
from domain.requests import CreditRequest, CustomerFilter, Target
from domain.schedule import Recurrence, RecurrenceUnit
from tests.english import en

TODAY = date(2026, 6, 15)
CUSTOMER = "0190d7a2-5c4e-7000-8000-000000000001"
OTHER_CUSTOMER = "0190d7a2-5c4e-7000-8000-000000000002"
GROUP = "0190d7a2-5c4e-7000-8000-00000000000a"
ONE = Target(customer_ids=(CUSTOMER,))
MONTHLY = Recurrence(1, RecurrenceUnit.MONTH, TODAY)
GOOD = CreditRequest(target=ONE, operation="ADD", amount=Decimal("20.00"))


def credit(minor_units: int = 2, **changes: object) -> Callable[[], object]:
    """Parse GOOD with `changes`, in a currency with `minor_units` places."""
    request = replace(GOOD, **changes)  # type: ignore[arg-type]
    return lambda: parse_credit(request, minor_units=minor_units, today=TODAY)


def target(value: Target) -> Callable[[], object]:
    return lambda: parse_target(value, "target")


def listing(value: CustomerFilter) -> Callable[[], object]:
    return lambda: parse_filter(value, "filter")


def ids(n: int) -> tuple[str, ...]:
    return tuple(str(UUID(int=i + 1)) for i in range(n))


def groups_only(**criteria: object) -> Target:
    return Target(filter=CustomerFilter(**criteria))  # type: ignore[arg-type]


Errors = list[tuple[str, str, str]]
AMOUNT = "input.amount"
KEY = "input.idempotencyKey"
NOT_RECURRING = (
    "INVALID",
    "input.target.filter",
    "Recurring credits target listed customers, customer groups (filter.groupIds) or every"
    " customer (allCustomers); other filters are not supported.",
)
EXACTLY_ONE = "Give exactly one of customerIds, filter and allCustomers."
EMPTY = "A filter needs at least one criterion; to target every customer, send allCustomers: true."
EMPTY_FILTER = ("INVALID", "input.target.filter", EMPTY)

BAD: list[tuple[str, Callable[[], object], Errors]] = [
    # operation and amount
    (
        "unknown operation",
        credit(operation="DOUBLE"),
        [("INVALID", "input.operation", "Use ADD, REDUCE or SET.")],
    ),
    (
        "negative ADD",
        credit(amount=Decimal("-5.00")),
        [("INVALID", AMOUNT, "Amount must not be negative.")],
    ),
    (
        "negative SET",
        credit(operation="SET", amount=Decimal("-0.01")),
        [("INVALID", AMOUNT, "Amount must not be negative.")],
    ),
    (
        "zero ADD",
        credit(amount=Decimal("0")),
        [("INVALID", AMOUNT, "Amount must be greater than 0.")],
    ),
    (
        "zero REDUCE",
        credit(operation="REDUCE", amount=Decimal("0.00")),
        [("INVALID", AMOUNT, "Amount must be greater than 0.")],
    ),
    (
        "3 decimals in PLN",
        credit(amount=Decimal("1.005")),
        [("INVALID", AMOUNT, "At most 2 decimal places.")],
    ),
    (
        "decimals in JPY",
        credit(0, amount=Decimal("1.5")),
        [("INVALID", AMOUNT, "Amount must be a whole number.")],
    ),
    (
        "4 decimals in KWD",
        credit(3, amount=Decimal("1.0005")),
        [("INVALID", AMOUNT, "At most 3 decimal places.")],
    ),
    (
        "over the maximum",
        credit(amount=Decimal("10000000.01")),
        [("INVALID", AMOUNT, "Amount must be at most 10000000.00.")],
    ),
    (
        "over the maximum in JPY",
        credit(0, amount=Decimal("10000001")),
        [("INVALID", AMOUNT, "Amount must be at most 10000000.")],
    ),
    (
        "a huge exponent",
        credit(amount=Decimal("1e999999999")),
        [("INVALID", AMOUNT, "Amount must be at most 10000000.00.")],
    ),
    (
        "a tiny exponent",
        credit(amount=Decimal("1e-999999999")),
        [("INVALID", AMOUNT, "At most 2 decimal places.")],
    ),
    ("NaN", credit(amount=Decimal("NaN")), [("INVALID", AMOUNT, "Amount is not a number.")]),
    (
        "Infinity",
        credit(amount=Decimal("Infinity")),
        [("INVALID", AMOUNT, "Amount is not a number.")],
    ),
    (
        "more than 28 digits",
        credit(amount=Decimal("1.0000000000000000000000000000001")),
        [("INVALID", AMOUNT, "At most 2 decimal places.")],
    ),
    # description
    (
        "a description over 500",
        credit(description="x" * 501),
        [("INVALID", "input.description", "At most 500 characters.")],
    ),
    (
        "NUL in a description",
        credit(description="Bonus\x00"),
        [("INVALID", "input.description", "Must not contain control characters (U+0000).")],
    ),
    (
        "ESC in a description",
        credit(description="\x1b[31mred"),
        [("INVALID", "input.description", "Must not contain control characters (U+001B).")],
    ),
    (
        "RLO in a description",
        credit(description="abc\u202edef"),
        [("INVALID", "input.description", "Must not contain control characters (U+202E).")],
    ),
    # idempotency key
    (
        "an empty key",
        credit(idempotency_key=""),
        [("INVALID", KEY, "Idempotency key must not be empty.")],
    ),
    (
        "a blank key",
        credit(idempotency_key=" \t "),
        [("INVALID", KEY, "Idempotency key must not be empty.")],
    ),
    (
        "a key over 128",
        credit(idempotency_key="k" * 129),
        [("INVALID", KEY, "At most 128 characters.")],
    ),
    (
        "a key with a newline",
        credit(idempotency_key="a\nb"),
        [("INVALID", KEY, "Must not contain control characters (U+000A).")],
    ),
    # target of a credit
    ("no target", credit(target=Target()), [("INVALID", "input.target", EXACTLY_ONE)]),
    (
        "both targets",
        credit(target=Target((CUSTOMER,), CustomerFilter())),
        [("INVALID", "input.target", EXACTLY_ONE)],
    ),
    (
        "customer ids and allCustomers",
        credit(target=Target((CUSTOMER,), all_customers=True)),
        [("INVALID", "input.target", EXACTLY_ONE)],
    ),
    (
        "a filter and allCustomers",
        credit(target=Target(filter=CustomerFilter(has_credits=True), all_customers=True)),
        [("INVALID", "input.target", EXACTLY_ONE)],
    ),
    (
        "allCustomers false alone",
        credit(target=Target(all_customers=False)),
        [("INVALID", "input.target", EXACTLY_ONE)],
    ),
    # a filter without a criterion would select everyone
    ("an empty filter", credit(target=groups_only()), [EMPTY_FILTER]),
    ("an empty search", credit(target=groups_only(search="")), [EMPTY_FILTER]),
    ("a blank search", credit(target=groups_only(search=" \t\u3000\n ")), [EMPTY_FILTER]),
    (
        "an empty filter with allCustomers false",
        credit(target=Target(filter=CustomerFilter(), all_customers=False)),
        [EMPTY_FILTER],
    ),
    (
        "10,001 customer ids",
        credit(target=Target(ids(10_001))),
        [("INVALID", "input.target.customerIds", "At most 10000 ids; use a filter for more.")],
    ),
    (
        "10,001 filter ids",
        credit(target=groups_only(ids=ids(10_001))),
        [("INVALID", "input.target.filter.ids", "At most 10000 ids per filter.")],
    ),
    (
        "NUL in a search",
        credit(target=groups_only(search="a\x00")),
        [
            (
                "INVALID",
                "input.target.filter.search",
                "Must not contain control characters (U+0000).",
            )
        ],
    ),
    # recurrence
    (
        "every 0",
        credit(recurrence=replace(MONTHLY, every=0)),
        [("INVALID", "input.recurrence.every", "Every must be between 1 and 365.")],
    ),
    (
        "every 366",
        credit(recurrence=replace(MONTHLY, every=366)),
        [("INVALID", "input.recurrence.every", "Every must be between 1 and 365.")],
    ),
    (
        "a start yesterday",
        credit(recurrence=replace(MONTHLY, start_date=date(2026, 6, 14))),
        [
            (
                "INVALID",
                "input.recurrence.startDate",
                "Start date must not be before today (2026-06-15).",
            )
        ],
    ),
    (
        "a start in year 1",
        credit(recurrence=replace(MONTHLY, start_date=date(1, 1, 1))),
        [
            (
                "INVALID",
                "input.recurrence.startDate",
                "Start date must not be before today (2026-06-15).",
            )
        ],
    ),
    (
        "an end before the start",
        credit(recurrence=replace(MONTHLY, end_date=date(2026, 6, 14))),
        [("INVALID", "input.recurrence.endDate", "End date must not be before the start date.")],
    ),
    (
        "a recurring search",
        credit(target=groups_only(search="Ala"), recurrence=MONTHLY),
        [NOT_RECURRING],
    ),
    ("a recurring empty filter", credit(target=groups_only(), recurrence=MONTHLY), [EMPTY_FILTER]),
    (
        "a recurring empty group list",
        credit(target=groups_only(group_ids=()), recurrence=MONTHLY),
        [NOT_RECURRING],
    ),
    (
        "recurring groups and hasCredits",
        credit(target=groups_only(group_ids=(GROUP,), has_credits=True), recurrence=MONTHLY),
        [NOT_RECURRING],
    ),
    # every problem at once, in the order of the input's fields
    (
        "everything",
        credit(
            operation="SET",
            amount=Decimal("-1.001"),
            description="\x07",
            idempotency_key="",
            target=Target(("nope",)),
            recurrence=Recurrence(0, RecurrenceUnit.DAY, date(2026, 6, 1), date(2026, 5, 1)),
        ),
        [
            ("INVALID", AMOUNT, "At most 2 decimal places."),
            ("INVALID", "input.description", "Must not contain control characters (U+0007)."),
            ("INVALID", KEY, "Idempotency key must not be empty."),
            ("INVALID", "input.recurrence.every", "Every must be between 1 and 365."),
            (
                "INVALID",
                "input.recurrence.startDate",
                "Start date must not be before today (2026-06-15).",
            ),
            ("INVALID", "input.recurrence.endDate", "End date must not be before the start date."),
        ],
    ),
    # a group membership target
    ("membership: no target", target(Target()), [("INVALID", "target", EXACTLY_ONE)]),
    (
        "membership: both",
        target(Target((), CustomerFilter())),
        [("INVALID", "target", EXACTLY_ONE)],
    ),
    (
        "membership: ids and allCustomers",
        target(Target((CUSTOMER,), all_customers=True)),
        [("INVALID", "target", EXACTLY_ONE)],
    ),
    (
        "membership: an empty filter",
        target(Target(filter=CustomerFilter())),
        [("INVALID", "target.filter", EMPTY)],
    ),
    (
        "membership: a blank search",
        target(Target(filter=CustomerFilter(search="  "))),
        [("INVALID", "target.filter", EMPTY)],
    ),
    (
        "membership: 10,001 ids",
        target(Target(ids(10_001))),
        [("INVALID", "target.customerIds", "At most 10000 ids; use a filter for more.")],
    ),
    # a customer list filter
    (
        "list: 10,001 group ids",
        listing(CustomerFilter(group_ids=ids(10_001))),
        [("INVALID", "filter.groupIds", "At most 10000 ids per filter.")],
    ),
    (
        "list: search over 100",
        listing(CustomerFilter(search="s" * 101)),
        [("INVALID", "filter.search", "At most 100 characters.")],
    ),
    (
        "list: ESC in search",
        listing(CustomerFilter(search="\x1b")),
        [("INVALID", "filter.search", "Must not contain control characters (U+001B).")],
    ),
]


@pytest.mark.parametrize(("parse", "expected"), [pytest.param(p, e, id=n) for n, p, e in BAD])
def test_bad_input_names_every_problem_with_its_field(
    parse: Callable[[], object], expected: Errors
) -> None:
    with pytest.raises(DomainError) as raised:
        parse()

    assert [(e.code.value, e.field, en(e.message)) for e in raised.value.errors] == expected


def test_an_id_that_is_not_a_uuid_is_kept_in_its_place_as_none() -> None:
    # An id that names nothing is NOT_FOUND at its path once the service has looked the
    # well-formed ones up: malformed and unknown ids are answered alike, all at once.
    weird = Target(customer_ids=(CUSTOMER, "nope", "", "{" + OTHER_CUSTOMER + "}"))
    in_filter = CustomerFilter(ids=("1",), group_ids=(GROUP, "g"))

    assert parse_target(weird, "target") == ParsedTarget(
        customer_ids=(UUID(CUSTOMER), None, None, UUID(OTHER_CUSTOMER))
    )
    assert parse_target(weird, "target").distinct_customer_ids() == [
        UUID(CUSTOMER),
        UUID(OTHER_CUSTOMER),
    ]
    assert parse_filter(in_filter, "filter") == CustomerSelection(
        ids=(None,), group_ids=(UUID(GROUP), None)
    )


def test_a_one_off_credit_parses_into_trusted_values() -> None:
    request = CreditRequest(
        target=Target(customer_ids=(CUSTOMER, OTHER_CUSTOMER.upper(), CUSTOMER)),
        operation="REDUCE",
        amount=Decimal("12.5"),
        description="  Zwrot\nza wizytę  ",
        idempotency_key="  form-1  ",
    )

    parsed = parse_credit(request, minor_units=2, today=TODAY)

    assert parsed == ParsedCredit(
        operation=CreditOperation.REDUCE,
        amount=1250,
        description="Zwrot\nza wizytę",
        idempotency_key="form-1",
        target=ParsedTarget(customer_ids=(UUID(CUSTOMER), UUID(OTHER_CUSTOMER), UUID(CUSTOMER))),
    )
    assert parsed.target.distinct_customer_ids() == [UUID(CUSTOMER), UUID(OTHER_CUSTOMER)]


@pytest.mark.parametrize(
    ("amount", "minor_units", "operation", "expected"),
    [
        ("50", 2, "ADD", 5000),
        ("50.00", 2, "ADD", 5000),
        ("1.500", 2, "ADD", 150),
        ("0", 2, "SET", 0),
        ("-0.00", 2, "SET", 0),
        ("10000000.00", 2, "SET", 1_000_000_000),
        ("500", 0, "ADD", 500),
        ("1.125", 3, "ADD", 1125),
        ("10000000", 3, "ADD", 10_000_000_000),
    ],
)
def test_amounts_become_exact_minor_units_of_the_currency(
    amount: str, minor_units: int, operation: str, expected: int
) -> None:
    request = replace(GOOD, operation=operation, amount=Decimal(amount))

    assert parse_credit(request, minor_units=minor_units, today=TODAY).amount == expected


def test_a_recurring_credit_for_groups_starting_today_is_accepted() -> None:
    request = replace(
        GOOD,
        target=groups_only(group_ids=(GROUP, GROUP)),
        recurrence=MONTHLY,
        description=" ",
        idempotency_key=None,
    )

    parsed = parse_credit(request, minor_units=2, today=TODAY)

    assert parsed.recurrence == MONTHLY
    assert parsed.target == ParsedTarget(
        selection=CustomerSelection(group_ids=(UUID(GROUP), UUID(GROUP)))
    )
    assert (parsed.description, parsed.idempotency_key) == (None, None)


@pytest.mark.parametrize("recurrence", [None, MONTHLY], ids=["once", "recurring"])
def test_all_customers_is_a_target_of_its_own(recurrence: Recurrence | None) -> None:
    request = replace(GOOD, target=Target(all_customers=True), recurrence=recurrence)

    parsed = parse_credit(request, minor_units=2, today=TODAY)

    assert parsed.target == ParsedTarget(all_customers=True)
    assert parse_target(Target(all_customers=True), "target") == ParsedTarget(all_customers=True)


def test_all_customers_false_is_as_if_it_were_not_given() -> None:
    listed = Target(customer_ids=(CUSTOMER,), all_customers=False)
    filtered = Target(filter=CustomerFilter(has_credits=False), all_customers=False)

    assert parse_target(listed, "target") == ParsedTarget(customer_ids=(UUID(CUSTOMER),))
    assert parse_target(filtered, "target") == ParsedTarget(
        selection=CustomerSelection(has_credits=False)
    )


def test_an_empty_list_in_a_filter_is_a_criterion_no_customer_meets() -> None:
    # It selects no one (the query's `IN ()` is false), so it is not an empty filter.
    for criteria in (CustomerFilter(ids=()), CustomerFilter(group_ids=())):
        assert parse_target(Target(filter=criteria), "target") == ParsedTarget(
            selection=CustomerSelection(ids=criteria.ids, group_ids=criteria.group_ids)
        )


def test_a_customer_list_may_have_an_empty_filter() -> None:
    # Listing every customer is harmless: only a target refuses an empty filter.
    assert parse_filter(CustomerFilter(search="  "), "filter") == CustomerSelection()


def test_a_filter_parses_its_ids_and_trims_its_search() -> None:
    criteria = CustomerFilter(ids=(CUSTOMER,), group_ids=(), search="  nowak ", has_credits=False)

    assert parse_filter(criteria, "filter") == CustomerSelection(
        ids=(UUID(CUSTOMER),), group_ids=(), search="nowak", has_credits=False
    )


def test_the_limits_themselves_are_accepted() -> None:
    request = replace(
        GOOD,
        target=Target(ids(10_000)),
        description="d" * 500,
        idempotency_key="k" * 128,
        recurrence=Recurrence(365, RecurrenceUnit.DAY, TODAY, TODAY),
    )

    parsed = parse_credit(request, minor_units=2, today=TODAY)

    assert parsed.target.customer_ids is not None
    assert len(parsed.target.customer_ids) == 10_000
    assert (len(parsed.description or ""), len(parsed.idempotency_key or "")) == (500, 128)


@pytest.mark.parametrize(
    ("minor", "minor_units", "shown"),
    [(5000, 2, "50.00"), (0, 2, "0.00"), (-3001, 2, "-30.01"), (500, 0, "500"), (1125, 3, "1.125")],
)
def test_minor_units_render_with_exactly_the_currencys_places(
    minor: int, minor_units: int, shown: str
) -> None:
    assert str(to_decimal(minor, minor_units)) == shown
    assert to_minor(Decimal(shown), minor_units) == minor


@pytest.mark.parametrize(
    ("percent", "expected"),
    [("2.50", 250), ("100", 10_000), ("0.001", None), ("1e999999999", None), ("NaN", None)],
)
def test_percentages_become_basis_points_without_arithmetic_on_huge_input(
    percent: str, expected: int | None
) -> None:
    assert percent_to_basis_points(Decimal(percent)) == expected
