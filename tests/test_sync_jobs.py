"""A sync run as a job: it writes the mirror in chunks, each a short transaction of its own,
adds up its counts over attempts, keeps beating while a chunk is open, and the periodic check
neither waits for it nor re-queues it meanwhile. In-process against the simulators (the
`shop` of `tests.test_sync_api`); the lock tests on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from domain.jobs import JobPolicy
from domain.upstream import Channel
from gateway.runtime import with_dispatcher
from models import groups, mirror
from models.tables.integrations import PosDiscountMirror, PosGroupMirror, SyncRun
from services import sync
from services.lifecycle import resume_silent
from services.runtime import Runtime
from tasks.inprocess import InProcessDispatcher
from tests.helpers import create_group
from tests.test_sync_api import Recorder, Shop, ShopFactory, configured, sync_version
from tests.test_sync_api import open_shop as open_shop

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


async def queued_run(shop: Shop, runtime: Runtime) -> UUID:
    """A GoPOS sync of the shop's location, queued (not run)."""
    return (await sync.synchronize(runtime, shop.location_id, Channel.GOPOS)).id


async def run_row(run_id: UUID) -> tuple[Any, ...]:
    row = await SyncRun.get(id=run_id)
    return (row.status, row.attempts, row.fetched, row.linked, row.unmatched, row.written)


async def mirrored(location_id: UUID) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]]:
    groups = await PosGroupMirror.filter(location_id=location_id).values_list(
        "external_id", "removed"
    )
    discounts = await PosDiscountMirror.filter(location_id=location_id).values_list(
        "external_id", "removed"
    )
    return sorted(groups), sorted(discounts)


Upsert = Callable[..., Awaitable[int]]


class Stall:
    """Stands in for `mirror.upsert_pos_groups`: writes, then waits inside the chunk's
    transaction until released."""

    def __init__(self, real: Upsert) -> None:
        self.real = real
        self.inside = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, *args: Any, **kwargs: Any) -> int:
        written = await self.real(*args, **kwargs)
        self.inside.set()
        await self.release.wait()
        return written


@pytest.fixture
async def stalled(
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Stall]:
    stall = Stall(mirror.upsert_pos_groups)
    monkeypatch.setattr(mirror, "upsert_pos_groups", stall)
    yield stall
    stall.release.set()


async def test_a_sync_writes_in_chunks_each_a_transaction_that_bumps_the_version(
    open_shop: ShopFactory,
) -> None:
    # given GoPOS with 2 groups and 2 discounts, and a runtime writing 1 row per transaction
    recorder = Recorder()
    shop = await open_shop(dispatcher=recorder)
    await create_group(shop.api, "Stały klient")
    await configured(shop.api, "GOPOS")
    one_row = replace(shop.runtime, chunk_size=1)
    version = await sync_version(shop.location_id)

    # when it is synchronised, and synchronised again once GoPOS holds nothing
    first = await queued_run(shop, one_row)
    await sync.run_sync(one_row, first)
    after_first = await sync_version(shop.location_id)
    shop.gopos.groups, shop.gopos.discounts = [], []
    emptied = await queued_run(shop, one_row)
    await sync.run_sync(one_row, emptied)

    # then each row went in its own transaction, and so did each removal
    assert await run_row(first) == ("SUCCEEDED", 1, 2, 1, 1, 4)
    assert after_first == version + 4
    assert await run_row(emptied) == ("SUCCEEDED", 1, 0, 0, 0, 4)
    assert await sync_version(shop.location_id) == version + 8
    assert await mirrored(shop.location_id) == (
        [("17", True), ("21", True)],
        [("3", True), ("8", True)],
    )


