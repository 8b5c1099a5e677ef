"""A resumed bulk credit carries on after the last customer an earlier attempt reached: it
applies no chunk a second time, and its counts add up over the attempts. In-process, on both
databases; time is the runtime's clock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from gateway.runtime import with_dispatcher
from models import ledger
from models.db import Transaction
from models.ledger import Application
from models.tables.wallet import WalletOperation
from services import wallet
from services.lifecycle import resume_silent
from services.runtime import Runtime
from tasks.inprocess import InProcessDispatcher
from tests.helpers import Api, Clock
from tests.test_lifecycle import Recorder, _credits, _group_of, _queued_operation

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


async def test_a_resumed_credit_applies_only_the_customers_after_the_last_one_reached(
    api: Api, runtime: Runtime, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a queued ADD to a group of 10, three customers a chunk, whose third chunk fails once
    clock.now = T0
    small = replace(runtime, inline_limit=1, chunk_size=3)
    group_id, members = await _group_of(api, 10)
    operation_id = await _queued_operation(api, with_dispatcher(small, Recorder()), group_id)
    real = ledger.apply_chunk
    calls: list[list[UUID]] = []

    async def failing_once(
        ids: Sequence[UUID], change: Application, db: Transaction | None = None
    ) -> int:
        calls.append(list(ids))
        if len(calls) == 3:
            raise RuntimeError("connection reset")
        return await real(ids, change, db)

    monkeypatch.setattr(ledger, "apply_chunk", failing_once)

    # when its first attempt fails there, and the check resumes it past the threshold
    await wallet.run_operation(small, operation_id)
    failed = await WalletOperation.get(id=operation_id)
    clock.now = T0 + small.jobs.stale_after + timedelta(seconds=1)
    runner = InProcessDispatcher()
    await resume_silent(wallet.OPERATIONS, with_dispatcher(small, runner))
    await runner.drain()
    await runner.close()

    # then the second attempt applied the last four only, and counts all ten
    in_order = sorted(UUID(m) for m in members)
    assert (failed.status, failed.attempts, failed.processed) == ("QUEUED", 1, 6)
    assert calls == [in_order[0:3], in_order[3:6], in_order[6:9], in_order[6:9], in_order[9:]]
    row = await WalletOperation.get(id=operation_id)
    assert (row.status, row.attempts, row.processed, row.total) == ("SUCCEEDED", 2, 10, 10)
    assert await _credits(operation_id) == dict.fromkeys(members, 100)
