"""What the back-office console reads: the operations list with who asked for each, a preview
of a credit request, the location's API keys, and the reference a group name would get."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.access import Role
from domain.paging import encode_cursor
from gateway.schema.root import build_schema
from models.tables.crm import MAX_CREDIT_BALANCE, Customer
from models.tables.wallet import WalletEntry
from tests.builders import CREATE_API_KEY, DELETE_CUSTOMER, REVOKE_API_KEY, sql_statements
from tests.english import checked
from tests.helpers import CREATE_GROUP, Api, create_customer, create_group, query_cost
from tests.test_wallet_api import BAD_INPUTS, Ids
from tests.wallet_helpers import (
    SET_CREDITS,
    credit_input,
    credit_ok,
    snapshot,
    stored_balance,
)

LIST_OPERATIONS = """
query($first: Int, $after: String) {
  walletOperations(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id operation amount { amount } description status total processed
                          actor createdAt } }
  }
}"""

GET_OPERATION = """
query($id: ID!) { walletOperation(id: $id) { id actor } }"""

PREVIEW_CREDITS = """
query($input: SetPromotionalCreditsInput!) {
  previewPromotionalCredits(input: $input) {
    preview {
      customerCount changedCount balanceBefore { amount currency } balanceAfter { amount }
      overMaximumCount clampedCount
    }
    errors { code field message }
  }
}"""

LIST_API_KEYS = """
query { apiKeys { id name role createdAt revokedAt } }"""

REFERENCE_FOR = """
query($name: String!) {
  referenceFor(name: $name)
}"""

API_KEY_FIELDS = """
query { __type(name: "ApiKey") { fields { name } } }"""

EMPTY_OPERATIONS = {
    "totalCount": 0,
    "pageInfo": {"hasNextPage": False, "endCursor": None},
    "edges": [],
}


async def operations(api: Api, **variables: Any) -> dict[str, Any]:
    page: dict[str, Any] = (await api.data(LIST_OPERATIONS, variables))["walletOperations"]
    return page


async def preview(api: Api, request: dict[str, Any]) -> dict[str, Any]:
    payload: dict[str, Any] = (await api.data(PREVIEW_CREDITS, request))[
        "previewPromotionalCredits"
    ]
    return payload


def figures(
    customers: int,
    changed: int,
    before: str,
    after: str,
    over_maximum: int = 0,
    clamped: int = 0,
) -> dict[str, Any]:
    return {
        "preview": {
            "customerCount": customers,
            "changedCount": changed,
            "balanceBefore": {"amount": before, "currency": "PLN"},
            "balanceAfter": {"amount": after},
            "overMaximumCount": over_maximum,
            "clampedCount": clamped,
        },
        "errors": [],
    }


# ---------------------------------------------------------------- walletOperations


async def test_operations_are_listed_newest_first_with_the_key_that_asked(api: Api) -> None:
    # given three operations, the second by another ADMIN key, and a schedule
    customer = await create_customer(api, firstName="Ala")
    one = {"customerIds": [customer["id"]]}
    back_office = await api.key_with_role(Role.ADMIN, "back office")
    first = await credit_ok(api, one, "ADD", "10.00", description="Welcome")
    second = await credit_ok(back_office, one, "REDUCE", "4.00")
    third = await credit_ok(api, {"allCustomers": True}, "SET", "7.50")
    group = await create_group(api, "VIP")
    await credit_ok(
        api,
        {"filter": {"groupIds": [group["id"]]}},
        "ADD",
        "1.00",
        recurrence={"unit": "MONTH", "startDate": "2099-01-01"},
    )

    # when the first page of two and then the rest are read
    page = await operations(api, first=2)
    rest = await operations(api, first=2, after=page["pageInfo"]["endCursor"])

    # then the operations come newest first, each with its key's name; schedules are not listed
    listed = [edge["node"] for edge in page["edges"] + rest["edges"]]
    assert [op["id"] for op in listed] == [third["id"], second["id"], first["id"]]
    assert [
        (op["operation"], op["amount"]["amount"], op["description"], op["actor"]) for op in listed
    ] == [
        ("SET", "7.50", None, "admin"),
        ("REDUCE", "4.00", None, "back office"),
        ("ADD", "10.00", "Welcome", "admin"),
    ]
    assert [(op["status"], op["total"], op["processed"]) for op in listed] == [
        ("SUCCEEDED", 1, 1)
    ] * 3
    assert (page["totalCount"], page["pageInfo"]["hasNextPage"]) == (3, True)
    assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
    assert (rest["totalCount"], rest["pageInfo"]["hasNextPage"]) == (3, False)
    assert rest["pageInfo"]["endCursor"] == rest["edges"][-1]["cursor"]
    # and walletOperation(id) names the same key
    read = await api.data(GET_OPERATION, {"id": second["id"]})
    assert read["walletOperation"] == {"id": second["id"], "actor": "back office"}


async def test_the_default_page_is_twenty_operations(api: Api) -> None:
    customer = await create_customer(api, firstName="Ala")
    for n in range(21):
        await credit_ok(api, {"customerIds": [customer["id"]]}, "ADD", f"{n + 1}.00")

    page = await operations(api)

    assert len(page["edges"]) == 20
    assert page["edges"][0]["node"]["amount"] == {"amount": "21.00"}
    assert page["edges"][-1]["node"]["amount"] == {"amount": "2.00"}
    assert (page["totalCount"], page["pageInfo"]["hasNextPage"]) == (21, True)


async def test_a_location_without_operations_lists_none(api: Api) -> None:
    assert await operations(api) == EMPTY_OPERATIONS


@pytest.mark.parametrize(
    ("variables", "field", "message"),
    [
        ({"first": -1}, "first", "Page size must not be negative."),
        ({"first": 201}, "first", "Page size must be at most 200."),
        ({"after": "not-a-cursor"}, "after", "Not a cursor from this list."),
        # a cursor of the customers list: an id without a time
        ({"after": encode_cursor(str(uuid4()))}, "after", "Not a cursor from this list."),
        (
            {"after": encode_cursor(f"2026-01-01T00:00:00|{uuid4()}")},
            "after",
            "Not a cursor from this list.",
        ),
    ],
    ids=["negative", "too-large", "garbage-cursor", "customers-cursor", "time-without-offset"],
)
async def test_a_bad_page_request_is_an_invalid_error(
    api: Api, variables: dict[str, Any], field: str, message: str
) -> None:
    body = await api.raw(LIST_OPERATIONS, variables)

    assert body["data"] is None
    (error,) = body["errors"]
    assert error["path"] == ["walletOperations"]
    assert checked(error) == {"code": "INVALID", "field": field}
    assert error["message"] == message


# ---------------------------------------------------------------- previewPromotionalCredits


@pytest.fixture
async def wallets(api: Api, other: Api) -> dict[str, str]:
    """Balances 0.00 (Nowak, VIP), 30.00 (Nowak, VIP), 50.00 (Kowalski), 120.00 (VIP); a
    deleted VIP customer who had 10.00; another location's customer with 99.00."""
    vip = await create_group(api, "VIP")
    ids = {"vip": vip["id"]}
    people = [
        ("zero", "Nowak", [vip["id"]], None),
        ("thirty", "Nowak", [vip["id"]], "30.00"),
        ("fifty", "Kowalski", [], "50.00"),
        ("rich", "Wiśniewski", [vip["id"]], "120.00"),
        ("gone", "Zieliński", [vip["id"]], "10.00"),
    ]
    for key, last_name, groups, amount in people:
        customer = await create_customer(api, firstName=key, lastName=last_name, groupIds=groups)
        ids[key] = customer["id"]
        if amount is not None:
            await credit_ok(api, {"customerIds": [customer["id"]]}, "ADD", amount)
    deleted = await api.mutate(DELETE_CUSTOMER, {"id": ids["gone"]})
    assert deleted["errors"] == []
    theirs = await create_customer(other, firstName="theirs", lastName="Nowak")
    await credit_ok(other, {"customerIds": [theirs["id"]]}, "ADD", "99.00")
    ids["theirs"] = theirs["id"]
    return ids


