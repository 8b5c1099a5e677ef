"""Two wrappers, one for mutations and one for query fields: the role check and the errors.

    @mutation(CustomerPayload)
    async def create_customer(self, info: Info, input: CustomerInput) -> CustomerPayload:
        ...  # runs only for a key of the role; a DomainError becomes the payload's errors

    @query(admin=True)
    async def customers(self, info: Info, first: int | None = 50) -> CustomerConnection:
        ...  # runs only for an ADMIN key; a DomainError becomes a GraphQL error

Every mutation answers its payload type, with `errors` set when the caller may not run it or a
rule refused the input (nothing is applied then). A query field (of `Query` or of any type a
query reaches) answers a GraphQL error at its path instead: FORBIDDEN for a key of the wrong
role, and the user error's code and field for a rule's refusal. These are the one place where
every operation's refusals are decided.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import strawberry

from domain.access import Role
from domain.errors import DomainError, ErrorCode, UserError, fail
from domain.messages import msg
from gateway.context import Info
from gateway.schema.common import expected_failure, invalid, user_errors

P = ParamSpec("P")
R = TypeVar("R")

FORBIDDEN_MESSAGE = msg("access.forbidden")
FORBIDDEN_QUERY_MESSAGE = msg("access.forbidden_query")


def mutation(
    payload: Callable[..., R], *, role: Role = Role.ADMIN
) -> Callable[[Callable[P, Awaitable[R]]], Any]:
    """A Strawberry mutation that only keys of `role` (ADMIN by default) may run, answering
    `payload(errors=…)` for a refusal or any `DomainError` the resolver raises. An ADMIN key
    may do whatever a POS key may: `role=Role.POS` admits both."""

    def decorate(resolver: Callable[P, Awaitable[R]]) -> Any:
        @wraps(resolver)
        async def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            info: Info = kwargs["info"]  # type: ignore[assignment]
            try:
                if role is Role.ADMIN and not info.context.principal.is_admin:
                    raise fail(ErrorCode.FORBIDDEN, None, FORBIDDEN_MESSAGE)
                return await resolver(*args, **kwargs)
            except DomainError as error:
                return payload(errors=user_errors(error, info.context.principal.language))

        return strawberry.mutation(guarded)

    return decorate


def query(
    *,
    admin: bool = False,
    payload: Callable[..., Any] | None = None,
    description: str | None = None,
) -> Callable[[Callable[P, Any]], Any]:
    """A Strawberry field that, with `admin`, only ADMIN keys may resolve (the resolver takes
    `info`); any other key gets FORBIDDEN at the field's path. A `DomainError` the resolver
    raises becomes a GraphQL error with the user error's code and field (`common.invalid`), or,
    with `payload`, `payload(errors=…)`. A plain function stays plain: graphql-core resolves it
    without awaiting anything."""

    def check(kwargs: dict[str, Any]) -> None:
        if admin:
            info: Info = kwargs["info"]
            if not info.context.principal.is_admin:
                forbidden = UserError(ErrorCode.FORBIDDEN, None, FORBIDDEN_QUERY_MESSAGE)
                raise expected_failure(forbidden, info.context.principal.language)

    def refused(error: DomainError, kwargs: dict[str, Any]) -> Any:
        info: Info = kwargs["info"]
        if payload is None:
            raise invalid(error, info.context.principal.language) from error
        return payload(errors=user_errors(error, info.context.principal.language))

    def decorate(resolver: Callable[P, Any]) -> Any:
        if inspect.iscoroutinefunction(resolver):

            @wraps(resolver)
            async def guarded_async(*args: P.args, **kwargs: P.kwargs) -> Any:
                check(kwargs)
                try:
                    return await resolver(*args, **kwargs)
                except DomainError as error:
                    return refused(error, kwargs)

            return strawberry.field(guarded_async, description=description)

        @wraps(resolver)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> Any:
            check(kwargs)
            try:
                return resolver(*args, **kwargs)
            except DomainError as error:
                return refused(error, kwargs)

        return strawberry.field(guarded, description=description)

    return decorate
