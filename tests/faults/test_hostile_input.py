"""Hostile input, generated from the schema the gateway serves.

For every query and mutation, hypothesis builds the arguments from their types (scalars, enums,
input objects, lists, non-null): mostly of the right shape with hostile content, sometimes of
the wrong type or null where a value is required. The content covers huge strings, control
characters, NUL, unpaired surrogates, right-to-left marks and emoji, amounts at and past the
64-bit limit, 10,000-item lists and another location's ids and card codes. Each request goes
through the real ASGI app with location A's ADMIN or POS key, its arguments as variables or as
literals in the document.

Every answer must be clean: a status below 500, a JSON body, a code on every error a resolver
raised, no traceback or SQL in any message, nothing logged as an error, and nothing of location
B's in the data. Nothing A sends changes B; a query changes nothing; a refused mutation (a
GraphQL error, or errors in its payload) changes nothing.

The generated sweep runs on SQLite; the big inputs (10,000-line bills, amounts at the 64-bit
limit) run on both databases.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    get_named_type,
    is_leaf_type,
    is_non_null_type,
)
from graphql.pyutils import Undefined
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tortoise import connections

from domain.access import Role
from gateway.schema.root import build_schema
from models.tables.crm import MAX_CREDIT_BALANCE
from models.tables.integrations import SyncRun
from tasks.inprocess import InProcessDispatcher
from tests.builders import FAR_FUTURE, bulk_customers, give_credits, monthly_schedule
from tests.english import checked
from tests.helpers import Api, create_customer, create_group

SCHEMA = build_schema(production=False)._schema

SWEEP = settings(
    max_examples=25,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
# The generated sweep runs on SQLite; the big inputs below run on both databases.
ON_SQLITE = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


# --- the operations ------------------------------------------------------------------------------


def _selection(type_: GraphQLOutputType, levels: int) -> str:
    """Every field of `type_` that needs no argument, objects down to `levels` levels."""
    named = get_named_type(type_)
    if not isinstance(named, GraphQLObjectType):
        return ""
    parts: list[str] = []
    for name, definition in named.fields.items():
        if any(
            _required(argument.type, argument.default_value)
            for argument in definition.args.values()
        ):
            continue
        if is_leaf_type(get_named_type(definition.type)):
            parts.append(name)
        elif levels > 1 and (inner := _selection(definition.type, levels - 1)):
            parts.append(f"{name} {inner}")
    return "{ " + " ".join(parts) + " }" if parts else ""


def _required(type_: GraphQLInputType, default: Any) -> bool:
    return is_non_null_type(type_) and default is Undefined


@dataclass(frozen=True)
class Operation:
    kind: str
    name: str
    definition: GraphQLField = field(compare=False)
    selection: str

    def __str__(self) -> str:
        return self.name


def _operations() -> list[Operation]:
    found: list[Operation] = []
    for kind, root in (("query", SCHEMA.query_type), ("mutation", SCHEMA.mutation_type)):
        assert root is not None
        for name, definition in root.fields.items():
            found.append(Operation(kind, name, definition, _selection(definition.type, 3)))
    return found


OPERATIONS = _operations()


# --- location A, location B ----------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    """Location A's ADMIN and POS keys and the ids of its objects (its keys left out: a request
    revoking the key it runs with would end the run); location B's ids, and the text that marks
    its data as B's."""

    admin: Api
    till: Api
    own_customer: str
    own_ids: tuple[str, ...]
    foreign_ids: tuple[str, ...]
    foreign_location: str
    foreign_text: tuple[str, ...]

    @property
    def locations(self) -> tuple[str, str]:
        return self.admin.location_id, self.foreign_location


FOREIGN_NAME = "Zenobia-of-B"
FOREIGN_CARD = "B-CARD-7731"
FOREIGN_EMAIL = "zenobia.b@example.com"

COMMIT = """
mutation($input: CheckoutInput!, $key: String!) {
  commitCheckout(input: $input, idempotencyKey: $key) { checkout { id } errors { code } }
}"""
VIEWER_KEY = "query { viewer { apiKey { id } } }"
LINE = {"productId": "tea", "quantity": "1", "unitPrice": "10.00"}


async def _populate(api: Api, name: str, card: str, email: str) -> tuple[list[str], str]:
    """A group, a carded customer in it with credits, a schedule and a sale: their ids, and the
    group's reference."""
    group = await create_group(api, f"{name} group", cashbackPercent="2.50")
    customer = await create_customer(
        api,
        firstName=name,
        email=email,
        cards=[{"code": card, "number": "7731"}],
        groupIds=[group["id"]],
    )
    operation = await give_credits(api, [customer["id"]], "25.00")
    schedule = await monthly_schedule(api, [group["id"]], "10.00")
    till = await api.key_with_role(Role.POS, f"{name} till")
    sale = await till.mutate(
        COMMIT,
        {
            "input": {"customerId": customer["id"], "lines": [LINE], "useCredits": False},
            "key": name,
        },
    )
    assert sale["errors"] == [], sale
    ids = [group["id"], customer["id"], operation["id"], schedule["id"], sale["checkout"]["id"]]
    return ids, group["reference"]


@pytest.fixture
async def world(api: Api, other: Api) -> World:
    own, _ = await _populate(api, "Anna", "A-CARD-0001", "anna@example.com")
    foreign, reference = await _populate(other, FOREIGN_NAME, FOREIGN_CARD, FOREIGN_EMAIL)
    foreign_key = (await other.data(VIEWER_KEY))["viewer"]["apiKey"]["id"]
    foreign_run = await SyncRun.create(
        location_id=UUID(other.location_id), channel="GOPOS", status="SUCCEEDED"
    )
    return World(
        admin=api,
        till=await api.key_with_role(Role.POS, "till A"),
        own_customer=own[1],
        own_ids=tuple(own),
        foreign_ids=(*foreign, foreign_key, str(foreign_run.id)),
        foreign_location=other.location_id,
        foreign_text=(FOREIGN_NAME, FOREIGN_CARD, FOREIGN_EMAIL, reference),
    )


