"""The credit lots in memory: what `models.lots` writes, by the rules of `domain.lots`."""

from __future__ import annotations

from datetime import date, datetime

from domain import lots as rules
from domain.lots import Restore
from tests.memory.tables import Entry, Lot, Memory, Take


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


def consume(memory: Memory, entry: Entry, amount: int) -> None:
    """The debit `entry` takes `amount` from its customer's lots, as `models.lots.consume`:
    what the lots hold, at most."""
    left = amount
    for lot in live_lots(memory, entry.customer_id):
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
