"""Customer and group inputs, parsed once into values the services trust.

Each function takes what a client sent (`domain.requests`) and gives back a trimmed, bounded,
validated value, or raises `DomainError` with every problem and its field path. Only what needs
the database is left to the services: card codes or references taken, group ids that exist.

Text rules (`domain.text`): names, emails, phones and card numbers are single-line;
notes and descriptions may be multi-line; none may contain control characters. Blank text is
None, which clears the field on an update.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from uuid import UUID

from domain.contacts import (
    MAX_CARD_NUMBER_LENGTH,
    MAX_NAME_LENGTH,
    MAX_NOTE_LENGTH,
    PhoneRule,
    card_code_problem,
    clean_text,
    email_problem,
    normalise_card_code,
    normalise_email,
    normalised_phone,
)
from domain.errors import ErrorCode, Validator
from domain.messages import msg
from domain.money import percent_to_basis_points
from domain.references import Slug, normalised_given_reference, reference_from_name
from domain.requests import UNSET, CardInput, CustomerGroupInput, CustomerInput, Maybe
from domain.schedule import MAX_EXPIRES_AFTER_DAYS
from domain.text import text_problem

MAX_CARDS_PER_CUSTOMER = 10
MAX_GROUP_NAME_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 2000
MAX_CASHBACK_HOLD_DAYS = 365


@dataclass(frozen=True)
class CheckedCard:
    code: str
    number: str | None
    expires_on: date | None


@dataclass(frozen=True)
class CheckedCustomer:
    """A valid customer input. `contact` holds the given contact fields only, by column name;
    `cards` and `group_ids` are None when not given (on create: none; on update: keep)."""

    contact: Mapping[str, str | None] = field(default_factory=dict)
    cards: tuple[CheckedCard, ...] | None = None
    group_ids: tuple[str, ...] | None = None


@dataclass(frozen=True)
class CustomerWrite:
    """What the customers repository writes for one customer, whichever way it came in (the
    API, the importer, the demo): `contact` holds the given contact fields only, by column
    name; `cards` and `group_ids` (resolved, each once) are None when not given (on create:
    none; on update: keep)."""

    contact: Mapping[str, str | None] = field(default_factory=dict)
    cards: tuple[CheckedCard, ...] | None = None
    group_ids: tuple[UUID, ...] | None = None


@dataclass(frozen=True)
class NewGroup:
    """A valid group to create. `reference_field` is where a clash is reported: the name for a
    generated reference, the reference for a given one."""

    name: str
    reference: str
    reference_field: str
    description: str | None = None
    cashback_basis_points: int | None = None
    cashback_hold_days: int = 0
    cashback_expires_after_days: int | None = None

    def columns(self) -> dict[str, object]:
        return {
            "name": self.name,
            "reference": self.reference,
            "description": self.description,
            "cashback_basis_points": self.cashback_basis_points,
            "cashback_hold_days": self.cashback_hold_days,
            "cashback_expires_after_days": self.cashback_expires_after_days,
        }


@dataclass(frozen=True)
class GroupChanges:
    """A valid group update: the given fields only, by column name."""

    columns: Mapping[str, object] = field(default_factory=dict)

    @property
    def reference(self) -> str | None:
        reference = self.columns.get("reference")
        return reference if isinstance(reference, str) else None


def checked_customer(data: CustomerInput, phone_rule: PhoneRule) -> CheckedCustomer:
    """The customer input, valid, its phone in E.164 (`phone_rule`) and its card codes
    normalised; raises `DomainError` (fields ``input.…``) otherwise."""
    checks = Validator()
    contact: dict[str, str | None] = {}
    texts: tuple[tuple[str, str, Maybe[str], int, bool], ...] = (
        ("first_name", "firstName", data.first_name, MAX_NAME_LENGTH, False),
        ("last_name", "lastName", data.last_name, MAX_NAME_LENGTH, False),
        ("note", "note", data.note, MAX_NOTE_LENGTH, True),
    )
    for column, name, raw, limit, multiline in texts:
        if raw is not UNSET:
            contact[column] = _text(checks, f"input.{name}", raw, limit, multiline=multiline)
    if data.email is not UNSET:
        email = clean_text(data.email)
        if email is not None:
            email = normalise_email(email)
            if problem := email_problem(email):
                checks.add(ErrorCode.INVALID, "input.email", problem)
        contact["email"] = email
    if data.phone is not UNSET:
        phone = clean_text(data.phone)
        if phone is not None:
            phone, problem = normalised_phone(phone, phone_rule)
            if problem is not None:
                checks.add(ErrorCode.INVALID, "input.phone", problem)
        contact["phone"] = phone
    cards = None if data.cards is None else _cards(checks, data.cards)
    checks.check()
    return CheckedCustomer(contact=contact, cards=cards, group_ids=data.group_ids)


def _cards(checks: Validator, cards: tuple[CardInput, ...]) -> tuple[CheckedCard, ...]:
    if len(cards) > MAX_CARDS_PER_CUSTOMER:
        checks.add(
            ErrorCode.INVALID, "input.cards", msg("card.too_many", count=MAX_CARDS_PER_CUSTOMER)
        )
        return ()
    checked: list[CheckedCard] = []
    seen: set[str] = set()
    for index, card in enumerate(cards):
        path = f"input.cards.{index}"
        code = normalise_card_code(card.code)
        if problem := card_code_problem(code):
            checks.add(ErrorCode.INVALID, f"{path}.code", problem)
        elif code in seen:
            checks.add(ErrorCode.DUPLICATE, f"{path}.code", msg("card.code_twice", code=code))
        seen.add(code)
        number = _text(checks, f"{path}.number", card.number, MAX_CARD_NUMBER_LENGTH)
        checked.append(CheckedCard(code, number, card.expires_on))
    return tuple(checked)


def checked_new_group(data: CustomerGroupInput, slug: Slug) -> NewGroup:
    """A group to create, valid; the reference is the given one normalised, or else generated
    from the name (see `domain.references`). Raises `DomainError` (fields ``input.…``)."""
    checks = Validator()
    name = _group_name(checks, data.name)
    if data.reference is not UNSET and data.reference is not None:
        reference, reference_field = _given_reference(checks, data.reference, slug)
    else:
        reference, reference_field = reference_from_name(name, slug), "input.name"
        if name and not reference:
            checks.add(
                ErrorCode.REQUIRED,
                "input.reference",
                msg("reference.not_from_name"),
            )
    details = _group_details(checks, data)
    checks.check()
    return NewGroup(
        name=name,
        reference=reference,
        reference_field=reference_field,
        description=None if details.description is UNSET else details.description,
        cashback_basis_points=None
        if details.cashback_basis_points is UNSET
        else details.cashback_basis_points,
        cashback_hold_days=0
        if details.cashback_hold_days is UNSET
        else details.cashback_hold_days or 0,
        cashback_expires_after_days=None
        if details.cashback_expires_after_days is UNSET
        else details.cashback_expires_after_days,
    )


def checked_group_changes(data: CustomerGroupInput, slug: Slug) -> GroupChanges:
    """A group update, valid: only the given fields; a given name or reference may not be
    cleared. Raises `DomainError` (fields ``input.…``)."""
    checks = Validator()
    details = _group_details(checks, data)
    columns: dict[str, object] = {}
    if details.description is not UNSET:
        columns["description"] = details.description
    if details.cashback_basis_points is not UNSET:
        columns["cashback_basis_points"] = details.cashback_basis_points
    if details.cashback_hold_days is not UNSET:
        columns["cashback_hold_days"] = details.cashback_hold_days
    if details.cashback_expires_after_days is not UNSET:
        columns["cashback_expires_after_days"] = details.cashback_expires_after_days
    if data.name is not UNSET:
        columns["name"] = _group_name(checks, data.name)
    if data.reference is not UNSET:
        if data.reference is None:
            checks.add(ErrorCode.REQUIRED, "input.reference", msg("reference.empty"))
        else:
            columns["reference"] = _given_reference(checks, data.reference, slug)[0]
    checks.check()
    return GroupChanges(columns=columns)


def _text(
    checks: Validator, path: str, raw: str | None, limit: int, *, multiline: bool = False
) -> str | None:
    value = clean_text(raw)
    if value is not None and (problem := text_problem(value, limit, multiline=multiline)):
        checks.add(ErrorCode.INVALID, path, problem)
    return value


def _group_name(checks: Validator, raw: Maybe[str]) -> str:
    """The trimmed name; empty when it is missing or invalid (an error is added then)."""
    name = clean_text(raw) if raw is not UNSET else None
    if name is None:
        checks.add(ErrorCode.REQUIRED, "input.name", msg("name.empty"))
        return ""
    if problem := text_problem(name, MAX_GROUP_NAME_LENGTH):
        checks.add(ErrorCode.INVALID, "input.name", problem)
        return ""
    return name


def _given_reference(checks: Validator, raw: str, slug: Slug) -> tuple[str, str]:
    """The given reference normalised, and the field a clash is reported on; the reference is
    empty when it is invalid (an error is added then)."""
    reference, problem = normalised_given_reference(raw, slug)
    if problem is not None:
        checks.add(ErrorCode.INVALID, "input.reference", problem)
    return reference or "", "input.reference"


@dataclass(frozen=True)
class _Details:
    description: Maybe[str] = UNSET
    cashback_basis_points: Maybe[int] = UNSET
    cashback_hold_days: Maybe[int] = UNSET
    cashback_expires_after_days: Maybe[int] = UNSET


def _group_details(checks: Validator, data: CustomerGroupInput) -> _Details:
    description: Maybe[str] = UNSET
    if data.description is not UNSET:
        description = _text(
            checks, "input.description", data.description, MAX_DESCRIPTION_LENGTH, multiline=True
        )
    cashback: Maybe[int] = UNSET
    if data.cashback_percent is not UNSET:
        cashback = _cashback(checks, data.cashback_percent)
    hold: Maybe[int] = UNSET
    if data.cashback_hold_days is not UNSET:
        hold = _hold_days(checks, data.cashback_hold_days)
    expires: Maybe[int] = UNSET
    if data.cashback_expires_after_days is not UNSET:
        expires = _expires_after_days(checks, data.cashback_expires_after_days)
    return _Details(description, cashback, hold, expires)


def _expires_after_days(checks: Validator, days: int | None) -> int | None:
    """Days after it becomes spendable that granted cashback expires: 1 to
    `MAX_EXPIRES_AFTER_DAYS`, or null for never."""
    if days is not None and not 1 <= days <= MAX_EXPIRES_AFTER_DAYS:
        checks.add(
            ErrorCode.INVALID,
            "input.cashbackExpiresAfterDays",
            msg("cashback.expires_after_days", minimum=1, maximum=MAX_EXPIRES_AFTER_DAYS),
        )
        return None
    return days


def _hold_days(checks: Validator, days: int | None) -> int:
    """Days a sale's cashback is held before it can be spent: 0 (none, also for null) to
    `MAX_CASHBACK_HOLD_DAYS`."""
    if days is None:
        return 0
    if not 0 <= days <= MAX_CASHBACK_HOLD_DAYS:
        checks.add(
            ErrorCode.INVALID,
            "input.cashbackHoldDays",
            msg("cashback.hold_days", maximum=MAX_CASHBACK_HOLD_DAYS),
        )
        return 0
    return days


def _cashback(checks: Validator, percent: Decimal | None) -> int | None:
    """Basis points for a cashback percentage: more than 0, at most 100, at most 2 decimals."""
    if percent is None:
        return None
    path = "input.cashbackPercent"
    if not percent.is_finite():
        checks.add(ErrorCode.INVALID, path, msg("cashback.not_a_number"))
    elif not 0 < percent <= 100:
        checks.add(ErrorCode.INVALID, path, msg("cashback.range"))
    elif (points := percent_to_basis_points(percent)) is None:
        checks.add(ErrorCode.INVALID, path, msg("cashback.decimals"))
    else:
        return points
    return None
