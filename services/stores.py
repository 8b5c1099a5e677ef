"""What the wallet, schedule, checkout, customers and groups services ask of their storage,
as protocols.

The services reach their repositories through `Runtime.stores` rather than by importing them,
so that their rules (idempotency, chunking and resume, ticks and periods, the till's quote,
commit, refund and release) can be exercised
against in-memory stores (`tests/memory/`) without a database. The composition root
(`gateway.runtime`) fills `Stores` with the SQL modules of `models/`: mypy checks that each
module satisfies its protocol, so the two implementations keep one contract.

Each protocol lists only what the services call; the repository modules document the rules
(`models.ledger` for the balance limits, `models.jobs` for the lifecycle's claims).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

from domain import entities
from domain.checkouts import CheckoutView, RefundView
from domain.credit_jobs import CreditRecord, NewSchedule, OperationJob, ScheduleJob, ScheduleRunJob
from domain.credits import CustomerSelection, ParsedTarget
from domain.customer_checks import CustomerWrite, NewGroup
from domain.jobs import JobStatus
from domain.ledger import CreditOperation
from domain.lots import Expired, LotView
from domain.paging import CustomerOrder, SortValue
from domain.upstream import Channel
from models.checkouts import (
    DueRelease,
    HeldWallet,
    NewCheckout,
    NewRefund,
    RefundClaim,
    Settlement,
)
from models.db import Transaction
from models.keys import UsedKey
from models.ledger import Application, PreviewTotals
from models.progress import Applied
from models.reads import CustomerSnapshot

if TYPE_CHECKING:
    # Only for the annotation: services.sync.links reads the runtime these stores live on.
    from services.sync.links import GroupLink

# Opens a transaction: writes given the connection it yields commit together, or not at all.
TransactionFactory = Callable[[], AbstractAsyncContextManager[Transaction]]


class OperationStore(Protocol):
    """`models.operations`: one-off and bulk credit operations."""

    async def view(
        self, operation_id: UUID, location_id: UUID | None = None
    ) -> entities.WalletOperation | None: ...
    async def current(self, operation_id: UUID) -> entities.WalletOperation: ...
    async def keyed(
        self, location_id: UUID, key: str
    ) -> tuple[entities.WalletOperation, str | None] | None: ...
    async def job(self, operation_id: UUID) -> OperationJob | None: ...
    async def count_selected(
        self, location_id: UUID, selection: CustomerSelection | None
    ) -> int: ...
    def target_chunks(
        self, operation: OperationJob, size: int, after: UUID | None = None
    ) -> AsyncIterator[list[UUID]]: ...
    async def preview(
        self, location_id: UUID, target: ParsedTarget, operation: CreditOperation, amount: int
    ) -> PreviewTotals: ...
    async def create(
        self,
        db: Transaction,
        record: CreditRecord,
        *,
        source: str,
        customer_ids: list[str] | None,
        customer_filter: dict[str, object] | None,
        total: int,
        expires_on: date | None = None,
    ) -> entities.WalletOperation: ...


class ScheduleStore(Protocol):
    """`models.schedules`: recurring credits and their period runs."""

    async def view(self, schedule_id: UUID) -> entities.CreditSchedule | None: ...
    async def current(self, schedule_id: UUID) -> entities.CreditSchedule: ...
    async def keyed(
        self, location_id: UUID, key: str
    ) -> tuple[entities.CreditSchedule, str | None] | None: ...
    async def job(
        self, schedule_id: UUID, location_id: UUID | None = None
    ) -> ScheduleJob | None: ...
    async def target_count(self, schedule: ScheduleJob) -> int: ...
    async def runs(
        self, schedule: ScheduleJob, before: int | None, limit: int
    ) -> list[entities.ScheduleRun]: ...
    async def update(
        self, db: Transaction, schedule_id: UUID, columns: Mapping[str, Any]
    ) -> None: ...
    def target_chunks(self, schedule: ScheduleJob, size: int) -> AsyncIterator[list[UUID]]: ...
    async def due(self, by: date, schedule_id: UUID | None = None) -> list[ScheduleJob]: ...
    async def fresh_runs(self, schedule_id: UUID | None = None) -> list[ScheduleRunJob]: ...
    async def first_unfinished_run(self, schedule_id: UUID) -> ScheduleRunJob | None: ...
    async def create(
        self, db: Transaction, record: CreditRecord, schedule: NewSchedule
    ) -> entities.CreditSchedule: ...
    async def pause(self, schedule_id: UUID) -> None: ...
    async def resume(
        self,
        db: Transaction,
        schedule_id: UUID,
        *,
        skip_through: int | None,
        last_period: int,
        next_run_on: date | None,
        now: datetime,
    ) -> None: ...
    async def delete(self, schedule_id: UUID) -> None: ...
    async def active_with_groups(
        self, location_ids: Sequence[UUID]
    ) -> list[entities.CreditSchedule]: ...
    async def of_group(
        self, db: Transaction, location_id: UUID, group_id: UUID
    ) -> list[ScheduleJob]: ...
    async def remove_group(
        self,
        db: Transaction,
        schedule_id: UUID,
        group_ids: Sequence[str],
        ends_on: date | None,
        now: datetime,
    ) -> None: ...
    async def add_runs(self, schedule_id: UUID, periods: Sequence[tuple[int, date]]) -> None: ...
    async def advance(
        self,
        schedule_id: UUID,
        period: int,
        period_on: date,
        next_run_on: date | None,
        db: Transaction | None = None,
    ) -> None: ...


class KeyStore(Protocol):
    """`models.keys`: the idempotency key table, one key per location."""

    async def used_key(self, location_id: UUID, key: str) -> UsedKey | None: ...
    async def take_key(
        self,
        location_id: UUID,
        key: str,
        kind: str,
        request_hash: str,
        record_id: UUID,
        now: datetime,
        db: Transaction | None = None,
    ) -> None: ...


class LedgerStore(Protocol):
    """`models.ledger`: balances and their entries, within the balance range."""

    async def apply_chunk(
        self, customer_ids: Sequence[UUID], change: Application, db: Transaction | None = None
    ) -> int: ...


class LotStore(Protocol):
    """`models.lots` (and `models.expiry`): what balances are made of, and their expiry."""

    async def lots_of(self, location_id: UUID, customer_id: UUID) -> list[LotView]: ...
    async def due_lots(self, location_id: UUID, today: date, limit: int) -> list[int]: ...
    async def expire_lots(
        self,
        location_id: UUID,
        lot_ids: Sequence[int],
        today: date,
        now: datetime,
        db: Transaction,
    ) -> int: ...
    async def expire_due(
        self,
        location_id: UUID,
        lot_ids: Sequence[int],
        today: date,
        now: datetime,
        db: Transaction,
    ) -> Expired: ...
    async def expire_replaced(
        self,
        location_id: UUID,
        schedule_id: UUID,
        period: int,
        customer_ids: Sequence[UUID],
        now: datetime,
        db: Transaction,
    ) -> int: ...


class ProgressStore(Protocol):
    """`models.progress`: how far an application got, from its ledger entries."""

    async def applied(self, source_id: UUID, period: int) -> Applied: ...


class CustomerIds(Protocol):
    """`models.customers`: which ids name live customers of a location."""

    async def live_ids(self, location_id: UUID, ids: Sequence[UUID]) -> set[UUID]: ...


class GroupIds(Protocol):
    """`models.groups`: which ids name groups of a location."""

    async def ids_in_location(self, location_id: UUID, ids: Sequence[UUID]) -> set[UUID]: ...


class CustomerStore(CustomerIds, Protocol):
    """`models.customers`: the customers service's reads and its one write path (creation,
    update and soft delete, each keeping the search text current)."""

    async def live(self, location_id: UUID, customer_id: UUID) -> entities.Customer | None: ...
    async def view(self, location_id: UUID, customer_id: UUID) -> entities.CustomerView | None: ...
    async def view_by_card(self, location_id: UUID, code: str) -> entities.CustomerView | None: ...
    async def views(
        self, location_id: UUID, ids: Sequence[UUID]
    ) -> dict[UUID, entities.CustomerView]: ...
    async def selected_ids(
        self, location_id: UUID, selection: CustomerSelection | None
    ) -> list[UUID]: ...
    async def page(
        self,
        location_id: UUID,
        selection: CustomerSelection | None,
        order: CustomerOrder,
        after: tuple[SortValue, UUID] | None,
        first: int,
    ) -> tuple[int, list[tuple[entities.Customer, SortValue]]]: ...
    async def cards_of(self, customer_ids: Sequence[UUID]) -> dict[UUID, list[entities.Card]]: ...
    async def groups_of(
        self, customer_ids: Sequence[UUID]
    ) -> dict[UUID, list[entities.CustomerGroup]]: ...
    async def taken_codes(
        self, location_id: UUID, codes: Sequence[str], owner: UUID | None
    ) -> list[str]: ...
    async def create(
        self, db: Transaction, location_id: UUID, write: CustomerWrite
    ) -> entities.Customer: ...
    async def update(
        self, db: Transaction, location_id: UUID, customer_id: UUID, write: CustomerWrite
    ) -> entities.Customer | None: ...
    async def delete(
        self, db: Transaction, location_id: UUID, customer_id: UUID, now: datetime
    ) -> bool: ...


class GroupStore(GroupIds, Protocol):
    """`models.groups`: groups, their references (unique in a location) and memberships."""

    async def get(self, location_id: UUID, group_id: UUID) -> entities.CustomerGroup | None: ...
    async def in_location(self, location_id: UUID) -> list[entities.CustomerGroup]: ...
    async def member_counts(self, group_ids: Sequence[UUID]) -> dict[UUID, int]: ...
    async def reference_taken(
        self, location_id: UUID, reference: str, exclude: UUID | None = None
    ) -> bool: ...
    async def create(self, location_id: UUID, group: NewGroup) -> entities.CustomerGroup: ...
    async def update(
        self, group: entities.CustomerGroup, columns: Mapping[str, Any]
    ) -> entities.CustomerGroup: ...
    async def delete(
        self, location_id: UUID, group_id: UUID, db: Transaction | None = None
    ) -> bool: ...
    async def add_members(
        self, db: Transaction, group_id: UUID, customer_ids: Sequence[UUID]
    ) -> None: ...
    async def remove_members(
        self, db: Transaction, group_id: UUID, customer_ids: Sequence[UUID]
    ) -> None: ...
    async def remove_selected(
        self, location_id: UUID, group_id: UUID, selection: CustomerSelection | None
    ) -> None: ...


class LocationStore(Protocol):
    """`models.locations`: a location, for its currency and time zone; every location's time
    zone, for the tick."""

    async def get(self, location_id: UUID) -> entities.Location: ...
    async def location_timezones(self) -> dict[UUID, str]: ...


class JobStore(Protocol):
    """`models.jobs`: the lifecycle's claims, heartbeats and outcomes on a job's row. `model`
    is the job's table, as its `JobKind` names it."""

    async def claim(
        self, model: Any, job_id: UUID, *, attempts: int, now: datetime, **columns: Any
    ) -> bool: ...
    async def beat(
        self,
        model: Any,
        job_id: UUID,
        attempt: int,
        now: datetime,
        *,
        add: Mapping[str, int] | None = None,
        **progress: Any,
    ) -> bool: ...
    async def hold(self, model: Any, job_id: UUID, attempt: int, db: Transaction) -> bool: ...
    async def settle(
        self,
        model: Any,
        job_id: UUID,
        attempt: int,
        status: JobStatus,
        now: datetime,
        db: Transaction | None = None,
        **columns: Any,
    ) -> bool: ...
    async def row(self, model: Any, job_id: UUID) -> Any: ...


