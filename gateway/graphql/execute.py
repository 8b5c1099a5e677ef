"""Execution: a request parsed, checked, costed and run straight through graphql-core.

The schema's types and resolvers live in `gateway.schema`; `gateway.schema.root` merges them and
builds the schema with `engine_schema`, which runs every request through `Schema.execute` below.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from contextlib import nullcontext
from dataclasses import dataclass
from functools import cached_property, lru_cache
from inspect import isawaitable
from typing import Any

import strawberry
from cachetools import LRUCache
from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    execute,
    parse,
    print_schema,
    specified_rules,
    validate,
)
from graphql import (
    ExecutionResult as GraphQLExecutionResult,
)
from graphql.validation import NoSchemaIntrospectionCustomRule, ValuesOfCorrectTypeRule
from strawberry.exceptions import MissingQueryError
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.scalar import ScalarDefinition
from strawberry.utils.operation import get_operation_type

from gateway.graphql.cost import CostBudget
from gateway.graphql.inputs import InputExecutor, LiteralValuesRule, ProductionExecutor
from gateway.graphql.limits import alias_limit, depth_limit
from gateway.graphql.plan import Plan, UnplannableError
from gateway.graphql.plan_compile import compile_plan
from models.db import database_unreachable
from models.replica import replica_reads

MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 5_000
MAX_QUERY_COST = 20_000
CACHE_SIZE = 512


def _is_unexpected(error: GraphQLError) -> bool:
    """Mask errors raised by code, except the GraphQL errors we raise on purpose."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


class UnexpectedError(GraphQLError):
    """An unexpected failure as production shows it, without the code's message."""


def is_unexpected(error: GraphQLError) -> bool:
    """Whether `error` is a failure of the code (masked or not), not an expected refusal."""
    return isinstance(error, UnexpectedError) or _is_unexpected(error)


def _is_bug(error: GraphQLError) -> bool:
    """An unexpected error worth its traceback in the log: not an unreachable database, which
    the endpoint answers with 503 and logs in one line."""
    original = error.original_error
    return _is_unexpected(error) and not (original and database_unreachable(original))


log = logging.getLogger("gocrm.graphql")


# The rule classes are built once: the validation cache keys on them, so rules made afresh for
# every request would never hit the cache. They measure each fragment once (see `limits`).
LIMIT_RULES: list[type[ASTValidationRule]] = [depth_limit(MAX_DEPTH), alias_limit(MAX_ALIASES)]


# In production: no introspection.
PRODUCTION_RULES: tuple[type[ASTValidationRule], ...] = (NoSchemaIntrospectionCustomRule,)

# Strawberry's own rules, which its validation step adds to the ones in the execution context.
STRAWBERRY_RULES: tuple[type[ASTValidationRule], ...] = (
    MaybeNullValidationRule,
    OneOfInputValidationRule,
)


# Documents `Schema.prepare` has checked, by the schema's shape (its printed SDL's hash), the
# rules and the text: a process that builds its gateway more than once (the tests build one for
# each test) parses and validates each trusted document once for each shape of schema.
_Checked = tuple[DocumentNode, list[GraphQLError]]
_PREPARED: LRUCache[tuple[str, tuple[type[ASTValidationRule], ...], str], _Checked] = LRUCache(
    maxsize=10_000
)


@dataclass(frozen=True)
class Limits:
    """What the guard enforces and remembers, built once per schema."""

    production: bool
    budget: CostBudget
    parsed: Callable[..., DocumentNode]
    validated: MutableMapping[str, list[GraphQLError]]