async def test_a_failed_chunk_keeps_the_chunks_before_it_and_the_retry_adds_to_the_count(
    open_shop: ShopFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a runtime writing 2 rows per transaction, and a first group write that fails once
    recorder = Recorder()
    shop = await open_shop(dispatcher=recorder)
    await configured(shop.api, "GOPOS")
    shop.clock.now = T0
    two_rows = replace(shop.runtime, chunk_size=2)
    real = mirror.upsert_pos_groups
    failures = ["connection reset"]

    async def flaky(*args: Any, **kwargs: Any) -> int:
        if failures:
            raise RuntimeError(failures.pop())
        return await real(*args, **kwargs)

    monkeypatch.setattr(mirror, "upsert_pos_groups", flaky)

    # when the run's first attempt fails at its second chunk (the groups)
    run_id = await queued_run(shop, two_rows)
    await sync.run_sync(two_rows, run_id)
    after_failure = (await run_row(run_id), await mirrored(shop.location_id))
    # and the check queues it again past the threshold, and the second attempt finishes
    shop.clock.now = T0 + two_rows.jobs.stale_after + timedelta(seconds=1)
    runner = InProcessDispatcher()
    await resume_silent(sync.SYNC_RUNS, with_dispatcher(two_rows, runner))
    await runner.drain()
    await runner.close()

    # then the first chunk (both discounts) stayed written, and the count adds both attempts
    assert after_failure == (("QUEUED", 1, 0, 0, 0, 2), ([], [("3", False), ("8", False)]))
    assert await run_row(run_id) == ("SUCCEEDED", 2, 2, 0, 2, 4)
    assert await mirrored(shop.location_id) == (
        [("17", False), ("21", False)],
        [("3", False), ("8", False)],
    )


async def test_a_run_taken_over_after_writing_keeps_the_count_of_what_it_wrote(
    open_shop: ShopFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a run whose first attempt writes everything, then stalls before it settles
    recorder = Recorder()
    shop = await open_shop(dispatcher=recorder)
    await configured(shop.api, "GOPOS")
    shop.clock.now = T0
    slow_beats = replace(
        shop.runtime, jobs=JobPolicy(heartbeat_seconds=60, stale_after_seconds=120)
    )
    stalled, release = asyncio.Event(), asyncio.Event()
    real = groups.references
    calls = 0

    async def stalling(location_id: UUID) -> list[tuple[UUID, str]]:
        nonlocal calls
        calls += 1
        if calls == 1:
            stalled.set()
            await release.wait()
        return await real(location_id)

    monkeypatch.setattr(groups, "references", stalling)
    run_id = await queued_run(shop, slow_beats)
    first = asyncio.create_task(sync.run_sync(slow_beats, run_id))
    await stalled.wait()

    # when the check takes it over, a second attempt runs (finding nothing left to write), and
    # then the first attempt wakes up
    shop.clock.now = T0 + slow_beats.jobs.stale_after + timedelta(seconds=1)
    runner = InProcessDispatcher()
    await resume_silent(sync.SYNC_RUNS, with_dispatcher(slow_beats, runner))
    await runner.drain()
    await runner.close()
    release.set()
    await first

    # then the run reports the 4 rows that its first attempt wrote, not the second's 0
    assert await run_row(run_id) == ("SUCCEEDED", 2, 2, 0, 2, 4)


async def test_a_sync_keeps_beating_while_a_chunk_is_open(
    open_shop: ShopFactory, postgres_only: None, stalled: Stall
) -> None:
    # given a runtime beating every 50 ms, and a sync held inside its chunk's transaction
    shop = await open_shop(dispatcher=Recorder())
    await configured(shop.api, "GOPOS")
    quick = replace(shop.runtime, jobs=JobPolicy(heartbeat_seconds=0.05, stale_after_seconds=5))
    run_id = await queued_run(shop, quick)
    running = asyncio.create_task(sync.run_sync(quick, run_id))
    await asyncio.wait_for(stalled.inside.wait(), 10)

    # when time passes with the transaction open
    before = (await SyncRun.get(id=run_id)).heartbeat_at
    await asyncio.sleep(0.5)
    during = (await SyncRun.get(id=run_id)).heartbeat_at
    stalled.release.set()
    await asyncio.wait_for(running, 10)

    # then the heartbeat moved meanwhile: nothing the chunk holds stands in its way
    assert before is not None
    assert during is not None
    assert during > before
    assert (await run_row(run_id))[:2] == ("SUCCEEDED", 1)


async def test_the_check_neither_waits_for_nor_requeues_a_job_inside_a_chunk(
    open_shop: ShopFactory, postgres_only: None, stalled: Stall
) -> None:
    # given a sync held inside its chunk's transaction, whose heartbeat then looks stale
    shop = await open_shop(dispatcher=Recorder())
    await configured(shop.api, "GOPOS")
    shop.clock.now = T0
    slow_beats = replace(
        shop.runtime, jobs=JobPolicy(heartbeat_seconds=60, stale_after_seconds=120)
    )
    run_id = await queued_run(shop, slow_beats)
    running = asyncio.create_task(sync.run_sync(slow_beats, run_id))
    await asyncio.wait_for(stalled.inside.wait(), 10)
    shop.clock.now = T0 + slow_beats.jobs.stale_after + timedelta(seconds=1)

    # when the periodic check runs
    recorder = Recorder()
    resumed = await asyncio.wait_for(
        resume_silent(sync.SYNC_RUNS, with_dispatcher(slow_beats, recorder)), 5
    )
    during = await run_row(run_id)
    stalled.release.set()
    await asyncio.wait_for(running, 10)

    # then it returned at once and left the job to its attempt, which finished it
    assert run_id not in [UUID(args[0]) for _, args, _ in recorder.jobs]
    assert resumed == len(recorder.jobs)
    assert during[:2] == ("RUNNING", 1)
    assert await run_row(run_id) == ("SUCCEEDED", 1, 2, 0, 2, 4)
