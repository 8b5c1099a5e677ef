"""Ids as clients send them: text that may or may not hold a UUID."""

from __future__ import annotations

from uuid import UUID


def parse_id(value: str) -> UUID | None:
    """The UUID in an API id, or None when it is not one (which callers treat as unknown)."""
    try:
        return UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None
