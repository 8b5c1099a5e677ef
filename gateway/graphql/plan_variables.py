"""A plan's variables, coerced by functions decided once for their types.

graphql-core's `get_variable_values` walks each value twice (once for its nesting depth, once to
coerce it) and, for every value, asks which kind of type it is coercing to. A plan's variables
have fixed types, so `variables_coercer` decides that once and returns a function that coerces
a request's variables straight, into the same `VariableValues` (sources and coerced values, input
fields in the schema's order, defaults filled, out names used).

It takes only the plain case: JSON lists for lists, objects whose every key is a field, every
required field present, no text with a NUL, each variable given or nullable without a default.
For anything else it answers None, and the plan coerces with `get_variable_values`, which also
words the errors; so it never accepts what graphql-core refuses, nor coerces differently
(`tests/test_plan.py` compares the two on every generated request).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    VariableDefinitionNode,
    is_required_input_field,
)
from graphql.execution.get_variable_signature import (
    GraphQLVariableSignature,
    get_variable_signature,
)
from graphql.execution.values import VariableValues, VariableValueSource
from graphql.pyutils import Undefined
from graphql.utilities.coerce_input_value import coerce_default_value

# A coerced value, or Undefined: not the plain case (graphql-core decides).
Coerce = Callable[[Any], Any]
VariablesCoercer = Callable[[dict[str, Any]], VariableValues | None]


def variables_coercer(
    schema: GraphQLSchema, definitions: Sequence[VariableDefinitionNode]
) -> VariablesCoercer:
    """The coercer of an operation's variables; one that always answers None (graphql-core's
    way) when a variable's signature is not plain."""
    signatures: list[tuple[GraphQLVariableSignature, Coerce, bool]] = []
    for definition in definitions:
        signature = get_variable_signature(schema, definition)
        if isinstance(signature, GraphQLError) or signature.default is not None:
            return lambda raw: None
        type_ = signature.type
        signatures.append((signature, _coercer(type_, ()), isinstance(type_, GraphQLNonNull)))

    def coerce(raw: dict[str, Any]) -> VariableValues | None:
        sources: dict[str, VariableValueSource] = {}
        coerced: dict[str, Any] = {}
        for signature, coerce_value, required in signatures:
            name = signature.name
            value = raw.get(name, Undefined)
            if value is Undefined:
                if required:
                    return None
                sources[name] = VariableValueSource(signature)
                continue
            sources[name] = VariableValueSource(signature, value)
            coerced_value = coerce_value(value)
            if coerced_value is Undefined:
                return None
            coerced[name] = coerced_value
        return VariableValues(sources, coerced)

    return coerce


def _coercer(type_: GraphQLInputType, within: tuple[GraphQLInputObjectType, ...]) -> Coerce:
    if isinstance(type_, GraphQLNonNull):
        inner = _coercer(type_.of_type, within)
        return lambda value: Undefined if value is None else inner(value)
    if isinstance(type_, GraphQLList):
        return _list(_coercer(type_.of_type, within))
    if isinstance(type_, GraphQLInputObjectType):
        if type_ in within or type_.is_one_of:
            return lambda value: Undefined  # recursive or oneOf: graphql-core's way
        return _object(type_, within)
    assert isinstance(type_, GraphQLLeafType)
    return _leaf(type_)


def _list(item: Coerce) -> Coerce:
    def coerce(value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, list):
            return Undefined
        coerced = []
        for entry in value:
            done = item(entry)
            if done is Undefined:
                return Undefined
            coerced.append(done)
        return coerced

    return coerce


def _object(type_: GraphQLInputObjectType, within: tuple[GraphQLInputObjectType, ...]) -> Coerce:
    inner = (*within, type_)
    fields = [
        (
            name,
            field.out_name or name,
            _coercer(field.type, inner),
            is_required_input_field(field),
            field,
        )
        for name, field in type_.fields.items()
    ]
    known = frozenset(type_.fields)
    out_type = type_.out_type

    def coerce(value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, dict) or not known.issuperset(value):
            return Undefined
        coerced: dict[str, Any] = {}
        for name, out_name, coerce_field, required, field in fields:
            given = value.get(name, Undefined)
            if given is Undefined:
                if required:
                    return Undefined
                default = coerce_default_value(field)
                if default is not Undefined:
                    coerced[out_name] = default
                continue
            done = coerce_field(given)
            if done is Undefined:
                return Undefined
            coerced[out_name] = done
        return out_type(coerced)

    return coerce


def _leaf(type_: GraphQLLeafType) -> Coerce:
    coerce_input = type_.coerce_input_value

    def coerce(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str) and "\x00" in value:
            return Undefined
        try:
            return coerce_input(value)
        except Exception:  # graphql-core words the refusal
            return Undefined

    return coerce
