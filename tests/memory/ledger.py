"""The ledger, its progress, the idempotency keys, ids and the job lifecycle's row updates, in
memory: what `models.ledger`, `models.progress`, `models.keys`, `models.customers`,
`models.groups`, `models.locations` and `models.jobs` promise the services."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from domain import entities
from domain.jobs import JobStatus
from domain.ledger import (
    MAX_CREDIT_BALANCE,
    UNDO_DESCRIPTION,
    CreditOperation,
    EntryKind,
    EntrySource,
)
from domain.lots import Restore
from models.db import IntegrityError
from models.keys import UsedKey
from models.ledger import BALANCE_RANGE, NETTED, Application, Change, Movement
from models.progress import Applied
from models.undo import UndoChunk
from tests.memory import lots
from tests.memory.tables import Customer, Entry, Job, Memory


def new_balance(operation: Change, balance: int, amount: int) -> int:
    """The balance an entry records (`models.ledger._NEW_BALANCE`): REDUCE clamps at zero."""
    if operation in (CreditOperation.ADD, Movement.CREDIT):
        return balance + amount
    if operation in (CreditOperation.REDUCE, Movement.REVERSE):
        return max(balance - amount, 0)
    if operation is CreditOperation.SET:
        return amount
    return balance - amount  # a DEBIT is never clamped: the range check refuses it


class Ledger:
    def __init__(self, memory: Memory) -> None:
        self.memory = memory

    async def apply_chunk(
        self, customer_ids: Sequence[UUID], change: Application, db: Any = None
    ) -> int:
        """The live customers of the change's location among `customer_ids` that have no entry
        of this application yet get one, all or none: a balance outside 0 to the maximum fails
        the whole chunk with the range check's error. An incoming credit then pays off what
        is owed, with a CLAWBACK entry."""
        t = self.memory.t
        wanted = set(customer_ids)
        chosen = [
            c
            for c in self.memory.live(change.location_id)
            if c.id in wanted and self._key(change, c, change.kind) not in t.entries
        ]
        after = {
            c.id: new_balance(change.operation, c.credit_balance, change.amount) for c in chosen
        }
        if any(not 0 <= b <= MAX_CREDIT_BALANCE for b in after.values()):
            raise IntegrityError(f'violates check constraint "{BALANCE_RANGE}"')
        for customer in chosen:
            delta = after[customer.id] - customer.credit_balance
            written = self._write(
                change, customer, change.kind, change.amount, delta, change.description
            )
            if change.operation is Movement.REVERSE:
                customer.cashback_owed += change.amount + delta
            paid = 0
            if change.operation in NETTED and customer.cashback_owed > 0:
                taken = min(change.amount, customer.cashback_owed)
                kind = EntryKind.CLAWBACK.value
                if self._key(change, customer, kind) not in t.entries:
                    self._write(change, customer, kind, taken, -taken, change.netting_description)
                    customer.cashback_owed -= taken
                    paid = taken
            self._follow_lots(change, written, delta - paid)
        return len(chosen)

    def _follow_lots(self, change: Application, entry: Entry, net: int) -> None:
        """The lots as `models.lots` keeps them: a credit makes one of what reached the
        balance (or gives back a refunded debit's), a debit takes from them."""
        if entry.delta < 0:
            lots.consume(self.memory, entry, -entry.delta)
        elif net > 0 and change.restore is not None:
            lots.restore(self.memory, entry, net, change.restore, change.now)
        elif net > 0:
            lots.add_lot(self.memory, entry, net, entry.expires_on, change.now)

    async def undo_chunk(self, customer_ids: Sequence[UUID], chunk: UndoChunk) -> int:
        """`models.undo.apply_chunk`: for each live customer among `customer_ids` that the
        original reached and that has no UNDO entry of this undo yet, one compensating the
        original's net delta, clamped to the balance range; the lots follow it."""
        t, original = self.memory.t, chunk.original
        kinds = (original.operation, EntryKind.CLAWBACK.value)
        written = 0
        for customer in self.memory.live(chunk.location_id):
            key = (chunk.undo_id, customer.id, 0, EntryKind.UNDO.value)
            own = [
                t.entries[(original.source_id, customer.id, original.period, kind)]
                for kind in kinds
                if (original.source_id, customer.id, original.period, kind) in t.entries
            ]
            if customer.id not in customer_ids or not own or key in t.entries:
                continue
            wanted = -sum(e.delta for e in own)
            balance = min(max(customer.credit_balance + wanted, 0), MAX_CREDIT_BALANCE)
            delta = balance - customer.credit_balance
            customer.credit_balance = balance
            entry = Entry(
                customer.id,
                EntryKind.UNDO.value,
                wanted,
                delta,
                balance,
                chunk.undo_id,
                0,
                UNDO_DESCRIPTION,
                None,
                len(t.entries) + 1,
                EntrySource.BULK.value,
            )
            t.entries[key] = entry
            if delta < 0:
                lots.consume(self.memory, entry, -delta, first={e.id for e in own})
            elif delta > 0:
                restore = Restore(
                    original.source_id, original.period, original.operation, chunk.day
                )
                lots.restore(self.memory, entry, delta, restore, chunk.now)
            written += 1
        return written

    @staticmethod
    def _key(change: Application, customer: Customer, kind: str) -> tuple[UUID, UUID, int, str]:
        return (change.source_id, customer.id, change.period, kind)

    def _write(
        self,
        change: Application,
        customer: Customer,
        kind: str,
        requested: int,
        delta: int,
        description: str | None,
    ) -> Entry:
        customer.credit_balance += delta
        written = Entry(
            customer.id,
            kind,
            requested,
            delta,
            customer.credit_balance,
            change.source_id,
            change.period,
            description,
            change.expires_on if kind == change.kind else None,
            len(self.memory.t.entries) + 1,
            change.source,
        )
        self.memory.t.entries[self._key(change, customer, kind)] = written
        return written


class Progress:
    def __init__(self, memory: Memory) -> None:
        self.memory = memory

    async def applied(self, source_id: UUID, period: int) -> Applied:
        reached = {
            e.customer_id
            for e in self.memory.t.entries.values()
            if e.source_id == source_id and e.period == period
        }
        return Applied(len(reached), max(reached) if reached else None)


class Keys:
    def __init__(self, memory: Memory) -> None:
        self.memory = memory

    async def used_key(self, location_id: UUID, key: str) -> UsedKey | None:
        return self.memory.t.keys.get((location_id, key))

    async def take_key(
        self,
        location_id: UUID,
        key: str,
        kind: str,
        request_hash: str,
        record_id: UUID,
        now: datetime,
        db: Any = None,
    ) -> None:
        if (location_id, key) in self.memory.t.keys:
            raise IntegrityError("duplicate key value violates unique constraint")
        self.memory.t.keys[(location_id, key)] = UsedKey(kind, request_hash, record_id)


class Ids:
    """`models.customers.live_ids`, `models.groups.ids_in_location`, and `models.locations`'
    `get` and `location_timezones`."""

    def __init__(self, memory: Memory) -> None:
        self.memory = memory

    async def live_ids(self, location_id: UUID, ids: Sequence[UUID]) -> set[UUID]:
        return {c.id for c in self.memory.live(location_id)} & set(ids)

    async def ids_in_location(self, location_id: UUID, ids: Sequence[UUID]) -> set[UUID]:
        return {g for g in ids if self.memory.t.groups.get(g) == location_id}

    async def get(self, location_id: UUID) -> entities.Location:
        return self.memory.t.locations[location_id]

    async def location_timezones(self) -> dict[UUID, str]:
        return {uid: location.timezone for uid, location in self.memory.t.locations.items()}


class Jobs:
    """The lifecycle's conditional updates: each applies only to the attempt it names."""

    def __init__(self, memory: Memory) -> None:
        self.memory = memory

    def _find(self, job_id: UUID) -> Job:
        """Operations and runs alike: their ids are unique across both."""
        found = [*self.memory.t.operations.values(), *self.memory.t.runs.values()]
        return next(j for j in found if j.id == job_id)

    async def row(self, model: Any, job_id: UUID) -> Any:
        return self._find(job_id)

    def _running(self, job_id: UUID, attempt: int) -> Job | None:
        job = self._find(job_id)
        return job if job.status == JobStatus.RUNNING and job.attempts == attempt else None

    async def claim(
        self, model: Any, job_id: UUID, *, attempts: int, now: datetime, **columns: Any
    ) -> bool:
        job = self._find(job_id)
        if job.status != JobStatus.QUEUED or job.attempts != attempts:
            return False
        job.status, job.attempts, job.heartbeat_at = JobStatus.RUNNING, attempts + 1, now
        job.started_at = now if attempts == 0 else job.started_at
        _set(job, columns)
        return True

    async def beat(
        self,
        model: Any,
        job_id: UUID,
        attempt: int,
        now: datetime,
        *,
        add: Mapping[str, int] | None = None,
        **progress: Any,
    ) -> bool:
        job = self._running(job_id, attempt)
        if job is None:
            return False
        job.heartbeat_at = now
        _set(job, progress)
        _set(job, {c: getattr(job, c) + n for c, n in (add or {}).items()})
        return True

    async def hold(self, model: Any, job_id: UUID, attempt: int, db: Any) -> bool:
        return self._running(job_id, attempt) is not None

    async def settle(
        self,
        model: Any,
        job_id: UUID,
        attempt: int,
        status: JobStatus,
        now: datetime,
        db: Any = None,
        **columns: Any,
    ) -> bool:
        job = self._running(job_id, attempt)
        if job is None:
            return False
        job.status, job.heartbeat_at = status, now
        job.finished_at = now if status in (JobStatus.SUCCEEDED, JobStatus.FAILED) else None
        _set(job, columns)
        return True


def _set(job: Job, columns: Mapping[str, Any]) -> None:
    for column, value in columns.items():
        assert hasattr(job, column), column
        setattr(job, column, value)
