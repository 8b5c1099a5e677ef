"""How customers are found the way people type, as plain data: folding, the terms of a search,
card codes, the phone rule of a location and the cursors of each order. No database."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest

from domain.contacts import (
    fold,
    name_key,
    normalise_card_code,
    search_terms,
    search_text,
)
from domain.paging import CustomerOrder, customer_key, parse_customer_key
from services.phones import e164, location_region

ID = UUID("01900000-0000-7000-8000-000000000001")


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("Wiśniewska", "wisniewska"),
        ("WIŚNIEWSKA", "wisniewska"),
        ("wisniewska", "wisniewska"),
        ("Łukasz Żółć", "lukasz zolc"),
        ("Ąę Ćń Óś Źż", "ae cn os zz"),
        ("Straße", "strasse"),
        ("Ｗｉｓｎｉｅｗｓｋａ", "wisniewska"),  # full-width letters
    ],
)
def test_folding_drops_case_and_diacritics(typed: str, folded: str) -> None:
    assert fold(typed) == folded


def test_the_search_text_holds_names_email_card_codes_folded_and_the_phones_digits() -> None:
    text = search_text("Anna", "Wiśniewska", "anna@example.com", "+48600005123", ["AB-12"])

    assert text == "anna wisniewska anna@example.com 48600005123 ab-12"
    assert search_text(None, None, None, None) == ""
    assert search_text(None, None, None, None, ["12-34/5"]) == "12-34/5 12345"


@pytest.mark.parametrize(
    ("search", "terms"),
    [
        ("wiśniewska", ["wisniewska"]),
        ("  Anna   WIŚNIEWSKA ", ["anna", "wisniewska"]),
        ("600005", ["600005"]),
        ("600 005", ["600005"]),
        ("+48 600-005 (12)", ["4860000512"]),
        ("anna 600 005 kowal", ["anna", "600005", "kowal"]),
        ("ab-12 3", ["ab-12", "3"]),
        ("anna anna", ["anna"]),
        ("   ", []),
    ],
)
def test_a_search_is_split_into_folded_terms_and_runs_of_phone_digits(
    search: str, terms: list[str]
) -> None:
    assert search_terms(search) == terms


def test_every_term_of_a_typed_search_is_in_the_search_text() -> None:
    text = search_text("Anna", "Wiśniewska", None, "+48600005123", ["DEMO0002", "77-01"])

    typed_ways = ("wisniewska", "WIŚNIEWSKA", "600005", "600 005", "+48 600 005 123")
    for typed in (*typed_ways, "demo0002", "77-01", "7701"):
        assert all(term in text for term in search_terms(typed)), typed
    assert not all(term in text for term in search_terms("600 006"))


def test_the_name_key_is_the_last_then_the_first_name_folded() -> None:
    assert name_key("Łukasz", "Żak") == "zak lukasz"
    assert name_key("Anna", None) == "anna"
    assert name_key(None, None) == ""


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("DEMO0002", "DEMO0002"),
        ("demo0002", "DEMO0002"),
        (" demo 0002 ", "DEMO0002"),
        ("ＤＥＭＯ０００２", "DEMO0002"),  # full-width, as some keyboards type
        ("c-1.a/b:c_d", "C-1.A/B:C_D"),
        ("d\u00a01\u3000", "D1"),  # a no-break space, an ideographic space
        ("d\t1\n", "D\t1\n"),  # control characters are left for the check to refuse
    ],
)
def test_card_codes_are_normalised_as_references_are(typed: str, stored: str) -> None:
    assert normalise_card_code(typed) == stored


@pytest.mark.parametrize(
    ("timezone", "currency", "region"),
    [
        ("Europe/Warsaw", "PLN", "PL"),
        ("Europe/Berlin", "EUR", "DE"),
        ("UTC", "PLN", "PL"),  # no country in the zone: the one country of the currency
        ("UTC", "EUR", None),  # many countries use the euro
        ("Nowhere/Else", "XXX", None),
    ],
)
def test_a_locations_country_comes_from_its_time_zone_else_its_currency(
    timezone: str, currency: str, region: str | None
) -> None:
    assert location_region(timezone, currency) == region


@pytest.mark.parametrize(
    ("typed", "region", "stored"),
    [
        ("600 005 123", "PL", "+48600005123"),
        ("600-005-123", "PL", "+48600005123"),
        ("+48 600 005 123", None, "+48600005123"),
        ("0048 600 005 123", "PL", "+48600005123"),
        ("(22) 123 45 67", "PL", "+48221234567"),
        ("030 1234567", "DE", "+49301234567"),
        ("600 005 123", None, None),  # no country to read it in
        ("600 005", "PL", None),  # too short
        ("111 111 111", "PL", None),  # no such Polish number
        ("call me", "PL", None),
    ],
)
def test_phones_are_stored_in_e164_or_refused(typed: str, region: str | None, stored: str) -> None:
    assert e164(typed, region) == stored


@pytest.mark.parametrize(
    ("order", "value"),
    [
        (CustomerOrder.NAME_ASC, "wisniewska anna"),
        (CustomerOrder.NAME_DESC, "a|b"),
        (CustomerOrder.BALANCE_DESC, 12_345),
        (CustomerOrder.CREATED_ASC, datetime(2026, 12, 6, 9, 30, 1, 123456, tzinfo=UTC)),
    ],
)
def test_a_cursor_key_gives_back_its_value_and_id(
    order: CustomerOrder, value: str | int | datetime
) -> None:
    assert parse_customer_key(order, customer_key(order, value, ID)) == (value, ID)


@pytest.mark.parametrize(
    ("order", "key"),
    [
        (CustomerOrder.BALANCE_ASC, f"NAME|anna|{ID}"),  # another order's cursor
        (CustomerOrder.BALANCE_ASC, f"BALANCE|many|{ID}"),
        (CustomerOrder.BALANCE_ASC, f"BALANCE|{2**63}|{ID}"),  # beyond a BIGINT
        (CustomerOrder.CREATED_ASC, f"CREATED|2026-12-06T09:30:00|{ID}"),  # no time zone
        (CustomerOrder.NAME_ASC, "NAME|anna|not-an-id"),
        (CustomerOrder.NAME_ASC, str(ID)),  # a cursor of the list before it had orders
        (CustomerOrder.NAME_ASC, f"NAME|{'a' * 1001}|{ID}"),
    ],
)
def test_a_key_that_is_not_the_orders_is_refused(order: CustomerOrder, key: str) -> None:
    assert parse_customer_key(order, key) is None
