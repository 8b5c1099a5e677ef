"""Opaque cursors for stable keyset pagination."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from datetime import datetime
from enum import Enum
from typing import TypeAlias, TypeVar
from uuid import UUID

from domain.entities import Page
from domain.errors import ErrorCode, Validator
from domain.ids import parse_id
from domain.messages import Message, msg

T = TypeVar("T")

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


def newest_first_key(created_at: datetime, item_id: UUID) -> str:
    """What a cursor of a newest-first list holds: the item's creation time and id."""
    return f"{created_at.isoformat()}|{item_id}"


def parse_newest_first_key(cursor: str) -> tuple[datetime, UUID] | None:
    """The (created_at, id) key inside a cursor of a newest-first list, or None when the
    cursor is not one."""
    key = decode_cursor(cursor)
    created, _, raw_id = (key or "").partition("|")
    uid = parse_id(raw_id)
    try:
        created_at = datetime.fromisoformat(created)
    except ValueError:
        return None
    return (created_at, uid) if uid is not None and created_at.tzinfo is not None else None


class CustomerOrder(Enum):
    """The orders of the customer list; ties are broken by id, in the same direction."""

    NAME_ASC = "NAME_ASC"
    NAME_DESC = "NAME_DESC"
    BALANCE_ASC = "BALANCE_ASC"
    BALANCE_DESC = "BALANCE_DESC"
    CREATED_ASC = "CREATED_ASC"
    CREATED_DESC = "CREATED_DESC"

    @property
    def sort(self) -> str:
        """What the list is sorted on: NAME (the name key), BALANCE or CREATED."""
        return self.value.rsplit("_", 1)[0]

    @property
    def descending(self) -> bool:
        return self.value.endswith("_DESC")


_MAX_KEY_LENGTH = 1000  # a name key is two names of at most 100 characters, folded
_BIGINT = 2**63

SortValue: TypeAlias = str | int | datetime
"""A customer's place in an order: its name key, balance or creation time."""


def customer_key(order: CustomerOrder, value: SortValue, customer_id: UUID) -> str:
    """What a cursor of the customer list holds: the order, the customer's value in it and
    its id."""
    shown = value.isoformat() if isinstance(value, datetime) else str(value)
    return f"{order.sort}|{shown}|{customer_id}"


def parse_customer_key(order: CustomerOrder, key: str) -> tuple[SortValue, UUID] | None:
    """The (value, id) inside the key of a cursor of the list in `order`, or None when the
    key is not one (another order's cursor is not one)."""
    sort, _, rest = key.partition("|")
    shown, _, raw_id = rest.rpartition("|")
    uid = parse_id(raw_id)
    if sort != order.sort or uid is None or "|" not in rest or len(shown) > _MAX_KEY_LENGTH:
        return None
    value: SortValue
    try:
        if sort == "BALANCE":
            value = int(shown)
            if not -_BIGINT <= value < _BIGINT:
                return None
        elif sort == "CREATED":
            value = datetime.fromisoformat(shown)
            if value.tzinfo is None:
                return None
        else:
            value = shown
    except ValueError:
        return None
    return value, uid


def page_of(fetched: Sequence[T], first: int, total: int, key: Callable[[T], object]) -> Page[T]:
    """A page from the first `first + 1` items of a list: the extra one only tells that there
    is a next page. `key` gives what an item's cursor holds."""
    items = tuple(fetched[:first])
    return Page(
        items=items,
        cursors=tuple(encode_cursor(str(key(item))) for item in items),
        has_next_page=len(fetched) > first,
        total_count=total,
    )


def page_size_problem(first: int) -> Message | None:
    if first < 0:
        return msg("page.size_negative")
    if first > MAX_PAGE_SIZE:
        return msg("page.size_too_large", maximum=MAX_PAGE_SIZE)
    return None


def items_after(
    items: Sequence[T], first: int, after: str | None, key: Callable[[T], str]
) -> tuple[T, ...]:
    """Up to `first` items of a list held whole (a location's mirror), those after the item
    whose `key` is `after` when it is given. Raises `DomainError` on `first` or `after`."""
    checks = Validator()
    if problem := page_size_problem(first):
        checks.add(ErrorCode.INVALID, "first", problem)
    start = 0
    if after is not None:
        keys = [key(item) for item in items]
        if after in keys:
            start = keys.index(after) + 1
        else:
            checks.add(ErrorCode.INVALID, "after", msg("page.unknown_external_id"))
    checks.check()
    return tuple(items[start : start + first])
