"""What the engine (`gateway/graphql/`) relies on in Strawberry and graphql-core.

Each Strawberry step the engine replaces leans on a hook, a signature or a class of theirs. An
upgrade that changes one fails here, and the message names the engine step to revisit, rather
than failing somewhere in the read path, or not at all.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from collections.abc import Mapping
from typing import Any

import graphql
import pytest
import strawberry
from graphql import GraphQLSchema, ValuesOfCorrectTypeRule, parse
from graphql.execution import Executor
from strawberry.exceptions import MissingQueryError
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.schema import schema as strawberry_schema
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.types.base import StrawberryObjectDefinition, get_object_definition
from strawberry.types.graphql import OperationType
from strawberry.utils.operation import get_operation_type

from gateway.graphql.execute import STRAWBERRY_RULES, engine_schema
from gateway.graphql.inputs import InputContext, InputExecutor, build_input_with

EXECUTE = "revisit gateway/graphql/execute.py, Schema.execute"
EXECUTOR = "revisit gateway/graphql/inputs.py, InputExecutor"
LITERALS = "revisit gateway/graphql/inputs.py, LiteralValuesRule"
FROM_INPUT = "revisit gateway/graphql/inputs.py, build_input_with (the bill's from_input hook)"
ENDPOINT = "revisit gateway/graphql/endpoint.py, GraphQLEndpoint's refusals"


@strawberry.input
class Pair:
    left: int
    right: int = 2


@strawberry.type
class Query:
    @strawberry.field
    def total(self, pair: Pair) -> int:
        return pair.left + pair.right

    @strawberry.field
    def twice(self, n: int) -> int:
        return 2 * n


@strawberry.type
class Mutation:
    @strawberry.mutation
    def noop(self) -> bool:
        return True


def _schema(execution_context_class: type[Executor[Any]] | None = None) -> strawberry.Schema:
    return strawberry.Schema(
        query=Query, mutation=Mutation, execution_context_class=execution_context_class
    )


# ------------------------------------------------------------------ execute


def test_a_strawberry_schema_keeps_its_execution_context_class_and_graphql_core_schema() -> None:
    schema = _schema(InputExecutor)

    assert schema.execution_context_class is InputExecutor, EXECUTE
    assert isinstance(schema._schema, GraphQLSchema), EXECUTE


def test_graphql_core_takes_what_the_engine_passes_it() -> None:
    execute = inspect.signature(graphql.execute).parameters
    validate = inspect.signature(graphql.validate).parameters
    parse_ = inspect.signature(graphql.parse).parameters

    assert {"executor_class", "is_awaitable"} <= set(execute), EXECUTE
    assert "hide_suggestions" in validate, EXECUTE
    assert "max_tokens" in parse_, EXECUTE


def test_strawberrys_awaitable_check_tells_a_coroutine_from_a_value() -> None:
    coroutine = asyncio.sleep(0)

    assert optimized_is_awaitable(coroutine) is True, EXECUTE
    assert optimized_is_awaitable(1) is False, EXECUTE
    assert optimized_is_awaitable({"a": 1}) is False, EXECUTE
    coroutine.close()


@pytest.mark.parametrize(
    ("document", "name", "expected"),
    [
        ("{ twice(n: 1) }", None, OperationType.QUERY),
        ("query Q { twice(n: 1) }", None, OperationType.QUERY),
        ("mutation M { noop }", None, OperationType.MUTATION),
        ("query Q { twice(n: 1) } mutation M { noop }", "M", OperationType.MUTATION),
        ("query Q { twice(n: 1) } mutation M { noop }", "Q", OperationType.QUERY),
        ("query Q { twice(n: 1) } mutation M { noop }", None, OperationType.QUERY),
    ],
)
def test_get_operation_type_names_the_operation_that_runs(
    document: str, name: str | None, expected: OperationType
) -> None:
    assert get_operation_type(parse(document), name) is expected, EXECUTE


@pytest.mark.parametrize(
    ("document", "name"),
    [("query Q { twice(n: 1) }", "Missing"), ("fragment F on Query { twice(n: 1) }", None)],
)
def test_get_operation_type_raises_a_runtime_error_without_an_operation(
    document: str, name: str | None
) -> None:
    with pytest.raises(RuntimeError, match=r"^Can't get GraphQL operation type$"):
        get_operation_type(parse(document), name)


def test_strawberrys_validation_step_adds_exactly_the_rules_the_engine_adds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The engine validates without Strawberry, adding Strawberry's own rules itself: a rule
    Strawberry adds in a later release must be added to `STRAWBERRY_RULES` too."""
    seen: list[tuple[type[Any], ...]] = []

    def validate(schema: GraphQLSchema, document: Any, rules: Any, *args: Any) -> list[Any]:
        seen.append(tuple(rules))
        return []

    monkeypatch.setattr(strawberry_schema, "validate", validate)
    strawberry_schema.validate_document(_schema()._schema, parse("{ twice(n: 1) }"), ())

    assert seen == [(MaybeNullValidationRule, OneOfInputValidationRule)], EXECUTE
    assert seen == [STRAWBERRY_RULES], EXECUTE


