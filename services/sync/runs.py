"""The records of sync runs: queueing one on request or on the periodic schedule, and reading
them back.

`synchronize` records a QUEUED run and queues its job; the partial unique index on sync runs
lets one run per location and channel be unfinished, so a second request while one is queued
or running gets `SyncAlreadyRunning` with that run. `SYNC_RUNS` is the kind of job the
lifecycle (`services.lifecycle`) runs and resumes; the job itself is `services.sync.job`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol
from uuid import UUID

from domain.errors import DomainError, ErrorCode, UserError, fail
from domain.ids import parse_id
from domain.messages import msg
from domain.sync_runs import SyncRunInfo
from domain.upstream import Channel
from models import credentials, sync_runs
from models.db import IntegrityError
from services.integrations import get_integration
from services.jobs import Dispatcher, enqueue_sync
from services.lifecycle import JobKind
from services.runtime import Runtime


class SyncAlreadyRunning(DomainError):  # noqa: N818 - a refusal, raised as a DomainError
    """A run of the channel is queued or running already: `run` is that run."""

    def __init__(self, run: SyncRunInfo) -> None:
        upstream = run.channel.upstream_name
        super().__init__(
            UserError(
                ErrorCode.CONFLICT,
                "channel",
                msg(f"sync.already_{run.status.value.lower()}", upstream=upstream),
            )
        )
        self.run = run


async def get_run(location_id: UUID, run_id: str) -> SyncRunInfo | None:
    uid = parse_id(run_id)
    return await sync_runs.get(location_id, uid) if uid else None


async def latest_run(location_id: UUID, channel: Channel) -> SyncRunInfo | None:
    """The channel's most recently queued run."""
    return await sync_runs.latest(location_id, channel)


async def synchronize(runtime: Runtime, location_id: UUID, channel: Channel) -> SyncRunInfo:
    """Queue a sync of `channel`. Raises NOT_CONFIGURED without stored credentials, and
    `SyncAlreadyRunning` while a run of the channel is unfinished."""
    if not (await get_integration(location_id, channel)).configured:
        raise fail(
            ErrorCode.NOT_CONFIGURED,
            "channel",
            msg("integration.not_configured", upstream=channel.upstream_name),
        )
    for _ in range(2):
        try:
            queued = await sync_runs.queue(location_id, channel, runtime.clock())
        except IntegrityError:  # the partial unique index: a run is queued or running
            active = await sync_runs.unfinished(location_id, channel)
            if active is not None:
                raise SyncAlreadyRunning(active) from None
            continue  # it finished meanwhile: try once more
        # `queued` is the run as queued, whatever the job does meanwhile.
        await enqueue_sync(runtime.dispatcher, queued.id, attempts=0)
        return queued
    raise RuntimeError(f"a sync run of {channel.value} for {location_id} could not be queued")


async def queue_periodic_syncs(runtime: Runtime) -> int:
    """The periodic sync (when `runtime.sync_interval_seconds` is set): every configured
    integration whose latest run was queued longer ago than the interval, and none is
    unfinished, gets a new run. Returns how many were queued."""
    interval = runtime.sync_interval_seconds
    if interval is None:
        return 0
    cutoff = runtime.clock() - timedelta(seconds=interval)
    # Two statements whatever the number of locations: the configured integrations, and those
    # with a run queued since the cutoff.
    recent = await sync_runs.queued_since(cutoff)
    queued = 0
    for location_id, channel in await credentials.configured():
        if (location_id, channel) in recent:
            continue
        try:
            await synchronize(runtime, location_id, channel)
        except SyncAlreadyRunning:
            continue
        queued += 1
    return queued


class _Job(Protocol):
    """A job's row as the lifecycle hands it back to be queued again."""

    @property
    def id(self) -> UUID: ...


async def _enqueue(dispatcher: Dispatcher, row: _Job, attempts: int) -> None:
    await enqueue_sync(dispatcher, row.id, attempts=attempts)


SYNC_RUNS = JobKind(sync_runs.JOB_TABLE, "sync run", _enqueue)
