"""Validation of customer contact data and card codes, and the text customer search matches.

Search is typed by people: "wisniewska" finds "Wiśniewska", "600005" and "600 005" find
"+48 600 005 123". So the search text a customer row holds is folded (`fold`: case and
diacritics), a phone is held as its digits, and a search is split into terms the same way
(`search_terms`), runs of digits and phone punctuation joined into one run of digits.

Card codes are normalised as references are (`normalise_card_code`): width folded, spaces
dropped, letters in upper case, at every write and at every lookup, so a card typed in lower
case or with a space is the same card.

A phone number is stored in E.164 (``+48600005123``). Parsing one needs the numbering plan of a
country, which the service that owns the dependency (phonenumbers) supplies as a `PhoneRule`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import TypeAlias

from domain.messages import Message, msg
from domain.text import control_character, text_problem

MAX_NAME_LENGTH = 100
MAX_NOTE_LENGTH = 2000
MAX_EMAIL_LENGTH = 254
MAX_PHONE_LENGTH = 40
MAX_CARD_CODE_LENGTH = 64
MAX_CARD_NUMBER_LENGTH = 64
MAX_SEARCH_LENGTH = 100

# Deliberately permissive: one @, a dot in the domain, no spaces. Deliverability is not our call.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_PHONE = re.compile(r"[+(]?[0-9][0-9 ().-]{3,38}")
_CARD_CODE = re.compile(r"[A-Za-z0-9._:/-]+")
# A word of a search that belongs to a phone number: digits with the punctuation people type
# between them ("+48", "600-005", "(22)").
_PHONE_WORD = re.compile(r"[+(]*[0-9][0-9()./-]*")
# Letters whose diacritic is not a combining mark that NFKD separates.
_UNDECOMPOSED = str.maketrans({"ł": "l", "đ": "d", "ø": "o", "ħ": "h", "ı": "i", "ŧ": "t"})

PhoneRule: TypeAlias = Callable[[str], str | None]
"""A trimmed phone number → its E.164 form, or None when it is not a valid number (the
location's country is the default for a number without a country code)."""


def fold(value: str) -> str:
    """Case and diacritics folded, in Python (SQLite's LIKE folds ASCII letters only):
    "Wiśniewska", "WISNIEWSKA" and "wiśniewska" all give "wisniewska", "Łukasz" "lukasz"."""
    decomposed = unicodedata.normalize("NFKD", value.casefold().translate(_UNDECOMPOSED))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def digits(value: str) -> str:
    return "".join(c for c in value if c.isascii() and c.isdigit())


def search_text(
    first_name: str | None,
    last_name: str | None,
    email: str | None,
    phone: str | None,
    card_codes: Iterable[str] = (),
) -> str:
    """What customer search matches against: the names, email and card codes folded, and the
    digits of the phone (and of a card code made of digits and punctuation, as `search_terms`
    reads such a term), separated by spaces (a term has none, so it never spans two values)."""
    words = [fold(v) for v in (first_name, last_name, email) if v]
    if phone and (phone_digits := digits(phone)):
        words.append(phone_digits)
    for code in map(fold, card_codes):
        words.append(code)
        if _PHONE_WORD.fullmatch(code) and (code_digits := digits(code)) != code:
            words.append(code_digits)  # "12-34" is searched for as its digits, "1234"
    return " ".join(words)


def search_terms(search: str) -> list[str]:
    """The terms of a search, each to be found in a customer's search text: its words folded,
    and each run of words that belong to a phone number ("+48 600 005") as one run of digits
    ("48600005"). Empty for a blank search."""
    terms: list[str] = []
    number = ""
    for word in fold(search).split():
        if _PHONE_WORD.fullmatch(word):
            number += digits(word)
            continue
        if number:
            terms.append(number)
            number = ""
        terms.append(word)
    if number:
        terms.append(number)
    return list(dict.fromkeys(terms))


def name_key(first_name: str | None, last_name: str | None) -> str:
    """What customers are sorted by name on: the last and first name folded, so that both
    databases sort them alike ("Łukasz" beside "Lukasz", whatever the collation)."""
    return " ".join(fold(v) for v in (last_name, first_name) if v)


def normalise_card_code(code: str) -> str:
    """A card code as it is stored and looked up: width folded (NFKC, which makes every space
    character a plain space), every space dropped, letters in upper case ("demo 0002" and
    "ＤＥＭＯ0002" are "DEMO0002"). Control characters (tabs, line breaks) stay, for
    `card_code_problem` to refuse."""
    return unicodedata.normalize("NFKC", code).replace(" ", "").upper()


def clean_text(value: str | None) -> str | None:
    """Trimmed text, or None for a missing or blank value."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def normalise_email(value: str) -> str:
    return value.strip().lower()


def email_problem(email: str) -> Message | None:
    """Why a trimmed email address is unusable, or None. The address is quoted back only when
    it is short and free of control characters."""
    if len(email) > MAX_EMAIL_LENGTH:
        return msg("email.too_long", count=MAX_EMAIL_LENGTH)
    if found := control_character(email):
        return msg("email.control_character", character=found)
    if not _EMAIL.fullmatch(email):
        return msg("email.invalid", email=email)
    return None


def phone_problem(phone: str) -> Message | None:
    """Why a trimmed phone number is unusable before it is parsed, or None (quoted back as
    `email_problem` does)."""
    if len(phone) > MAX_PHONE_LENGTH:
        return msg("phone.too_long", count=MAX_PHONE_LENGTH)
    if found := control_character(phone):
        return msg("phone.control_character", character=found)
    if not _PHONE.fullmatch(phone):
        return msg("phone.invalid", phone=phone)
    return None


def normalised_phone(phone: str, rule: PhoneRule) -> tuple[str | None, Message | None]:
    """A trimmed phone number in E.164, or the reason it has none: (phone, problem)."""
    if problem := phone_problem(phone):
        return None, problem
    if (e164 := rule(phone)) is None:
        return None, msg("phone.invalid", phone=phone)
    return e164, None


def card_code_problem(code: str) -> Message | None:
    """Why a trimmed card code is unusable, or None. Never quotes the code back."""
    if not code:
        return msg("card.code_empty")
    if len(code) > MAX_CARD_CODE_LENGTH:
        return msg("card.code_too_long", count=MAX_CARD_CODE_LENGTH, length=len(code))
    if not _CARD_CODE.fullmatch(code):
        return msg("card.code_characters")
    return None


def search_problem(search: str) -> Message | None:
    """Why a trimmed customer search text is unusable, or None: at most 100 characters, on one
    line, no control characters."""
    return text_problem(search, MAX_SEARCH_LENGTH)
