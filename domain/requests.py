"""What callers ask the services to do, as plain data.

Update inputs distinguish "not given" (`UNSET`: leave as it is) from `None` (clear the value).
Ids arrive as the strings a client sent; services resolve them within the caller's location.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Final, Literal, TypeAlias, TypeVar

from domain.schedule import Recurrence


class _Unset(Enum):
    UNSET = "UNSET"

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset.UNSET
T = TypeVar("T")
Maybe: TypeAlias = T | Literal[_Unset.UNSET] | None


@dataclass(frozen=True)
class CustomerFilter:
    ids: tuple[str, ...] | None = None
    group_ids: tuple[str, ...] | None = None
    search: str | None = None
    has_credits: bool | None = None


@dataclass(frozen=True)
class CardInput:
    code: str
    number: str | None = None
    expires_on: date | None = None


@dataclass(frozen=True)
class CustomerInput:
    first_name: Maybe[str] = UNSET
    last_name: Maybe[str] = UNSET
    email: Maybe[str] = UNSET
    phone: Maybe[str] = UNSET
    note: Maybe[str] = UNSET
    cards: tuple[CardInput, ...] | None = None
    group_ids: tuple[str, ...] | None = None


@dataclass(frozen=True)
class CustomerGroupInput:
    name: Maybe[str] = UNSET
    reference: Maybe[str] = UNSET
    description: Maybe[str] = UNSET
    cashback_percent: Maybe[Decimal] = UNSET
    cashback_hold_days: Maybe[int] = UNSET
    cashback_expires_after_days: Maybe[int] = UNSET


@dataclass(frozen=True)
class Target:
    """Exactly one of the three: an explicit list of customers, a filter evaluated on use, or
    every customer of the location (`all_customers` true; false is as if it were not given)."""

    customer_ids: tuple[str, ...] | None = None
    filter: CustomerFilter | None = None
    all_customers: bool | None = None


@dataclass(frozen=True)
class CreditRequest:
    target: Target
    operation: str
    amount: Decimal
    description: str | None = None
    recurrence: Recurrence | None = None
    idempotency_key: str | None = None
    # One customer only: refused with STALE_BALANCE when the balance differs as it is written.
    expected_balance: Decimal | None = None
    # The credited amount expires at the end of this day (in the location's time zone).
    expires_on: date | None = None


@dataclass(frozen=True)
class ScheduleUpdate:
    """An edit of a credit schedule, applied from its next period: a new amount (null: keep
    it), description (null: none) and end date (null: no end)."""

    amount: Maybe[Decimal] = UNSET
    description: Maybe[str] = UNSET
    end_date: Maybe[date] = UNSET
