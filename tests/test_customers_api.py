"""Customers over the API: create, update, delete, validation, paging, filters, loaders."""

from __future__ import annotations

import base64
import logging
from typing import Any
from uuid import UUID, uuid4

import pytest

from models import customers as customer_repository
from models.tables.crm import Customer
from tests.builders import (
    CUSTOMER_IDS,
    DELETE_CUSTOMER,
    GET_CUSTOMER,
    LIST_CUSTOMERS,
    LIST_GROUPS,
    UPDATE_CUSTOMER,
    all_customers,
    bulk_customers,
    customer_ids,
    give_credits,
    group_counts,
    snapshot,
    sql_statements,
)
from tests.english import checked
from tests.helpers import CREATE_CUSTOMER, Api, create_customer, create_group


async def _create(api: Api, **fields: Any) -> dict[str, Any]:
    """The whole createCustomer payload, errors included."""
    return await api.mutate(CREATE_CUSTOMER, {"input": fields})


async def _update(api: Api, customer_id: str, **fields: Any) -> dict[str, Any]:
    return await api.mutate(UPDATE_CUSTOMER, {"id": customer_id, "input": fields})


async def _get(api: Api, customer_id: str) -> dict[str, Any]:
    customer: dict[str, Any] = (await api.data(GET_CUSTOMER, {"id": customer_id}))["customer"]
    return customer


def _errors(payload: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


def _cursor(key: str) -> str:
    return base64.urlsafe_b64encode(f"k:{key}".encode()).decode().rstrip("=")


# ------------------------------------------------------------------ create


async def test_create_cleans_and_returns_every_field(api: Api) -> None:
    # given a group
    group = await create_group(api, "Stały klient")

    # when a customer is created with untidy input
    payload = await _create(
        api,
        firstName="  Anna ",
        lastName="Kowalska",
        email="  Anna.Kowalska@Example.COM ",
        phone="600 100 200",
        note="Lubi kawę",
        cards=[{"code": " c-0001 ", "number": "0001", "expiresOn": "2027-12-31"}, {"code": "C-2"}],
        groupIds=[group["id"], group["id"]],
    )

    # then it is stored cleaned: trimmed, email in lower case, the phone in E.164 (read in the
    # location's country, Poland), card codes normalised, cards in order, one membership
    assert payload["errors"] == []
    customer = payload["customer"]
    assert customer["firstName"] == "Anna"
    assert customer["lastName"] == "Kowalska"
    assert customer["email"] == "anna.kowalska@example.com"
    assert customer["phone"] == "+48600100200"
    assert customer["note"] == "Lubi kawę"
    assert customer["cards"] == [
        {"code": "C-0001", "number": "0001", "expiresOn": "2027-12-31"},
        {"code": "C-2", "number": None, "expiresOn": None},
    ]
    assert customer["groups"] == [{"id": group["id"], "reference": "staly-klient"}]
    # and reading it back gives the same
    stored = await _get(api, customer["id"])
    assert {k: stored[k] for k in customer} == customer
    assert await group_counts(api) == {"staly-klient": 1}


async def test_a_customer_may_have_no_data_at_all(api: Api) -> None:
    payload = await _create(api)

    assert payload["errors"] == []
    customer = payload["customer"]
    assert [customer[k] for k in ("firstName", "lastName", "email", "phone", "note")] == [None] * 5
    assert customer["cards"] == []
    assert customer["groups"] == []


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"email": "anna@"}, [("INVALID", "input.email")]),
        ({"email": "anna at example.com"}, [("INVALID", "input.email")]),
        ({"email": "anna@example"}, [("INVALID", "input.email")]),
        ({"phone": "call me"}, [("INVALID", "input.phone")]),
        ({"phone": "12"}, [("INVALID", "input.phone")]),
        ({"email": "x@", "phone": "abc"}, [("INVALID", "input.email"), ("INVALID", "input.phone")]),
        ({"firstName": "A" * 101}, [("INVALID", "input.firstName")]),
        ({"cards": [{"code": "has#hash"}]}, [("INVALID", "input.cards.0.code")]),
        ({"cards": [{"code": "ok"}, {"code": "   "}]}, [("INVALID", "input.cards.1.code")]),
        ({"cards": [{"code": f"C{n}"} for n in range(11)]}, [("INVALID", "input.cards")]),
    ],
)
async def test_invalid_input_creates_nothing(
    api: Api, fields: dict[str, Any], errors: list[tuple[str, str]]
) -> None:
    payload = await _create(api, **{"firstName": "Anna", **fields})

    assert payload["customer"] is None
    assert _errors(payload) == errors
    assert await customer_ids(api) == []