# --- values --------------------------------------------------------------------------------------

HUGE = "x" * 100_000
HOSTILE_TEXT = (
    "",
    " ",
    "\t\n\r",
    HUGE,
    "🍕" * 25_000,
    "\x00",
    "card\x00code",
    "\x1b[31mred",
    "\x7f\x08\x07",
    "\u202eevil",
    "\u200f\u200e",
    "\u200b\ufeff",
    "\ud800",
    "lone\udfffsurrogate",
    "\U0010ffff",
    "👩‍👩‍👧‍👦🏳️‍🌈",
    "'; DROP TABLE customers; --",
    "' OR '1'='1",
    "%s%n%x%d",
    "{{7*7}}${7*7}",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "=cmd|' /C calc'!A0",
    "null",
    "NaN",
    "Ａｎｎａ ＶＩＰ",
    "ß" * 65,
    "a" * 101,
    "a" * 2_001,
)
PLAIN_TEXT = ("Anna", "VIP", "Stały klient", "A-CARD-0001", "anna@example.com", "+48 600 100 200")
# Decimals of the right syntax that are out of any range, then ones of the wrong syntax.
MONEY = (
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "92233720368547758.07",
    "92233720368547758.08",
    "-0",
    "-0.00",
    "1" + "0" * 30,
    "9" * 40,
    "0." + "0" * 37 + "1",
    "10000000.00",
    "10000000.01",
    "0.001",
    "-12.50",
)
NOT_MONEY = (
    "1e400",
    "1E2",
    "NaN",
    "Infinity",
    "-Infinity",
    "9" * 41,
    "+5",
    " 5",
    "1_000",
    "１２",
    "",
)
PLAIN_MONEY = ("0", "0.01", "1", "10.00", "12.50", "100")
INTS = (0, -1, 201, 2**31 - 1, 2**31, -(2**31) - 1, 2**63 - 1, 2**63, 10**30)
DATES = (
    FAR_FUTURE,
    "2000-02-29",
    "0001-01-01",
    "9999-12-31",
    "2026-02-30",
    "2026-13-01",
    "10000-01-01",
    "-2026-01-01",
    "20261201",
    "2026-12-01T00:00:00",
    "yesterday",
)
DATETIMES = (
    "2026-12-01T10:00:00+01:00",
    "2026-12-01T10:00:00",
    "9999-12-31T23:59:59.999999-23:59",
    "0001-01-01T00:00:00+23:59",
    "2026-12-01",
    "2026-12-01T25:00:00Z",
)
MALFORMED_IDS = (
    "",
    "abc",
    "-1",
    "00000000-0000-0000-0000-000000000000",
    "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
    "{12345678-1234-5678-1234-567812345678}",
    "urn:uuid:12345678-1234-5678-1234-567812345678",
    "12345678123456781234567812345678",
    "1" * 10_000,
)
WRONG_ENUMS = ("", "pos", "ADMIN ", "SUPERUSER", "null", "0")
# Values of the wrong type, whatever the type: null where a value is required among them.
WRONG_TYPES: tuple[Any, ...] = (
    None,
    True,
    0,
    -1,
    2**64,
    1.5,
    float("nan"),
    float("inf"),
    "",
    "text",
    [],
    [None],
    {},
    {"unknownField": 1},
)


class _Omitted:
    def __repr__(self) -> str:
        return "OMITTED"


OMITTED: Any = _Omitted()


@dataclass(frozen=True)
class Pools:
    """What each scalar is drawn from, and whether values of the wrong type (null where one is
    required, unknown fields and enum values, missing arguments) are mixed in."""

    scalars: Mapping[str, st.SearchStrategy[Any]]
    wrong_types: bool
    long_lists: bool


def hostile_pools(world: World, *, wrong_types: bool) -> Pools:
    """Content that is hostile half of the time; with `wrong_types`, shapes that are too."""
    ids = st.sampled_from(world.own_ids + world.foreign_ids + MALFORMED_IDS) | st.uuids().map(str)
    text = st.one_of(
        st.sampled_from(HOSTILE_TEXT),
        st.sampled_from(PLAIN_TEXT + world.foreign_text),
        st.text(max_size=20),
    )
    money = st.sampled_from(MONEY) | st.sampled_from(NOT_MONEY)
    return Pools(
        scalars={
            "String": text,
            "ID": ids,
            "Int": st.integers(-10, 300) | st.sampled_from(INTS),
            "Boolean": st.booleans(),
            "Decimal": st.sampled_from(PLAIN_MONEY) | money,
            "Date": st.dates().map(lambda day: day.isoformat()) | st.sampled_from(DATES),
            "DateTime": st.sampled_from(DATETIMES),
        },
        wrong_types=wrong_types,
        long_lists=True,
    )


def foreign_pools(world: World) -> Pools:
    """Well-formed values whose every id and card code is location B's."""
    return Pools(
        scalars={
            "String": st.sampled_from((FOREIGN_CARD, FOREIGN_NAME, "tea")),
            "ID": st.sampled_from(world.foreign_ids),
            "Int": st.integers(1, 20),
            "Boolean": st.booleans(),
            "Decimal": st.sampled_from(PLAIN_MONEY[1:]),
            "Date": st.just(FAR_FUTURE),
            "DateTime": st.just("2026-12-01T10:00:00+00:00"),
        },
        wrong_types=False,
        long_lists=False,
    )


