"""How long idempotency keys are kept: `Runtime.idempotency_retention_days`, then the periodic
check forgets them, a bounded number of rows at a time.

A key answers retries of its request for the retention period. Later, a checkout or refund sent
again with a forgotten key is a new request. A credit operation or schedule keeps its key and
request fingerprint on its own row (`services.wallet.earlier_request`), so the same request
still answers with it, and another request is still refused.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from models import keys
from services.runtime import Runtime

log = logging.getLogger(__name__)

# Rows one DELETE removes, and DELETEs one periodic check runs: each is a short statement of its
# own, so a backlog (a first run after an upgrade) is worked off over several checks without a
# long transaction or a long check.
PURGE_BATCH = 1_000
PURGE_BATCHES = 10


async def purge_expired_keys(
    runtime: Runtime, *, batch: int = PURGE_BATCH, batches: int = PURGE_BATCHES
) -> int:
    """Forget up to `batch` × `batches` keys older than the retention period, oldest first;
    returns how many were forgotten."""
    before = runtime.clock() - timedelta(days=runtime.idempotency_retention_days)
    purged = 0
    for _ in range(batches):
        removed = await keys.purge_keys(before, batch)
        purged += removed
        if removed < batch:
            break
    if purged:
        log.info(
            "forgot %d idempotency keys older than %d days",
            purged,
            runtime.idempotency_retention_days,
        )
    return purged
