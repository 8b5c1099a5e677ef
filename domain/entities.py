"""Read models shared by services and the API: plain frozen data, no behaviour that does IO."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, TypeVar
from uuid import UUID

from domain.access import CHANNEL_ORDER, Role
from domain.bill import SalesChannel

T = TypeVar("T")


@dataclass(frozen=True)
class Location:
    id: UUID
    name: str
    currency: str
    timezone: str
    # Where promotional credits may be used, in `domain.access.CHANNEL_ORDER`.
    credit_channels: tuple[SalesChannel, ...] = CHANNEL_ORDER
    # "pl" or "en": what messages and system texts are rendered in when a request names none.
    language: str = "pl"


@dataclass(frozen=True)
class ApiKey:
    id: UUID
    location_id: UUID
    name: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None
    channels: tuple[SalesChannel, ...] = ()  # in `domain.access.CHANNEL_ORDER`


@dataclass(frozen=True)
class Card:
    customer_id: UUID
    code: str
    number: str | None
    expires_on: date | None


@dataclass(frozen=True)
class Customer:
    id: UUID
    location_id: UUID
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    note: str | None
    credit_balance: int
    wallet_updated_at: datetime | None
    created_at: datetime
    updated_at: datetime
    cashback_held: int = 0  # granted, not yet spendable
    cashback_owed: int = 0  # reversed cashback the balance could not cover


@dataclass(frozen=True)
class CustomerGroup:
    id: UUID
    location_id: UUID
    name: str
    reference: str
    description: str | None
    cashback_basis_points: int | None
    created_at: datetime
    cashback_hold_days: int = 0
    cashback_expires_after_days: int | None = None


@dataclass(frozen=True)
class CustomerView:
    """A customer with its groups sorted by name: what a till reads after a scan."""

    customer: Customer
    groups: tuple[CustomerGroup, ...]
    card_code: str | None = None  # the card it was looked up by, if it was
    card_expires_on: date | None = None  # that card's last valid day, if it has one


@dataclass(frozen=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    cursors: tuple[str, ...]
    has_next_page: bool
    total_count: int


@dataclass(frozen=True)
class WalletEntry:
    id: int
    customer_id: UUID
    kind: str
    requested_amount: int
    delta: int
    balance_after: int
    description: str | None
    source: str
    source_id: UUID
    actor: str | None
    created_at: datetime
    expires_on: date | None = None


@dataclass(frozen=True)
class WalletOperation:
    id: UUID
    operation: str
    amount: int
    description: str | None
    status: str
    total: int
    processed: int
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    actor: str | None
    # An undo: the operation or schedule run it reverses, and its customers restored in whole
    # and in part (set when it ends).
    undo_of_id: UUID | None = None
    restored_count: int | None = None
    partly_restored_count: int | None = None
    expires_on: date | None = None


@dataclass(frozen=True)
class CreditPreview:
    """What one application of a credit request would do, in minor units."""

    customer_count: int
    changed_count: int
    balance_before: int
    balance_after: int
    over_maximum_count: int
    clamped_count: int  # REDUCE: balances below the amount, which would end at 0


@dataclass(frozen=True)
class ScheduleRun:
    """One period of a schedule as its history shows it: what its entries of the schedule's
    operation sum to (customers, total delta in minor units) so far."""

    period: int
    period_on: date
    status: str
    customer_count: int
    total: int
    finished_at: datetime | None
    id: UUID | None = None  # the run's id: the id of its operation (`ScheduleRun.operation`)


@dataclass(frozen=True)
class CreditSchedule:
    id: UUID
    operation: str
    amount: int
    description: str | None
    every: int
    unit: str
    start_date: date
    end_date: date | None
    target: str
    group_ids: tuple[UUID, ...]
    customer_ids: tuple[UUID, ...]
    paused: bool
    next_run_on: date | None
    last_run_on: date | None
    created_at: datetime
    expires_after_days: int | None = None
    replace_previous: bool = False