async def test_a_card_code_used_in_the_location_is_a_duplicate(api: Api) -> None:
    # given a customer holding card C-1
    owner = await create_customer(api, firstName="Owner", cards=[{"code": "C-1"}])
    before = await snapshot(api)

    # when another customer is created with that code (as its second card)
    payload = await _create(api, firstName="Thief", cards=[{"code": "C-2"}, {"code": "C-1"}])

    # then it is a duplicate on that card, and nothing is created
    assert payload["customer"] is None
    assert _errors(payload) == [("DUPLICATE", "input.cards.1.code")]
    assert payload["errors"][0]["message"] == "Card code 'C-1' already belongs to another customer."
    assert await snapshot(api) == before
    assert (await api.data(GET_CUSTOMER, {"cardCode": "C-2"}))["customer"] is None
    assert (await api.data(GET_CUSTOMER, {"cardCode": "C-1"}))["customer"]["id"] == owner["id"]


async def test_a_card_code_given_twice_is_a_duplicate(api: Api) -> None:
    payload = await _create(api, cards=[{"code": "C-1"}, {"code": "C-3"}, {"code": " C-1 "}])

    assert payload["customer"] is None
    assert _errors(payload) == [("DUPLICATE", "input.cards.2.code")]
    assert await customer_ids(api) == []


async def test_an_unknown_group_is_not_found(api: Api) -> None:
    group = await create_group(api, "VIP")

    payload = await _create(api, firstName="Anna", groupIds=[group["id"], str(uuid4()), "abc"])

    assert payload["customer"] is None
    assert _errors(payload) == [
        ("NOT_FOUND", "input.groupIds.1"),
        ("NOT_FOUND", "input.groupIds.2"),
    ]
    assert await customer_ids(api) == []
    assert await group_counts(api) == {"vip": 0}


async def test_every_problem_of_the_input_is_reported_at_once(api: Api) -> None:
    # given a card code already taken
    await create_customer(api, cards=[{"code": "TAKEN"}])

    # when the input itself is malformed in several places
    payload = await _create(
        api, email="bad", phone="bad", cards=[{"code": "a#b"}, {"code": "TAKEN"}]
    )

    # then each malformed field is reported; what needs the database waits for a valid input
    assert _errors(payload) == [
        ("INVALID", "input.email"),
        ("INVALID", "input.phone"),
        ("INVALID", "input.cards.0.code"),
    ]
    assert len(await customer_ids(api)) == 1


async def test_every_problem_the_database_finds_is_reported_at_once(api: Api) -> None:
    await create_customer(api, cards=[{"code": "TAKEN"}])

    payload = await _create(
        api, email="ok@example.com", cards=[{"code": "TAKEN"}], groupIds=[str(uuid4())]
    )

    assert _errors(payload) == [
        ("DUPLICATE", "input.cards.0.code"),
        ("NOT_FOUND", "input.groupIds.0"),
    ]
    assert len(await customer_ids(api)) == 1


CONTROL_CHARACTERS = [
    ({"lastName": "\x1b[31mNowak"}, "input.lastName", "U+001B"),
    ({"firstName": "\u202eanna"}, "input.firstName", "U+202E"),
    ({"firstName": "Anna\nKowalska"}, "input.firstName", "U+000A"),
    ({"note": "kawa\x07"}, "input.note", "U+0007"),
    ({"email": "anna\x1b@example.com"}, "input.email", "U+001B"),
    ({"phone": "+48 600\u2066"}, "input.phone", "U+2066"),
    ({"cards": [{"code": "C-1", "number": "12\x7f"}]}, "input.cards.0.number", "U+007F"),
]
NUL_CHARACTERS = [
    ({"firstName": "An\x00na"}, "input.firstName"),
    ({"note": "kawa\x00"}, "input.note"),
    ({"email": "anna\x00@example.com"}, "input.email"),
    ({"phone": "+48 600\x00"}, "input.phone"),
    ({"cards": [{"code": "C-1\x00"}]}, "input.cards.0.code"),
    ({"cards": [{"code": "C-1", "number": "12\x00"}]}, "input.cards.0.number"),
]


