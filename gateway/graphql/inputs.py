"""Input errors: the code and field path every error in a request's input carries.

A scalar (`gateway.schema.scalars`) refuses only what is not of its syntax. Every
error in coercing an input (a bad scalar, a wrong type, a missing field, an unknown enum value,
a NUL character in a string) answers `extensions {code: INVALID, field}`, where `field` is the
argument or variable path as the mutations name it: `input.amount`, `input.target.customerIds.0`.
Variables are checked by `InputExecutor.build`, literals by `LiteralValuesRule`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    GraphQLID,
    GraphQLString,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    StringValueNode,
    ValueNode,
    VariableDefinitionNode,
    coerce_input_value,
    get_operation_ast,
    is_input_type,
    is_non_null_type,
    type_from_ast,
    validate_input_literal,
    validate_input_value,
)
from graphql.execution import Executor
from graphql.language import SKIP, VisitorAction
from graphql.pyutils import Undefined, print_path_list
from graphql.type import GraphQLInputType, GraphQLSchema
from graphql.validation import ValidationContext, ValuesOfCorrectTypeRule
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.arguments import InputContext as InputContext
from strawberry.types.base import get_object_definition

INVALID = "INVALID"
MAX_INPUT_ERRORS = 50

T = TypeVar("T")
# Builds an input object from the value graphql-core has coerced (scalars parsed, enums
# resolved, defaults filled, keys as the schema names them).
InputBuilder = Callable[[type[T], Mapping[str, Any], InputContext], T]


def build_input_with(cls: type[T], build: InputBuilder[T]) -> None:
    """Has Strawberry build `cls` with `build` rather than by its generic conversion, which
    resolves every field's type again for each value (for a bill, each of its lines).

    Strawberry calls a type definition's `from_input` hook, when set, in place of that
    conversion; `tests/test_graphql_engine.py` pins that it still does.
    """
    get_object_definition(cls, strict=True).from_input = build


# graphql-core reports a missing or unknown input field at the object that holds it; the path
# then names the field too.
NAMED_FIELD = re.compile(r"(?:required|unknown) field '([^']+)'")


def field_path(root: str, path: Sequence[str | int], message: str = "") -> str:
    named = NAMED_FIELD.search(message)
    return ".".join([root, *map(str, path), *([named.group(1)] if named else [])])


def _invalid(message: str, node: Any, field: str, cause: Exception | None) -> GraphQLError:
    return GraphQLError(
        message, node, original_error=cause, extensions={"code": INVALID, "field": field}
    )


NUL_MESSAGE = "Text may not contain the NUL character."


def _nul_paths(value: object, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if isinstance(value, str):
        if "\x00" in value:
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _nul_paths(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_paths(item, (*path, index))


def _carries_nul(value: object) -> bool:
    return next(_nul_paths(value), None) is not None


def _nul_literal_paths(
    node: ValueNode, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[str | int, ...]]:
    if isinstance(node, StringValueNode):
        if "\x00" in node.value:
            yield path
    elif isinstance(node, ObjectValueNode):
        for field in node.fields:
            yield from _nul_literal_paths(field.value, (*path, field.name.value))
    elif isinstance(node, ListValueNode):
        for index, item in enumerate(node.values):
            yield from _nul_literal_paths(item, (*path, index))


def variable_errors(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    values: dict[str, Any],
    hide_suggestions: bool,
) -> list[GraphQLError]:
    """The errors in the request's variables, each with its field path; [] when they coerce."""
    errors: list[GraphQLError] = []
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        type_ = type_from_ast(schema, definition.type)
        if type_ is None or not is_input_type(type_):
            continue  # the executor reports a variable of an unknown type
        value = values.get(name, Undefined)
        if value is Undefined and (definition.default_value or not is_non_null_type(type_)):
            continue
        if isinstance(value, str) and "\x00" not in value and _is_plain_text(type_):
            continue  # the till's `$code`: a String or ID takes any text without NUL
        errors += _value_errors(name, definition, value, type_, hide_suggestions)
        if len(errors) >= MAX_INPUT_ERRORS:
            break
    return errors[:MAX_INPUT_ERRORS]


