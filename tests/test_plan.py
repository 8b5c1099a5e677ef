"""The compiled plan against graphql-core, on SQLite and PostgreSQL: for each of the till's
documents and for generated variables (valid ones, ones that do not coerce, ones the services
refuse), the plan's result equals graphql-core's on the same data: data, errors, messages,
codes, paths and locations, in production (errors masked, no suggestions) and in development.

Reads run through both engines on the same rows. A commit or a refund that writes runs through
the plan for one customer and through graphql-core for a twin (same groups, balance and card
history) and the two answers must be equal but for the ids they create; then each sale's
idempotent replay runs through both engines on the same rows and must be equal as it is.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest
from graphql.execution.values import VariableValues, get_variable_values

from bench import documents as bench_documents
from domain.access import Principal, Role
from gateway.context import Context
from gateway.graphql.execute import Schema
from gateway.graphql.plan import Plan, UnplannableError
from gateway.graphql.plan_compile import compile_plan
from gateway.graphql.trusted import PLANNED, document, documents_in, prepared
from gateway.schema.root import build_schema
from services import access
from services.runtime import Runtime
from tests.faults import till_documents as fault_documents
from tests.helpers import TRUSTED, Clock
from tests.test_checkout_service import MORNING, Shop, add_credits, new_customer, open_shop

QUOTE, COMMIT, REFUND, CARD = (
    TRUSTED[name].body
    for name in ("CheckoutQuote", "CommitCheckout", "RefundCheckout", "CustomerByCard")
)
# Operators' documents (the benchmarks' and the fault suite's tills): compiled too.
OPERATORS = [
    document(body, name)
    for name, body in {**bench_documents.DOCUMENTS, **fault_documents.DOCUMENTS}.items()
]
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TWINS = 12


@dataclass
class Till:
    schema: Schema
    principal: Principal
    runtime: Runtime
    production: bool
    shop: Shop
    # Twin customers: (plan's, graphql-core's), each pair with the same groups and balance.
    twins: list[tuple[tuple[UUID, str], tuple[UUID, str]]]
    # Requests whose variables the plan coerced itself.
    fast: int = 0

    def context(self) -> Context:
        return Context(
            principal=self.principal,
            runtime=self.runtime,
            principals=access.PrincipalCache(60, 10),
        )

    async def planned(self, query: str, variables: dict[str, Any]) -> dict[str, Any] | None:
        """The plan's answer, None when the plan hands the request to graphql-core; its own
        coercion of the variables, where it takes them, is graphql-core's."""
        plan = self.schema.plans[query]
        fast = plan.variables(variables)
        if fast is not None:
            slow = get_variable_values(
                self.schema._schema,
                plan.operation.variable_definitions or (),
                variables,
                hide_suggestions=self.production,
            )
            assert not isinstance(slow, list), variables
            assert fast.coerced == slow.coerced, variables
            assert sourced(fast) == sourced(slow), variables
            self.fast += 1
        result = await plan.run(
            self.schema._schema,
            variables,
            self.context(),
            None,
            hide_suggestions=self.production,
        )
        return None if result is None else body_of(self.schema._reported(result))

    async def core(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """graphql-core's answer through the engine, with no plan."""
        with without_plans(self.schema):
            result = await self.schema.execute(query, variables, self.context())
        return body_of(result)

    async def engine(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """The engine's answer as a request gets it: by the plan, or by graphql-core."""
        return body_of(await self.schema.execute(query, variables, self.context()))


def sourced(values: VariableValues) -> dict[str, tuple[str, str, object, object]]:
    """The variables' sources, their types by name (graphql-core builds them anew each time)."""
    return {
        name: (
            source.signature.name,
            str(source.signature.type),
            source.signature.default,
            source.value,
        )
        for name, source in values.sources.items()
    }


def body_of(result: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [error.formatted for error in result.errors]
    return body


@contextmanager
def without_plans(schema: Schema) -> Iterator[None]:
    plans = dict(schema.plans)
    schema.plans.clear()
    try:
        yield
    finally:
        schema.plans.update(plans)


def ids_named(body: Any) -> Any:
    """`body` with each id it creates replaced by its order of appearance."""
    seen: dict[str, str] = {}

    def named(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: named(item) for key, item in value.items()}
        if isinstance(value, list):
            return [named(item) for item in value]
        if isinstance(value, str) and UUID_TEXT.fullmatch(value):
            return seen.setdefault(value, f"id{len(seen)}")
        return value

    return named(body)


@pytest.fixture(params=[True, False], ids=["production", "development"])
async def till(request: pytest.FixtureRequest, runtime: Runtime, clock: Clock) -> Till:
    clock.now = MORNING
    shop = await open_shop()
    _, secret = await access.create_api_key(shop.location_id, "till", Role.POS)
    principal = await access.authenticate(secret)
    assert principal is not None
    schema = build_schema(production=request.param)
    prepared(schema, [*documents_in(), *OPERATORS])
    assert list(schema.unplanned.values()) == ["the field Query.__typename"]
    twins = []
    for index in range(TWINS):
        groups = [shop.regular_group, shop.vip_group][: index % 3]
        pair = []
        for side in ("a", "b"):
            card = f"CARD-{index}-{side}"
            customer = await new_customer(shop, *groups, card=card, name=f"Ala {index}")
            if index % 2:
                await add_credits(runtime, shop, customer, f"{index * 7}.50")
            pair.append((customer, card))
        twins.append((pair[0], pair[1]))
    return Till(schema, principal, runtime, request.param, shop, twins)


def a_bill(rng: random.Random, card: str | None) -> dict[str, Any]:
    lines = [
        {
            "productId": f"p{line}",
            "name": rng.choice([None, "Kawa", "Zupa dnia"]),
            "quantity": rng.choice(["1", "2", "0.5", "3"]),
            "unitPrice": rng.choice(["12.50", "0.01", "40.00", "7.99"]),
        }
        for line in range(rng.randint(1, 4))
    ]
    bill: dict[str, Any] = {"lines": lines, "useCredits": rng.random() < 0.8}
    if card is not None:
        bill["cardCode"] = card
    if rng.random() < 0.3:
        bill["maxCredits"] = rng.choice(["1.00", "5.55", "0"])
    if rng.random() < 0.2:
        bill["excludedDiscountIds"] = ["pos-discount:d10"]
    if rng.random() < 0.2:
        bill["channel"] = rng.choice(["POS", "KIOSK", "ONLINE"])
    return bill


# Variables that do not coerce (the plan hands them to graphql-core) and ones that coerce but
# that the services refuse (the plan answers them).
NOT_COERCING: list[dict[str, Any]] = [
    {},
    {"input": 5},
    {"input": {"lines": [{"productId": "p", "quantity": "abc", "unitPrice": "1"}]}},
    {"input": {"lines": [{"productId": "p", "quantity": "1"}]}},
    {"input": {"lines": [], "chanel": "POS"}},
    {"input": {"lines": [{"productId": "p\x00", "quantity": "1", "unitPrice": "1"}]}},
    {"input": {"lines": [], "channel": "TAKEAWAY"}},
    {"input": {"lines": None}},
]
REFUSED: list[dict[str, Any]] = [
    {"input": {"lines": []}},
    {"input": {"lines": [{"productId": "p", "quantity": "-1", "unitPrice": "1"}]}},
    {"input": {"lines": [{"productId": "p", "quantity": "1", "unitPrice": "1.001"}]}},
    {"input": {"lines": [{"productId": "", "quantity": "1", "unitPrice": "1"}]}},
    {
        "input": {
            "cardCode": "NO-SUCH-CARD",
            "lines": [{"productId": "p", "quantity": "1", "unitPrice": "1"}],
        }
    },
    {
        "input": {
            "customerId": "not-an-id",
            "lines": [{"productId": "p", "quantity": "1", "unitPrice": "1"}],
        }
    },
    {
        "input": {
            "customerId": str(UUID(int=7)),
            "lines": [{"productId": "p", "quantity": "1", "unitPrice": "1"}],
        }
    },
    {
        "input": {
            "lines": [
                {"productId": f"p{i}", "quantity": "1", "unitPrice": "1"} for i in range(1_001)
            ]
        }
    },
    {"input": {"lines": [{"productId": "p", "quantity": "1", "unitPrice": "99999999999"}]}},
]


async def test_each_of_the_tills_documents_has_a_plan() -> None:
    schema = build_schema(production=True)
    prepared(schema, documents_in())
    planned = {plan.name for plan in schema.plans.values()}
    assert (
        planned
        == PLANNED
        == {"CheckoutQuote", "CommitCheckout", "RefundCheckout", "CustomerByCard"}
    )
    till_folder = {d.name for d in documents_in() if d.name in PLANNED}
    assert till_folder == PLANNED


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("query Q { __typename }", "the field Query.__typename"),
        (
            "query Q($s: Boolean!) { locations @include(if: $s) { id } }",
            "a directive on a selection",
        ),
        ("query Q @deprecated { hello }", "a directive on the operation"),
    ],
)
def test_what_the_plan_leaves_to_graphql_core_is_named(text: str, reason: str) -> None:
    from graphql import parse

    schema = build_schema(production=False)
    with pytest.raises(UnplannableError, match=re.escape(reason)):
        compile_plan(schema._schema, parse(text))


async def test_quotes_and_card_lookups_answer_as_graphql_core_does(till: Till) -> None:
    rng = random.Random(20261206)
    cards = [card for pair in till.twins for (_, card) in pair]
    cases: list[tuple[str, dict[str, Any], bool]] = []
    for _ in range(30):
        card = rng.choice([*cards, None, "UNKNOWN"])
        cases.append((QUOTE, {"input": a_bill(rng, card)}, True))
    cases += [(QUOTE, variables, False) for variables in NOT_COERCING]
    cases += [(QUOTE, variables, True) for variables in REFUSED]
    cases += [(CARD, {"cardCode": card}, True) for card in [*cards[:6], "UNKNOWN", "", " x "]]
    cases += [
        (CARD, variables, False) for variables in [{}, {"cardCode": 5}, {"cardCode": "a\x00"}]
    ]
    for query, variables, planned in cases:
        by_plan = await till.planned(query, variables)
        by_core = await till.core(query, variables)
        assert (by_plan is not None) is planned, variables
        assert (by_plan or await till.engine(query, variables)) == by_core, variables
    assert till.fast >= 40
    answered = [await till.core(QUOTE, v) for _, v, p in cases[:30]]
    assert sum("errors" not in body for body in answered) >= 20


async def test_commits_answer_as_graphql_core_does_and_replay_alike(till: Till) -> None:
    rng = random.Random(7)
    for index, ((_, plan_card), (_, core_card)) in enumerate(till.twins):
        bill = a_bill(rng, None)
        expected = rng.choice([None, None, "0.01"])
        variables = {"idempotencyKey": f"plan-{index}", "expectedTotal": expected}
        by_plan = await till.planned(
            COMMIT, {**variables, "input": {**bill, "cardCode": plan_card}}
        )
        twin = {"idempotencyKey": f"core-{index}", "expectedTotal": expected}
        by_core = await till.core(COMMIT, {**twin, "input": {**bill, "cardCode": core_card}})
        assert by_plan is not None
        assert ids_named(by_plan) == ids_named(by_core), index
        for key, card in ((f"plan-{index}", plan_card), (f"core-{index}", core_card)):
            again = {
                "idempotencyKey": key,
                "expectedTotal": expected,
                "input": {**bill, "cardCode": card},
            }
            assert await till.planned(COMMIT, again) == await till.core(COMMIT, again)
    for variables in NOT_COERCING:
        request = {"idempotencyKey": "bad", **variables}
        assert await till.planned(COMMIT, request) is None
        assert await till.engine(COMMIT, request) == await till.core(COMMIT, request)
    for variables in [*REFUSED, {"input": {"lines": []}, "idempotencyKey": ""}]:
        request = {"idempotencyKey": "refused", **variables}
        by_plan = await till.planned(COMMIT, request)
        assert by_plan == await till.core(COMMIT, request), variables


async def test_refunds_answer_as_graphql_core_does_and_replay_alike(till: Till) -> None:
    bill = {
        "lines": [
            {"productId": "kawa", "quantity": "2", "unitPrice": "12.50"},
            {"productId": "zupa", "quantity": "1", "unitPrice": "19.00"},
        ]
    }
    for index, ((_, plan_card), (_, core_card)) in enumerate(till.twins[:6]):
        sales = []
        for card in (plan_card, core_card):
            body = await till.core(
                COMMIT, {"idempotencyKey": f"sale-{card}", "input": {**bill, "cardCode": card}}
            )
            sales.append(body["data"]["commitCheckout"]["checkout"]["id"])
        lines = [None, [{"line": 0, "quantity": "1"}], [{"line": 1, "quantity": "1"}]][index % 3]
        by_plan = await till.planned(
            REFUND, {"id": sales[0], "idempotencyKey": f"r-{index}-0", "lines": lines}
        )
        by_core = await till.core(
            REFUND, {"id": sales[1], "idempotencyKey": f"r-{index}-1", "lines": lines}
        )
        assert by_plan is not None
        assert ids_named(by_plan) == ids_named(by_core), index
        for side, sale in enumerate(sales):
            again = {"id": sale, "idempotencyKey": f"r-{index}-{side}", "lines": lines}
            assert await till.planned(REFUND, again) == await till.core(REFUND, again)
        past = {
            "id": sales[0],
            "idempotencyKey": f"past-{index}",
            "lines": [{"line": 0, "quantity": "9"}],
        }
        assert await till.planned(REFUND, past) == await till.core(REFUND, past)
    refused = [
        {"id": str(UUID(int=1)), "idempotencyKey": "x"},
        {"id": "nope", "idempotencyKey": "x"},
        {"id": str(UUID(int=1)), "idempotencyKey": ""},
    ]
    for variables in refused:
        assert await till.planned(REFUND, variables) == await till.core(REFUND, variables)
    for variables in [
        {},
        {"id": True, "idempotencyKey": "x"},
        {"id": "x", "idempotencyKey": "k", "lines": [{"line": "a", "quantity": "1"}]},
    ]:
        assert await till.planned(REFUND, variables) is None
        assert await till.engine(REFUND, variables) == await till.core(REFUND, variables)


def test_a_plan_is_a_plan_of_its_document() -> None:
    schema = build_schema(production=True)
    prepared(schema, documents_in())
    plan: Plan = schema.plans[QUOTE]
    assert (plan.name, plan.serial, [f.key for f in plan.fields]) == (
        "CheckoutQuote",
        False,
        ["checkoutQuote"],
    )
    assert schema.plans[COMMIT].serial is True


def test_a_plan_reads_strawberrys_basic_fields_as_attributes_and_calls_the_rest() -> None:
    """What the plan relies on in Strawberry (a basic field's resolver marked `_is_default`, its
    definition under "strawberry-definition"): an upgrade that changes it fails here, not only
    in the benchmark."""
    schema = build_schema(production=True)
    prepared(schema, documents_in())
    (root,) = schema.plans[CARD].fields
    customer = {field.key: field for field in root.selection}
    assert (root.attribute, root.leaf, root.arguments) == (None, False, True)
    assert (customer["firstName"].attribute, customer["firstName"].leaf) == ("first_name", True)
    assert (customer["groups"].attribute, customer["wallet"].attribute) == (None, None)
    assert customer["cards"].attribute is None


async def test_an_operators_documents_answer_as_graphql_core_does(till: Till) -> None:
    rng = random.Random(99)
    cards = [card for pair in till.twins for (_, card) in pair]
    by_name = {d.name: d.body for d in OPERATORS}
    for name in ("BenchQuote", "FaultQuote"):
        for _ in range(8):
            variables = {"input": a_bill(rng, rng.choice([*cards, None]))}
            by_plan = await till.planned(by_name[name], variables)
            assert by_plan is not None
            assert by_plan == await till.core(by_name[name], variables), variables
    for name in ("BenchCard", "FaultByCard"):
        for code in [*cards[:4], "UNKNOWN"]:
            by_plan = await till.planned(by_name[name], {"code": code})
            assert by_plan == await till.core(by_name[name], {"code": code})
    for name in ("BenchCommit", "FaultCommit"):
        for variables in REFUSED[:4]:
            request = {"key": "refused", **variables}
            assert await till.planned(by_name[name], request) == await till.core(
                by_name[name], request
            )