@pytest.mark.parametrize(("fields", "field", "character"), CONTROL_CHARACTERS)
async def test_a_control_character_is_invalid_and_creates_nothing(
    api: Api, fields: dict[str, Any], field: str, character: str
) -> None:
    payload = await _create(api, **fields)

    assert payload["customer"] is None
    assert _errors(payload) == [("INVALID", field)]
    assert character in payload["errors"][0]["message"]
    assert await customer_ids(api) == []


@pytest.mark.parametrize(("fields", "field", "character"), CONTROL_CHARACTERS)
async def test_a_control_character_in_an_update_changes_nothing(
    api: Api, fields: dict[str, Any], field: str, character: str
) -> None:
    anna = await create_customer(api, firstName="Anna", cards=[{"code": "A-1"}])
    before = await snapshot(api)

    payload = await _update(api, anna["id"], **fields)

    assert payload["customer"] is None
    assert _errors(payload) == [("INVALID", field)]
    assert character in payload["errors"][0]["message"]
    assert await snapshot(api) == before


@pytest.mark.parametrize(("fields", "field"), NUL_CHARACTERS)
async def test_a_nul_character_is_invalid_with_its_path_and_changes_nothing(
    api: Api, fields: dict[str, Any], field: str
) -> None:
    anna = await create_customer(api, firstName="Anna", cards=[{"code": "A-1"}])
    before = await snapshot(api)

    created = await api.raw(CREATE_CUSTOMER, {"input": fields})
    updated = await api.raw(UPDATE_CUSTOMER, {"id": anna["id"], "input": fields})

    for body in (created, updated):
        assert body.get("data") is None
        assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in body["errors"]] == [
            ("INVALID", field)
        ]
    assert await snapshot(api) == before


