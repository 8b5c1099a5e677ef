"""Types every area shares: money, user errors and messages, paging, delete payloads."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import strawberry
from graphql import GraphQLError

from domain import errors
from domain.access import Principal
from domain.entities import Page
from domain.ledger import system_description
from domain.messages import Message as DomainMessage
from domain.messages import decode, msg
from domain.money import to_decimal
from services.i18n import render, rendered_params

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
class MessageParam:
    name: str
    value: str


def message_params(message: DomainMessage, language: str) -> list[MessageParam]:
    return [MessageParam(name=n, value=v) for n, v in rendered_params(message, language)]


@strawberry.type(description="A message with its stable id; `text` in the request's language.")
class Message:
    message_id: str
    text: str
    params: list[MessageParam]

    @classmethod
    def of(cls, message: DomainMessage, language: str) -> Message:
        return cls(
            message_id=message.id,
            text=render(message, language),
            params=message_params(message, language),
        )


@strawberry.type
class UserError:
    code: errors.ErrorCode
    field: str | None
    message: str = strawberry.field(description="Rendered in the request's language.")
    message_id: str = strawberry.field(
        description='The stable id of the message, e.g. "group.reference_taken".'
    )
    params: list[MessageParam] = strawberry.field(
        description="The named values the message was rendered from."
    )


def stored_message(stored: str | None, language: str) -> Message | None:
    """A message stored as `domain.messages.encode` wrote it (a job's error), rendered."""
    return None if stored is None else Message.of(decode(stored), language)


def entry_description(kind: str, description: str | None, language: str) -> str | None:
    """A wallet entry's description: a system text's code rendered, a person's text as typed."""
    message_id = system_description(kind, description)
    return description if message_id is None else render(msg(message_id), language)


def user_errors(error: errors.DomainError, language: str) -> list[UserError]:
    return [
        UserError(
            code=e.code,
            field=e.field,
            message=render(e.message, language),
            message_id=e.message.id,
            params=message_params(e.message, language),
        )
        for e in error.errors
    ]


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


def invalid(error: errors.DomainError, language: str) -> GraphQLError:
    """A query argument the services refused, as a GraphQL error with the user error's code,
    field, message id and parameters."""
    return expected_failure(error.errors[0], language)


def expected_failure(error: errors.UserError, language: str, **extensions: Any) -> GraphQLError:
    params = rendered_params(error.message, language)
    return GraphQLError(
        render(error.message, language),
        extensions={
            "code": error.code.value,
            "field": error.field,
            "messageId": error.message.id,
            "params": [{"name": n, "value": v} for n, v in params],
            **extensions,
        },
    )
