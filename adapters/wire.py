"""Readers for decoded JSON that name the path of the field they reject.

The adapters' `schemas` modules describe each upstream's bodies with these; a `FieldError`
carries the path ("data[3].reference"), the problem, and the object it belongs to when known
(`about`: "group 17"), and `adapters.http` turns it into a `MalformedResponse` for the upstream
it came from.

Text is read as it will be stored: at most `max_length` characters, with no control character
(`domain.text`: NUL, ESC, line breaks, the invisible formatting characters) and no unpaired
surrogate, which no database column can hold. A problem names the character (`U+0000`), never
the text.

Pages are first decoded straight into typed records (`typed`, msgspec structs that each
`schemas` module declares beside its readers); a body the typed decoder does not accept, or
accepts with a value these readers would look at more closely, raises `Unchecked`, and the
body is then read again as generic JSON by the readers below, which accept it or name what is
wrong exactly as they always have. The typed path accepts nothing that the readers refuse and
builds the same records; it only spares the common, well-formed page the generic step.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Annotated, TypeVar

import msgspec

from domain.text import control_character

_DECIMAL = re.compile(r"-?[0-9]{1,20}(\.[0-9]{1,12})?")
_CURRENCY = re.compile(r"[A-Z]{3}")

T = TypeVar("T")
R = TypeVar("R")

# The typed decoder's versions of the checks below. msgspec searches a pattern (`re.search`):
# anchored at both ends with \A and \Z, since `$` would also match before a final line break.
DecimalText = Annotated[str, msgspec.Meta(pattern=r"\A" + _DECIMAL.pattern + r"\Z")]
CurrencyText = Annotated[str, msgspec.Meta(pattern=r"\A" + _CURRENCY.pattern + r"\Z")]
Id = Annotated[str, msgspec.Meta(min_length=1)] | int


class FieldError(Exception):
    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem
        self.subject: str | None = None  # the object the field belongs to ("group 17")


class Unchecked(Exception):  # noqa: N818 - a signal to read the body the generic way
    """The typed decoder leaves this body to the generic readers (see the module)."""


def typed(kind: type[T], build: Callable[[T], R]) -> Callable[[bytes], R]:
    """A decoder of a raw body into `kind` (a msgspec struct), then through `build` into the
    records the adapter hands up; any refusal on the way is `Unchecked`."""
    decoder = msgspec.json.Decoder(kind)

    def decode(body: bytes) -> R:
        try:
            return build(decoder.decode(body))
        except (msgspec.MsgspecError, RecursionError):  # too deep a nesting: JSON's to tell
            raise Unchecked from None

    return decode


def plain(value: str, max_length: int) -> str:
    """`value` when the generic reader would keep it as it is: short enough and printable
    (the rare text that is not printable, a no-break space say, is left to `_storable`)."""
    if len(value) > max_length or not value.isprintable():
        raise Unchecked
    return value


def plain_id(value: int | str, max_length: int) -> str:
    """An id as `identifier` reads it, when it would keep it as it is."""
    return plain(value if isinstance(value, str) else str(value), max_length)


@contextmanager
def about(subject: str) -> Iterator[None]:
    """A `FieldError` raised inside belongs to `subject` (the innermost one names it)."""
    try:
        yield
    except FieldError as error:
        if error.subject is None:
            error.subject = subject
        raise


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


def _storable(value: str, path: str, max_length: int) -> str:
    if len(value) > max_length:
        raise FieldError(path, f"expected at most {max_length} characters, not {len(value)}")
    if not value.isprintable():  # fast: printable text holds none of what is looked for below
        if found := control_character(value):
            raise FieldError(path, f"expected text without control characters, found {found}")
        for char in value:
            if "\ud800" <= char <= "\udfff":
                found = f"U+{ord(char):04X}"
                raise FieldError(path, f"expected text without unpaired surrogates, found {found}")
    return value


def text(value: object, path: str, *, max_length: int) -> str:
    if not isinstance(value, str):
        raise FieldError(path, "expected a string")
    return _storable(value, path, max_length)


def optional_text(value: object, path: str, *, max_length: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise FieldError(path, "expected a string or null")
    return _storable(value, path, max_length)


def identifier(value: object, path: str, *, max_length: int) -> str:
    """Ids are integers or strings upstream; they are strings here."""
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        raise FieldError(path, "expected an id (an integer or a non-empty string)")
    return _storable(str(value), path, max_length)


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