async def test_a_megabyte_card_code_is_invalid_and_stays_out_of_the_log(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    # given a card code of 1 MB (within the request body limit), every log record captured
    code = "C" * 1_000_000
    caplog.set_level(logging.DEBUG)

    # when a customer is created, and another updated, with it
    created = await _create(api, firstName="Anna", cards=[{"code": "OK-1"}, {"code": code}])
    bob = await create_customer(api, firstName="Bob")
    updated = await _update(api, bob["id"], cards=[{"code": code}])

    # then both are a clean INVALID on the card that gives its size, not the code
    message = "Card code must be at most 64 characters (got 1000000)."
    assert created == {
        "customer": None,
        "errors": [{"code": "INVALID", "field": "input.cards.1.code", "message": message}],
    }
    assert updated == {
        "customer": None,
        "errors": [{"code": "INVALID", "field": "input.cards.0.code", "message": message}],
    }
    assert await customer_ids(api) == [bob["id"]]
    # and nothing logged carries the code
    assert caplog.records
    assert not [r for r in caplog.records if "C" * 65 in r.getMessage()]
    assert "C" * 65 not in caplog.text


# ------------------------------------------------------------------ update


@pytest.fixture
async def anna(api: Api) -> dict[str, Any]:
    vip = await create_group(api, "VIP")
    await create_group(api, "Stały klient")
    return await create_customer(
        api,
        firstName="Anna",
        lastName="Kowalska",
        email="anna@example.com",
        phone="+48 600 100 200",
        note="note",
        cards=[{"code": "A-1", "number": "1"}, {"code": "A-2"}],
        groupIds=[vip["id"]],
    )


async def test_update_changes_only_the_given_fields(api: Api, anna: dict[str, Any]) -> None:
    # when only the first name and the email are given
    payload = await _update(api, anna["id"], firstName="Anka", email="ANKA@Example.com")

    # then those change and everything else, cards and groups included, stays
    assert payload["errors"] == []
    after = await _get(api, anna["id"])
    assert after == payload["customer"]
    expected = {**anna, "firstName": "Anka", "email": "anka@example.com"}
    assert {k: after[k] for k in anna if k != "updatedAt"} == {
        k: expected[k] for k in anna if k != "updatedAt"
    }


async def test_explicit_null_clears_a_field(api: Api, anna: dict[str, Any]) -> None:
    payload = await _update(api, anna["id"], email=None, phone=None, note="  ")

    assert payload["errors"] == []
    after = await _get(api, anna["id"])
    assert (after["email"], after["phone"], after["note"]) == (None, None, None)
    assert (after["firstName"], after["lastName"]) == ("Anna", "Kowalska")
    assert after["cards"] == anna["cards"]
    assert after["groups"] == anna["groups"]


async def test_given_cards_replace_the_list(api: Api, anna: dict[str, Any]) -> None:
    # when the cards are given: one kept (with a new number), one dropped, one new
    payload = await _update(
        api, anna["id"], cards=[{"code": "A-9"}, {"code": "A-2", "number": "2"}]
    )

    # then the list is exactly the given one, in order; the dropped code is free again
    assert payload["errors"] == []
    after = await _get(api, anna["id"])
    assert after["cards"] == [
        {"code": "A-9", "number": None, "expiresOn": None},
        {"code": "A-2", "number": "2", "expiresOn": None},
    ]
    assert after["groups"] == anna["groups"]
    assert (await api.data(GET_CUSTOMER, {"cardCode": "A-1"}))["customer"] is None
    assert (await api.data(GET_CUSTOMER, {"cardCode": "A-9"}))["customer"]["id"] == anna["id"]
    reused = await _create(api, firstName="Next", cards=[{"code": "A-1"}])
    assert reused["errors"] == []


async def test_an_empty_card_list_removes_every_card(api: Api, anna: dict[str, Any]) -> None:
    payload = await _update(api, anna["id"], cards=[])

    assert payload["errors"] == []
    assert (await _get(api, anna["id"]))["cards"] == []


async def test_given_group_ids_replace_the_memberships(api: Api, anna: dict[str, Any]) -> None:
    # given Anna is in VIP
    groups = {g["reference"]: g["id"] for g in (await api.data(LIST_GROUPS))["customerGroups"]}

    # when her groups are given as Stały klient only
    moved = await _update(api, anna["id"], groupIds=[groups["staly-klient"]])
    after_move = await _get(api, anna["id"])
    counts_after_move = await group_counts(api)
    # and then as none
    cleared = await _update(api, anna["id"], groupIds=[])

    # then she is in exactly the given groups each time; cards untouched
    assert moved["errors"] == []
    assert after_move["groups"] == [{"id": groups["staly-klient"], "reference": "staly-klient"}]
    assert after_move["cards"] == anna["cards"]
    assert counts_after_move == {"staly-klient": 1, "vip": 0}
    assert cleared["errors"] == []
    assert (await _get(api, anna["id"]))["groups"] == []
    assert await group_counts(api) == {"staly-klient": 0, "vip": 0}


async def test_own_card_codes_are_not_duplicates(api: Api, anna: dict[str, Any]) -> None:
    payload = await _update(api, anna["id"], cards=[{"code": "A-2"}, {"code": "A-1"}])

    assert payload["errors"] == []
    assert [c["code"] for c in (await _get(api, anna["id"]))["cards"]] == ["A-2", "A-1"]


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"email": "nope"}, [("INVALID", "input.email")]),
        ({"phone": "nope"}, [("INVALID", "input.phone")]),
        ({"cards": [{"code": "B-1"}]}, [("DUPLICATE", "input.cards.0.code")]),
        ({"cards": [{"code": "N-1"}, {"code": "N-1"}]}, [("DUPLICATE", "input.cards.1.code")]),
        ({"groupIds": [str(uuid4())]}, [("NOT_FOUND", "input.groupIds.0")]),
    ],
)
async def test_a_refused_update_changes_nothing(
    api: Api, anna: dict[str, Any], fields: dict[str, Any], errors: list[tuple[str, str]]
) -> None:
    # given another customer holding B-1
    await create_customer(api, firstName="Bob", cards=[{"code": "B-1"}])
    before = await snapshot(api)

    # when an update with valid changes and one bad field is sent
    payload = await _update(api, anna["id"], **{"firstName": "Changed", "cards": [], **fields})

    # then it is refused and nothing, not even the valid part, is applied
    assert payload["customer"] is None
    assert _errors(payload) == errors
    assert await snapshot(api) == before


async def test_updating_an_unknown_customer_is_not_found(api: Api) -> None:
    payload = await _update(api, str(uuid4()), firstName="Ghost")

    assert _errors(payload) == [("NOT_FOUND", "id")]
    assert await customer_ids(api) == []


