"""A request's JSON (a POST body, a GET's `variables`): valid, and fit to go further.

Beyond being valid JSON, it may nest at most `MAX_DEPTH` levels (everything past the decoder
walks values recursively, and a GraphQL request needs a handful of levels), and its strings may
not hold an unpaired surrogate: JSON can escape one half of a pair on its own (`"\\ud800"`),
which decodes to no Unicode text that an answer or the database could encode. Each is looked
for only when the text could hold it: more brackets than the depth allows, or a surrogate
escape. A till's request has neither.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class UnfitJSONError(ValueError):
    """The text is no JSON, or JSON that goes no further; the message says which."""


def loads(text: str | bytes, what: str = "The body") -> Any:
    """The decoded value; `what` names the text in the error."""
    too_deep = UnfitJSONError(f"{what} nests deeper than {MAX_DEPTH} levels.")
    try:
        value = json.loads(text)
    except RecursionError as error:
        raise too_deep from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UnfitJSONError(f"{what} is not valid JSON.") from error
    if isinstance(text, bytes):
        brackets = text.count(b"[") + text.count(b"{")
        escaped = _SURROGATE_ESCAPE_BYTES.search(text) is not None
    else:
        brackets = text.count("[") + text.count("{")
        escaped = _SURROGATE_ESCAPE.search(text) is not None
    if brackets > MAX_DEPTH and _deeper_than(value, MAX_DEPTH):
        raise too_deep
    if escaped and _holds_surrogate(value):
        raise UnfitJSONError(
            f"{what} holds an unpaired surrogate (\\uD800 to \\uDFFF), which is not text."
        )
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    """Level by level, containers only: a 250-line bill costs a few dozen microseconds."""
    level = [value] if type(value) is dict or type(value) is list else []
    depth = 1
    while level:
        if depth > limit:
            return True
        level = [
            child
            for item in level
            for child in (item.values() if type(item) is dict else item)
            if type(child) is dict or type(child) is list
        ]
        depth += 1
    return False


def _holds_surrogate(value: Any) -> bool:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            pending += item
            pending += item.values()
        elif isinstance(item, list):
            pending += item
    return False
