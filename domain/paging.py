"""Opaque cursors for stable keyset pagination."""

from __future__ import annotations

import base64
import binascii

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(f"k:{key}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str | None:
    """The key inside a cursor, or None when the cursor is not one of ours."""
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        raw = base64.urlsafe_b64decode(padded.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not raw.startswith("k:"):
        return None
    return raw[2:]


def page_size_problem(first: int) -> str | None:
    if first < 0:
        return "Page size must not be negative."
    if first > MAX_PAGE_SIZE:
        return f"Page size must be at most {MAX_PAGE_SIZE}."
    return None