class Schema(strawberry.Schema):
    """Runs a request with every check it must pass, straight through graphql-core.

    Strawberry's own `execute` wraps every step of every request in extension context
    managers; the checks below are the only ones this gateway runs, so they run as plain code:

    - trusted documents (`prepare`): parsed and validated at start-up (once a process for each
      shape of schema), and never evicted;
    - parsing: at most `MAX_TOKENS` tokens, documents cached by their text;
    - the operation type: mutations only where the transport allows them;
    - validation: cached by query text (a document hashes and compares as a deep tree of
      frozen dataclasses, which costs more than the lookup saves), with the depth and alias
      limits, literal errors that name their field, and in production no introspection and no
      "Did you mean …?" suggestions, which would reveal the schema;
    - execution: refused when the query costs more than the budget; a document with a compiled
      plan (`gateway.graphql.plan`: the till's) runs by it, any other through graphql-core;
    - unexpected errors logged with their traceback and, in production, masked in the result.
    """

    def __init__(self, *, limits: Limits, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.limits = limits
        self.prepared: dict[str, DocumentNode] = {}
        # The compiled plans of the hot trusted documents (`plan`), and why a document has none.
        self.plans: dict[str, Plan] = {}
        self.unplanned: dict[str, str] = {}
        extra = PRODUCTION_RULES if limits.production else ()
        self.rules = tuple(
            LiteralValuesRule if rule is ValuesOfCorrectTypeRule else rule
            for rule in (*specified_rules, *LIMIT_RULES, *STRAWBERRY_RULES, *extra)
        )

    def prepare(
        self, queries: Iterable[str], *, planned: Iterable[str] = ()
    ) -> dict[str, list[GraphQLError]]:
        """Parse and validate documents once (the trusted ones, at start-up): each valid one
        runs without either step again, and those among `planned` by their compiled plan
        (`gateway.graphql.plan`). Returns the errors of those that are not valid."""
        shape = self.shape
        refused: dict[str, list[GraphQLError]] = {}
        for query in queries:
            key = (shape, self.rules, query)
            checked = _PREPARED.get(key)
            if checked is None:
                try:
                    document = parse(query)
                except GraphQLError as error:
                    refused[query] = [error]
                    continue
                checked = _PREPARED[key] = (document, validate(self._schema, document, self.rules))
            if checked[1]:
                refused[query] = checked[1]
            else:
                self.prepared[query] = checked[0]
        for query in planned:
            if (ready := self.prepared.get(query)) is not None:
                try:
                    self.plans[query] = compile_plan(self._schema, ready)
                except UnplannableError as reason:
                    self.unplanned[query] = str(reason)
        return refused

    @cached_property
    def shape(self) -> str:
        """The hash of the printed schema: what `_PREPARED` keys on, printed once per schema."""
        return hashlib.sha256(print_schema(self._schema).encode()).hexdigest()

    def _validated(self, query: str, document: DocumentNode) -> list[GraphQLError]:
        """The validation errors of a document that is not trusted, cached by its text."""
        limits = self.limits
        errors = limits.validated.get(query)
        if errors is None:
            hide = limits.production
            errors = validate(self._schema, document, self.rules, hide_suggestions=hide)
            limits.validated[query] = errors
        return errors

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
        *,
        replica: bool = False,
    ) -> ExecutionResult:
        """Run a request; with `replica`, a query's reads may come from the database's replica
        (`models.replica`: the back office's), never a mutation's."""
        if not query:
            raise MissingQueryError
        limits = self.limits
        document = self.prepared.get(query)
        trusted = document is not None
        if document is None:
            try:
                document = limits.parsed(query, max_tokens=MAX_TOKENS)
            except GraphQLError as syntax_error:
                return ExecutionResult(data=None, errors=[syntax_error])
        try:
            operation_type = get_operation_type(document, operation_name)
        except RuntimeError as error:
            raise CannotGetOperationTypeError(operation_name) from error
        if allowed_operation_types is not None and operation_type not in allowed_operation_types:
            raise InvalidOperationTypeError(operation_type)
        if not trusted and (invalid := self._validated(query, document)):
            return ExecutionResult(data=None, errors=list(invalid))
        refusal = limits.budget.refusal(
            self._schema, document, query, variable_values, operation_name
        )
        if refusal is not None:
            return ExecutionResult(data=None, errors=[refusal])
        reads = (
            replica_reads() if replica and operation_type is OperationType.QUERY else nullcontext()
        )
        with reads:
            plan = self.plans.get(query) if trusted else None
            if plan is not None and operation_name in (None, plan.name):
                planned = await plan.run(
                    self._schema,
                    variable_values,
                    context_value,
                    root_value,
                    hide_suggestions=limits.production,
                )
                if planned is not None:
                    return self._reported(planned)
            result = await self._executed(
                document, variable_values, context_value, root_value, operation_name
            )
        return self._reported(result)

    async def _executed(
        self,
        document: DocumentNode,
        variable_values: dict[str, Any] | None,
        context_value: Any | None,
        root_value: Any | None,
        operation_name: str | None,
    ) -> GraphQLExecutionResult:
        """The document run by graphql-core's executor."""
        result = execute(
            self._schema,
            document,
            root_value=root_value,
            context_value=context_value,
            variable_values=variable_values,
            operation_name=operation_name,
            executor_class=self.execution_context_class,
            is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
        )
        return await result if isawaitable(result) else result

    def _reported(self, result: GraphQLExecutionResult) -> ExecutionResult:
        """The result, its unexpected errors logged with their traceback and, in production,
        masked."""
        errors = result.errors
        if errors:
            for failure in errors:
                if _is_bug(failure):
                    log.error(
                        "unexpected error: %s", failure.message, exc_info=failure.original_error
                    )
            if self.limits.production:
                errors = [_masked(failure) for failure in errors]
        return ExecutionResult(data=result.data, errors=errors, extensions=result.extensions)


def _masked(error: GraphQLError) -> GraphQLError:
    if not _is_unexpected(error):
        return error
    return UnexpectedError(
        "Unexpected error.",
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        # Kept for the endpoint (an unreachable database is a 503), never shown to clients.
        original_error=error.original_error,
    )


def engine_schema(
    *,
    query: type,
    mutation: type,
    production: bool,
    max_query_cost: int = MAX_QUERY_COST,
    scalar_overrides: Mapping[object, ScalarDefinition] | None = None,
) -> Schema:
    """The schema of `query` and `mutation`, run by this engine with its caches and limits."""
    limits = Limits(
        production=production,
        budget=CostBudget(max_query_cost, LRUCache(maxsize=CACHE_SIZE)),
        parsed=lru_cache(maxsize=CACHE_SIZE)(parse),
        validated=LRUCache(maxsize=CACHE_SIZE),
    )
    return Schema(
        limits=limits,
        query=query,
        mutation=mutation,
        execution_context_class=ProductionExecutor if production else InputExecutor,
        scalar_overrides=dict(scalar_overrides or {}),
    )
