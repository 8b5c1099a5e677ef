"""The schema: per-area Query and Mutation classes merged, with the security extensions."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from functools import lru_cache

import strawberry
from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, validate
from graphql.validation import ValuesOfCorrectTypeRule
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    max_aliases,
    query_depth_limiter,
)
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from gateway.schema import access, customers, groups, wallet
from gateway.schema.cost import QueryCostLimiter
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


# Strawberry's own rules, which its validation step adds to the ones in the execution context.
STRAWBERRY_RULES: tuple[type[ASTValidationRule], ...] = (
    MaybeNullValidationRule,
    OneOfInputValidationRule,
)


@lru_cache(maxsize=CACHE_SIZE)
def _validate(
    schema: GraphQLSchema,
    document: DocumentNode,
    rules: tuple[type[ASTValidationRule], ...],
    hide_suggestions: bool,
) -> list[GraphQLError]:
    return validate(schema, document, rules, hide_suggestions=hide_suggestions)


class Validation(SchemaExtension):
    """Validation with a bounded cache, literal errors that name their field, and (in
    production) no "Did you mean …?" suggestions, which would reveal the schema."""

    def __init__(self, *, hide_suggestions: bool) -> None:
        super().__init__()
        self.hide_suggestions = hide_suggestions

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None
        rules = tuple(
            LiteralValuesRule if rule is ValuesOfCorrectTypeRule else rule
            for rule in context.validation_rules
        )
        context.pre_execution_errors = list(
            _validate(
                context.schema._schema,
                context.graphql_document,
                rules + STRAWBERRY_RULES,
                self.hide_suggestions,
            )
        )
        yield


def build_schema(*, production: bool, max_query_cost: int = MAX_QUERY_COST) -> strawberry.Schema:
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        lambda: AddValidationRules(LIMIT_RULES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: ParserCache(maxsize=CACHE_SIZE),
        lambda: Validation(hide_suggestions=production),
        lambda: QueryCostLimiter(max_query_cost),
    ]
    if production:
        extensions += [
            DisableIntrospection,
            lambda: MaskErrors(should_mask_error=_is_unexpected),
        ]
    return Schema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        execution_context_class=ProductionExecutor if production else InputExecutor,
        scalar_overrides=SCALAR_OVERRIDES,
    )
