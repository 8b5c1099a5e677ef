"""Readers for decoded JSON that name the path of the field they reject.

The adapters' `schemas` modules describe each upstream's bodies with these; a `FieldError`
carries the path ("data[3].reference") and the problem, and `adapters.http` turns it into a
`MalformedResponse` for the upstream it came from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal

_DECIMAL = re.compile(r"-?[0-9]{1,20}(\.[0-9]{1,12})?")
_CURRENCY = re.compile(r"[A-Z]{3}")


class FieldError(Exception):
    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def obj(value: object, path: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise FieldError(path, "expected an object")
    return value


def field(parent: Mapping[str, object], key: str, path: str) -> tuple[object, str]:
    """The value at `key` and its path; a missing key is an error (null is a value)."""
    at = f"{path}.{key}" if path else key
    if key not in parent:
        raise FieldError(at, "missing")
    return parent[key], at


def items(value: object, path: str) -> list[tuple[object, str]]:
    if not isinstance(value, list):
        raise FieldError(path, "expected a list")
    return [(item, f"{path}[{index}]") for index, item in enumerate(value)]


def text(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise FieldError(path, "expected a string")
    return value


def optional_text(value: object, path: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise FieldError(path, "expected a string or null")
    return value


def identifier(value: object, path: str) -> str:
    """Ids are integers or strings upstream; they are strings here."""
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        raise FieldError(path, "expected an id (an integer or a non-empty string)")
    return str(value)


def integer(value: object, path: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(path, "expected an integer")
    if value < minimum:
        raise FieldError(path, f"expected an integer of at least {minimum}")
    return value


def number(value: object, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldError(path, "expected a number")
    return float(value)


def boolean(value: object, path: str) -> bool:
    if not isinstance(value, bool):
        raise FieldError(path, "expected true or false")
    return value


def decimal(value: object, path: str) -> Decimal:
    """A plain decimal string ("12.50"): no exponent, no number, no spaces."""
    if not isinstance(value, str) or not _DECIMAL.fullmatch(value):
        raise FieldError(path, 'expected a decimal string such as "12.50"')
    return Decimal(value)


def optional_decimal(value: object, path: str) -> Decimal | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _DECIMAL.fullmatch(value):
        raise FieldError(path, 'expected a decimal string such as "12.50" or null')
    return Decimal(value)


def currency(value: object, path: str) -> str:
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise FieldError(path, 'expected a currency code such as "PLN"')
    return value


def choice(value: object, path: str, allowed: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise FieldError(path, f"expected one of {', '.join(allowed)}")
    return value
