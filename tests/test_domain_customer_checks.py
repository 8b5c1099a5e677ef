"""Customer, group and search inputs parsed in `domain/`: plain data in, a value or every
problem with its field path out. No database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from slugify import slugify

from domain.contacts import search_problem
from domain.customer_checks import (
    CheckedCard,
    CheckedCustomer,
    GroupChanges,
    NewGroup,
    checked_customer,
    checked_group_changes,
    checked_new_group,
)
from domain.errors import DomainError, ErrorCode
from domain.references import (
    normalise_reference,
    reference_from_name,
    reference_problem,
    shorten_reference,
)
from domain.requests import CardInput, CustomerGroupInput, CustomerInput
from services.phones import e164
from tests.english import en

INVALID = ErrorCode.INVALID
REQUIRED = ErrorCode.REQUIRED
DUPLICATE = ErrorCode.DUPLICATE
CONTROL_NUL = "Must not contain control characters (U+0000)."
ONLY_WORD_CHARACTERS = "Reference may contain only letters, digits, spaces, dashes and underscores."
MEGABYTE_CODE = "C" * 1_048_576


def slug(text: str) -> str:
    """The slug rule the groups service passes in (python-slugify, untruncated)."""
    return str(slugify(text))


def polish_phone(phone: str) -> str | None:
    """The phone rule of a location in Poland (what `services.phones.phone_rule` passes in)."""
    return e164(phone, "PL")


def customer(**fields: object) -> Callable[[], object]:
    return lambda: checked_customer(CustomerInput(**fields), polish_phone)  # type: ignore[arg-type]


def cards(*codes: str, number: str | None = None) -> Callable[[], object]:
    return customer(cards=tuple(CardInput(code, number) for code in codes))


def new_group(**fields: object) -> Callable[[], object]:
    data = CustomerGroupInput(**{"name": "Valid", **fields})  # type: ignore[arg-type]
    return lambda: checked_new_group(data, slug)


def group_changes(**fields: object) -> Callable[[], object]:
    data = CustomerGroupInput(**fields)  # type: ignore[arg-type]
    return lambda: checked_group_changes(data, slug)


BAD_INPUTS = [
    # customers: names, note, email, phone
    (customer(first_name="An\x00na"), [(INVALID, "input.firstName", CONTROL_NUL)]),
    (
        customer(last_name="\x1b[31mNowak"),
        [(INVALID, "input.lastName", "Must not contain control characters (U+001B).")],
    ),
    (
        customer(first_name="\u202eanna"),
        [(INVALID, "input.firstName", "Must not contain control characters (U+202E).")],
    ),
    (
        customer(first_name="Anna\nKowalska"),
        [(INVALID, "input.firstName", "Must not contain control characters (U+000A).")],
    ),
    (customer(last_name="N" * 101), [(INVALID, "input.lastName", "At most 100 characters.")]),
    (customer(note="line\x00"), [(INVALID, "input.note", CONTROL_NUL)]),
    (customer(note="n" * 2001), [(INVALID, "input.note", "At most 2000 characters.")]),
    (
        customer(email="anna\x00@example.com"),
        [
            (
                INVALID,
                "input.email",
                "An email address must not contain control characters (U+0000).",
            )
        ],
    ),
    (
        customer(email="a" * 250 + "@example.com"),
        [(INVALID, "input.email", "An email address has at most 254 characters.")],
    ),
    (customer(email="anna@"), [(INVALID, "input.email", "'anna@' is not a valid email address.")]),
    (
        customer(phone="+48 600\x00"),
        [(INVALID, "input.phone", "A phone number must not contain control characters (U+0000).")],
    ),
    (
        customer(phone="1" * 41),
        [(INVALID, "input.phone", "A phone number has at most 40 characters.")],
    ),
    (
        customer(phone="call me"),
        [(INVALID, "input.phone", "'call me' is not a valid phone number.")],
    ),
    # customers: cards
    (
        cards(MEGABYTE_CODE),
        [(INVALID, "input.cards.0.code", "Card code must be at most 64 characters (got 1048576).")],
    ),
    (
        cards("ok", "C" * 65),
        [(INVALID, "input.cards.1.code", "Card code must be at most 64 characters (got 65).")],
    ),
    (
        cards("has#hash"),
        [
            (
                INVALID,
                "input.cards.0.code",
                "Card code may contain only letters, digits and . _ : / -",
            )
        ],
    ),
    (
        cards("C\x00"),
        [
            (
                INVALID,
                "input.cards.0.code",
                "Card code may contain only letters, digits and . _ : / -",
            )
        ],
    ),
    (cards("   "), [(INVALID, "input.cards.0.code", "Card code must not be empty.")]),
    (
        cards("C-1", "C-2", " C-1 "),
        [(DUPLICATE, "input.cards.2.code", "Card code 'C-1' is given twice.")],
    ),
    (
        cards("C-1", number="9" * 65),
        [(INVALID, "input.cards.0.number", "At most 64 characters.")],
    ),
    (cards("C-1", number="12\x00"), [(INVALID, "input.cards.0.number", CONTROL_NUL)]),
    (
        cards(*(f"C{n}" for n in range(11))),
        [(INVALID, "input.cards", "At most 10 cards.")],
    ),
    (
        customer(first_name="\x00", email="x@", phone="abc", cards=(CardInput("a#b"),)),
        [
            (INVALID, "input.firstName", CONTROL_NUL),
            (INVALID, "input.email", "'x@' is not a valid email address."),
            (INVALID, "input.phone", "'abc' is not a valid phone number."),
            (
                INVALID,
                "input.cards.0.code",
                "Card code may contain only letters, digits and . _ : / -",
            ),
        ],
    ),
    # groups: name, reference, description, cashback
    (new_group(name=None), [(REQUIRED, "input.name", "Name must not be empty.")]),
    (new_group(name="   "), [(REQUIRED, "input.name", "Name must not be empty.")]),
    (new_group(name="VIP\x00"), [(INVALID, "input.name", CONTROL_NUL)]),
    (
        new_group(name="\u202eVIP"),
        [(INVALID, "input.name", "Must not contain control characters (U+202E).")],
    ),
    (new_group(name="N" * 101), [(INVALID, "input.name", "At most 100 characters.")]),
    (
        new_group(name="!!!"),
        [(REQUIRED, "input.reference", "No reference can be made from this name; give one.")],
    ),
    (new_group(reference="../../etc"), [(INVALID, "input.reference", ONLY_WORD_CHARACTERS)]),
    (new_group(reference="vip.gold"), [(INVALID, "input.reference", ONLY_WORD_CHARACTERS)]),
    (
        new_group(reference="vip\x1b"),
        [(INVALID, "input.reference", "Reference must not contain control characters (U+001B).")],
    ),
    (
        new_group(reference="v\u202eip"),
        [(INVALID, "input.reference", "Reference must not contain control characters (U+202E).")],
    ),
    (
        new_group(reference="r" * 65),
        [(INVALID, "input.reference", "Reference must be at most 64 characters.")],
    ),
    (
        new_group(reference="ß" * 40),  # 40 characters given, 80 once normalised ("ss" each)
        [(INVALID, "input.reference", "Reference must be at most 64 characters.")],
    ),
    (new_group(reference="   "), [(INVALID, "input.reference", "Reference must not be empty.")]),
    (
        new_group(reference="_-_"),
        [(INVALID, "input.reference", "Reference must contain a letter or a digit.")],
    ),
    (new_group(description="\x00"), [(INVALID, "input.description", CONTROL_NUL)]),
    (
        new_group(description="d" * 2001),
        [(INVALID, "input.description", "At most 2000 characters.")],
    ),
    *(
        (
            new_group(cashback_percent=Decimal(value)),
            [(INVALID, "input.cashbackPercent", message)],
        )
        for value, message in [
            ("0", "Cashback must be more than 0 and at most 100 percent."),
            ("0.00", "Cashback must be more than 0 and at most 100 percent."),
            ("-5", "Cashback must be more than 0 and at most 100 percent."),
            ("100.01", "Cashback must be more than 0 and at most 100 percent."),
            ("1E+999999999", "Cashback must be more than 0 and at most 100 percent."),
            ("2.505", "Cashback may have at most 2 decimal places."),
            ("0.001", "Cashback may have at most 2 decimal places."),
            ("NaN", "Cashback is not a number."),
            ("Infinity", "Cashback is not a number."),
        ]
    ),
    (
        new_group(name="\x00", reference="a/b", cashback_percent=Decimal("-1")),
        [
            (INVALID, "input.name", CONTROL_NUL),
            (INVALID, "input.reference", ONLY_WORD_CHARACTERS),
            (
                INVALID,
                "input.cashbackPercent",
                "Cashback must be more than 0 and at most 100 percent.",
            ),
        ],
    ),
    (group_changes(name=None), [(REQUIRED, "input.name", "Name must not be empty.")]),
    (
        group_changes(reference=None),
        [(REQUIRED, "input.reference", "Reference must not be empty.")],
    ),
    (group_changes(reference="../x"), [(INVALID, "input.reference", ONLY_WORD_CHARACTERS)]),
    (
        group_changes(description="\x1b"),
        [(INVALID, "input.description", "Must not contain control characters (U+001B).")],
    ),
]


@pytest.mark.parametrize(("parse", "errors"), BAD_INPUTS)
def test_bad_input_is_refused_with_every_problem_and_its_path(
    parse: Callable[[], object], errors: list[tuple[ErrorCode, str, str]]
) -> None:
    with pytest.raises(DomainError) as raised:
        parse()

    assert [(e.code, e.field, en(e.message)) for e in raised.value.errors] == errors


def test_a_refused_megabyte_card_code_is_not_quoted_back() -> None:
    with pytest.raises(DomainError) as raised:
        cards("ok", MEGABYTE_CODE)()

    assert len(str(raised.value)) < 100
    assert "CCCC" not in str(raised.value)


# ------------------------------------------------------------------ valid values


def test_a_customer_input_is_trimmed_and_normalised() -> None:
    checked = checked_customer(
        CustomerInput(
            first_name="  Anna ",
            last_name="Kowalska",
            email="  Anna.Kowalska@Example.COM ",
            phone=" 600 100 200 ",
            note="  Lubi kawę\n\tz mlekiem  ",
            cards=(CardInput(" c-0001 ", " 0001 ", date(2027, 12, 31)), CardInput("C 2", "  ")),
            group_ids=("g1", "g1"),
        ),
        polish_phone,
    )

    assert checked == CheckedCustomer(
        contact={
            "first_name": "Anna",
            "last_name": "Kowalska",
            "note": "Lubi kawę\n\tz mlekiem",
            "email": "anna.kowalska@example.com",
            "phone": "+48600100200",
        },
        cards=(CheckedCard("C-0001", "0001", date(2027, 12, 31)), CheckedCard("C2", None, None)),
        group_ids=("g1", "g1"),
    )


def test_a_customer_update_holds_only_the_given_fields() -> None:
    checked = checked_customer(CustomerInput(email=None, note="   "), polish_phone)

    assert checked == CheckedCustomer(contact={"email": None, "note": None})


def test_the_longest_texts_are_accepted() -> None:
    checked = checked_customer(
        CustomerInput(
            first_name="A" * 100,
            note="n" * 2000,
            email="a" * 242 + "@example.com",
            cards=(CardInput("C" * 64, "9" * 64),),
        ),
        polish_phone,
    )

    assert checked.contact == {
        "first_name": "A" * 100,
        "note": "n" * 2000,
        "email": "a" * 242 + "@example.com",
    }
    assert checked.cards == (CheckedCard("C" * 64, "9" * 64, None),)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("a b", "a-b"),
        ("ｖｉｐ", "vip"),  # full-width letters
        ("ＶＩＰ", "vip"),
        ("  GOLD-Club_1 ", "gold-club-1"),
        ("Stały  KLIENT", "staly-klient"),
        ("a -_ b", "a-b"),
        ("-vip-", "vip"),
        ("r" * 64, "r" * 64),
    ],
)
def test_a_given_reference_is_normalised_by_the_slug_rule(given: str, stored: str) -> None:
    group = checked_new_group(CustomerGroupInput(name="Name", reference=given), slug)

    assert group == NewGroup(name="Name", reference=stored, reference_field="input.reference")


def test_a_new_group_generates_its_reference_from_the_name() -> None:
    group = checked_new_group(
        CustomerGroupInput(
            name="  Stały klient ",
            reference=None,
            description=" Our\nregulars ",
            cashback_percent=Decimal("2.5"),
        ),
        slug,
    )

    assert group == NewGroup(
        name="Stały klient",
        reference="staly-klient",
        reference_field="input.name",
        description="Our\nregulars",
        cashback_basis_points=250,
    )


def test_group_changes_hold_only_the_given_fields() -> None:
    changes = checked_group_changes(
        CustomerGroupInput(reference=" Regular ", description=None, cashback_percent=Decimal("5")),
        slug,
    )
    unchanged = checked_group_changes(CustomerGroupInput(), slug)

    assert changes == GroupChanges(
        columns={"description": None, "cashback_basis_points": 500, "reference": "regular"}
    )
    assert changes.reference == "regular"
    assert unchanged == GroupChanges(columns={})
    assert unchanged.reference is None


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("Stały klient", "staly-klient"),
        ("Klient: Złoty / 10%", "klient-zloty-10"),
        ("ĄĆĘŁŃÓŚŹŻ ąćęłńóśźż", "acelnoszz-acelnoszz"),
        ("word " * 20, ("word-" * 12) + "word"),  # cut after the last whole word that fits
        ("x" * 70, "x" * 64),  # one long word: cut at 64
        ("!!!", ""),
    ],
)
def test_reference_from_name(name: str, reference: str) -> None:
    generated = reference_from_name(name, slug)

    assert generated == reference
    assert len(generated) <= 64


@pytest.mark.parametrize(
    ("slugged", "shortened"),
    [
        ("a" * 64, "a" * 64),
        ("a" * 64 + "-b", "a" * 64),
        ("a" * 63 + "-b", "a" * 63),
        ("ab-" + "c" * 70, "ab"),
        ("c" * 70 + "-ab", "c" * 64),
    ],
)
def test_shorten_reference(slugged: str, shortened: str) -> None:
    assert shorten_reference(slugged) == shortened


@pytest.mark.parametrize(
    ("reference", "problem"),
    [
        ("vip", None),
        ("staly-klient", None),
        ("a1-2b-c", None),
        ("r" * 64, None),
        ("", "Reference must not be empty."),
        ("r" * 65, "Reference must be at most 64 characters."),
        *(
            (bad, "Reference must be lower-case letters a-z and digits, in words joined by dashes.")
            for bad in ["VIP", "a--b", "-a", "a-", "a b", "a_b", "ąb", "../etc", "vip\n"]
        ),
    ],
)
def test_reference_problem(reference: str, problem: str | None) -> None:
    assert en(reference_problem(reference)) == problem


def test_references_match_across_systems_after_trimming_and_case_folding() -> None:
    assert normalise_reference("  VIP ") == "vip"
    assert normalise_reference("Staly-Klient") == "staly-klient"
    assert normalise_reference("STRASSE") == normalise_reference("straße")


@pytest.mark.parametrize(
    ("search", "problem"),
    [
        ("jan", None),
        ("anna kowalska", None),
        ("x" * 100, None),
        ("x" * 101, "At most 100 characters."),
        ("jan\x00", "Must not contain control characters (U+0000)."),
        ("jan\tnowak", "Must not contain control characters (U+0009)."),
        ("\x1b[2J", "Must not contain control characters (U+001B)."),
        ("\u202ejan", "Must not contain control characters (U+202E)."),
    ],
)
def test_search_problem(search: str, problem: str | None) -> None:
    assert en(search_problem(search)) == problem