def _mostly(usual: st.SearchStrategy[Any], rare: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`rare` one time in ten."""
    return st.integers(0, 9).flatmap(lambda n: rare if n == 0 else usual)


def _repeated(value: Any) -> list[Any]:
    """A list of 10,000 copies of a small value (two of a large one: the body stays sendable)."""
    return [value] * (10_000 if len(json.dumps(value)) <= 100 else 2)


def value_of(type_: GraphQLInputType, pools: Pools) -> st.SearchStrategy[Any]:
    shaped = _shaped(type_, pools)
    return _mostly(shaped, st.sampled_from(WRONG_TYPES)) if pools.wrong_types else shaped


def _shaped(type_: GraphQLInputType, pools: Pools) -> st.SearchStrategy[Any]:
    if isinstance(type_, GraphQLNonNull):
        return _value(type_.of_type, pools)
    return _mostly(_value(type_, pools), st.none())


def _value(type_: GraphQLInputType, pools: Pools) -> st.SearchStrategy[Any]:
    if isinstance(type_, GraphQLList):
        item = value_of(type_.of_type, pools)
        if not pools.long_lists:
            return st.lists(item, min_size=1, max_size=2)
        # A single item stands for a list of one (GraphQL's input coercion).
        return _mostly(st.lists(item, max_size=3) | item, item.map(_repeated))
    if isinstance(type_, GraphQLInputObjectType):
        required = {}
        optional = {}
        for name, definition in type_.fields.items():
            strategy = value_of(definition.type, pools)
            if _required(definition.type, definition.default_value):
                required[name] = strategy
            else:
                optional[name] = strategy
        fields = st.fixed_dictionaries(required, optional=optional)
        if not pools.wrong_types:
            return fields
        return _mostly(fields, fields.map(lambda value: {**value, "unknownField": "x"}))
    if isinstance(type_, GraphQLEnumType):
        names = st.sampled_from(sorted(type_.values))
        return _mostly(names, st.sampled_from(WRONG_ENUMS)) if pools.wrong_types else names
    assert isinstance(type_, GraphQLScalarType), type_
    return pools.scalars[type_.name]


def _argument(type_: GraphQLInputType, default: Any, pools: Pools) -> st.SearchStrategy[Any]:
    value = value_of(type_, pools)
    if not _required(type_, default):
        return st.one_of(st.just(OMITTED), value)
    return _mostly(value, st.just(OMITTED)) if pools.wrong_types else value


# --- documents -----------------------------------------------------------------------------------

NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")


def literal(value: Any, type_: GraphQLInputType | None) -> str:
    """`value` written as a GraphQL literal, whether or not it fits `type_`."""
    named = get_named_type(type_) if type_ is not None else None
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)  # nan and inf are no literal: the document does not parse
    if isinstance(value, str):
        if isinstance(named, GraphQLEnumType) and NAME.fullmatch(value):
            return value
        return json.dumps(value)
    if isinstance(value, list):
        item = _item_type(type_)
        return "[" + ", ".join(literal(one, item) for one in value) + "]"
    assert isinstance(value, dict), value
    fields = named.fields if isinstance(named, GraphQLInputObjectType) else {}
    return (
        "{"
        + ", ".join(
            f"{name}: {literal(one, fields[name].type if name in fields else None)}"
            for name, one in value.items()
        )
        + "}"
    )


def _item_type(type_: GraphQLInputType | None) -> GraphQLInputType | None:
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return type_.of_type if isinstance(type_, GraphQLList) else type_


@dataclass(frozen=True)
class Request:
    admin: bool
    document: str
    variables: dict[str, Any]

    def body(self) -> bytes:
        # NaN and Infinity go out as the bare words Python's json writes; the server must cope.
        return json.dumps({"query": self.document, "variables": self.variables}).encode()


def request_for(
    draw: Callable[..., Any], operation: Operation, pools: Pools, *, roles: bool = True
) -> Request:
    values: dict[str, Any] = {}
    for name, argument in operation.definition.args.items():
        value = draw(_argument(argument.type, argument.default_value, pools), label=name)
        if value is not OMITTED:
            values[name] = value
    args = operation.definition.args
    as_literals = draw(st.booleans(), label="as literals")
    if as_literals:
        passed = ", ".join(f"{n}: {literal(v, args[n].type)}" for n, v in values.items())
        header, variables = operation.kind, {}
    else:
        passed = ", ".join(f"{n}: ${n}" for n in values)
        declared = ", ".join(f"${n}: {args[n].type}" for n in values)
        header = f"{operation.kind} Hostile({declared})" if declared else operation.kind
        variables = values
    call = f"{operation.name}({passed})" if passed else operation.name
    admin = draw(_mostly(st.just(True), st.just(False)), label="admin key") if roles else True
    return Request(admin, f"{header} {{ {call} {operation.selection} }}", variables)


# --- what an answer must be ----------------------------------------------------------------------

# Would show code, SQL or a driver behind an answer; a marker counts only if the request did not
# carry it itself (an error may quote the input).
LEAK_MARKERS = (
    "Traceback",
    'File "',
    "sqlite",
    "asyncpg",
    "tortoise",
    "SQLSTATE",
    "violates",
    "IntegrityError",
    "OperationalError",
    "codec can't",
    "SELECT ",
    "INSERT INTO",
    "UPDATE ",
    "DELETE FROM",
    " WHERE ",
    "object has no attribute",
    "NoneType",
)
CODE = re.compile(r"[A-Z][A-Z_]+")


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    errors: list[dict[str, Any]]
    payload_errors: list[dict[str, Any]]

    @property
    def refused(self) -> bool:
        return bool(self.errors or self.payload_errors)


def clean_answer(response: httpx.Response, sent: str) -> Answer:
    """The answer, asserted clean: no 5xx, JSON, a code on every resolver's error, no leaks."""
    assert response.status_code < 500, response.text[:2_000]
    body = response.json()
    assert isinstance(body, dict), body
    errors: list[dict[str, Any]] = body.get("errors", [])
    assert isinstance(errors, list)
    if response.status_code != 200:
        assert errors, body
    for error in errors:
        _assert_no_leak(error["message"], sent)
        code = error.get("extensions", {}).get("code")
        if "path" in error or response.status_code != 200:
            assert isinstance(code, str), error
            assert CODE.fullmatch(code), error
    payload_errors: list[dict[str, Any]] = []
    for payload in (body.get("data") or {}).values():
        if isinstance(payload, dict) and isinstance(payload.get("errors"), list):
            payload_errors += payload["errors"]
    for error in payload_errors:
        assert CODE.fullmatch(error["code"]), error
        _assert_no_leak(error["message"], sent)
    return Answer(response.status_code, body, errors, payload_errors)


def _assert_no_leak(message: str, sent: str) -> None:
    assert isinstance(message, str), message
    assert message, message
    shown = [marker for marker in LEAK_MARKERS if marker in message and marker not in sent]
    assert not shown, message[:2_000]


def assert_nothing_of_b(answer: Answer, world: World, sent: str) -> None:
    """B's ids, names and card codes never appear in A's data unless A sent them itself."""
    data = json.dumps(answer.body.get("data"), ensure_ascii=False)
    seen = [
        mark
        for mark in (*world.foreign_ids, world.foreign_location, *world.foreign_text)
        if mark in data
    ]
    assert all(mark in sent for mark in seen), (seen, data[:2_000])


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{record.name}: {record.getMessage()}")


@contextmanager
def errors_logged() -> Iterator[list[str]]:
    """What is logged at ERROR or above while the block runs: unexpected failures."""
    handler = _Errors()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler.records
    finally:
        root.removeHandler(handler)


# --- what the database holds ---------------------------------------------------------------------

# Tables whose rows are compared per location; every table's row count is compared as well.
COMPARED_ROWS = (
    "customers",
    "customer_cards",
    "customer_groups",
    "credit_schedules",
    "api_keys",
    "integrations",
    "wallet_operations",
)
INTERNAL_TABLES = {"sqlite_sequence", "tortoise_migrations"}
# Memberships, under the location of the customer and under the location of the group.
MEMBERSHIPS = (
    "SELECT m.customer_id, m.group_id, o.location_id FROM group_memberships m"
    " JOIN {owner} o ON o.id = m.{key} WHERE o.location_id IN ({within}) ORDER BY m.id"
)


@dataclass(frozen=True)
class Snapshot:
    counts: Mapping[str, int]
    balances: int
    rows: Mapping[tuple[str, str], str]

    def of(self, location: str) -> dict[str, str]:
        return {table: digest for (where, table), digest in self.rows.items() if where == location}


async def _tables() -> list[str]:
    db = connections.get("default")
    if db.capabilities.dialect == "sqlite":
        _, rows = await db.execute_query("SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        _, rows = await db.execute_query(
            "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'"
        )
    return sorted(row["name"] for row in rows if row["name"] not in INTERNAL_TABLES)


async def snapshot(locations: tuple[str, ...]) -> Snapshot:
    """The rows in every table; for the locations, the sum of their balances and a digest of
    their customers, cards, groups, memberships, schedules, keys, integrations and operations."""
    db = connections.get("default")
    tables = await _tables()
    within = ", ".join(f"'{location}'" for location in locations)
    counts = ", ".join(f'(SELECT count(*) FROM "{table}") AS "{table}"' for table in tables)
    balances = (
        f"SELECT coalesce(sum(credit_balance), 0) FROM customers WHERE location_id IN ({within})"
    )
    _, (totals,) = await db.execute_query(f"SELECT {counts}, ({balances}) AS balances")
    queries = [
        (table, f'SELECT * FROM "{table}" WHERE location_id IN ({within}) ORDER BY id')
        for table in COMPARED_ROWS
    ]
    for owner, key in (("customers", "customer_id"), ("customer_groups", "group_id")):
        queries.append(
            (f"members of {owner}", MEMBERSHIPS.format(owner=owner, key=key, within=within))
        )
    grouped: dict[tuple[str, str], list[str]] = {
        (location, table): [] for location in locations for table, _ in queries
    }
    for table, sql in queries:
        _, rows = await db.execute_query(sql)
        for row in rows:
            grouped[(str(row["location_id"]), table)].append(repr(sorted(dict(row).items())))
    return Snapshot(
        counts={table: int(totals[table]) for table in tables},
        balances=int(totals["balances"]),
        rows={
            where: hashlib.sha256("\n".join(rows).encode("utf-8", "replace")).hexdigest()
            for where, rows in grouped.items()
        },
    )


# --- one exchange --------------------------------------------------------------------------------


async def exchange(
    world: World, dispatcher: InProcessDispatcher, kind: str, request: Request
) -> Answer:
    """Sends the request and checks what must hold whatever it was: a clean answer, nothing of
    B's shown or changed, and nothing changed by a query or by a refused mutation."""
    api = world.admin if request.admin else world.till
    body = request.body()
    sent = body.decode()
    await dispatcher.drain()
    before = await snapshot(world.locations)
    with errors_logged() as logged:
        response = await api.http.post(
            "/graphql", content=body, headers={**api.headers, "Content-Type": "application/json"}
        )
        await dispatcher.drain()
    answer = clean_answer(response, sent)
    assert logged == [], logged
    assert_nothing_of_b(answer, world, sent)
    after = await snapshot(world.locations)
    assert after.of(world.foreign_location) == before.of(world.foreign_location)
    if kind == "query" or answer.refused:
        assert after == before, answer.body
    return answer


def refused_before_running(answer: Answer, message: str) -> None:
    """The request was refused as a whole, an error saying `message`."""
    assert "data" not in answer.body, answer.body
    assert any(message in error["message"] for error in answer.errors), answer.errors


# --- the sweep over every operation --------------------------------------------------------------


@ON_SQLITE
@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
@SWEEP
@given(data=st.data())
async def test_every_operation_answers_hostile_input_cleanly(
    world: World, dispatcher: InProcessDispatcher, operation: Operation, data: st.DataObject
) -> None:
    wrong_types = data.draw(st.booleans(), label="wrong types")
    request = request_for(data.draw, operation, hostile_pools(world, wrong_types=wrong_types))
    await exchange(world, dispatcher, operation.kind, request)


def _names_ids(type_: GraphQLInputType, seen: frozenset[str] = frozenset()) -> bool:
    named = get_named_type(type_)
    if isinstance(named, GraphQLInputObjectType) and named.name not in seen:
        return any(
            _names_ids(definition.type, seen | {named.name}) for definition in named.fields.values()
        )
    return named is GraphQLID


TAKING_IDS = [
    operation
    for operation in OPERATIONS
    if any(_names_ids(argument.type) for argument in operation.definition.args.values())
]


@ON_SQLITE
@pytest.mark.parametrize("operation", TAKING_IDS, ids=str)
@SWEEP
@given(data=st.data())
async def test_another_locations_ids_reach_nothing(
    world: World, dispatcher: InProcessDispatcher, operation: Operation, data: st.DataObject
) -> None:
    """Well-formed requests naming only B's ids and card codes, with A's ADMIN key."""
    request = request_for(data.draw, operation, foreign_pools(world), roles=False)
    answer = await exchange(world, dispatcher, operation.kind, request)
    data_text = json.dumps(answer.body.get("data"))
    assert not [mark for mark in world.foreign_ids if mark in data_text], answer.body


# --- deep, wide and aliased documents ------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    kind: str
    document: str
    refusal: str | None  # what the refusal says; None when the document may be answered


TOKENS_REFUSAL = "Document contains more than 5000 tokens"
MAX_TOKENS = 5_000


def _object_fields(type_: GraphQLObjectType) -> list[tuple[str, GraphQLObjectType]]:
    found = []
    for name, definition in type_.fields.items():
        inner = get_named_type(definition.type)
        needs = any(_required(a.type, a.default_value) for a in definition.args.values())
        if isinstance(inner, GraphQLObjectType) and not needs:
            found.append((name, inner))
    return found


@st.composite
def deep(draw: st.DrawFn) -> Shape:
    """A chain of real fields as deep as the schema goes, then unknown ones, 12 to 50 levels."""
    depth = draw(st.integers(12, 50))
    names: list[str] = []
    parent = SCHEMA.query_type
    assert parent is not None
    while len(names) < depth and (children := _object_fields(parent)):
        name, parent = draw(st.sampled_from(children))
        names.append(name)
    names += ["deeper"] * (depth - len(names))
    document = "query Deep { " + " { ".join(names) + " { __typename" + " }" * depth + " }"
    return Shape("query", document, "'Deep' exceeds maximum operation depth of 10")


@st.composite
def wide(draw: st.DrawFn) -> Shape:
    """1,000 to 5,000 fields of one object."""
    width = draw(st.integers(1_000, 5_000))
    rnd = draw(st.randoms(use_true_random=False))
    names = [rnd.choice(("id", "name", "role", "createdAt", "revokedAt")) for _ in range(width)]
    document = "query Wide { viewer { apiKey { " + " ".join(names) + " } } }"
    return Shape("query", document, TOKENS_REFUSAL if width + 11 > MAX_TOKENS else None)


@st.composite
def aliased(draw: st.DrawFn) -> Shape:
    """31 to 1,000 aliases of one field."""
    count = draw(st.integers(31, 1_000))
    aliases = " ".join(f"a{n}: id" for n in range(count))
    document = "query Aliased { viewer { apiKey { " + aliases + " } } }"
    return Shape("query", document, f"{count} aliases found. Allowed: 30")


EXPENSIVE = (
    "customers(first: 200) { edges { node { id"
    " wallet { entries(first: 200) { edges { node { id delta { amount } } } } } } } }"
)


@st.composite
def costly(draw: st.DrawFn) -> Shape:
    """1 to 30 aliases of a page of 200 customers with 200 entries each."""
    count = draw(st.integers(1, 30))
    aliases = " ".join(f"a{n}: {EXPENSIVE}" for n in range(count))
    return Shape("query", "query Costly { " + aliases + " }", "over the limit of 20,000")


@st.composite
def aliased_mutations(draw: st.DrawFn) -> Shape:
    """31 to 400 aliases of a mutation: each would create a group."""
    count = draw(st.integers(31, 400))
    aliases = " ".join(
        f'g{n}: createCustomerGroup(input: {{name: "Many {n}"}}) {{ errors {{ code }} }}'
        for n in range(count)
    )
    # 18 tokens an alias (`g0 : createCustomerGroup ( input : { name : "…" } ) { errors
    # { code } }`), and 4 for `mutation Many { }`.
    tokens = 18 * count + 4
    refusal = TOKENS_REFUSAL if tokens > MAX_TOKENS else f"{count} aliases found. Allowed: 30"
    return Shape("mutation", "mutation Many { " + aliases + " }", refusal)


@st.composite
def fragment_cycles(draw: st.DrawFn) -> Shape:
    """1 to 50 fragments spreading each other in a circle."""
    count = draw(st.integers(1, 50))
    fragments = " ".join(
        f"fragment F{n} on Query {{ viewer {{ __typename }} ...F{(n + 1) % count} }}"
        for n in range(count)
    )
    return Shape("query", "query Cycle { ...F0 } " + fragments, "Cannot spread fragment")


@st.composite
def fragment_chains(draw: st.DrawFn) -> Shape:
    """1 to 600 fragments, each spreading the next."""
    count = draw(st.integers(1, 600))
    fragments = " ".join(f"fragment F{n} on Query {{ ...F{n + 1} }}" for n in range(count))
    last = f"fragment F{count} on Query {{ viewer {{ __typename }} }}"
    document = f"query Chain {{ ...F0 }} {fragments} {last}"
    return Shape("query", document, None)


@st.composite
def fragment_fanout(draw: st.DrawFn) -> Shape:
    """Each fragment spreads the one below twice: 2**levels fields once expanded."""
    levels = draw(st.integers(10, 60))
    fragments = ["fragment L0 on ApiKey { id name }"] + [
        f"fragment L{n} on ApiKey {{ ...L{n - 1} ...L{n - 1} }}" for n in range(1, levels + 1)
    ]
    document = f"query Fanout {{ viewer {{ apiKey {{ ...L{levels} }} }} }} " + " ".join(fragments)
    return Shape("query", document, "over the limit of 20,000" if levels > 13 else None)


@st.composite
def introspection(draw: st.DrawFn) -> Shape:
    """Type references 11 to 50 deep (answered), or lists of fields 3 to 20 deep (refused)."""
    if draw(st.booleans()):
        depth = draw(st.integers(11, 50))
        chain = "ofType { " * depth + "name" + " }" * depth
        return Shape("query", "query Types { __schema { types { " + chain + " } } }", None)
    depth = draw(st.integers(3, 20))
    level = "fields { type { ofType { "
    chain = level * depth + "name" + " } } }" * depth
    return Shape(
        "query",
        "query Fields { __schema { types { " + chain + " } } }",
        "Maximum introspection depth exceeded",
    )


@ON_SQLITE
@settings(SWEEP, max_examples=100)
@given(
    shape=st.one_of(
        deep(),
        wide(),
        aliased(),
        costly(),
        aliased_mutations(),
        fragment_cycles(),
        fragment_chains(),
        fragment_fanout(),
        introspection(),
    )
)
async def test_deep_wide_and_aliased_documents_are_answered_cleanly(
    world: World, dispatcher: InProcessDispatcher, shape: Shape
) -> None:
    answer = await exchange(world, dispatcher, shape.kind, Request(True, shape.document, {}))
    if shape.refusal is not None:
        refused_before_running(answer, shape.refusal)


# --- big inputs, on both databases ---------------------------------------------------------------


def _without_locations(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The errors without their locations, and without their extensions' `messageId` and
    `params` once each English message is checked to be what the catalog makes of them."""
    return [
        {
            key: checked(error) if key == "extensions" else value
            for key, value in error.items()
            if key != "locations"
        }
        for error in errors
    ]


QUOTE_TOTAL = """
query($input: CheckoutInput!) { checkoutQuote(input: $input) { total { amount } } }"""
COMMIT_BILL = """
mutation($input: CheckoutInput!) {
  commitCheckout(input: $input, idempotencyKey: "big-bill") {
    checkout { id } errors { code field message }
  }
}"""
TOO_MANY_LINES = "A bill has at most 250 lines."


def _lines(count: int) -> list[dict[str, str]]:
    return [{"productId": f"p{n}", "quantity": "1", "unitPrice": "1.00"} for n in range(count)]


async def test_a_ten_thousand_line_bill_is_refused_and_changes_nothing(
    world: World, dispatcher: InProcessDispatcher
) -> None:
    bill = {"customerId": world.own_customer, "useCredits": False}
    refused = [
        {
            "message": TOO_MANY_LINES,
            "path": ["checkoutQuote"],
            "extensions": {"code": "INVALID", "field": "input.lines"},
        }
    ]

    for count in (251, 10_000):
        variables = {"input": {**bill, "lines": _lines(count)}}
        quote = await exchange(world, dispatcher, "query", Request(False, QUOTE_TOTAL, variables))
        commit = await exchange(
            world, dispatcher, "mutation", Request(False, COMMIT_BILL, variables)
        )

        assert quote.body["data"] is None
        assert _without_locations(quote.errors) == refused
        assert commit.body == {
            "data": {
                "commitCheckout": {
                    "checkout": None,
                    "errors": [
                        {"code": "INVALID", "field": "input.lines", "message": TOO_MANY_LINES}
                    ],
                }
            }
        }
    most = await exchange(
        world,
        dispatcher,
        "query",
        Request(False, QUOTE_TOTAL, {"input": {**bill, "lines": _lines(250)}}),
    )
    assert most.body == {"data": {"checkoutQuote": {"total": {"amount": "250.00"}}}}


async def test_a_ten_thousand_line_bill_written_in_the_document_is_refused(
    world: World, dispatcher: InProcessDispatcher
) -> None:
    lines = literal(_lines(10_000), None)
    document = f"query {{ checkoutQuote(input: {{lines: {lines}}}) {{ total {{ amount }} }} }}"

    answer = await exchange(world, dispatcher, "query", Request(False, document, {}))

    refused_before_running(answer, "Syntax Error: Document contains more than 5000 tokens.")


@dataclass(frozen=True)
class Spot:
    """Where a Decimal goes (as `$amount`), and what each kind of out-of-range value gets."""

    name: str
    kind: str
    admin: bool
    document: str
    field: str
    too_large: str
    negative: str
    zero: tuple[str, str] | None  # (code, message), or None: zero is accepted

    def variables(self, world: World, amount: Any) -> dict[str, Any]:
        found = {"amount": amount}
        if "$customer" in self.document:
            found["customer"] = world.own_customer
        return found


PAYLOAD = "errors { code field message }"
SPOTS = (
    Spot(
        "credits",
        "mutation",
        True,
        "mutation($amount: Decimal!, $customer: ID!) { setPromotionalCredits(input: {target:"
        " {customerIds: [$customer]}, operation: ADD, amount: $amount})"
        f" {{ operation {{ id }} {PAYLOAD} }} }}",
        "input.amount",
        "Amount must be at most 10000000.00.",
        "Amount must not be negative.",
        ("INVALID", "Amount must be greater than 0."),
    ),
    Spot(
        "unit price",
        "query",
        False,
        'query($amount: Decimal!) { checkoutQuote(input: {lines: [{productId: "tea",'
        ' quantity: "1", unitPrice: $amount}]}) { total { amount } } }',
        "input.lines.0.unitPrice",
        "Unit price must be at most 10000000.00.",
        "Unit price must not be negative.",
        None,
    ),
    Spot(
        "quantity",
        "query",
        False,
        'query($amount: Decimal!) { checkoutQuote(input: {lines: [{productId: "tea",'
        ' quantity: $amount, unitPrice: "10.00"}]}) { total { amount } } }',
        "input.lines.0.quantity",
        "Quantity must be at most 100000.",
        "Quantity must be greater than 0.",
        ("INVALID", "Quantity must be greater than 0."),
    ),
    Spot(
        "credits to use",
        "query",
        False,
        "query($amount: Decimal!, $customer: ID!) { checkoutQuote(input: {customerId: $customer,"
        ' lines: [{productId: "tea", quantity: "1", unitPrice: "10.00"}], maxCredits: $amount})'
        " { total { amount } } }",
        "input.maxCredits",
        "Credits to use must be at most 10000000.00.",
        "Credits to use must not be negative.",
        None,
    ),
    Spot(
        "expected total",
        "mutation",
        False,
        'mutation($amount: Decimal!) { commitCheckout(input: {cardCode: "A-CARD-0001",'
        ' useCredits: false, lines: [{productId: "tea", quantity: "1", unitPrice: "10.00"}]},'
        ' idempotencyKey: "limit", expectedTotal: $amount)'
        f" {{ checkout {{ id }} {PAYLOAD} }} }}",
        "expectedTotal",
        "Expected total is too large.",
        "Expected total must not be negative.",
        ("QUOTE_CHANGED", "The total is now 10.00, not 0.00: check the new quote."),
    ),
    Spot(
        "cashback",
        "mutation",
        True,
        'mutation($amount: Decimal!) { createCustomerGroup(input: {name: "Limit",'
        f" cashbackPercent: $amount}}) {{ group {{ id }} {PAYLOAD} }} }}",
        "input.cashbackPercent",
        "Cashback must be more than 0 and at most 100 percent.",
        "Cashback must be more than 0 and at most 100 percent.",
        ("INVALID", "Cashback must be more than 0 and at most 100 percent."),
    ),
)
TOO_LARGE = ("9223372036854775807", "9223372036854775808", "1" + "0" * 30)
NEGATIVE = ("-9223372036854775808", "-9223372036854775809")
ZERO = "-0"
NOT_DECIMALS: tuple[tuple[Any, str], ...] = (
    (
        "1e400",
        'A Decimal is digits with an optional leading "-" and decimal point, such as "12.50".',
    ),
    ("NaN", '"NaN" is not a number.'),
    ("Infinity", '"Infinity" is not a number.'),
    (float("inf"), 'A Decimal is written as a string, such as "12.50".'),  # the JSON 1e400
    (2**63, 'A Decimal is written as a string, such as "12.50".'),
)


def _refusal(spot: Spot, code: str, message: str) -> tuple[str, list[dict[str, Any]]]:
    """Where the spot's refusal shows (payload or errors) and what it holds."""
    if spot.kind == "mutation":
        return "payload", [{"code": code, "field": spot.field, "message": message}]
    error = {
        "message": message,
        "path": ["checkoutQuote"],
        "extensions": {"code": code, "field": spot.field},
    }
    return "errors", [error]


@pytest.mark.parametrize("spot", SPOTS, ids=lambda spot: spot.name)
async def test_amounts_at_and_past_the_64_bit_limit_are_refused(
    world: World, dispatcher: InProcessDispatcher, spot: Spot
) -> None:
    expected = [
        *((value, "INVALID", spot.too_large) for value in TOO_LARGE),
        *((value, "INVALID", spot.negative) for value in NEGATIVE),
        *([(ZERO, *spot.zero)] if spot.zero else []),
    ]
    for value, code, message in expected:
        request = Request(spot.admin, spot.document, spot.variables(world, value))
        answer = await exchange(world, dispatcher, spot.kind, request)
        where, errors = _refusal(spot, code, message)
        if where == "payload":
            assert answer.payload_errors == errors, value
        else:
            assert answer.body["data"] is None, value
            assert _without_locations(answer.errors) == errors, value
    for value, message in NOT_DECIMALS:
        request = Request(spot.admin, spot.document, spot.variables(world, value))
        answer = await exchange(world, dispatcher, spot.kind, request)
        assert "data" not in answer.body, value
        assert _without_locations(answer.errors) == [
            {
                "message": f"Variable '$amount' has invalid value: {message}",
                "extensions": {"code": "INVALID", "field": "amount"},
            }
        ], value
    if spot.zero is None:
        request = Request(spot.admin, spot.document, spot.variables(world, ZERO))
        answer = await exchange(world, dispatcher, spot.kind, request)
        assert not answer.refused, answer.body


PREVIEW = """
query($input: SetPromotionalCreditsInput!) {
  previewPromotionalCredits(input: $input) {
    preview {
      customerCount changedCount balanceBefore { amount } balanceAfter { amount }
      overMaximumCount
    }
    errors { code field message }
  }
}"""


async def test_a_preview_of_wallets_summing_past_64_bits_is_exact(api: Api) -> None:
    """9,300 wallets holding the most a wallet may: their sum passes 2**63 - 1."""
    await bulk_customers(api.location_id, 9_300)
    target: dict[str, Any] = {"allCustomers": True}
    db = connections.get("default")
    where = f"WHERE location_id = '{api.location_id}'"
    await db.execute_query(f"UPDATE customers SET credit_balance = {MAX_CREDIT_BALANCE} {where}")
    try:
        add = await api.data(
            PREVIEW, {"input": {"target": target, "operation": "ADD", "amount": "1"}}
        )
        set_ = await api.data(
            PREVIEW, {"input": {"target": target, "operation": "SET", "amount": "1"}}
        )
    finally:  # later sums over the whole database must not pass 64 bits either
        await db.execute_query(f"UPDATE customers SET credit_balance = 0 {where}")

    assert 9_300 * MAX_CREDIT_BALANCE > 2**63 - 1
    assert add["previewPromotionalCredits"] == {
        "preview": {
            "customerCount": 9_300,
            "changedCount": 9_300,
            "balanceBefore": {"amount": "93000000000000000.00"},
            "balanceAfter": {"amount": "93000000000009300.00"},
            "overMaximumCount": 9_300,
        },
        "errors": [],
    }
    assert set_["previewPromotionalCredits"]["preview"] == {
        "customerCount": 9_300,
        "changedCount": 9_300,
        "balanceBefore": {"amount": "93000000000000000.00"},
        "balanceAfter": {"amount": "9300.00"},
        "overMaximumCount": 0,
    }


# --- the request's JSON --------------------------------------------------------------------------

SURROGATE = "holds an unpaired surrogate (\\uD800 to \\uDFFF), which is not text."
TOO_DEEP = "nests deeper than 64 levels."
VIEWER_ID = "{ viewer { apiKey { id } } }"


def _bad_request(message: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]}


async def _post_text(api: Api, body: str) -> httpx.Response:
    return await api.http.post(
        "/graphql",
        content=body.encode(),
        headers={**api.headers, "Content-Type": "application/json"},
    )


@ON_SQLITE
async def test_an_unpaired_surrogate_anywhere_in_a_request_is_refused(api: Api) -> None:
    """JSON may escape half a surrogate pair alone; such a string is no text to store or echo."""
    bodies = (
        '{"query": "query($q: String) { referenceFor(name: $q) }", "variables": {"q": "\\ud800"}}',
        '{"query": "{ referenceFor(name: \\"a\\udc00\\") }"}',
        '{"query": "{ viewer { apiKey { id } } }", "operationName": "\\udbff"}',
        '{"query": "{ viewer { apiKey { id } } }", "variables": {"\\ud800": 1}}',
    )
    for body in bodies:
        response = await _post_text(api, body)

        assert response.status_code == 400, body
        assert response.json() == _bad_request(f"The body {SURROGATE}"), body
    by_get = await api.http.get(
        "/graphql",
        params={"query": VIEWER_ID, "variables": '{"x": "\\ud800"}'},
        headers=api.headers,
    )
    assert by_get.status_code == 400
    assert by_get.json() == _bad_request(f"'variables' {SURROGATE}")


@ON_SQLITE
async def test_a_surrogate_pair_escaped_in_json_is_one_character(api: Api) -> None:
    body = (
        '{"query": "mutation($name: String) { createCustomerGroup(input: {name: $name})'
        ' { group { name } errors { code } } }", "variables": {"name": "Pizza \\ud83c\\udf55"}}'
    )

    response = await _post_text(api, body)

    assert response.json() == {
        "data": {"createCustomerGroup": {"group": {"name": "Pizza 🍕"}, "errors": []}}
    }


def _nested_list(depth: int) -> str:
    return "[" * depth + "]" * depth


@ON_SQLITE
async def test_json_nested_deeper_than_64_levels_is_refused(api: Api) -> None:
    """The body is level 1, `variables` level 2, and `x`'s lists the levels below."""
    deepest_allowed = await _post_text(
        api, f'{{"query": "{VIEWER_ID}", "variables": {{"x": {_nested_list(62)}}}}}'
    )
    assert deepest_allowed.status_code == 200
    assert "errors" not in deepest_allowed.json()
    for depth in (63, 1_000, 100_000):
        response = await _post_text(
            api, f'{{"query": "{VIEWER_ID}", "variables": {{"x": {_nested_list(depth)}}}}}'
        )

        assert response.status_code == 400, depth
        assert response.json() == _bad_request(f"The body {TOO_DEEP}"), depth
    by_get = await api.http.get(
        "/graphql",
        params={"query": VIEWER_ID, "variables": f'{{"x": {_nested_list(1_000)}}}'},
        headers=api.headers,
    )
    assert by_get.status_code == 400
    assert by_get.json() == _bad_request(f"'variables' {TOO_DEEP}")


# --- fragments -----------------------------------------------------------------------------------


def _doubling(levels: int, base: str) -> str:
    """Fragments L1..L<levels>, each spreading the one below twice, over L0 = `base`."""
    return " ".join(
        [f"fragment L0 on ApiKey {{ {base} }}"]
        + [f"fragment L{n} on ApiKey {{ ...L{n - 1} ...L{n - 1} }}" for n in range(1, levels + 1)]
    )


@ON_SQLITE
async def test_fragments_spreading_each_other_twice_are_measured_once_each(api: Api) -> None:
    """60 levels: 2**60 spreads once expanded, measured in a step per fragment."""

    def fanout(levels: int, base: str) -> str:
        return f"query {{ viewer {{ apiKey {{ ...L{levels} }} }} }} {_doubling(levels, base)}"

    aliased = await api.raw(fanout(60, "a: id name"))
    plain = await api.raw(fanout(60, "id name"))
    answered = await api.raw(fanout(8, "id role"))

    assert aliased == {"errors": [{"message": f"{2**60} aliases found. Allowed: 30"}]}
    assert [error["extensions"]["code"] for error in plain["errors"]] == ["QUERY_TOO_COSTLY"]
    assert "data" not in plain
    assert answered["data"]["viewer"]["apiKey"]["role"] == "ADMIN"


@ON_SQLITE
async def test_a_chain_of_fragments_is_answered_or_refused_cleanly(api: Api) -> None:
    def chain(count: int) -> str:
        links = " ".join(f"fragment F{n} on Query {{ ...F{n + 1} }}" for n in range(count))
        return f"query {{ ...F0 }} {links} fragment F{count} on Query {{ viewer {{ __typename }} }}"

    short = await api.raw(chain(100))
    long = await api.raw(chain(600))

    answered = {"data": {"viewer": {"__typename": "Viewer"}}}
    assert short == answered
    # graphql-core aborts validation cleanly when its walk of a long chain runs out of stack;
    # how long a chain that takes depends on how deep the request's own stack already is.
    assert long in (answered, {"errors": [{"message": "Validation aborted."}]})


@ON_SQLITE
async def test_depth_through_fragments_is_counted_where_they_are_spread(api: Api) -> None:
    deep = "x { " * 7 + "id" + " }" * 7
    query = (
        "query Deep { ...A } fragment A on Query { customers { ...B } } "
        f"fragment B on CustomerConnection {{ edges {{ node {{ groups {{ {deep} }} }} }} }}"
    )

    body = await api.raw(query)

    assert [e["message"] for e in body["errors"] if "depth" in e["message"]] == [
        "'Deep' exceeds maximum operation depth of 10"
    ]
