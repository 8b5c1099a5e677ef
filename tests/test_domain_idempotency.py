"""The one idempotency-key rule: trimmed, not empty, at most 128 characters, no control or
invisible formatting character. Pure: no database."""

from __future__ import annotations

import pytest

from domain.errors import ErrorCode, UserError
from domain.idempotency import parse_idempotency_key
from tests.english import en

FIELD = "idempotencyKey"


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("till-1/0042", "till-1/0042"),
        ("  till-1/0042 \t\n", "till-1/0042"),
        ("zwrot paragonu 7", "zwrot paragonu 7"),
        ("ząb-🍕", "ząb-🍕"),
        ("k" * 128, "k" * 128),
        (" " + "k" * 128 + " ", "k" * 128),
    ],
)
def test_a_good_key_is_stored_trimmed(raw: str, stored: str) -> None:
    errors: list[UserError] = []

    assert parse_idempotency_key(raw, FIELD, errors) == stored
    assert errors == []


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "Idempotency key must not be empty."),
        ("   ", "Idempotency key must not be empty."),
        ("\t\n", "Idempotency key must not be empty."),
        ("k" * 129, "At most 128 characters."),
        ("till\n1", "Must not contain control characters (U+000A)."),
        ("till\r1", "Must not contain control characters (U+000D)."),
        ("\x1b[2Jtill", "Must not contain control characters (U+001B)."),
        ("till\x00", "Must not contain control characters (U+0000)."),
        ("till\u200b1", "Must not contain control characters (U+200B)."),
        ("\u200b", "Must not contain control characters (U+200B)."),
        ("till\u202e1", "Must not contain control characters (U+202E)."),
        ("\ufefftill", "Must not contain control characters (U+FEFF)."),
    ],
)
def test_a_bad_key_is_invalid_at_its_field(raw: str, message: str) -> None:
    errors: list[UserError] = []

    parse_idempotency_key(raw, FIELD, errors)

    assert [(e.code, e.field, en(e.message)) for e in errors] == [
        (ErrorCode.INVALID, FIELD, message)
    ]