class PricingReads(Protocol):
    """`models.reads`: the customer statement of the till's snapshot; with `hold`, the
    statement that holds the customer until that transaction ends."""

    async def customer_for_pricing(
        self,
        location_id: UUID,
        business_date: date,
        *,
        card_code: str | None = None,
        customer_id: UUID | None = None,
        hold: Transaction | None = None,
    ) -> CustomerSnapshot | None: ...


class CheckoutStore(Protocol):
    """`models.checkouts`: the sales and refunds the till writes, the customer's hold and its
    held cashback."""

    async def insert_checkout(self, checkout: NewCheckout, db: Transaction) -> None: ...
    async def insert_refund(self, refund: NewRefund, db: Transaction) -> None: ...
    async def lock_customer(
        self, location_id: UUID, customer_id: UUID, db: Transaction
    ) -> HeldWallet | None: ...
    async def mark_refunded(self, checkout_id: UUID, now: datetime, db: Transaction) -> bool: ...
    async def claim_refund(self, checkout_id: UUID, db: Transaction) -> RefundClaim | None: ...
    async def settle_refund(
        self, checkout_id: UUID, settled: Settlement, db: Transaction
    ) -> bool: ...
    async def change_held(
        self, customer_id: UUID, amount: int, now: datetime, db: Transaction
    ) -> None: ...
    async def due_releases(self, now: datetime, limit: int) -> list[DueRelease]: ...
    async def take_held(self, checkout_id: UUID, db: Transaction) -> int: ...
    async def get(self, location_id: UUID, checkout_id: UUID) -> CheckoutView | None: ...
    async def refunded(
        self, location_id: UUID, refund_id: UUID
    ) -> tuple[CheckoutView, RefundView] | None: ...


class GroupLinks(Protocol):
    """`services.sync.links`: how CRM groups connect to the synced mirror, whose offers the
    till's snapshot caches."""

    async def group_links(
        self,
        location_id: UUID,
        groups: Sequence[tuple[UUID, str]],
        synced: frozenset[Channel] | None = None,
    ) -> dict[UUID, tuple[GroupLink, ...]]: ...


@dataclass(frozen=True)
class Stores:
    """The repositories the wallet, schedule, checkout, customers and groups services use, and
    how to open a transaction."""

    transaction: TransactionFactory
    operations: OperationStore
    schedules: ScheduleStore
    keys: KeyStore
    ledger: LedgerStore
    progress: ProgressStore
    customers: CustomerStore
    groups: GroupStore
    locations: LocationStore
    jobs: JobStore
    reads: PricingReads
    checkouts: CheckoutStore
    links: GroupLinks
    lots: LotStore
