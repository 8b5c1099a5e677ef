"""The job of an undo: one attempt of a queued undo, in chunks, through the job lifecycle.

An undo is a wallet operation (`services.wallet.run_operation` hands it here), so it is claimed,
beaten, resumed and settled as every operation is; what differs is the work: per chunk of the
customers the original reached, the compensating UNDO entries (`models.undo.apply_chunk`),
each customer's once by the ledger's unique key. When it ends, the customers restored in whole
and in part are counted from its entries, so a retried chunk never counts twice.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from domain.credit_jobs import OperationJob
from domain.ledger import EntryKind
from domain.schedule import local_today
from models import undo
from services import metrics
from services.lifecycle import Attempt, JobKind, run_attempt
from services.runtime import Runtime

log = logging.getLogger(__name__)


async def run_undo(runtime: Runtime, row: OperationJob, kind: JobKind) -> None:
    """Run one attempt of the queued undo `row` (of job kind `kind`) to the end."""
    stores = runtime.stores
    original = await undo.original_of(row.id)
    if original is None:
        log.warning("undo %s names nothing to undo; job ignored", row.id)
        return
    total = row.total
    location = await stores.locations.get(row.location_id)
    done_before = await stores.progress.applied(row.id, 0) if row.attempts else None
    start = (done_before.customers, done_before.last) if done_before else (0, None)

    async def work(attempt: Attempt) -> Mapping[str, Any]:
        now = runtime.clock()
        day = local_today(now, location.timezone)
        chunk = undo.UndoChunk(row.location_id, row.id, original, row.actor, now, day)
        done, after = start
        async for ids in undo.chunks(original, runtime.chunk_size, after):
            attempt.stop_if_asked()
            async with stores.transaction() as db:
                await attempt.hold(db)
                written = await undo.apply_chunk(db, ids, chunk)
            done += len(ids)
            await attempt.beat(processed=min(done, total))
            metrics.entries_written(EntryKind.UNDO.value, written)
            await runtime.between_chunks()
        totals = await undo.done(row.id)
        return {
            "processed": done,
            "total": max(total, done),
            "restored_count": totals.restored,
            "partly_restored_count": totals.partly_restored,
        }

    await run_attempt(
        kind, row.id, runtime, work, attempts=row.attempts, claim_columns={"total": total}
    )
