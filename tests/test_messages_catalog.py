"""The message catalogs: Polish and English complete, with the same placeholders, and every
message id the code names present in both. No database."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from domain.ledger import SYSTEM_DESCRIPTIONS
from domain.messages import decode, encode, listing, msg
from domain.pricing import CREDITS_NAME_ID
from services.i18n import catalog, negotiate, placeholders, render, rendered_params

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("domain", "services", "models", "adapters", "gateway", "tasks")
PL, EN = catalog("pl"), catalog("en")


def _code_ids() -> tuple[set[str], set[str]]:
    """Message ids named in the code: literal ids of `msg(...)`, and the static prefixes of
    ids built with an f-string (each must name at least one catalog entry)."""
    literal: set[str] = set()
    prefixes: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                first = node.args[0] if name == "msg" else None
                if name == "not_found" and len(node.args) == 2:
                    what = node.args[1]
                    if isinstance(what, ast.Constant):
                        literal.add(f"{what.value}.not_found")
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    literal.add(first.value)
                elif isinstance(first, ast.JoinedStr):
                    head = first.values[0]
                    if isinstance(head, ast.Constant):
                        prefixes.add(str(head.value))
    return literal, prefixes


def test_both_catalogs_hold_the_same_ids_every_one_translated() -> None:
    assert set(PL.texts) == set(EN.texts)
    assert len(PL.texts) > 200
    for message_id in PL.texts:
        assert all(form.strip() for form in PL.texts[message_id]), message_id
        assert all(form.strip() for form in EN.texts[message_id]), message_id


def test_every_form_of_a_message_names_the_same_placeholders_in_both_languages() -> None:
    for message_id, forms in EN.texts.items():
        expected = placeholders(forms[0])
        for form in (*forms, *PL.texts[message_id]):
            assert placeholders(form) == expected, (message_id, form)


def test_plural_messages_have_every_form_of_the_language() -> None:
    plural = [i for i, forms in PL.texts.items() if len(forms) > 1 or len(EN.texts[i]) > 1]
    assert len(plural) > 20
    for message_id in plural:
        assert (len(EN.texts[message_id]), len(PL.texts[message_id])) == (2, 3), message_id


def test_every_message_id_the_code_names_is_in_the_catalogs() -> None:
    literal, prefixes = _code_ids()
    named = literal | SYSTEM_DESCRIPTIONS | {CREDITS_NAME_ID, "list.more", "text.legacy"}
    assert len(literal) > 150
    assert sorted(named - set(EN.texts)) == []
    assert sorted(p for p in prefixes if not any(i.startswith(p) for i in EN.texts)) == []


@pytest.mark.parametrize(
    ("count", "polish", "english"),
    [
        (1, "Najwyżej 1 karta.", "At most 1 card."),
        (2, "Najwyżej 2 karty.", "At most 2 cards."),
        (5, "Najwyżej 5 kart.", "At most 5 cards."),
        (12, "Najwyżej 12 kart.", "At most 12 cards."),
        (22, "Najwyżej 22 karty.", "At most 22 cards."),
        (25, "Najwyżej 25 kart.", "At most 25 cards."),
    ],
)
def test_plural_forms_follow_each_language(count: int, polish: str, english: str) -> None:
    message = msg("card.too_many", count=count)

    assert (render(message, "pl"), render(message, "en")) == (polish, english)


def test_nested_messages_and_listings_render_in_the_same_language() -> None:
    objects = listing(["17 „VIP”", "18 „VIP 2”", "19 „VIP 3”"], 13, limit=2)
    message = msg("link.ambiguous.gopos_group", count=13, reference="vip", objects=objects)

    assert render(message, "pl") == (
        "13 grup GoPOS ma referencję vip: 17 „VIP”, 18 „VIP 2”, i 11 innych. Nadaj każdej "
        "własną referencję w GoPOS."
    )
    assert render(message, "en") == (
        "13 GoPOS groups have the reference vip: 17 „VIP”, 18 „VIP 2”, and 11 more. Give each "
        "its own reference in GoPOS."
    )
    assert rendered_params(message, "pl") == [
        ("count", "13"),
        ("reference", "vip"),
        ("objects", "17 „VIP”, 18 „VIP 2”, i 11 innych"),
    ]


def test_a_stored_message_reads_back_and_other_text_is_legacy() -> None:
    message = msg(
        "sync.data_refused",
        upstream="GoPOS",
        count=1,
        problems=listing(
            [msg("sync.no_id", object=msg("sync.object.gopos_group.named", name="„VIP”"))],
            limit=10,
            separator=" ",
        ),
    )

    assert decode(encode(message)) == message
    assert decode("Failed somehow.") == msg("text.legacy", text="Failed somehow.")
    assert decode('{"no": "id"}') == msg("text.legacy", text='{"no": "id"}')
    assert render(decode("Failed somehow."), "pl") == "Failed somehow."


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("pl", "pl"),
        ("pl-PL,pl;q=0.9,en-US;q=0.8,en;q=0.7", "pl"),
        ("en-GB,en;q=0.9", "en"),
        ("de-DE,de;q=0.9,en;q=0.5,pl;q=0.4", "en"),
        ("en;q=0.3, pl;q=0.7", "pl"),
        ("EN", "en"),
        ("pl;q=0, en", "en"),
        ("de, fr", None),
        ("*", None),
        ("", None),
        (None, None),
        ("pl;q=abc", None),
        ("pl;q=2", None),
        ("x" * 2000 + ",pl", None),
    ],
)
def test_accept_language_picks_a_supported_language_by_quality(
    header: str | None, language: str | None
) -> None:
    assert negotiate(header) == language
