"""The credit lots in memory: what `models.lots` writes, by the rules of `domain.lots`."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from domain import lots as rules
from domain.ledger import EXPIRED_DESCRIPTION, EntryKind, EntrySource
from domain.lots import Restore
from tests.memory.tables import Entry, Lot, Memory, Take

EXPIRE = EntryKind.EXPIRE.value


def add_lot(
    memory: Memory, entry: Entry, amount: int, expires_on: date | None, now: datetime
) -> Lot:
    customer = memory.t.customers[entry.customer_id]
    lot = Lot(
        len(memory.t.lots) + 1,
        customer.location_id,
        entry.customer_id,
        entry.id,
        entry.source,
        amount,
        amount,
        expires_on,
        now,
    )
    memory.t.lots[lot.id] = lot
    return lot


def live_lots(memory: Memory, customer_id: object) -> list[Lot]:
    """The customer's lots with something left, in spending order."""
    found = [
        lot
        for lot in memory.t.lots.values()
        if lot.customer_id == customer_id and lot.remaining > 0
    ]
    return sorted(found, key=lambda lot: rules.spending_order(_rule(lot)))


def _rule(lot: Lot) -> rules.Lot:
    return rules.Lot(lot.id, lot.amount, lot.remaining, lot.expires_on, lot.created_at)


def consume(memory: Memory, entry: Entry, amount: int, first: Collection[int] = ()) -> None:
    """The debit `entry` takes `amount` from its customer's lots, as `models.lots.consume`:
    what the lots hold, at most; the lots the entries `first` made before the others."""
    left = amount
    ordered = sorted(
        live_lots(memory, entry.customer_id), key=lambda lot: lot.entry_id not in first
    )
    for lot in ordered:
        if left <= 0:
            break
        part = min(lot.remaining, left)
        lot.remaining -= part
        left -= part
        memory.t.takes.append(Take(len(memory.t.takes) + 1, entry.id, lot.id, part))


def restore(memory: Memory, entry: Entry, amount: int, restore: Restore, now: datetime) -> None:
    """A refund's `amount` given back from the debit `restore` names (`models.lots.restore`)."""
    debit = memory.t.entries.get(
        (restore.source_id, entry.customer_id, restore.period, restore.kind)
    )
    takes = [t for t in memory.t.takes if debit is not None and t.entry_id == debit.id]
    taken = [
        rules.Taken(
            t.id,
            t.lot_id,
            t.amount - t.restored,
            memory.t.lots[t.lot_id].expires_on,
            memory.t.lots[t.lot_id].created_at,
        )
        for t in takes
        if t.amount > t.restored
    ]
    by_id = {t.id: t for t in takes}
    for given in rules.give_back(taken, amount, restore.day):
        if given.take_id is not None:
            by_id[given.take_id].restored += given.amount
        add_lot(memory, entry, given.amount, given.expires_on, now)


class Lots:
    """`models.lots` and `models.expiry`: the lots read, and what is left of due ones expired
    exactly once (one EXPIRE entry per lot, keyed by the lot's id)."""

    def __init__(self, memory: Memory) -> None:
        self.memory = memory

    async def lots_of(self, location_id: UUID, customer_id: UUID) -> list[rules.LotView]:
        return [
            rules.LotView(_rule(lot), lot.source)
            for lot in live_lots(self.memory, customer_id)
            if lot.location_id == location_id
        ]

    async def due_lots(self, location_id: UUID, today: date, limit: int) -> list[int]:
        due = [
            lot
            for lot in self.memory.t.lots.values()
            if lot.location_id == location_id
            and lot.remaining > 0
            and lot.expires_on is not None
            and lot.expires_on < today
        ]
        due.sort(key=lambda lot: (lot.expires_on, lot.id))
        return [lot.id for lot in due[:limit]]

    async def expire_lots(
        self,
        location_id: UUID,
        lot_ids: Sequence[int],
        today: date,
        now: datetime,
        db: Any = None,
    ) -> int:
        return (await self._expire(location_id, lot_ids, today)).lots

    async def expire_due(
        self,
        location_id: UUID,
        lot_ids: Sequence[int],
        today: date,
        now: datetime,
        db: Any = None,
    ) -> rules.Expired:
        return await self._expire(location_id, lot_ids, today)

    async def _expire(
        self, location_id: UUID, lot_ids: Sequence[int], today: date | None
    ) -> rules.Expired:
        """The lots' remainders expired: those due on `today`, or all when it is None."""
        written = amount = 0
        for lot_id in sorted(lot_ids):
            lot = self.memory.t.lots.get(lot_id)
            if lot is None or lot.location_id != location_id or lot.remaining <= 0:
                continue
            customer = self.memory.t.customers[lot.customer_id]
            due = today is None or (lot.expires_on is not None and lot.expires_on < today)
            if customer.deleted or not due:
                continue
            source_id = rules.expiry_source_id(lot.id)
            key = (source_id, customer.id, 0, EXPIRE)
            if key in self.memory.t.entries:
                raise RuntimeError(f"lot {lot.id}: already expired")
            customer.credit_balance -= lot.remaining
            entries = self.memory.t.entries
            entries[key] = Entry(
                customer.id,
                EXPIRE,
                lot.remaining,
                -lot.remaining,
                customer.credit_balance,
                source_id,
                0,
                EXPIRED_DESCRIPTION,
                None,
                len(entries) + 1,
                EntrySource.SYSTEM.value,
            )
            amount += lot.remaining
            lot.remaining = 0
            written += 1
        return rules.Expired(written, amount)

    async def expire_replaced(
        self,
        location_id: UUID,
        schedule_id: UUID,
        period: int,
        customer_ids: Sequence[UUID],
        now: datetime,
        db: Any = None,
    ) -> int:
        wanted = set(customer_ids)
        credited = {
            e.id
            for e in self.memory.t.entries.values()
            if e.source_id == schedule_id and e.period < period and e.customer_id in wanted
        }
        lot_ids = [
            lot.id
            for lot in self.memory.t.lots.values()
            if lot.entry_id in credited and lot.remaining > 0
        ]
        return (await self._expire(location_id, lot_ids, None)).lots
