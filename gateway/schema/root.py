"""The schema: per-area Query and Mutation classes merged, with the security extensions."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from functools import lru_cache

import strawberry
from cachetools import LRUCache
from graphql import ASTValidationRule, DocumentNode, GraphQLError, parse, validate
from graphql.validation import NoSchemaIntrospectionCustomRule, ValuesOfCorrectTypeRule
from strawberry.extensions import SchemaExtension, max_aliases, query_depth_limiter
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, ExecutionResult

from gateway.schema import access, customers, groups, wallet
from gateway.schema.cost import CostBudget
from gateway.schema.scalars import (
    SCALAR_OVERRIDES,
    InputExecutor,
    LiteralValuesRule,
    ProductionExecutor,
)

MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 5_000
MAX_QUERY_COST = 20_000
CACHE_SIZE = 512

Query = merge_types("Query", (access.Query, customers.Query, groups.Query, wallet.Query))
Mutation = merge_types(
    "Mutation", (customers.Mutation, groups.Mutation, wallet.Mutation, access.Mutation)
)


def _is_unexpected(error: GraphQLError) -> bool:
    """Mask errors raised by code, except the GraphQL errors we raise on purpose."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


log = logging.getLogger("gocrm.graphql")


class Schema(strawberry.Schema):
    """Logs unexpected errors with their traceback; expected ones are the client's business."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            if _is_unexpected(error):
                log.error("unexpected error: %s", error.message, exc_info=error.original_error)


# The rule classes are built once: the validation cache keys on them, so rules made afresh for
# every request (as QueryDepthLimiter and MaxAliasesLimiter do) would never hit the cache.
LIMIT_RULES: list[type[ASTValidationRule]] = [
    query_depth_limiter.create_validator(MAX_DEPTH, should_ignore=None),
    max_aliases.create_validator(MAX_ALIASES),
]


# In production: no introspection.
PRODUCTION_RULES: tuple[type[ASTValidationRule], ...] = (NoSchemaIntrospectionCustomRule,)

# Strawberry's own rules, which its validation step adds to the ones in the execution context.
STRAWBERRY_RULES: tuple[type[ASTValidationRule], ...] = (
    MaybeNullValidationRule,
    OneOfInputValidationRule,
)


ValidationKey = tuple[str, tuple[type[ASTValidationRule], ...]]


@dataclass(frozen=True)
class Limits:
    """What the guard enforces and remembers, built once per schema."""

    production: bool
    budget: CostBudget
    parsed: Callable[..., DocumentNode]
    validated: MutableMapping[ValidationKey, list[GraphQLError]]


class RequestGuard(SchemaExtension):
    """Every check a request passes before and after execution, in one extension (each
    extension costs every request a context manager per step):

    - parsing: at most `MAX_TOKENS` tokens, documents cached by their text;
    - validation: cached by query text (a document hashes and compares as a deep tree of
      frozen dataclasses, which costs more than the lookup saves), with the depth and alias
      limits, literal errors that name their field, and in production no introspection and no
      "Did you mean …?" suggestions, which would reveal the schema;
    - execution: refused when the query costs more than the budget;
    - in production, unexpected errors masked in the result.
    """

    def __init__(self, limits: Limits) -> None:
        super().__init__()
        self.limits = limits

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if self.limits.production and result is not None and result.errors:
            result.errors = [_masked(error) for error in result.errors]

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        context.graphql_document = self.limits.parsed(context.query, max_tokens=MAX_TOKENS)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None
        assert context.query is not None
        extra = PRODUCTION_RULES if self.limits.production else ()
        rules = tuple(
            LiteralValuesRule if rule is ValuesOfCorrectTypeRule else rule
            for rule in (*context.validation_rules, *LIMIT_RULES, *STRAWBERRY_RULES, *extra)
        )
        key = (context.query, rules)
        errors = self.limits.validated.get(key)
        if errors is None:
            errors = validate(
                context.schema._schema,
                context.graphql_document,
                rules,
                hide_suggestions=self.limits.production,
            )
            self.limits.validated[key] = errors
        context.pre_execution_errors = list(errors)
        yield

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.query is not None and not context.result:
            refusal = self.limits.budget.refusal(
                context.schema._schema,
                document,
                context.query,
                context.variables,
                context.operation_name,
            )
            if refusal is not None:
                context.result = ExecutionResult(data=None, errors=[refusal])
        yield


def _masked(error: GraphQLError) -> GraphQLError:
    if not _is_unexpected(error):
        return error
    return GraphQLError(
        "Unexpected error.",
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
    )


def build_schema(*, production: bool, max_query_cost: int = MAX_QUERY_COST) -> strawberry.Schema:
    limits = Limits(
        production=production,
        budget=CostBudget(max_query_cost, LRUCache(maxsize=CACHE_SIZE)),
        parsed=lru_cache(maxsize=CACHE_SIZE)(parse),
        validated=LRUCache(maxsize=CACHE_SIZE),
    )
    return Schema(
        query=Query,
        mutation=Mutation,
        extensions=[lambda: RequestGuard(limits)],
        execution_context_class=ProductionExecutor if production else InputExecutor,
        scalar_overrides=SCALAR_OVERRIDES,
    )
