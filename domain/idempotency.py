"""Idempotency keys: the one rule every keyed write parses its key by.

A key is what the client sent, trimmed of surrounding whitespace. It must say something, hold
at most `MAX_IDEMPOTENCY_KEY_LENGTH` characters and no control or invisible formatting
character (`domain.text`): no newline, ESC or zero-width space, so that a key reads the same in
a log line, a support ticket and the database. The trimmed key is the one stored and matched.
"""

from __future__ import annotations

from domain.errors import ErrorCode, UserError
from domain.messages import Message, msg
from domain.text import text_problem

MAX_IDEMPOTENCY_KEY_LENGTH = 128


def parse_idempotency_key(raw: str, field: str, errors: list[UserError]) -> str:
    """The key as stored: `raw` trimmed. What is wrong with it joins `errors` at `field`."""
    key = raw.strip()
    if not key:
        problem: Message | None = msg("idempotency.key_empty")
    else:
        problem = text_problem(key, MAX_IDEMPOTENCY_KEY_LENGTH)
    if problem:
        errors.append(UserError(ErrorCode.INVALID, field, problem))
    return key
