"""The tables of the in-memory stores, and their transactions.

A transaction snapshots every table and puts the snapshot back when its block raises: what a
block writes commits together or not at all, as in the SQL stores. Rows are mutable records,
so that the job lifecycle's column updates (`models.jobs`) read as they do in SQL."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

from domain import entities
from domain.checkouts import COMMITTED
from domain.messages import default_language
from models.checkouts import NewCheckout, NewRefund
from models.keys import UsedKey
from services.sync import GroupLink


@dataclass
class Customer:
    location_id: UUID
    id: UUID = field(default_factory=uuid4)
    credit_balance: int = 0
    cashback_owed: int = 0
    deleted: bool = False
    group_ids: set[UUID] = field(default_factory=set)
    cashback_held: int = 0
    card_codes: set[str] = field(default_factory=set)
    # The customers service's: contact columns by name, the search text made from them, the
    # cards in their given order (their codes are `card_codes`), and when the row was made.
    contact: dict[str, str | None] = field(default_factory=dict)
    search_text: str = ""
    cards: list[entities.Card] = field(default_factory=list)
    created_at: datetime = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Job:
    """The lifecycle's columns, shared by operations and schedule runs."""

    id: UUID
    created_at: datetime
    status: str = "QUEUED"
    attempts: int = 0
    total: int = 0
    processed: int = 0
    error: str | None = None
    heartbeat_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass
class Operation(Job):
    location_id: UUID = field(default_factory=uuid4)
    operation: str = ""
    amount: int = 0
    description: str | None = None
    actor: str | None = None
    idempotency_key: str | None = None
    request_hash: str = ""
    source: str = ""
    customer_ids: list[str] | None = None
    customer_filter: dict[str, object] | None = None
    expires_on: date | None = None


@dataclass
class Schedule:
    id: UUID
    location_id: UUID
    operation: str
    amount: int
    description: str | None
    actor: str | None
    idempotency_key: str | None
    request_hash: str
    every: int
    unit: str
    start_date: date
    end_date: date | None
    target: str
    customer_ids: list[str]
    group_ids: list[str]
    next_run_on: date | None
    created_at: datetime
    paused: bool = False
    last_period: int = -1
    last_run_on: date | None = None
    expires_after_days: int | None = None
    replace_previous: bool = False


@dataclass
class Run(Job):
    schedule_id: UUID = field(default_factory=uuid4)
    period: int = 0
    period_on: date = date.min
    amount: int | None = None
    description: str | None = None


@dataclass
class Entry:
    customer_id: UUID
    kind: str
    requested_amount: int
    delta: int
    balance_after: int
    source_id: UUID
    period: int
    description: str | None
    expires_on: date | None = None
    id: int = 0
    source: str = ""


@dataclass
class Lot:
    """A `credit_lots` row."""

    id: int
    location_id: UUID
    customer_id: UUID
    entry_id: int
    source: str
    amount: int
    remaining: int
    expires_on: date | None
    created_at: datetime


@dataclass
class Take:
    """A `credit_lot_takes` row."""

    id: int
    entry_id: int
    lot_id: int
    amount: int
    restored: int = 0


@dataclass
class Sale:
    """A checkout's row: what the commit inserted, and what refunds and releases change."""

    row: NewCheckout
    status: str = COMMITTED
    refunded_at: datetime | None = None
    cashback_held: int = 0
    refund_count: int = 0
    refunded_quantities: tuple[int, ...] | None = None
    group_discount_returned: int = 0
    credits_used_returned: int = 0
    promotions_returned: int = 0


@dataclass
class Tables:
    locations: dict[UUID, entities.Location] = field(default_factory=dict)
    customers: dict[UUID, Customer] = field(default_factory=dict)
    groups: dict[UUID, UUID] = field(default_factory=dict)  # group id -> location id
    operations: dict[UUID, Operation] = field(default_factory=dict)
    schedules: dict[UUID, Schedule] = field(default_factory=dict)
    runs: dict[tuple[UUID, int], Run] = field(default_factory=dict)
    keys: dict[tuple[UUID, str], UsedKey] = field(default_factory=dict)
    # unique on (source_id, customer_id, period, kind), as the ledger's index
    entries: dict[tuple[UUID, UUID, int, str], Entry] = field(default_factory=dict)
    # The till's: the CRM groups' columns, each group's connections to the mirror, each
    # location's sync version, the sales and their refunds.
    group_rows: dict[UUID, entities.CustomerGroup] = field(default_factory=dict)
    links: dict[UUID, tuple[GroupLink, ...]] = field(default_factory=dict)
    sync_versions: dict[UUID, int] = field(default_factory=dict)
    sales: dict[UUID, Sale] = field(default_factory=dict)
    refunds: dict[UUID, NewRefund] = field(default_factory=dict)
    # The lots by id, and what each debit entry took from each lot, in order of writing.
    lots: dict[int, Lot] = field(default_factory=dict)
    takes: list[Take] = field(default_factory=list)


class Memory:
    """The database of the in-memory stores."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.t = Tables()
        self.clock = clock

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        saved = copy.deepcopy(self.t)
        try:
            yield self
        except BaseException:
            self.t = saved
            raise

    # Set-up helpers for tests

    def add_location(self, timezone: str = "Europe/Warsaw", currency: str = "PLN") -> UUID:
        location = entities.Location(
            uuid4(), "Cafe", currency, timezone, language=default_language(currency)
        )
        self.t.locations[location.id] = location
        return location.id

    def add_customers(self, location_id: UUID, count: int, **columns: Any) -> list[UUID]:
        """`count` customers, returned in id order (the order chunks take them in)."""
        added = [Customer(location_id, **columns) for _ in range(count)]
        for customer in added:
            self.t.customers[customer.id] = customer
        return sorted(c.id for c in added)

    def add_group(
        self,
        location_id: UUID,
        members: list[UUID],
        *,
        reference: str = "",
        cashback_basis_points: int | None = None,
        cashback_hold_days: int = 0,
    ) -> UUID:
        group_id = uuid4()
        self.t.groups[group_id] = location_id
        self.t.group_rows[group_id] = entities.CustomerGroup(
            id=group_id,
            location_id=location_id,
            name=reference or str(group_id),
            reference=reference,
            description=None,
            cashback_basis_points=cashback_basis_points,
            created_at=self.clock(),
            cashback_hold_days=cashback_hold_days,
        )
        for member in members:
            self.t.customers[member].group_ids.add(group_id)
        return group_id

    def balances(self, ids: list[UUID]) -> list[int]:
        return [self.t.customers[i].credit_balance for i in ids]

    def live(self, location_id: UUID) -> list[Customer]:
        """The location's live customers in id order."""
        found = [
            c for c in self.t.customers.values() if c.location_id == location_id and not c.deleted
        ]
        return sorted(found, key=lambda c: c.id)
