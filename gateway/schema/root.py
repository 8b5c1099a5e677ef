"""The schema: per-area Query and Mutation classes merged, with the security extensions."""

from __future__ import annotations

import logging
from collections.abc import Callable

import strawberry
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
    max_aliases,
    query_depth_limiter,
)
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from gateway.schema import access, customers, groups, wallet

MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 5_000
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


def build_schema(*, production: bool) -> strawberry.Schema:
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        lambda: AddValidationRules(LIMIT_RULES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: ParserCache(maxsize=CACHE_SIZE),
        lambda: ValidationCache(maxsize=CACHE_SIZE),
    ]
    if production:
        extensions += [
            DisableIntrospection,
            lambda: MaskErrors(should_mask_error=_is_unexpected),
        ]
    return Schema(query=Query, mutation=Mutation, extensions=extensions)
