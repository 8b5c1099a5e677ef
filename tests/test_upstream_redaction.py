"""A secret is kept out of messages however an upstream spells it back (`adapters.redaction`)."""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus, urlencode

import pytest

from adapters.redaction import Redactor

SECRET = 'Zq9+SEKRET/ä "x"\\😀'


@pytest.mark.parametrize(
    "spelled",
    [
        SECRET,
        quote(SECRET),
        quote(SECRET, safe=""),
        quote_plus(SECRET),
        urlencode({"client_secret": SECRET}).split("=", 1)[1],  # as the token request sends it
        quote_plus(SECRET).replace("%2B", "%2b").replace("%2F", "%2f"),  # lower-case escapes
        json.dumps(SECRET)[1:-1],
        json.dumps(SECRET, ensure_ascii=False)[1:-1],
        json.dumps(SECRET).replace("/", "\\/")[1:-1],  # as PHP escapes it
        json.dumps(SECRET).replace("\\u00e4", "\\u00E4")[1:-1],
        'Zq9%2BSEKRET\\/\\u00e4+%22x\\"%5C\\ud83d\\ude00',  # mixed, as a re-encoding echo may be
    ],
)
def test_every_spelling_of_a_secret_is_redacted(spelled: str) -> None:
    redactor = Redactor([SECRET])

    text = f"invalid_client: client_secret={spelled}&grant_type=organization"

    assert redactor.redact(text) == (
        "invalid_client: client_secret=[redacted]&grant_type=organization"
    )


def test_a_longer_secret_is_redacted_whole_before_one_it_contains() -> None:
    redactor = Redactor(["abc", "abcdef"])

    assert redactor.redact("abcdef abc ab") == "[redacted] [redacted] ab"


def test_nothing_hidden_changes_nothing() -> None:
    assert Redactor().redact("token=abc") == "token=abc"
    assert Redactor([""]).redact("token=abc") == "token=abc"
    assert repr(Redactor([SECRET])) == "Redactor(<1 hidden>)"


def test_the_head_of_a_long_text_never_ends_in_part_of_a_secret() -> None:
    redactor = Redactor(["s3cret-value"])  # spelled out, it can take up to 12 * 12 characters
    text = "x" * 395 + "s3cret-value" + "y" * 1000

    head = redactor.redacted_head(text, 400)  # the cut falls inside the secret

    assert head == "x" * (400 - 144)
    assert redactor.redacted_head("short s3cret-value", 400) == "short [redacted]"
    long_head = Redactor(["k"]).redacted_head("a" * 50 + "k" + "b" * 100, 100)
    assert long_head == "a" * 50 + "[redacted]" + "b" * (49 - 12)