Target = Callable[[dict[str, str]], dict[str, Any]]

PREVIEW_CASES: list[tuple[str, Target, str, str, dict[str, Any]]] = [
    # (name, target, operation, amount, expected figures)
    (
        # the deleted customer and the other location's are not anyone's
        "add-to-everyone",
        lambda ids: {"allCustomers": True},
        "ADD",
        "20.00",
        figures(4, 4, "200.00", "280.00"),
    ),
    (
        "set-everyone-to-zero",
        lambda ids: {"allCustomers": True},
        "SET",
        "0",
        figures(4, 3, "200.00", "0.00"),
    ),
    (
        "reduce-a-group-clamps-at-zero",
        lambda ids: {"filter": {"groupIds": [ids["vip"]]}},
        "REDUCE",
        "40.00",
        # 0 stays 0 (unchanged), 30 → 0 (clamped), 120 → 80: two balances below 40.00
        figures(3, 2, "150.00", "80.00", clamped=2),
    ),
    (
        "set-listed-ids-each-once",
        lambda ids: {"customerIds": [ids["zero"], ids["fifty"], ids["fifty"], ids["rich"]]},
        "SET",
        "50.00",
        # 0 → 50, 50 stays 50 (unchanged), 120 → 50
        figures(3, 2, "170.00", "150.00"),
    ),
    (
        "set-to-zero-by-search",
        lambda ids: {"filter": {"search": "nowak"}},
        "SET",
        "0.00",
        figures(2, 1, "30.00", "0.00"),
    ),
    (
        "reduce-by-filter-ids",
        lambda ids: {"filter": {"ids": [ids["thirty"], ids["rich"]]}},
        "REDUCE",
        "100.00",
        figures(2, 2, "150.00", "20.00", clamped=1),
    ),
    (
        "reduce-those-with-credits",
        lambda ids: {"filter": {"hasCredits": True}},
        "REDUCE",
        "0.01",
        figures(3, 3, "200.00", "199.97"),
    ),
    (
        "a-group-and-a-search-together",
        lambda ids: {"filter": {"groupIds": [ids["vip"]], "search": "nowak"}},
        "ADD",
        "0.50",
        figures(2, 2, "30.00", "31.00"),
    ),
]


