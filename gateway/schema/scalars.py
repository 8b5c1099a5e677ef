"""The schema's own scalar: Decimal, written as a string of digits.

A scalar refuses only what is not of its syntax; sign, decimals and range are domain rules,
reported as user errors in the payload. What it refuses answers `extensions {code: INVALID}`,
to which the engine (`gateway.graphql.inputs`) adds the field path.
"""

from __future__ import annotations

import re
from decimal import Decimal

from graphql import GraphQLError
from strawberry.types.scalar import ScalarDefinition, scalar

from domain.errors import ErrorCode

DECIMAL_SYNTAX = re.compile(r"-?[0-9]+(\.[0-9]+)?")
MAX_DECIMAL_LENGTH = 40
NOT_A_NUMBER = frozenset({"nan", "snan", "inf", "infinity"})


def invalid_input(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": ErrorCode.INVALID.value})


def parse_decimal(value: object) -> Decimal:
    """A JSON string of ASCII digits with an optional `-` and fraction: "12", "-3.50"."""
    if not isinstance(value, str):
        raise invalid_input('A Decimal is written as a string, such as "12.50".')
    if len(value) > MAX_DECIMAL_LENGTH:
        raise invalid_input(f"A Decimal has at most {MAX_DECIMAL_LENGTH} characters.")
    if value.strip().lstrip("+-").lower() in NOT_A_NUMBER:
        raise invalid_input(f'"{value}" is not a number.')
    if not DECIMAL_SYNTAX.fullmatch(value):
        raise invalid_input(
            'A Decimal is digits with an optional leading "-" and decimal point, such as "12.50".'
        )
    return Decimal(value)


DECIMAL: ScalarDefinition = scalar(
    name="Decimal",
    description="Decimal (fixed-point)",
    serialize=str,
    parse_value=parse_decimal,
)

SCALAR_OVERRIDES: dict[object, ScalarDefinition] = {Decimal: DECIMAL}
