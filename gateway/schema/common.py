"""Types every area shares: money, user errors, paging, delete payloads."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import strawberry
from graphql import GraphQLError

from domain import errors
from domain.access import Principal
from domain.entities import Page
from domain.money import to_decimal

strawberry.enum(errors.ErrorCode, name="ErrorCode")


@strawberry.type
class Money:
    amount: Decimal
    currency: str

    @classmethod
    def of(cls, minor: int, principal: Principal) -> Money:
        """Minor units in the caller's currency, with exactly its decimal places ("50.00")."""
        return cls(amount=to_decimal(minor, principal.minor_units), currency=principal.currency)


@strawberry.type
class UserError:
    code: errors.ErrorCode
    field: str | None
    message: str


def user_errors(error: errors.DomainError) -> list[UserError]:
    return [UserError(code=e.code, field=e.field, message=e.message) for e in error.errors]


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None

    @classmethod
    def of(cls, page: Page[Any]) -> PageInfo:
        return cls(
            has_next_page=page.has_next_page,
            end_cursor=page.cursors[-1] if page.cursors else None,
        )


@strawberry.type
class DeletePayload:
    deleted_id: strawberry.ID | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


def invalid(error: errors.DomainError) -> GraphQLError:
    """A query argument the services refused, as a GraphQL error with the user error's code."""
    first = error.errors[0]
    return GraphQLError(first.message, extensions={"code": first.code.value, "field": first.field})