@pytest.mark.parametrize(
    ("target", "operation", "amount", "expected"),
    [pytest.param(t, o, a, e, id=name) for name, t, o, a, e in PREVIEW_CASES],
)
async def test_a_preview_gives_what_one_application_then_does(
    api: Api,
    other: Api,
    wallets: dict[str, str],
    target: Target,
    operation: str,
    amount: str,
    expected: dict[str, Any],
) -> None:
    # given the location's balances
    before = (await snapshot(api.location_id), await snapshot(other.location_id))
    request = credit_input(target(wallets), operation, amount)

    # when the request is previewed
    previewed = await preview(api, request)

    # then the figures are exact, and nothing changed in either location
    assert previewed == expected
    assert (await snapshot(api.location_id), await snapshot(other.location_id)) == before

    # and applying the request does exactly what the preview said
    done = await credit_ok(api, target(wallets), operation, amount)
    figures_seen = expected["preview"]
    assert done["total"] == figures_seen["customerCount"]
    entries = await WalletEntry.filter(source_id=UUID(done["id"])).values_list(
        "delta", "balance_after"
    )
    assert len(entries) == figures_seen["customerCount"]
    assert sum(1 for delta, _ in entries if delta != 0) == figures_seen["changedCount"]
    after = sum(balance for _, balance in entries)
    assert str(Decimal(after).scaleb(-2)) == figures_seen["balanceAfter"]["amount"]


async def test_a_recurring_request_previews_one_period(api: Api, wallets: dict[str, str]) -> None:
    before = await snapshot(api.location_id)

    previewed = await preview(
        api,
        credit_input(
            {"filter": {"groupIds": [wallets["vip"]]}},
            "SET",
            "50.00",
            recurrence={"unit": "MONTH", "startDate": "2099-01-31"},
        ),
    )

    # 0 → 50, 30 → 50, 120 → 50; no schedule is made
    assert previewed == figures(3, 3, "150.00", "150.00")
    assert await snapshot(api.location_id) == before


async def test_a_preview_is_one_aggregate_statement_over_customers(
    api: Api, wallets: dict[str, str]
) -> None:
    request = credit_input({"filter": {"search": "nowak", "hasCredits": True}}, "REDUCE", "5.00")

    with sql_statements() as statements:
        previewed = await preview(api, request)

    assert previewed == figures(1, 1, "30.00", "25.00")
    reading_customers = [s for s in statements if '"customers"' in s]
    assert len(reading_customers) == 1
    (aggregate,) = reading_customers
    assert "COUNT(*)" in aggregate
    assert "SUM(" in aggregate


