"""Validation of customer contact data and card codes."""

from __future__ import annotations

import re

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
_PHONE = re.compile(r"\+?[0-9][0-9 ()-]{3,30}")
_CARD_CODE = re.compile(r"[A-Za-z0-9._:/-]+")


def search_text(*values: str | None) -> str:
    """What customer search matches against: the values case-folded in Python, so that
    "łukasz" finds "Łukasz" on SQLite too (its LIKE and UPPER fold ASCII letters only)."""
    return " ".join(v.casefold() for v in values if v)


def clean_text(value: str | None) -> str | None:
    """Trimmed text, or None for a missing or blank value."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def normalise_email(value: str) -> str:
    return value.strip().lower()


def email_problem(email: str) -> str | None:
    """Why a trimmed email address is unusable, or None. The address is quoted back only when
    it is short and free of control characters."""
    if len(email) > MAX_EMAIL_LENGTH:
        return f"An email address has at most {MAX_EMAIL_LENGTH} characters."
    if found := control_character(email):
        return f"An email address must not contain control characters ({found})."
    if not _EMAIL.fullmatch(email):
        return f"'{email}' is not a valid email address."
    return None


def phone_problem(phone: str) -> str | None:
    """Why a trimmed phone number is unusable, or None (quoted back as `email_problem` does)."""
    if len(phone) > MAX_PHONE_LENGTH:
        return f"A phone number has at most {MAX_PHONE_LENGTH} characters."
    if found := control_character(phone):
        return f"A phone number must not contain control characters ({found})."
    if not _PHONE.fullmatch(phone):
        return f"'{phone}' is not a valid phone number."
    return None


def card_code_problem(code: str) -> str | None:
    """Why a trimmed card code is unusable, or None. Never quotes the code back."""
    if not code:
        return "Card code must not be empty."
    if len(code) > MAX_CARD_CODE_LENGTH:
        return f"Card code must be at most {MAX_CARD_CODE_LENGTH} characters (got {len(code)})."
    if not _CARD_CODE.fullmatch(code):
        return "Card code may contain only letters, digits and . _ : / -"
    return None


def search_problem(search: str) -> str | None:
    """Why a trimmed customer search text is unusable, or None: at most 100 characters, on one
    line, no control characters."""
    return text_problem(search, MAX_SEARCH_LENGTH)
