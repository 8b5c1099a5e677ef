"""Finding a customer the way people type, over the API, on both databases: search without
diacritics, phones by any run of their digits, card codes in any case and spacing, and the list
in each of its orders, paged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from models.tables.crm import Customer
from tests.builders import GET_CUSTOMER, customer_ids, give_credits
from tests.helpers import CREATE_CUSTOMER, Api, create_customer

ORDERED = """
query($first: Int, $after: String, $filter: CustomerFilter, $orderBy: CustomerOrder) {
  customers(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id } }
  }
}"""
QUOTE = """
query($input: CheckoutInput!) { checkoutQuote(input: $input) { customer { id } } }"""
LATTE = {"productId": "latte", "name": "Latte", "quantity": "1", "unitPrice": "12.50"}


async def found(api: Api, search: str) -> set[str]:
    return set(await customer_ids(api, {"search": search}))


async def test_search_ignores_polish_diacritics_both_ways(api: Api) -> None:
    # given three Wiśniewskas written three ways, and a Wiśniewski
    wisniewskas = {
        (await create_customer(api, firstName=first, lastName=last))["id"]
        for first, last in (("Anna", "Wiśniewska"), ("Ewa", "WIŚNIEWSKA"), ("Zofia", "Wisniewska"))
    }
    await create_customer(api, firstName="Jan", lastName="Wiśniewski")

    # then each spelling finds the same three, and a Polish letter finds its plain twin
    for typed in ("wisniewska", "wiśniewska", "WIŚNIEWSKA", " Wiśniewska ", "niewska"):
        assert await found(api, typed) == wisniewskas, typed
    lukasz = (await create_customer(api, firstName="Łukasz", email="lukasz@example.com"))["id"]
    assert await found(api, "łukasz") == await found(api, "LUKASZ") == {lukasz}
    assert await found(api, "żółw") == set()


async def test_phones_are_stored_in_e164_and_found_by_any_run_of_their_digits(api: Api) -> None:
    # given phones typed as people type them, in a location in Poland
    anna = await create_customer(api, firstName="Anna", phone="600 005 123")
    jan = await create_customer(api, firstName="Jan", phone="+48 600-005-124")
    ewa = await create_customer(api, firstName="Ewa", phone="(22) 123 00 51")

    # then they are stored in E.164
    assert [c["phone"] for c in (anna, jan, ewa)] == [
        "+48600005123",
        "+48600005124",
        "+48221230051",
    ]
    # and a run of digits finds them, typed with or without spaces, dashes or the country code
    both = {anna["id"], jan["id"]}
    for typed in ("600005", "600 005", "600-005", "+48 600 005", "48600005", "0051"):
        assert await found(api, typed) == both | ({ewa["id"]} if typed == "0051" else set())
    assert await found(api, "600 005 123") == {anna["id"]}
    assert await found(api, "jan 600 005") == {jan["id"]}
    assert await found(api, "600 006") == set()


@pytest.mark.parametrize("phone", ["600 005", "111 111 111", "call me", "+48"])
async def test_an_invalid_phone_is_refused_and_creates_nothing(api: Api, phone: str) -> None:
    payload = await api.mutate(CREATE_CUSTOMER, {"input": {"firstName": "Anna", "phone": phone}})

    assert payload["customer"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID", "input.phone")]
    assert await customer_ids(api) == []


async def test_card_codes_are_normalised_at_write_and_at_every_lookup(api: Api) -> None:
    # given a card written in lower case with a space
    anna = await create_customer(api, firstName="Anna", cards=[{"code": "ab 12-cd"}])
    assert anna["cards"][0]["code"] == "AB12-CD"

    # then every lookup finds it however it is typed: the back office, search and the till
    for typed in ("AB12-CD", "ab12-cd", " Ab 12-Cd ", "ＡＢ１２-ＣＤ"):
        card = await api.data(GET_CUSTOMER, {"cardCode": typed})
        assert card["customer"]["id"] == anna["id"], typed
        quoted = await api.data(QUOTE, {"input": {"cardCode": typed, "lines": [LATTE]}})
        assert quoted["checkoutQuote"]["customer"] == {"id": anna["id"]}, typed
    assert await found(api, "12-cd") == {anna["id"]}
    # and another customer cannot take it in another spelling
    payload = await api.mutate(CREATE_CUSTOMER, {"input": {"cards": [{"code": "AB12-cd"}]}})
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("DUPLICATE", "input.cards.0.code")
    ]


async def _people(api: Api) -> list[dict[str, Any]]:
    """Seven customers with ties in every order: their ids with their name key, balance (in
    minor units) and creation time."""
    t0 = datetime(2026, 11, 1, 10, tzinfo=UTC)
    people = [
        ("Anna", "Zielińska", "5.00", t0 + timedelta(hours=1)),
        ("anna", "ZIELINSKA", "5.00", t0 + timedelta(hours=1)),
        ("Łukasz", "Kowalski", None, t0 + timedelta(hours=2)),
        ("Lukasz", "Kowalski", "10.00", t0),
        (None, None, None, t0 + timedelta(hours=2)),
        ("Ewa", "Ąbacka", "2.50", t0 + timedelta(hours=3)),
        ("Zofia", "Nowak", "10.00", t0 + timedelta(hours=3)),
    ]
    rows = []
    for first, last, credits, created in people:
        customer = await create_customer(api, firstName=first, lastName=last)
        if credits:
            await give_credits(api, [customer["id"]], credits)
        await Customer.filter(id=UUID(customer["id"])).update(created_at=created)
        names = " ".join(n for n in (last, first) if n)
        key = names.lower().translate(str.maketrans("łńą", "lna"))
        balance = int(credits.replace(".", "")) if credits else 0
        rows.append({"id": customer["id"], "NAME": key, "BALANCE": balance, "CREATED": created})
    return rows


async def _paged(api: Api, order: str, first: int, search: str | None = None) -> list[str]:
    """Every id of the list in `order`, `first` at a time, checking each page's total."""
    seen: list[str] = []
    after = None
    while True:
        variables = {"first": first, "after": after, "orderBy": order}
        if search is not None:
            variables["filter"] = {"search": search}
        page = (await api.data(ORDERED, variables))["customers"]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        assert page["totalCount"] == (7 if search is None else page["totalCount"])
        if not page["pageInfo"]["hasNextPage"]:
            return seen
        after = page["pageInfo"]["endCursor"]


