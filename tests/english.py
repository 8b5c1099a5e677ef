"""The English text of messages, for tests that assert what an English reader sees."""

from __future__ import annotations

from collections.abc import Iterable
from string import Formatter
from typing import Any

from domain.messages import Message
from services.i18n import catalog, render


def en(message: Message | None) -> str | None:
    return None if message is None else render(message, "en")


def texts(messages: Iterable[Message]) -> tuple[str, ...]:
    return tuple(render(m, "en") for m in messages)


def text_of(language: str, message_id: str, params: list[dict[str, str]]) -> str:
    """The text the catalog of `language` makes of a message id and its rendered parameters,
    as a client would render it from `messageId` and `params`."""
    values = {p["name"]: p["value"] for p in params}
    count = int(values["count"]) if values.get("count", "").isdigit() else None
    template = catalog(language).text(message_id, count)
    assert template is not None, message_id
    return "".join(
        literal + (values[field] if field is not None else "")
        for literal, field, _, _ in Formatter().parse(template)
    )


def checked(error: dict[str, Any]) -> dict[str, Any]:
    """A GraphQL error's extensions without `messageId` and `params`, once its English message
    is checked to be what the catalog makes of them."""
    extensions = dict(error["extensions"])
    if "messageId" not in extensions:  # a scalar's or the engine's refusal has no message id
        return extensions
    message_id, params = extensions.pop("messageId"), extensions.pop("params")
    assert error["message"] == text_of("en", message_id, params)
    return extensions
