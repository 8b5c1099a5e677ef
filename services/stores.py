"""What the wallet and schedule services ask of their storage, as protocols.

The services reach their repositories through `Runtime.stores` rather than by importing them,
so that their rules (idempotency, chunking and resume, ticks and periods) can be exercised
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
from typing import Any, Protocol
from uuid import UUID

from domain import entities
from domain.credit_jobs import CreditRecord, NewSchedule, OperationJob, ScheduleJob, ScheduleRunJob
from domain.credits import CustomerSelection, ParsedTarget
from domain.jobs import JobStatus
from domain.ledger import CreditOperation
from models.db import Transaction
from models.keys import UsedKey
from models.ledger import Application, PreviewTotals
from models.progress import Applied

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


class ProgressStore(Protocol):
    """`models.progress`: how far an application got, from its ledger entries."""

    async def applied(self, source_id: UUID, period: int) -> Applied: ...


class CustomerIds(Protocol):
    """`models.customers`: which ids name live customers of a location."""

    async def live_ids(self, location_id: UUID, ids: Sequence[UUID]) -> set[UUID]: ...


class GroupIds(Protocol):
    """`models.groups`: which ids name groups of a location."""

    async def ids_in_location(self, location_id: UUID, ids: Sequence[UUID]) -> set[UUID]: ...


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


@dataclass(frozen=True)
class Stores:
    """The repositories the wallet and schedule services use, and how to open a transaction."""

    transaction: TransactionFactory
    operations: OperationStore
    schedules: ScheduleStore
    keys: KeyStore
    ledger: LedgerStore
    progress: ProgressStore
    customers: CustomerIds
    groups: GroupIds
    locations: LocationStore
    jobs: JobStore
