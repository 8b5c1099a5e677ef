"""Release the cashback of sales whose hold has ended, from the periodic check.

Each release runs in a short transaction that first holds the customer
(`services.checkout.hold`), so that a refund and a release of one sale never both happen, and
writes a CASHBACK_RELEASE entry netted against what the customer owes.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import date, datetime

from domain.ledger import CASHBACK_RELEASED_DESCRIPTION, EntryKind
from models.checkouts import DueRelease
from models.ledger import Movement
from services import metrics
from services.checkout.entries import Source, entry
from services.checkout.hold import hold_customer
from services.checkout.sale import cashback_expiry
from services.runtime import Runtime


async def release_held_cashback(runtime: Runtime, *, batch: int = 200, budget: float = 5.0) -> int:
    """Release the cashback of every sale whose hold has ended (see the module). Exactly once:
    the sale's held amount is taken with a conditional update, and the entry has the ledger's
    unique key. Runs for at most `budget` seconds. Returns how many sales were released."""
    started = time.monotonic()
    released = 0
    while time.monotonic() - started < budget:
        due = await runtime.stores.checkouts.due_releases(runtime.clock(), batch)
        for item in due:
            released += await _release(runtime, item)
        if len(due) < batch:
            break
    return released


async def _expiry(runtime: Runtime, item: DueRelease, now: datetime) -> date | None:
    """When the released cashback expires: as the customer's cashback group says now."""
    stores = runtime.stores
    view = await stores.customers.view(item.location_id, item.customer_id)
    location = await stores.locations.get(item.location_id)
    return cashback_expiry(view, location.timezone, now)


async def _release(runtime: Runtime, item: DueRelease) -> int:
    now, stores = runtime.clock(), runtime.stores
    async with stores.transaction() as db:
        wallet = await hold_customer(stores, db, item.location_id, item.customer_id)
        held = await stores.checkouts.take_held(item.checkout_id, db)
        if not held:
            return 0
        # A deleted customer's hold simply ends: there is no wallet to release it into.
        await stores.checkouts.change_held(item.customer_id, -held, now, db)
        if wallet is None:
            return 0
        change = entry(
            Source(item.location_id, None),
            Movement.CREDIT,
            held,
            EntryKind.CASHBACK_RELEASE,
            item.checkout_id,
            0,
            CASHBACK_RELEASED_DESCRIPTION,
            now,
        )
        change = replace(change, expires_on=await _expiry(runtime, item, now))
        if await stores.ledger.apply_chunk([item.customer_id], change, db) != 1:
            raise RuntimeError(f"checkout {item.checkout_id}: the release was not written")
    metrics.entries_written(EntryKind.CASHBACK_RELEASE.value)
    return 1
