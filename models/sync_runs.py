"""The sync runs repository: the record of each synchronisation of a location with GoPOS or
GoOrder, read and written as `domain.sync_runs` values, so that services never hold a
Tortoise model (`models.tables.integrations.SyncRun`) or build a query.

A run is inserted QUEUED by `queue`; the partial unique index on (location, channel) of
unfinished runs lets one of them be queued or running at a time, and a second insert raises
`IntegrityError`; `record_succeeded` inserts one already finished, as the seeding of a synced
mirror needs it. The job lifecycle (`services.lifecycle`, through `JOB_TABLE`) moves its
status, heartbeat and counts. None of these statements is on a till's path: `get`, `latest`
and `unfinished` are indexed reads of the back office, and `queued_since` is the periodic
check's one statement for every location.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain.jobs import UNFINISHED, JobStatus
from domain.sync_runs import SyncJob, SyncRunInfo
from domain.upstream import Channel
from models.jobs import JobModel
from models.tables.integrations import SyncRun

# The table whose rows the job lifecycle claims, beats and settles.
JOB_TABLE: JobModel = SyncRun


def _info(row: SyncRun) -> SyncRunInfo:
    return SyncRunInfo(
        id=row.id,
        channel=Channel(row.channel),
        status=JobStatus(row.status),
        queued_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        fetched=row.fetched,
        linked=row.linked,
        unmatched=row.unmatched,
        written=row.written,
        error=row.error,
    )


async def get(location_id: UUID, run_id: UUID) -> SyncRunInfo | None:
    """The location's run `run_id`; None when the location has no such run."""
    row = await SyncRun.get_or_none(id=run_id, location_id=location_id)
    return _info(row) if row else None


async def latest(location_id: UUID, channel: Channel) -> SyncRunInfo | None:
    """The channel's most recently queued run; None before the first."""
    row = (
        await SyncRun.filter(location_id=location_id, channel=channel.value)
        .order_by("-created_at", "-id")
        .first()
    )
    return _info(row) if row else None


async def unfinished(location_id: UUID, channel: Channel) -> SyncRunInfo | None:
    """The channel's run that is queued or running; None when there is none."""
    row = await SyncRun.filter(
        location_id=location_id, channel=channel.value, status__in=UNFINISHED
    ).first()
    return _info(row) if row else None


async def queue(location_id: UUID, channel: Channel, now: datetime) -> SyncRunInfo:
    """Insert a QUEUED run of the channel, queued at `now`; one that is unfinished already
    raises `IntegrityError` (the partial unique index)."""
    row = await SyncRun.create(location_id=location_id, channel=channel.value, created_at=now)
    return _info(row)


async def record_succeeded(
    location_id: UUID, channel: Channel, finished_at: datetime
) -> SyncRunInfo:
    """Insert a run of the channel that succeeded at `finished_at` on its first attempt, as a
    sync leaves it: the channel then counts as synced (the seeding of a synced mirror)."""
    row = await SyncRun.create(
        location_id=location_id,
        channel=channel.value,
        status=JobStatus.SUCCEEDED.value,
        finished_at=finished_at,
        attempts=1,
    )
    return _info(row)


async def job(run_id: UUID) -> SyncJob | None:
    """The run `run_id` as its job claims it; None when there is no such run."""
    row = await SyncRun.get_or_none(id=run_id)
    if row is None:
        return None
    return SyncJob(
        row.id, row.location_id, Channel(row.channel), JobStatus(row.status), row.attempts
    )


async def queued_since(cutoff: datetime) -> set[tuple[UUID, Channel]]:
    """`(location, channel)` of every run queued after `cutoff`, of every location, in one
    statement."""
    rows = (
        await SyncRun.filter(created_at__gt=cutoff).distinct().values_list("location_id", "channel")
    )
    return {(UUID(str(location_id)), Channel(str(channel))) for location_id, channel in rows}
