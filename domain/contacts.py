"""Validation of customer contact data and card codes."""

from __future__ import annotations

import re

MAX_NAME_LENGTH = 100
MAX_NOTE_LENGTH = 2000
MAX_CARD_CODE_LENGTH = 64

# Deliberately permissive: one @, a dot in the domain, no spaces. Deliverability is not our call.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{3,30}$")
_CARD_CODE = re.compile(r"^[A-Za-z0-9._:/-]+$")


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
    if len(email) > 254 or not _EMAIL.match(email):
        return f"'{email}' is not a valid email address."
    return None


def phone_problem(phone: str) -> str | None:
    if not _PHONE.match(phone):
        return f"'{phone}' is not a valid phone number."
    return None


def card_code_problem(code: str) -> str | None:
    if not code:
        return "Card code must not be empty."
    if len(code) > MAX_CARD_CODE_LENGTH:
        return f"Card code must be at most {MAX_CARD_CODE_LENGTH} characters."
    if not _CARD_CODE.match(code):
        return "Card code may contain only letters, digits and . _ : / -"
    return None
