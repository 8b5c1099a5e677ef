"""The periodic check never takes a job from an attempt that is alive, and never piles up: a
job that beat after the check read it is left alone (both databases), and a worker skips a
tick while its previous check still runs."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from arq.connections import RedisSettings

from domain.jobs import JobStatus
from gateway.runtime import with_dispatcher
from models import jobs
from models.tables.integrations import SyncRun
from services import lifecycle, sync
from services.runtime import Runtime
from tasks import worker
from tests.helpers import Api
from tests.test_sync_api import Recorder

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


async def test_a_job_that_beats_after_the_check_read_it_is_not_requeued(
    api: Api, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a running sync whose last heartbeat is older than the threshold
    stale = T0 - runtime.jobs.stale_after - timedelta(seconds=1)
    run = await SyncRun.create(
        location_id=UUID(api.location_id),
        channel="GOPOS",
        status="RUNNING",
        attempts=1,
        created_at=stale,
        heartbeat_at=stale,
    )
    real = jobs.silent_since

    async def beats_meanwhile(
        model: jobs.JobModel, cutoff: datetime, **scope: Any
    ) -> Sequence[Any]:
        found = await real(model, cutoff, **scope)
        await jobs.beat(SyncRun, run.id, 1, T0)  # its attempt shows a sign of life
        return found

    monkeypatch.setattr(lifecycle.jobs, "silent_since", beats_meanwhile)

    # when the check, having read it as silent, gets to it
    recorder = Recorder()
    at_t0 = replace(runtime, clock=lambda: T0)
    await lifecycle.resume_silent(sync.SYNC_RUNS, with_dispatcher(at_t0, recorder))

    # then it is still its attempt's, and nothing was queued for it
    row = await SyncRun.get(id=run.id)
    assert (row.status, row.attempts, row.heartbeat_at, row.error) == ("RUNNING", 1, T0, None)
    assert [args for _, args, _ in recorder.jobs if args == (str(run.id),)] == []
    await SyncRun.filter(id=run.id).update(status=JobStatus.FAILED)


async def test_a_worker_skips_a_tick_while_its_previous_check_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a worker whose periodic check is slow
    started, release = asyncio.Event(), asyncio.Event()
    checks = 0

    async def slow_tick(ctx: dict[str, Any]) -> None:
        nonlocal checks
        checks += 1
        started.set()
        await release.wait()

    monkeypatch.setattr(worker, "tick", slow_tick)

    async def start(dispatcher: Any) -> Any:
        raise AssertionError("not started here")

    async def stop() -> None:
        return None

    options = worker.worker_options(
        start=start,
        stop=stop,
        redis_settings=RedisSettings(),
        queue_name="test",
        check_seconds=10,
        job_timeout_seconds=60,
        max_jobs=4,
    )
    (cron_job,) = options["cron_jobs"]

    # when three more ticks come while the first check runs, and one after it ended
    first = asyncio.create_task(cron_job.coroutine({}))
    await started.wait()
    await asyncio.wait_for(asyncio.gather(*(cron_job.coroutine({}) for _ in range(3))), 1)
    release.set()
    await first
    await cron_job.coroutine({})

    # then the three were skipped at once, and the one after ran
    assert checks == 2
    assert (cron_job.name, cron_job.timeout_s) == ("tick", worker.CHECK_TIMEOUT_SECONDS)
