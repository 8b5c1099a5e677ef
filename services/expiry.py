"""Credits that expire: from the periodic check, what is left of every lot whose expiry day
has ended (in its location's time zone) leaves the wallet through an EXPIRE entry.

Exactly once, even with several workers or a worker that was down: each chunk of due lots is
expired in a transaction of its own that holds their customers first (`models.expiry`), and a
lot expired by one worker has nothing left for another; the ledger's unique key (one EXPIRE per
lot) backs it. A worker that was down catches up at its next check, soonest-expiring first,
for at most `budget` seconds a check.
"""

from __future__ import annotations

import time

from domain.ledger import EntryKind
from domain.schedule import local_today
from services import metrics
from services.runtime import Runtime

EXPIRY_BATCH = 500


async def expire_due_lots(
    runtime: Runtime, *, batch: int = EXPIRY_BATCH, budget: float = 5.0
) -> int:
    """Expire what is left of every due lot (see the module); returns how many lots."""
    stores = runtime.stores
    now = runtime.clock()
    started = time.monotonic()
    expired = 0
    timezones = await stores.locations.location_timezones()
    for location_id, timezone in sorted(timezones.items()):
        today = local_today(now, timezone)
        while time.monotonic() - started < budget:
            due = await stores.lots.due_lots(location_id, today, batch)
            if due:
                async with stores.transaction() as db:
                    written = await stores.lots.expire_lots(location_id, due, today, now, db)
                metrics.entries_written(EntryKind.EXPIRE.value, written)
                expired += written
            if len(due) < batch:
                break
    return expired
