"""Keeping secrets and tokens out of what the gateway writes about an upstream's answers.

An upstream may echo what it was sent, in whatever encoding it was sent or re-encoded: the GoPOS
token request carries the client secret form-encoded (`quote_plus`: `SEC%2BRET%2F…`), the
GoOrder API key travels in a header, and an echo may come back JSON-escaped (`\\u00e9`, `\\/`).
`Redactor` matches each hidden value character by character in any of these spellings, mixed
as they come: the character itself, its UTF-8 bytes percent-encoded in either case, `+` for a
space, or its JSON escape. A value is never sent base64-encoded (no Basic auth), so that
spelling is not looked for.

A text is redacted before an excerpt is cut from it: a cut through a secret would leave a part
that no longer matches. `redacted_head` reads only the start of a long text, and leaves out its
last characters that could be such a part.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "[redacted]"

_JSON_SHORT = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n"}
_JSON_SHORT |= {"\r": "\\r", "\t": "\\t"}
# The longest spelling of one character: four UTF-8 bytes percent-encoded, or a JSON surrogate
# pair (12 characters either way).
_WIDEST = 12


def _hex(value: int, digits: int) -> str:
    return "".join(f"[{d}{d.lower()}]" if d.isalpha() else d for d in f"{value:0{digits}X}")


def _json_escape(char: str) -> str:
    code = ord(char)
    if code > 0xFFFF:
        code -= 0x10000
        high, low = 0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF)
        return rf"\\u{_hex(high, 4)}\\u{_hex(low, 4)}"
    return rf"\\u{_hex(code, 4)}"


def _spellings(char: str) -> str:
    """A pattern matching one character of a hidden value in every spelling it may come in."""
    forms = [re.escape(char), "".join(f"%{_hex(byte, 2)}" for byte in char.encode("utf-8"))]
    if char == " ":
        forms.append(r"\+")
    if char in _JSON_SHORT:
        forms.append(re.escape(_JSON_SHORT[char]))
    forms.append(_json_escape(char))
    return f"(?:{'|'.join(forms)})"


class Redactor:
    """The values to keep out of messages, and their removal from a text."""

    __slots__ = ("_pattern", "_reach", "_values")

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._reach = 0  # the longest any hidden value can be, spelled out
        for value in values:
            self.hide(value)

    def __repr__(self) -> str:
        return f"Redactor(<{len(self._values)} hidden>)"

    def hide(self, value: str) -> None:
        if value and value not in self._values:
            self._values.add(value)
            self._reach = max(self._reach, _WIDEST * len(value))
            # The longest first: a value that contains another is replaced whole.
            ordered = sorted(self._values, key=lambda v: (-len(v), v))
            self._pattern = re.compile(
                "|".join("".join(_spellings(char) for char in each) for each in ordered)
            )

    def redact(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(REDACTED, text)

    def redacted_head(self, text: str, size: int) -> str:
        """The start of `text` (at most `size` characters), redacted. When `text` is longer,
        the head's last characters are left out as far as a hidden value could reach: they
        could be the start of one, cut off."""
        if len(text) <= size:
            return self.redact(text)
        head = self.redact(text[:size])
        return head[: max(0, len(head) - self._reach)] if self._pattern is not None else head