async def test_an_update_does_not_overwrite_a_concurrent_balance_change(
    api: Api, anna: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a wallet writer that commits +5.00 while the update is between its read and write
    live = customer_repository.live
    customer_id = UUID(anna["id"])

    async def read_then_credited(*args: Any) -> Any:
        found = await live(*args)
        await Customer.filter(id=customer_id).update(credit_balance=500)
        return found

    monkeypatch.setattr(customer_repository, "live", read_then_credited)

    # when the customer's name and groups are updated
    payload = await _update(api, anna["id"], firstName="Anka", groupIds=[])

    # then the update applies, and the balance it never touched keeps the concurrent change
    assert payload["errors"] == []
    assert (await _get(api, anna["id"]))["firstName"] == "Anka"
    assert (await Customer.get(id=customer_id)).credit_balance == 500


# ------------------------------------------------------------------ delete


async def test_delete_removes_the_customer_its_cards_and_memberships(
    api: Api, anna: dict[str, Any]
) -> None:
    # given another customer who stays
    bob = await create_customer(api, firstName="Bob", groupIds=[anna["groups"][0]["id"]])

    # when Anna is deleted
    payload = await api.mutate(DELETE_CUSTOMER, {"id": anna["id"]})

    # then she is gone, with her cards and memberships; Bob is untouched
    assert payload == {"deletedId": anna["id"], "errors": []}
    assert (await api.data(GET_CUSTOMER, {"id": anna["id"]}))["customer"] is None
    assert (await api.data(GET_CUSTOMER, {"cardCode": "A-1"}))["customer"] is None
    assert await customer_ids(api) == [bob["id"]]
    assert await group_counts(api) == {"staly-klient": 0, "vip": 1}
    assert (await _create(api, cards=[{"code": "A-1"}, {"code": "A-2"}]))["errors"] == []
    # and deleting again is NOT_FOUND
    again = await api.mutate(DELETE_CUSTOMER, {"id": anna["id"]})
    assert again == {
        "deletedId": None,
        "errors": [{"code": "NOT_FOUND", "field": "id", "message": "Customer not found."}],
    }


async def test_a_customer_with_credits_can_be_deleted(api: Api, anna: dict[str, Any]) -> None:
    await give_credits(api, [anna["id"]], "30.00")

    payload = await api.mutate(DELETE_CUSTOMER, {"id": anna["id"]})

    assert payload == {"deletedId": anna["id"], "errors": []}
    assert await customer_ids(api) == []


# ------------------------------------------------------------------ paging


async def test_paging_through_1000_customers(api: Api) -> None:
    # given 1,000 customers
    created = await bulk_customers(api.location_id, 1000)

    # when they are read 50 at a time
    seen: list[str] = []
    pages = 0
    after: str | None = None
    while True:
        page = (await api.data(CUSTOMER_IDS, {"first": 50, "after": after}))["customers"]
        pages += 1
        assert page["totalCount"] == 1000
        assert len(page["edges"]) == 50
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        assert page["pageInfo"]["endCursor"] is not None
        after = page["pageInfo"]["endCursor"]

    # then every customer is seen exactly once, in name order (Bulk0000 … Bulk0999), over
    # exactly 20 pages
    assert pages == 20
    assert len(seen) == 1000
    assert len(set(seen)) == 1000
    assert seen == created


async def test_page_edges_carry_cursors_that_resume_after_them(api: Api) -> None:
    ids = await bulk_customers(api.location_id, 5)  # in name order

    first = (await api.data(LIST_CUSTOMERS, {"first": 2}))["customers"]
    resumed = (await api.data(CUSTOMER_IDS, {"first": 10, "after": first["edges"][0]["cursor"]}))[
        "customers"
    ]

    assert [e["node"]["id"] for e in first["edges"]] == ids[:2]
    assert first["pageInfo"] == {"hasNextPage": True, "endCursor": first["edges"][1]["cursor"]}
    assert [e["node"]["id"] for e in resumed["edges"]] == ids[1:]
    assert resumed["pageInfo"] == {
        "hasNextPage": False,
        "endCursor": resumed["pageInfo"]["endCursor"],
    }
    assert resumed["totalCount"] == 5


async def test_the_largest_page_is_200(api: Api) -> None:
    await bulk_customers(api.location_id, 201)

    page = (await api.data(CUSTOMER_IDS, {"first": 200}))["customers"]
    body = await api.raw(CUSTOMER_IDS, {"first": 201})

    assert len(page["edges"]) == 200
    assert page["pageInfo"]["hasNextPage"] is True
    assert body["data"] is None
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in body["errors"]] == [
        ("INVALID", "first")
    ]
    assert body["errors"][0]["message"] == "Page size must be at most 200."