async def test_paging_through_each_order_sees_every_customer_once_in_order(api: Api) -> None:
    people = await _people(api)

    for order in ("NAME", "BALANCE", "CREATED"):
        for direction in ("ASC", "DESC"):
            expected = sorted(
                people, key=lambda p: (p[order], UUID(p["id"])), reverse=direction == "DESC"
            )
            for first in (1, 2, 3, 50):
                seen = await _paged(api, f"{order}_{direction}", first)
                assert seen == [p["id"] for p in expected], (order, direction, first)


async def test_the_list_is_in_name_order_by_default_diacritics_folded(api: Api) -> None:
    people = await _people(api)
    by_id = {p["id"]: p["NAME"] for p in people}

    names = [by_id[i] for i in await customer_ids(api)]

    assert names == [
        "",
        "abacka ewa",
        "kowalski lukasz",
        "kowalski lukasz",
        "nowak zofia",
        "zielinska anna",
        "zielinska anna",
    ]


async def test_a_search_pages_in_its_order_with_its_own_total(api: Api) -> None:
    people = await _people(api)
    kowalski = sorted(
        (p for p in people if p["NAME"] == "kowalski lukasz"),
        key=lambda p: (p["BALANCE"], UUID(p["id"])),
        reverse=True,
    )

    page = (
        await api.data(
            ORDERED, {"first": 1, "orderBy": "BALANCE_DESC", "filter": {"search": "łukasz"}}
        )
    )["customers"]

    assert page["totalCount"] == 2
    assert await _paged(api, "BALANCE_DESC", 1, "łukasz") == [p["id"] for p in kowalski]
    assert page["edges"][0]["node"]["id"] == kowalski[0]["id"]


async def test_a_cursor_of_another_order_is_invalid(api: Api) -> None:
    await _people(api)
    page = (await api.data(ORDERED, {"first": 2, "orderBy": "NAME_ASC"}))["customers"]

    body = await api.raw(
        ORDERED, {"first": 2, "after": page["pageInfo"]["endCursor"], "orderBy": "BALANCE_ASC"}
    )

    assert body["data"] is None
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in body["errors"]] == [
        ("INVALID", "after")
    ]
