"""How a message or a log line quotes what an upstream sent: a short excerpt, redacted, on one
line, with control characters replaced; and the small words of those messages."""

from __future__ import annotations

import httpx

from adapters.redaction import Redactor
from domain.text import control_character

_EXCERPT_CHARS = 200
# How much of a body an excerpt is cut from (a body can be megabytes long).
_EXCERPT_WINDOW = 4096
_REPLACEMENT = "\ufffd"


def quotable(text: str, redactor: Redactor) -> str:
    """The start of a text from an upstream as a message may quote it: redacted, on one line,
    at most `_EXCERPT_CHARS` characters, control characters replaced."""
    flat = " ".join(redactor.redacted_head(text, _EXCERPT_WINDOW).split())
    cut = flat if len(flat) <= _EXCERPT_CHARS else flat[: _EXCERPT_CHARS - 1] + "…"
    return "".join(_REPLACEMENT if control_character(char) else char for char in cut)


def body_excerpt(response: httpx.Response, redactor: Redactor) -> str:
    """All of a body that has been read that a message or a log line may quote."""
    head = response.content[: 4 * _EXCERPT_WINDOW]
    text = head.decode(response.encoding or "utf-8", errors="replace")
    return quotable(text, redactor) or "(empty body)"


def seconds_text(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def attempts_text(count: int) -> str:
    return "1 attempt" if count == 1 else f"{count} attempts"


def error_text(exc: BaseException, redactor: Redactor) -> str:
    """An httpx exception, whose text may hold what the upstream sent, as a message quotes it."""
    detail = quotable(str(exc), redactor)
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
