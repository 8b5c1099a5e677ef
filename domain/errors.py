"""Expected failures, as data.

Services raise `DomainError` carrying one or more `UserError`s; the API renders them as
`{code, field, message, messageId, params}` in a mutation payload. Field paths are the API's input
paths in camelCase (``input.reference``), so a client can put the message next to the right form
field. The message is a `domain.messages.Message` (an id and named parameters): the gateway
renders it in the reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.messages import Message, msg


class ErrorCode(StrEnum):
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    NOT_FOUND = "NOT_FOUND"
    DUPLICATE = "DUPLICATE"
    FORBIDDEN = "FORBIDDEN"
    INSUFFICIENT_CREDITS = "INSUFFICIENT_CREDITS"
    QUOTE_CHANGED = "QUOTE_CHANGED"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    ALREADY_REFUNDED = "ALREADY_REFUNDED"
    NOT_CONFIGURED = "NOT_CONFIGURED"
    CONFLICT = "CONFLICT"
    CARD_NOT_FOUND = "CARD_NOT_FOUND"  # a card code that no customer of the location holds
    CARD_EXPIRED = "CARD_EXPIRED"  # the scanned card's expiry date has passed
    LAST_ADMIN_KEY = "LAST_ADMIN_KEY"  # revoking it would leave the location without one
    STALE_BALANCE = "STALE_BALANCE"  # expectedBalance differs from the balance now
    # This key may run only trusted (persisted) documents (`gateway.graphql.trusted`).
    TRUSTED_DOCUMENT_REQUIRED = "TRUSTED_DOCUMENT_REQUIRED"


@dataclass(frozen=True)
class UserError:
    code: ErrorCode
    field: str | None
    message: Message

    @property
    def message_id(self) -> str:
        return self.message.id

    @property
    def params(self) -> dict[str, str]:
        return self.message.plain()


class DomainError(Exception):
    """One or more expected failures; nothing was changed."""

    def __init__(self, *errors: UserError) -> None:
        if not errors:
            raise ValueError("DomainError needs at least one UserError")
        super().__init__("; ".join(f"{e.field or '-'}: {e.message.id}" for e in errors))
        self.errors: tuple[UserError, ...] = errors


def fail(code: ErrorCode, field: str | None, message: Message) -> DomainError:
    return DomainError(UserError(code, field, message))


def not_found(field: str | None, what: str) -> DomainError:
    """`what` names the thing: "customer", "group", "api_key", ... (message `<what>.not_found`)."""
    return fail(ErrorCode.NOT_FOUND, field, msg(f"{what}.not_found"))


class Validator:
    """Collects every problem with an input before failing, so a form shows them all at once."""

    def __init__(self) -> None:
        self.errors: list[UserError] = []

    def add(self, code: ErrorCode, field: str | None, message: Message) -> None:
        self.errors.append(UserError(code, field, message))

    def check(self) -> None:
        if self.errors:
            raise DomainError(*self.errors)