async def test_a_preview_counts_balances_that_would_pass_the_maximum(
    api: Api, wallets: dict[str, str]
) -> None:
    # given a balance 0.50 below the most a wallet may hold
    await Customer.filter(id=UUID(wallets["rich"])).update(credit_balance=MAX_CREDIT_BALANCE - 50)
    before = await snapshot(api.location_id)
    request = credit_input({"customerIds": [wallets["rich"], wallets["thirty"]]}, "ADD", "1.00")

    previewed = await preview(api, request)

    assert previewed == figures(2, 2, "10000000000029.50", "10000000000031.50", over_maximum=1)
    assert await snapshot(api.location_id) == before
    assert await stored_balance(wallets["rich"]) == MAX_CREDIT_BALANCE - 50


@pytest.mark.parametrize(
    ("make_input", "expected"),
    [pytest.param(make, expected, id=name) for name, make, expected in BAD_INPUTS],
)
async def test_a_bad_preview_has_the_errors_the_mutation_has(
    api: Api,
    other: Api,
    make_input: Callable[[Ids], dict[str, Any]],
    expected: list[tuple[str, str]],
) -> None:
    # given a customer with credits, a group, and another location's customer and group
    group = await create_group(api, "VIP")
    ours = await create_customer(api, firstName="Ala", groupIds=[group["id"]])
    await credit_ok(api, {"customerIds": [ours["id"]]}, "ADD", "10.00")
    their_group = await create_group(other, "VIP")
    theirs = await create_customer(other, firstName="Ala", groupIds=[their_group["id"]])
    ids = {
        "ours": ours["id"],
        "theirs": theirs["id"],
        "group": group["id"],
        "their_group": their_group["id"],
    }
    before = (await snapshot(api.location_id), await snapshot(other.location_id))

    # when the bad request is previewed, then sent
    previewed = await preview(api, make_input(ids))
    sent = await api.mutate(SET_CREDITS, make_input(ids))

    # then the preview has exactly the mutation's errors, and nothing changed
    assert [(e["code"], e["field"]) for e in previewed["errors"]] == expected
    assert previewed == {"preview": None, "errors": sent["errors"]}
    assert (await snapshot(api.location_id), await snapshot(other.location_id)) == before


async def test_a_preview_with_a_key_used_for_another_request_is_refused(
    api: Api, wallets: dict[str, str]
) -> None:
    one = {"customerIds": [wallets["zero"]]}
    await credit_ok(api, one, "ADD", "5.00", idempotencyKey="november")
    before = await snapshot(api.location_id)

    other_amount = await preview(api, credit_input(one, "ADD", "6.00", idempotencyKey="november"))
    same = await preview(api, credit_input(one, "ADD", "5.00", idempotencyKey="november"))

    assert other_amount == {
        "preview": None,
        "errors": [
            {
                "code": "IDEMPOTENCY_KEY_REUSED",
                "field": "input.idempotencyKey",
                "message": "This idempotency key was used for a different request.",
            }
        ],
    }
    assert same == figures(1, 1, "5.00", "10.00")
    assert await snapshot(api.location_id) == before


# ---------------------------------------------------------------- apiKeys


async def test_api_keys_lists_every_key_of_the_location_oldest_first(api: Api, other: Api) -> None:
    # given a POS key, then an ADMIN key, and the POS key revoked; another location's key
    till = await api.mutate(CREATE_API_KEY, {"name": "Till 1", "role": "POS"})
    office = await api.mutate(CREATE_API_KEY, {"name": "Back office", "role": "ADMIN"})
    revoked = await api.mutate(REVOKE_API_KEY, {"id": till["apiKey"]["id"]})
    await other.mutate(CREATE_API_KEY, {"name": "Their till", "role": "POS"})

    # when the keys are listed
    keys = (await api.data(LIST_API_KEYS))["apiKeys"]

    # then every key of the location is there, the revoked one with its time, none of B's
    own = (await api.data("{ viewer { apiKey { id createdAt } } }"))["viewer"]["apiKey"]
    assert keys == [
        {
            "id": own["id"],
            "name": "admin",
            "role": "ADMIN",
            "createdAt": own["createdAt"],
            "revokedAt": None,
        },
        {**till["apiKey"], "revokedAt": revoked["apiKey"]["revokedAt"]},
        office["apiKey"],
    ]
    assert revoked["apiKey"]["revokedAt"] is not None
    assert [k["name"] for k in (await other.data(LIST_API_KEYS))["apiKeys"]] == [
        "admin",
        "Their till",
    ]