def _is_plain_text(type_: GraphQLInputType) -> bool:
    named = type_.of_type if is_non_null_type(type_) else type_
    return named is GraphQLString or named is GraphQLID


def _value_errors(
    name: str,
    definition: VariableDefinitionNode,
    value: Any,
    type_: GraphQLInputType,
    hide_suggestions: bool,
) -> list[GraphQLError]:
    if coerce_input_value(value, type_) is Undefined:
        errors: list[GraphQLError] = []

        def on_error(error: GraphQLError, path: Sequence[str | int]) -> None:
            errors.append(
                _invalid(
                    f"Variable '${name}' has invalid value{print_path_list(path)}: {error.message}",
                    definition,
                    field_path(name, path, error.message),
                    error,
                )
            )

        validate_input_value(value, type_, on_error, hide_suggestions)
        return errors
    return [
        _invalid(
            f"Variable '${name}' has invalid value{print_path_list(path)}: {NUL_MESSAGE}",
            definition,
            field_path(name, path),
            None,
        )
        for path in _nul_paths(value)
    ]


class InputExecutor(StrawberryGraphQLCoreExecutionContext):
    """Names the field path of each problem in the variables."""

    hides_suggestions: ClassVar[bool] = False

    @classmethod
    def build(
        cls,
        schema: GraphQLSchema,
        document: DocumentNode,
        root_value: Any = None,
        context_value: Any = None,
        raw_variable_values: dict[str, Any] | None = None,
        operation_name: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> list[GraphQLError] | Executor[Any]:
        kwargs["hide_suggestions"] = cls.hides_suggestions
        built = super().build(
            schema,
            document,
            root_value,
            context_value,
            raw_variable_values,
            operation_name,
            *args,
            **kwargs,
        )
        # The variables are coerced once, by the executor; only when that fails, or when some
        # text carries a NUL (which coerces), are they checked again, field by field, to name
        # each problem's path.
        raw = raw_variable_values or {}
        if isinstance(built, list) or _carries_nul(raw):
            operation = get_operation_ast(document, operation_name)
            if operation is not None and operation.variable_definitions:
                errors = variable_errors(schema, operation, raw, cls.hides_suggestions)
                if errors:
                    return errors
        return built


class ProductionExecutor(InputExecutor):
    """Error messages do not suggest names: they would reveal the schema."""

    hides_suggestions = True


class LiteralValuesRule(ValuesOfCorrectTypeRule):
    """`ValuesOfCorrectTypeRule` whose errors carry the code and the field path."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.roots: list[str] = []

    def enter_argument(self, node: ArgumentNode, *_args: Any) -> None:
        self.roots.append(node.name.value)

    def leave_argument(self, node: ArgumentNode, *_args: Any) -> None:
        self.roots.pop()

    def enter_variable_definition(self, node: VariableDefinitionNode, *_args: Any) -> None:
        self.roots.append(node.variable.name.value)

    def leave_variable_definition(self, node: VariableDefinitionNode, *_args: Any) -> None:
        self.roots.pop()

    def is_valid_value_node(
        self, node: ValueNode, input_type: GraphQLInputType | None
    ) -> VisitorAction:
        if input_type is None:
            return SKIP
        root = self.roots[-1] if self.roots else ""
        reported = False

        def on_error(error: GraphQLError, path: Sequence[str | int]) -> None:
            nonlocal reported
            reported = True
            self.report_error(
                _invalid(
                    error.message,
                    error.nodes or node,
                    field_path(root, path, error.message),
                    None,
                )
            )

        validate_input_literal(
            node, input_type, on_error, None, None, self.context.hide_suggestions
        )
        if not reported:
            for path in _nul_literal_paths(node):
                self.report_error(_invalid(NUL_MESSAGE, node, field_path(root, path), None))
        return SKIP
