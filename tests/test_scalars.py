"""Input errors over HTTP: the Decimal scalar's syntax, and the code and field path of every
coercion error (variables and literals), each refused with nothing changed."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from settings import Settings
from tests.helpers import CREATE_CUSTOMER, Api, create_customer, new_location
from tests.wallet_helpers import SET_CREDITS, balance_of, credit_input, snapshot

SYNTAX = 'A Decimal is digits with an optional leading "-" and decimal point, such as "12.50".'
NOT_A_STRING = 'A Decimal is written as a string, such as "12.50".'
TOO_LONG = "A Decimal has at most 40 characters."
NUL = "Text may not contain the NUL character."

BAD_AMOUNTS: list[tuple[Any, str]] = [
    ("1E2", SYNTAX),
    ("1e999999999", SYNTAX),
    ("1_000", SYNTAX),
    ("١٢", SYNTAX),
    ("+5", SYNTAX),
    ("  5  ", SYNTAX),
    ("5.", SYNTAX),
    (".5", SYNTAX),
    ("0x10", SYNTAX),
    ("", SYNTAX),
    ("NaN", '"NaN" is not a number.'),
    ("Infinity", '"Infinity" is not a number.'),
    ("-Infinity", '"-Infinity" is not a number.'),
    ("9" * 10_000, TOO_LONG),
    ("1" * 41, TOO_LONG),
    (1.5, NOT_A_STRING),
    (5, NOT_A_STRING),
    (True, NOT_A_STRING),
]
BAD_AMOUNT_IDS = [
    "exponent",
    "huge-exponent",
    "underscore",
    "arabic-indic",
    "plus",
    "spaces",
    "trailing-point",
    "leading-point",
    "hex",
    "empty",
    "nan",
    "infinity",
    "minus-infinity",
    "10000-digits",
    "41-digits",
    "json-float",
    "json-integer",
    "json-boolean",
]


def _errors(body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    assert "data" not in body, body
    return [(e["message"], e["extensions"]) for e in body["errors"]]


def _invalid(field: str) -> dict[str, str]:
    return {"code": "INVALID", "field": field}


@pytest.fixture
async def anna(api: Api) -> str:
    customer = await create_customer(api, firstName="Anna")
    customer_id: str = customer["id"]
    return customer_id


# ------------------------------------------------------------------ the Decimal scalar


@pytest.mark.parametrize(("amount", "message"), BAD_AMOUNTS, ids=BAD_AMOUNT_IDS)
async def test_a_bad_amount_variable_is_invalid_and_changes_nothing(
    api: Api, anna: str, amount: Any, message: str
) -> None:
    before = await snapshot(api.location_id)

    body = await api.raw(SET_CREDITS, credit_input({"customerIds": [anna]}, "ADD", amount))

    assert _errors(body) == [
        (f"Variable '$input' has invalid value at .amount: {message}", _invalid("input.amount"))
    ]
    assert await snapshot(api.location_id) == before


@pytest.mark.parametrize(("amount", "message"), BAD_AMOUNTS, ids=BAD_AMOUNT_IDS)
async def test_a_bad_amount_literal_is_invalid_and_changes_nothing(
    api: Api, anna: str, amount: Any, message: str
) -> None:
    document = (
        f'mutation {{ setPromotionalCredits(input: {{target: {{customerIds: ["{anna}"]}}, '
        f"operation: ADD, amount: {json.dumps(amount)}}}) {{ errors {{ code field }} }} }}"
    )
    before = await snapshot(api.location_id)

    body = await api.raw(document)

    assert _errors(body) == [(message, _invalid("input.amount"))]
    assert await snapshot(api.location_id) == before


@pytest.mark.parametrize(("amount", "balance"), [("5", "5.00"), ("5.00", "5.00"), ("0.5", "0.50")])
async def test_a_well_formed_amount_is_applied(
    api: Api, anna: str, amount: str, balance: str
) -> None:
    payload = await api.mutate(SET_CREDITS, credit_input({"customerIds": [anna]}, "ADD", amount))

    assert payload["errors"] == []
    assert payload["operation"]["amount"] == {"amount": balance, "currency": "PLN"}
    assert await balance_of(api, anna) == balance


@pytest.mark.parametrize("amount", ["-5", "5.001"])
async def test_sign_and_decimals_pass_the_scalar_and_are_the_domains_to_refuse(
    api: Api, anna: str, amount: str
) -> None:
    before = await snapshot(api.location_id)

    body = await api.raw(SET_CREDITS, credit_input({"customerIds": [anna]}, "ADD", amount))

    assert "errors" not in body
    payload = body["data"]["setPromotionalCredits"]
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID", "input.amount")]
    assert await snapshot(api.location_id) == before


async def test_forty_characters_of_digits_pass_the_scalar(api: Api, anna: str) -> None:
    amount = "0" * 39 + "1"

    payload = await api.mutate(SET_CREDITS, credit_input({"customerIds": [anna]}, "ADD", amount))

    assert payload["errors"] == []
    assert await balance_of(api, anna) == "1.00"


# ------------------------------------------------------------------ every coercion error


VARIABLE_ERRORS: list[tuple[dict[str, Any], list[str]]] = [
    ({}, ["input"]),
    ({"input": {"target": {}, "amount": "5"}}, ["input.operation"]),
    ({"input": {"operation": "ADD", "amount": "5"}}, ["input.target"]),
    (credit_input({}, "ADDD", "5"), ["input.operation"]),
    ({"input": {"target": {}, "operation": "ADD", "amount": None}}, ["input.amount"]),
    (credit_input({"customerIds": [{"a": 1}]}, "ADD", "5"), ["input.target.customerIds.0"]),
    (credit_input({"customerIds": ["1", None]}, "ADD", "5"), ["input.target.customerIds.1"]),
    (credit_input({"filter": {"groupIds": [1.5]}}, "ADD", "5"), ["input.target.filter.groupIds.0"]),
    (credit_input({}, "ADD", "5", descripton="x"), ["input.descripton"]),
    (credit_input({}, "ADD", "5", description="a\x00b"), ["input.description"]),
    (
        credit_input({"filter": {"search": "\x00"}}, "ADD", "5", idempotencyKey="k\x00"),
        ["input.target.filter.search", "input.idempotencyKey"],
    ),
    (
        credit_input(
            {}, "ADD", "5", recurrence={"every": 1, "unit": "MONTH", "startDate": "2026-13-01"}
        ),
        ["input.recurrence.startDate"],
    ),
    (
        credit_input({}, "ADD", "1e5", recurrence={"every": "1", "unit": "MONTHS"}),
        [
            "input.amount",
            "input.recurrence.every",
            "input.recurrence.unit",
            "input.recurrence.startDate",
        ],
    ),
]


@pytest.mark.parametrize(
    ("variables", "fields"),
    VARIABLE_ERRORS,
    ids=[
        "no-input",
        "missing-field",
        "missing-object",
        "unknown-enum",
        "null-amount",
        "object-for-id",
        "null-in-list",
        "float-for-id",
        "unknown-field",
        "nul",
        "nul-twice",
        "bad-date",
        "several",
    ],
)
async def test_every_variable_error_is_invalid_with_its_field_path(
    api: Api, variables: dict[str, Any], fields: list[str]
) -> None:
    before = await snapshot(api.location_id)

    body = await api.raw(SET_CREDITS, variables)

    assert [extensions for _, extensions in _errors(body)] == [_invalid(f) for f in fields]
    assert await snapshot(api.location_id) == before


def _credits(input_literal: str) -> str:
    return f"mutation {{ setPromotionalCredits(input: {input_literal}) {{ errors {{ code }} }} }}"


LITERAL_ERRORS: list[tuple[str, list[str]]] = [
    (_credits('{target: {}, amount: "5"}'), ["input.operation"]),
    (_credits('{operation: ADD, amount: "5"}'), ["input.target"]),
    (_credits('{target: {}, operation: ADDD, amount: "5"}'), ["input.operation"]),
    (_credits('{target: {}, operation: "ADD", amount: "5"}'), ["input.operation"]),
    (
        _credits('{target: {customerIds: [{a: 1}]}, operation: ADD, amount: "5"}'),
        ["input.target.customerIds.0"],
    ),
    (_credits('{target: {}, operation: ADD, amount: "5", descripton: "x"}'), ["input.descripton"]),
    (
        _credits('{target: {}, operation: ADD, amount: "5", description: "a\\u0000"}'),
        ["input.description"],
    ),
    ('{ customer(cardCode: "X\\u0000") { id } }', ["cardCode"]),
    ("{ customers(first: 1.5) { totalCount } }", ["first"]),
    ('{ customers(filter: {groupIds: ["1", null]}) { totalCount } }', ["filter.groupIds.1"]),
]


@pytest.mark.parametrize(
    ("document", "fields"),
    LITERAL_ERRORS,
    ids=[
        "missing-field",
        "missing-object",
        "unknown-enum",
        "string-for-enum",
        "object-for-id",
        "unknown-field",
        "nul",
        "nul-in-query",
        "float-for-int",
        "null-in-list",
    ],
)
async def test_every_literal_error_is_invalid_with_its_field_path(
    api: Api, document: str, fields: list[str]
) -> None:
    before = await snapshot(api.location_id)

    body = await api.raw(document)

    assert [extensions for _, extensions in _errors(body)] == [_invalid(f) for f in fields]
    assert await snapshot(api.location_id) == before


async def test_a_nul_in_any_text_of_a_customer_is_refused(api: Api) -> None:
    body = await api.raw(
        CREATE_CUSTOMER,
        {"input": {"firstName": "Anna", "note": "x\x00y", "cards": [{"code": "\x00"}]}},
    )

    assert _errors(body) == [
        (
            f"Variable '$input' has invalid value at .note: {NUL}",
            _invalid("input.note"),
        ),
        (
            f"Variable '$input' has invalid value at .cards[0].code: {NUL}",
            _invalid("input.cards.0.code"),
        ),
    ]
    assert await api.data("{ customers { totalCount } }") == {"customers": {"totalCount": 0}}


@pytest.fixture
async def production(database: Settings) -> AsyncIterator[Api]:
    app = create_app(dataclasses.replace(database, env="production"), manage_database=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        yield await new_location(client, "Production Bistro")
    await app.state.dispatcher.close()


async def test_input_errors_in_production_keep_their_code_and_path(production: Api) -> None:
    variables = await production.raw(SET_CREDITS, credit_input({}, "ADD", "1E2"))
    literal = await production.raw(_credits('{target: {}, operation: ADD, amount: "NaN"}'))

    assert _errors(variables) + _errors(literal) == [
        (f"Variable '$input' has invalid value at .amount: {SYNTAX}", _invalid("input.amount")),
        ('"NaN" is not a number.', _invalid("input.amount")),
    ]
