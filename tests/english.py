"""The English text of messages, for tests that assert what an English reader sees."""

from __future__ import annotations

from collections.abc import Iterable

from domain.messages import Message
from services.i18n import render


def en(message: Message | None) -> str | None:
    return None if message is None else render(message, "en")


def texts(messages: Iterable[Message]) -> tuple[str, ...]:
    return tuple(render(m, "en") for m in messages)