def test_graphql_core_still_validates_literals_with_values_of_correct_type() -> None:
    assert ValuesOfCorrectTypeRule in graphql.specified_rules, LITERALS
    assert callable(getattr(ValuesOfCorrectTypeRule, "is_valid_value_node", None)), LITERALS
    assert callable(graphql.validate_input_literal), LITERALS
    assert callable(graphql.validate_input_value), LITERALS


# ------------------------------------------------------------------ the executor


def test_the_execution_context_build_hook_takes_the_arguments_in_the_engines_order() -> None:
    build = inspect.signature(Executor.build).parameters

    assert issubclass(InputExecutor, StrawberryGraphQLCoreExecutionContext), EXECUTOR
    assert issubclass(StrawberryGraphQLCoreExecutionContext, Executor), EXECUTOR
    assert list(build)[:6] == [
        "schema",
        "document",
        "root_value",
        "context_value",
        "raw_variable_values",
        "operation_name",
    ], EXECUTOR
    assert "hide_suggestions" in build, EXECUTOR


def test_build_answers_an_executor_or_the_variables_errors() -> None:
    schema = _schema(InputExecutor)._schema
    document = parse("query($n: Int!) { twice(n: $n) }")

    built = InputExecutor.build(schema, document, raw_variable_values={"n": 3})
    refused = InputExecutor.build(schema, document, raw_variable_values={"n": "three"})

    assert isinstance(built, InputExecutor), EXECUTOR
    assert isinstance(refused, list), EXECUTOR
    assert [error.extensions for error in refused] == [{"code": "INVALID", "field": "n"}], EXECUTOR


async def test_the_engine_runs_a_strawberry_schema_through_its_executor() -> None:
    schema = engine_schema(query=Query, mutation=Mutation, production=False)

    result = await schema.execute("query($n: Int!) { twice(n: $n) }", variable_values={"n": 21})

    assert (result.data, result.errors) == ({"twice": 42}, None), EXECUTE


# ------------------------------------------------------------------ the from_input hook


def test_a_type_definition_has_a_from_input_hook_unset_by_default() -> None:
    assert "from_input" in {field.name for field in _fields(StrawberryObjectDefinition)}, FROM_INPUT
    assert get_object_definition(Pair, strict=True).from_input is None, FROM_INPUT


@strawberry.input
class Hooked:
    """Built by its `from_input` hook in the test below, and nowhere else."""

    left: int
    right: int = 2


@strawberry.type
class HookedQuery:
    @strawberry.field
    def total(self, pair: Hooked) -> int:
        return pair.left + pair.right


def test_strawberry_builds_an_input_with_its_from_input_hook() -> None:
    calls: list[dict[str, Any]] = []

    def build(cls: type[Hooked], value: Mapping[str, Any], context: InputContext) -> Hooked:
        calls.append(dict(value))
        assert isinstance(context, InputContext), FROM_INPUT
        return cls(left=value["left"] * 10, right=value["right"])

    build_input_with(Hooked, build)
    result = strawberry.Schema(query=HookedQuery).execute_sync("{ total(pair: {left: 4}) }")

    assert result.errors is None, FROM_INPUT
    assert calls == [{"left": 4, "right": 2}], FROM_INPUT
    assert result.data == {"total": 42}, FROM_INPUT


# ------------------------------------------------------------------ the endpoint's refusals


def test_strawberrys_request_errors_carry_what_the_endpoint_answers() -> None:
    unknown = CannotGetOperationTypeError("Missing")
    refused = InvalidOperationTypeError(OperationType.MUTATION)

    assert str(unknown) == "Missing", ENDPOINT
    assert unknown.operation_name == "Missing", ENDPOINT
    assert refused.operation_type is OperationType.MUTATION, ENDPOINT
    assert str(MissingQueryError()) == 'Request data is missing a "query" value', ENDPOINT


def _fields(cls: type) -> list[Any]:
    return list(dataclasses.fields(cls))
