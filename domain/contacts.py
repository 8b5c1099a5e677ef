"""Validation of customer contact data and card codes."""

from __future__ import annotations

import re

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
    """Why a trimmed phone number is unusable, or None (quoted back as `email_problem` does)."""
    if len(phone) > MAX_PHONE_LENGTH:
        return msg("phone.too_long", count=MAX_PHONE_LENGTH)
    if found := control_character(phone):
        return msg("phone.control_character", character=found)
    if not _PHONE.fullmatch(phone):
        return msg("phone.invalid", phone=phone)
    return None


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
