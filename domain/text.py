"""Free text from clients: names, descriptions, notes, search strings.

Text is trimmed, bounded in length and free of control characters. "Control" means every
character of Unicode category Cc (NUL, ESC, DEL, C1 controls) and the invisible formatting
characters that can make a name display as something it is not: the bidirectional overrides
and isolates (U+202A–U+202E, U+2066–U+2069) and the zero-width and BOM characters. Line breaks
and tabs are allowed only where a text is multi-line (notes, descriptions).
"""

from __future__ import annotations

import unicodedata

from domain.messages import Message, msg

_FORMATTING = frozenset(
    "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
)
_MULTILINE_ALLOWED = frozenset("\n\r\t")


def control_character(value: str, *, multiline: bool = False) -> str | None:
    """The first forbidden character in `value` as `U+XXXX`, or None when there is none."""
    for char in value:
        if char in _FORMATTING or (
            unicodedata.category(char) == "Cc" and not (multiline and char in _MULTILINE_ALLOWED)
        ):
            return f"U+{ord(char):04X}"
    return None


def text_problem(value: str, max_length: int, *, multiline: bool = False) -> Message | None:
    """Why a trimmed text is unacceptable, or None when it is fine."""
    if len(value) > max_length:
        return msg("text.too_long", count=max_length)
    if found := control_character(value, multiline=multiline):
        return msg("text.control_character", character=found)
    return None