async def test_an_api_key_has_no_field_for_its_secret(api: Api) -> None:
    fields = (await api.data(API_KEY_FIELDS))["__type"]["fields"]

    assert {f["name"] for f in fields} == {
        "id",
        "name",
        "role",
        "createdAt",
        "revokedAt",
        "channels",
    }


def test_the_key_list_and_a_page_of_operations_have_a_bounded_cost() -> None:
    schema = build_schema(production=False)._schema

    def cost(document: str) -> int:
        return query_cost(schema, document)

    # 1 + 500 (the most keys listed) × (id, name)
    assert cost("{ apiKeys { id name } }") == 1_001
    # 1 + 20 (the default page) × (edges 1 + node 1 + id, actor 2)
    assert cost("{ walletOperations { edges { node { id actor } } } }") == 81
    assert cost("{ walletOperations(first: 200) { totalCount } }") == 201


# ---------------------------------------------------------------- referenceFor


@pytest.mark.parametrize(
    "name",
    [
        "Stały klient",
        "  Złota karta  ",
        "ŻÓŁW & Ćma",
        "Klub 100",
        "Bardzo długa nazwa grupy stałych klientów restauracji przy ulicy Długiej w Gdańsku",
        "x" * 100,
    ],
    ids=["polish", "trimmed", "symbols", "digits", "long-words", "long-word"],
)
async def test_reference_for_is_the_reference_creation_generates(api: Api, name: str) -> None:
    # when the reference for a name is asked, and then a group of that name is created
    reference = (await api.data(REFERENCE_FOR, {"name": name}))["referenceFor"]
    created = await api.mutate(CREATE_GROUP, {"input": {"name": name}})

    # then both are the same
    assert created["errors"] == []
    assert reference == created["group"]["reference"]


async def test_reference_for_a_name_in_use_is_not_suffixed(api: Api) -> None:
    # given a group "Stały klient"
    await create_group(api, "Stały klient")

    # when the reference for a name that folds to the same one is asked
    reference = (await api.data(REFERENCE_FOR, {"name": "STAŁY KLIENT"}))["referenceFor"]
    created = await api.mutate(CREATE_GROUP, {"input": {"name": "STAŁY KLIENT"}})

    # then it is the plain reference, which creation refuses as taken rather than suffixing
    assert reference == "staly-klient"
    assert [(e["code"], e["field"]) for e in created["errors"]] == [("DUPLICATE", "input.name")]


async def test_reference_for_reads_no_location_data(api: Api, other: Api) -> None:
    await create_group(api, "Stały klient")

    mine = await api.data(REFERENCE_FOR, {"name": "Stały klient"})
    theirs = await other.data(REFERENCE_FOR, {"name": "Stały klient"})

    assert mine == theirs == {"referenceFor": "staly-klient"}


@pytest.mark.parametrize(
    ("name", "code", "message"),
    [
        ("   ", "REQUIRED", "Name must not be empty."),
        ("x" * 101, "INVALID", "At most 100 characters."),
        ("VIP\x1b[31m", "INVALID", "Must not contain control characters (U+001B)."),
        ("\u202eVIP", "INVALID", "Must not contain control characters (U+202E)."),
        ("!!!", "REQUIRED", "No reference can be made from this name; give one."),
    ],
    ids=["blank", "too-long", "escape", "bidi-override", "no-letters"],
)
async def test_reference_for_a_bad_name_is_an_error_on_name(
    api: Api, name: str, code: str, message: str
) -> None:
    # when the reference for a bad name is asked, and a group of that name is created
    body = await api.raw(REFERENCE_FOR, {"name": name})
    created = await api.mutate(CREATE_GROUP, {"input": {"name": name}})

    # then the query fails with the error creation gives, on the argument
    assert [checked(e) for e in body["errors"]] == [{"code": code, "field": "name"}]
    for error in body["errors"]:
        error["extensions"] = checked(error)
    assert body == {
        "data": None,
        "errors": [
            {
                "message": message,
                "locations": [{"line": 3, "column": 3}],
                "path": ["referenceFor"],
                "extensions": {"code": code, "field": "name"},
            }
        ],
    }
    assert [(e["code"], e["message"]) for e in created["errors"]] == [(code, message)]
