"""What a query costs, computed from the parsed document before anything runs.

Every field costs 1 plus the cost of its selection. A paged field (one taking `first`) multiplies
its selection's cost by its page size: the `first` given, or read from the variables, or the
argument's default. A list that is not paged but has a bound (a bill's lines) multiplies by
that bound. Fragments are expanded where they are spread, and every alias counts.

    customers(first: 200) { edges { node { id groups { id name } } } }
    = 1 + 200 × (1 + (1 + 1 + (1 + 2))) = 1,201

`CostBudget` refuses a document over the budget with `QUERY_TOO_COSTLY`; the schema's request
guard asks it before execution.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_operation_ast,
)
from graphql.pyutils import Undefined

from domain.access import MAX_LISTED_API_KEYS
from domain.pricing import MAX_LINES
from domain.refunds import MAX_REFUNDS
from gateway.graphql.limits import fragment_order

PAGE_ARGUMENT = "first"
# Unpaged lists and the most items they hold: (type, field) → bound.
BOUNDED_LISTS: Mapping[tuple[str, str], int] = {
    ("Checkout", "lines"): MAX_LINES,
    ("CheckoutQuote", "lines"): MAX_LINES,
    ("Checkout", "refunds"): MAX_REFUNDS,
    ("CheckoutRefund", "lines"): MAX_LINES,
    ("Query", "apiKeys"): MAX_LISTED_API_KEYS,
}
TOO_COSTLY = "QUERY_TOO_COSTLY"


class _Coster:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        defaults: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.defaults = defaults
        self.fragment_costs: dict[str, int] = {}
        self.expanding: set[str] = set()
        # Whether a page size came from the variables: only then does the cost depend on them.
        self.read_variables = False

    def selection(self, selection_set: SelectionSetNode | None, parent: Any) -> int:
        if selection_set is None:
            return 0
        total = 0
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                total += self.field(node, parent)
            elif isinstance(node, InlineFragmentNode):
                condition = node.type_condition
                on = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selection(node.selection_set, on)
            elif isinstance(node, FragmentSpreadNode):
                total += self.fragment(node.name.value)
        return total

    def fragment(self, name: str) -> int:
        """Each fragment is costed once however often it is spread (a cycle costs nothing)."""
        if name in self.fragment_costs:
            return self.fragment_costs[name]
        definition = self.fragments.get(name)
        if definition is None or name in self.expanding:
            return 0
        self.expanding.add(name)
        on = self.schema.get_type(definition.type_condition.name.value)
        cost = self.selection(definition.selection_set, on)
        self.expanding.discard(name)
        self.fragment_costs[name] = cost
        return cost

    def field(self, node: FieldNode, parent: Any) -> int:
        definition = _field_definition(parent, node.name.value)
        child: GraphQLNamedType | None = (
            get_named_type(definition.type) if definition is not None else None
        )
        inner = self.selection(node.selection_set, child)
        if definition is None:
            return 1 + inner
        if PAGE_ARGUMENT not in definition.args:
            bound = BOUNDED_LISTS.get((getattr(parent, "name", ""), node.name.value), 1)
            return 1 + bound * inner
        return 1 + self.page_size(node, definition) * inner

    def page_size(self, node: FieldNode, definition: GraphQLField) -> int:
        default = definition.args[PAGE_ARGUMENT].default_value
        given: Any = Undefined
        for argument in node.arguments or ():
            if argument.name.value != PAGE_ARGUMENT:
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                given = int(value.value)
            elif isinstance(value, VariableNode):
                name = value.name.value
                given = self.variables.get(name, self.defaults.get(name, Undefined))
                self.read_variables = True
        size = given if isinstance(given, int) and not isinstance(given, bool) else default
        return max(size, 0) if isinstance(size, int) else 1


def _field_definition(parent: Any, name: str) -> GraphQLField | None:
    """The field on an object or interface type; None for `__typename` and the like."""
    fields: Mapping[str, GraphQLField] | None = getattr(parent, "fields", None)
    return None if fields is None else fields.get(name)


def _variable_defaults(operation: OperationDefinitionNode) -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    for definition in operation.variable_definitions or ():
        if isinstance(definition.default_value, IntValueNode):
            defaults[definition.variable.name.value] = int(definition.default_value.value)
    return defaults


def _root_type(schema: GraphQLSchema, operation: OperationDefinitionNode) -> Any:
    if operation.operation == OperationType.MUTATION:
        return schema.mutation_type
    if operation.operation == OperationType.SUBSCRIPTION:
        return schema.subscription_type
    return schema.query_type


def _fragments(document: DocumentNode) -> Iterator[FragmentDefinitionNode]:
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            yield definition


def _cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any] | None,
    operation_name: str | None,
) -> tuple[int, bool]:
    """The cost, and whether it depends on the variables (a page size given by one)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0, False
    fragments = {f.name.value: f for f in _fragments(document)}
    coster = _Coster(schema, fragments, variables or {}, _variable_defaults(operation))
    # Each fragment after those it spreads: a chain of hundreds is costed without recursing
    # once per link. (Validation refuses a cycle; its cost is found by recursing.)
    for name in fragment_order(fragments) or ():
        coster.fragment(name)
    cost = coster.selection(operation.selection_set, _root_type(schema, operation))
    return cost, coster.read_variables


def too_costly(cost: int, limit: int) -> GraphQLError:
    return GraphQLError(
        f"This query costs {cost:,}, over the limit of {limit:,}: ask for smaller pages "
        "or fewer fields.",
        extensions={"code": TOO_COSTLY, "cost": cost, "limit": limit},
    )


class CostBudget:
    """The most a query may cost, and the costs already known.

    A document whose cost does not depend on its variables is costed once, by query text and
    operation name: the till sends the same few documents all day.
    """

    def __init__(self, max_cost: int, known: MutableMapping[tuple[str, str | None], int]) -> None:
        self.max_cost = max_cost
        self.known = known

    def refusal(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        query: str,
        variables: Mapping[str, Any] | None,
        operation_name: str | None,
    ) -> GraphQLError | None:
        """The error refusing this operation, or None when it is within the budget."""
        key = (query, operation_name)
        cost = self.known.get(key)
        if cost is None:
            cost, varies = _cost(schema, document, variables, operation_name)
            if not varies:
                self.known[key] = cost
        return too_costly(cost, self.max_cost) if cost > self.max_cost else None