async def test_a_negative_page_size_is_invalid(api: Api) -> None:
    body = await api.raw(CUSTOMER_IDS, {"first": -1})

    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID"]


@pytest.mark.parametrize(
    "cursor", ["abc", "!!!", "", _cursor("not-a-uuid"), base64.b64encode(b"x:1").decode()]
)
async def test_a_bad_cursor_is_invalid(api: Api, cursor: str) -> None:
    await bulk_customers(api.location_id, 3)

    body = await api.raw(CUSTOMER_IDS, {"first": 2, "after": cursor})

    assert body["data"] is None
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in body["errors"]] == [
        ("INVALID", "after")
    ]


# ------------------------------------------------------------------ filters


@pytest.fixture
async def people(api: Api) -> dict[str, str]:
    """Four customers in two groups; name → id."""
    vip = await create_group(api, "VIP")
    regular = await create_group(api, "Regular")
    anna = await create_customer(
        api,
        firstName="Anna",
        lastName="Kowalska",
        email="anna.k@shop.pl",
        phone="+48 600 100 200",
        cards=[{"code": "LOYAL-0001"}],
        groupIds=[vip["id"], regular["id"]],
    )
    jan = await create_customer(
        api,
        firstName="Jan",
        lastName="Nowak",
        email="jan@example.com",
        phone="+48 501 222 333",
        cards=[{"code": "LOYAL-0002"}, {"code": "XMAS-77"}],
        groupIds=[vip["id"]],
    )
    marta = await create_customer(
        api, firstName="Marta", lastName="Anders", groupIds=[regular["id"]]
    )
    piotr = await create_customer(api, firstName="Piotr", lastName="Kowalski")
    return {
        "anna": anna["id"],
        "jan": jan["id"],
        "marta": marta["id"],
        "piotr": piotr["id"],
        "vip": vip["id"],
        "regular": regular["id"],
    }


def _names(people: dict[str, str], ids: list[str]) -> set[str]:
    by_id = {v: k for k, v in people.items()}
    return {by_id[i] for i in ids}


async def test_filter_by_ids(api: Api, people: dict[str, str]) -> None:
    ids = await customer_ids(api, {"ids": [people["jan"], people["piotr"]]})
    unknown = await api.raw(CUSTOMER_IDS, {"filter": {"ids": [people["jan"], str(uuid4()), "abc"]}})

    assert _names(people, ids) == {"jan", "piotr"}
    # every id a filter names must be a customer of the location: the first unknown one is named
    assert unknown["data"] is None
    assert checked(unknown["errors"][0]) == {"code": "NOT_FOUND", "field": "filter.ids.1"}


async def test_filter_by_group_ids_is_member_of_any(api: Api, people: dict[str, str]) -> None:
    vip = await customer_ids(api, {"groupIds": [people["vip"]]})
    either = await customer_ids(api, {"groupIds": [people["vip"], people["regular"]]})
    none = await customer_ids(api, {"groupIds": []})

    assert _names(people, vip) == {"anna", "jan"}
    assert _names(people, either) == {"anna", "jan", "marta"}
    assert len(either) == 3  # Anna, in both, once
    assert none == []


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("anna", {"anna"}),  # first name, case-insensitive
        ("NOWAK", {"jan"}),  # last name
        ("kowalsk", {"anna", "piotr"}),  # substring of two last names
        ("SHOP.PL", {"anna"}),  # email
        ("501 222", {"jan"}),  # phone (two words, both in the phone)
        ("600", {"anna"}),  # phone substring
        ("loyal-000", {"anna", "jan"}),  # card codes, case-insensitive
        ("xmas", {"jan"}),  # second card
        ("anna kowalska", {"anna"}),  # every word must match
        ("kowalsk piotr", {"piotr"}),
        ("an", {"anna", "jan", "marta"}),  # Anna, Jan, Anders
        ("anna nowak", set()),
        ("  jan  ", {"jan"}),
        ("%", set()),  # LIKE wildcards are plain characters
        ("_", set()),
        ("zz", set()),
    ],
)
async def test_search(api: Api, people: dict[str, str], search: str, expected: set[str]) -> None:
    ids = await customer_ids(api, {"search": search})

    assert _names(people, ids) == expected


