"""One wrapper for every mutation: the role check and the error payload.

    @mutation(CustomerPayload)
    async def create_customer(self, info: Info, input: CustomerInput) -> CustomerPayload:
        ...  # runs only for a key of the role; a DomainError becomes the payload's errors

Every mutation answers its payload type, with `errors` set when the caller may not run it or a
rule refused the input (nothing is applied then). This is also the one place where every
mutation's outcome can be observed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import strawberry

from domain.access import Role
from domain.errors import DomainError, ErrorCode, fail
from gateway.context import Info
from gateway.schema.common import user_errors

P = ParamSpec("P")
R = TypeVar("R")

FORBIDDEN_MESSAGE = "This API key's role may not do this."


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
                return payload(errors=user_errors(error))

        return strawberry.mutation(guarded)

    return decorate
