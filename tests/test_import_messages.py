"""`importCustomers`' per-row problems in the reader's language: each a message id with its
params, the text from the catalog of the request's language (Accept-Language)."""

from __future__ import annotations

from dataclasses import replace
from string import Formatter
from typing import Any

from domain.messages import msg
from services.i18n import catalog
from services.import_problems import ImportProblem, problem_params, problem_text
from tests.helpers import Api, create_group

IMPORT_FULL = """
mutation($input: ImportCustomersInput!) {
  importCustomers(input: $input) {
    result { rows skipped problems { line message messageId params { name value } } }
    errors { code field message }
  }
}"""

BAD_ROWS = (
    "card_code;first_name;email;phone;groups\r\n"
    "K#5;Ala;;;\r\n"  # line 2: a bad card code
    ";Ola;;;\r\n"  # line 3: no card code
    "P-1;Ewa;zly@;;\r\n"  # line 4: a bad email
    "P-2;Iza;;;złota\r\n"  # line 5: no such group
    "P-3;Ela;;12ab;\r\n"  # line 6: a bad phone
    "P-2;Jan;;;\r\n"  # line 7: line 5's card again
    "P-8;A\x1bB;;;brak\r\n"  # line 8: two problems
    "P-9;Zofia;;;stali\r\n"  # line 9: fine
)

POLISH = [
    (2, "import.invalid_value_reason", "kod karty: nieprawidłowa wartość „K#5” "
     "(Kod karty może zawierać tylko litery, cyfry oraz . _ : / -)"),
    (3, "import.card_code_missing", "brak kodu karty"),
    (4, "import.invalid_value", "e-mail: nieprawidłowa wartość „zly@”"),
    (5, "import.unknown_group", "nieznana grupa „złota”"),
    (6, "import.invalid_value", "telefon: nieprawidłowa wartość „12ab”"),
    (7, "import.card_code_repeats", "kod karty „P-2” powtarza wiersz 5"),
    (8, "import.row_problems", "imię: nieprawidłowa wartość (Nie może zawierać znaków "
     "sterujących (U+001B)); nieznana grupa „brak”"),
]  # fmt: skip

ENGLISH = [
    (2, "invalid card code 'K#5' (Card code may contain only letters, digits and . _ : / -)"),
    (3, "missing card code"),
    (4, "invalid email 'zly@'"),
    (5, "unknown group 'złota'"),
    (6, "invalid phone '12ab'"),
    (7, "card code 'P-2' repeats line 5"),
    (8, "invalid first name (Must not contain control characters (U+001B)); unknown group 'brak'"),
]


async def dry_run(api: Api) -> list[dict[str, Any]]:
    payload = await api.mutate(IMPORT_FULL, {"input": {"csv": BAD_ROWS, "dryRun": True}})
    assert payload["errors"] == [], payload
    assert (payload["result"]["rows"], payload["result"]["skipped"]) == (8, 7)
    problems: list[dict[str, Any]] = payload["result"]["problems"]
    return problems


def from_catalog(language: str, problem: dict[str, Any]) -> str:
    """The catalog text of the problem's id with its params filled in."""
    values = {p["name"]: p["value"] for p in problem["params"]}
    count = int(values["count"]) if values.get("count", "").isdigit() else None
    template = catalog(language).text(problem["messageId"], count)
    assert template is not None, problem["messageId"]
    return "".join(
        literal + (values[field] if field is not None else "")
        for literal, field, _, _ in Formatter().parse(template)
    )


async def test_a_dry_run_answers_each_row_problem_in_polish(api: Api) -> None:
    await create_group(api, "Stali klienci", reference="stali")

    polish = await dry_run(replace(api, language="pl"))
    english = await dry_run(api)

    assert [(p["line"], p["messageId"], p["message"]) for p in polish] == POLISH
    assert [(p["line"], p["message"]) for p in english] == ENGLISH
    assert [p["messageId"] for p in english] == [p["messageId"] for p in polish]
    for problem, in_english in zip(polish, english, strict=True):
        assert problem["message"] == from_catalog("pl", problem)
        assert in_english["message"] == from_catalog("en", in_english)
        assert problem["message"] != in_english["message"]
    assert polish[3]["params"] == [{"name": "group", "value": "złota"}]
    assert polish[5]["params"] == [
        {"name": "code", "value": "P-2"},
        {"name": "line", "value": "5"},
    ]
    assert polish[1]["params"] == []


def test_a_problem_params_hold_the_column_and_reason_in_the_readers_language() -> None:
    problem = ImportProblem(
        2,
        msg(
            "import.invalid_reason",
            what=msg("import.column.note"),
            reason=msg("text.control_character", character="U+0007"),
        ),
    )

    assert problem.reason == "invalid note (Must not contain control characters (U+0007))"
    assert problem_text(problem.message, "pl") == (
        "notatka: nieprawidłowa wartość (Nie może zawierać znaków sterujących (U+0007))"
    )
    assert problem_params(problem.message, "pl") == [
        ("what", "notatka"),
        ("reason", "Nie może zawierać znaków sterujących (U+0007)"),
    ]


def test_oversized_lines_and_card_counts_read_in_both_languages() -> None:
    too_long = msg("import.line_too_long", kib=64, bytes=200007)
    earlier = msg("import.earlier_line_too_long", line=4, kib=64, bytes=70010)
    cards = msg("import.customer_cards_too_many", count=10)

    assert problem_text(too_long, "en") == "the line is longer than 64 KiB (200,007 bytes)"
    assert problem_text(too_long, "pl") == "wiersz jest dłuższy niż 64 KiB (200\xa0007 B)"
    assert problem_text(earlier, "en") == "its line 4 is longer than 64 KiB (70,010 bytes)"
    assert problem_text(cards, "en") == "the customer would hold more than 10 cards"
    assert problem_text(cards, "pl") == "klient miałby więcej niż 10 kart"