@pytest.mark.parametrize(
    ("search", "message"),
    [
        ("\x1b[2J", "Must not contain control characters (U+001B)."),
        ("jan\tnowak", "Must not contain control characters (U+0009)."),
        ("jan\u202e", "Must not contain control characters (U+202E)."),
    ],
)
async def test_a_bad_search_text_is_invalid(
    api: Api, people: dict[str, str], search: str, message: str
) -> None:
    body = await api.raw(CUSTOMER_IDS, {"first": 10, "filter": {"search": search}})

    assert body["data"] is None
    assert [
        (e["message"], e["extensions"]["code"], e["extensions"]["field"]) for e in body["errors"]
    ] == [(message, "INVALID", "filter.search")]


async def test_a_nul_in_the_search_text_is_invalid(api: Api) -> None:
    body = await api.raw(CUSTOMER_IDS, {"first": 10, "filter": {"search": "jan\x00"}})

    assert body.get("data") is None
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in body["errors"]] == [
        ("INVALID", "filter.search")
    ]


async def test_an_overlong_search_text_is_invalid(api: Api) -> None:
    body = await api.raw(CUSTOMER_IDS, {"first": 10, "filter": {"search": "x" * 1000}})

    assert body["data"] is None
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in body["errors"]] == [
        ("INVALID", "filter.search")
    ]


async def test_the_longest_search_text_is_accepted(api: Api, people: dict[str, str]) -> None:
    assert await customer_ids(api, {"search": "x" * 100}) == []
    assert await customer_ids(api, {"search": ("nowak " * 20)[:100]}) == [people["jan"]]


async def test_search_ignores_case_of_polish_letters(api: Api) -> None:
    # SQLite's UPPER and LIKE fold ASCII only: this guards the case-folded search text
    łucja = await create_customer(api, firstName="Łucja", lastName="Żółkiewska")

    assert await customer_ids(api, {"search": "łucja"}) == [łucja["id"]]
    assert await customer_ids(api, {"search": "ŻÓŁKIEWSKA"}) == [łucja["id"]]


async def test_filters_combine(api: Api, people: dict[str, str]) -> None:
    ids = await customer_ids(api, {"groupIds": [people["regular"]], "search": "an"})
    ids_and_search = await customer_ids(
        api, {"ids": [people["anna"], people["piotr"]], "search": "kowalsk"}
    )

    assert _names(people, ids) == {"anna", "marta"}
    assert _names(people, ids_and_search) == {"anna", "piotr"}


async def test_filter_by_credits(api: Api, people: dict[str, str]) -> None:
    # given no one has credits
    assert len(await customer_ids(api, {"hasCredits": False})) == 4
    assert await customer_ids(api, {"hasCredits": True}) == []

    # when Jan and Marta get some
    await give_credits(api, [people["jan"], people["marta"]], "12.50")

    # then they have credits and the others do not
    assert _names(people, await customer_ids(api, {"hasCredits": True})) == {"jan", "marta"}
    assert _names(people, await customer_ids(api, {"hasCredits": False})) == {"anna", "piotr"}


async def test_search_follows_updates(api: Api, people: dict[str, str]) -> None:
    # when Jan is renamed and his email cleared
    payload = await _update(
        api, people["jan"], firstName="Janusz", lastName="Wiśniewski", email=None
    )

    # then search finds him by the new values only
    assert payload["errors"] == []
    assert await customer_ids(api, {"search": "janusz"}) == [people["jan"]]
    assert await customer_ids(api, {"search": "WIŚNIEWSKI"}) == [people["jan"]]
    assert await customer_ids(api, {"search": "nowak"}) == []
    assert await customer_ids(api, {"search": "example.com"}) == []
    assert await customer_ids(api, {"search": "501 222"}) == [people["jan"]]  # phone untouched


async def test_total_count_counts_the_filter_not_the_page(api: Api, people: dict[str, str]) -> None:
    page = (await api.data(CUSTOMER_IDS, {"first": 1, "filter": {"search": "an"}}))["customers"]

    assert page["totalCount"] == 3
    assert len(page["edges"]) == 1
    assert page["pageInfo"]["hasNextPage"] is True


# ------------------------------------------------------------------ customer(id | cardCode)


async def test_customer_by_card_code(api: Api, people: dict[str, str]) -> None:
    by_second_card = (await api.data(GET_CUSTOMER, {"cardCode": "XMAS-77"}))["customer"]
    padded = (await api.data(GET_CUSTOMER, {"cardCode": " LOYAL-0001 "}))["customer"]
    partial = (await api.data(GET_CUSTOMER, {"cardCode": "LOYAL"}))["customer"]

    assert by_second_card["id"] == people["jan"]
    assert [c["code"] for c in by_second_card["cards"]] == ["LOYAL-0002", "XMAS-77"]
    assert padded["id"] == people["anna"]
    assert partial is None


@pytest.mark.parametrize("variables", [{}, {"id": "x", "cardCode": "y"}])
async def test_customer_needs_exactly_one_of_id_and_card_code(
    api: Api, variables: dict[str, str]
) -> None:
    body = await api.raw(GET_CUSTOMER, variables)

    assert body["data"] == {"customer": None}
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID"]


# ------------------------------------------------------------------ groups with counts, loaders


async def test_customer_groups_with_counts(api: Api, people: dict[str, str]) -> None:
    empty = await create_group(api, "Empty")

    groups = (await api.data(LIST_GROUPS))["customerGroups"]

    assert [(g["name"], g["customerCount"]) for g in groups] == [
        ("Empty", 0),
        ("Regular", 2),
        ("VIP", 2),
    ]
    assert groups[0]["id"] == empty["id"]


async def _statements_for(api: Api, query: str) -> int:
    with sql_statements() as statements:
        await api.data(query)
    return len(statements)


async def test_group_counts_are_loaded_in_one_query_whatever_the_number_of_groups(
    api: Api,
) -> None:
    # given 2 groups with members, counted
    members = await bulk_customers(api.location_id, 12)
    for n in range(2):
        group = await create_group(api, f"Group {n:02d}")
        await _add(api, group["id"], members[: n + 1])
    with_two = await _statements_for(api, LIST_GROUPS)

    # when there are 10 groups
    for n in range(2, 10):
        group = await create_group(api, f"Group {n:02d}")
        await _add(api, group["id"], members[: n + 1])
    with_ten = await _statements_for(api, LIST_GROUPS)

    # then listing them with their counts takes as many statements as before
    assert with_ten == with_two
    assert 2 <= with_two <= 3  # the key, the groups, their counts
    counts = [g["customerCount"] for g in (await api.data(LIST_GROUPS))["customerGroups"]]
    assert counts == list(range(1, 11))


async def test_cards_and_groups_of_a_page_are_loaded_without_n_plus_1(api: Api) -> None:
    group = await create_group(api, "VIP")
    for n in range(2):
        await create_customer(api, cards=[{"code": f"P-{n}"}], groupIds=[group["id"]])
    with_two = await _statements_for(api, LIST_CUSTOMERS)

    for n in range(2, 10):
        await create_customer(api, cards=[{"code": f"P-{n}"}], groupIds=[group["id"]])
    with_ten = await _statements_for(api, LIST_CUSTOMERS)

    assert with_ten == with_two
    assert 3 <= with_two <= 5  # key, count, page, cards, groups
    customers = await all_customers(api)
    assert len(customers) == 10
    assert all(len(c["cards"]) == 1 and len(c["groups"]) == 1 for c in customers)


ADD = """
mutation($groupId: ID!, $ids: [ID!]) {
  addCustomersToGroup(groupId: $groupId, target: {customerIds: $ids}) { errors { code } }
}"""


async def _add(api: Api, group_id: str, ids: list[str]) -> None:
    payload = await api.mutate(ADD, {"groupId": group_id, "ids": ids})
    assert payload["errors"] == []


async def test_a_null_page_size_means_the_default(api: Api) -> None:
    for n in range(3):
        await create_customer(api, firstName=f"Null {n}")

    data = await api.data("{ customers(first: null) { totalCount edges { cursor } } }")

    assert data["customers"]["totalCount"] == 3
    assert len(data["customers"]["edges"]) == 3
