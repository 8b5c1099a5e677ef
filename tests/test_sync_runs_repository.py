"""The repositories the sync service reads and writes through, on both databases: its runs
(queued one unfinished at a time, read back by location, channel and time), the references of
the CRM groups it matches, and the names of the mirror's tables, exactly as each function
reads and writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from domain.jobs import JobStatus
from domain.sync_runs import SyncJob, SyncRunInfo
from domain.upstream import Channel
from models import groups, locations, mirror, sync_runs
from models.db import IntegrityError, transaction
from models.mirror import MirrorTable
from models.tables.crm import CustomerGroup
from models.tables.integrations import SyncRun
from settings import Settings

T0 = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)
T2 = T0 + timedelta(minutes=10)
UNKNOWN = UUID("00000000-0000-4000-8000-000000000000")


@pytest.fixture
async def location(database: Settings) -> UUID:
    async with transaction() as db:
        return (await locations.create(db, "Sync Bistro", "PLN", "Europe/Warsaw")).id


async def other_location() -> UUID:
    async with transaction() as db:
        return (await locations.create(db, "Other Bistro", "EUR", "Europe/Berlin")).id


async def finish(run_id: UUID, at: datetime) -> None:
    """The run ends as the job lifecycle ends it, with what it counted."""
    counts = {"fetched": 3, "linked": 2, "unmatched": 1, "written": 4}
    await SyncRun.filter(id=run_id).update(
        status="SUCCEEDED", attempts=1, started_at=T0, finished_at=at, **counts
    )


def queued(run_id: UUID, channel: Channel, at: datetime) -> SyncRunInfo:
    return SyncRunInfo(run_id, channel, JobStatus.QUEUED, at, None, None, 0, 0, 0, 0, None)


async def test_queue_records_a_queued_run_at_the_time_given(location: UUID) -> None:
    run = await sync_runs.queue(location, Channel.GOPOS, T0)

    assert run == queued(run.id, Channel.GOPOS, T0)
    assert await sync_runs.get(location, run.id) == run
    assert await sync_runs.job(run.id) == SyncJob(
        run.id, location, Channel.GOPOS, JobStatus.QUEUED, 0
    )


async def test_record_succeeded_writes_a_finished_run_that_counts_as_a_sync(
    location: UUID,
) -> None:
    assert await mirror.has_succeeded_sync(location, Channel.GOPOS) is False

    run = await sync_runs.record_succeeded(location, Channel.GOPOS, T1)

    assert (run.channel, run.status, run.finished_at) == (Channel.GOPOS, JobStatus.SUCCEEDED, T1)
    assert await sync_runs.get(location, run.id) == run
    assert await sync_runs.unfinished(location, Channel.GOPOS) is None
    assert await sync_runs.job(run.id) == SyncJob(
        run.id, location, Channel.GOPOS, JobStatus.SUCCEEDED, 1
    )
    assert await mirror.has_succeeded_sync(location, Channel.GOPOS) is True
    assert await mirror.has_succeeded_sync(location, Channel.GOORDER) is False


async def test_one_unfinished_run_per_channel(location: UUID) -> None:
    first = await sync_runs.queue(location, Channel.GOPOS, T0)
    other_channel = await sync_runs.queue(location, Channel.GOORDER, T0)

    with pytest.raises(IntegrityError):
        await sync_runs.queue(location, Channel.GOPOS, T1)

    assert await sync_runs.unfinished(location, Channel.GOPOS) == first
    assert await sync_runs.unfinished(location, Channel.GOORDER) == other_channel
    await finish(first.id, T1)
    assert await sync_runs.unfinished(location, Channel.GOPOS) is None
    again = await sync_runs.queue(location, Channel.GOPOS, T2)
    assert await sync_runs.unfinished(location, Channel.GOPOS) == again


async def test_get_reads_only_the_locations_own_runs(location: UUID) -> None:
    run = await sync_runs.queue(location, Channel.GOPOS, T0)
    other = await other_location()

    assert await sync_runs.get(other, run.id) is None
    assert await sync_runs.get(location, UNKNOWN) is None
    assert await sync_runs.job(UNKNOWN) is None


async def test_latest_is_the_channels_most_recently_queued_run(location: UUID) -> None:
    assert await sync_runs.latest(location, Channel.GOPOS) is None
    first = await sync_runs.queue(location, Channel.GOPOS, T0)
    await finish(first.id, T1)
    second = await sync_runs.queue(location, Channel.GOPOS, T2)
    await sync_runs.queue(location, Channel.GOORDER, T2 + timedelta(minutes=1))

    assert await sync_runs.latest(location, Channel.GOPOS) == second
    assert await sync_runs.get(location, first.id) == SyncRunInfo(
        first.id, Channel.GOPOS, JobStatus.SUCCEEDED, T0, T0, T1, 3, 2, 1, 4, None
    )
    assert await sync_runs.job(first.id) == SyncJob(
        first.id, location, Channel.GOPOS, JobStatus.SUCCEEDED, 1
    )


async def test_queued_since_lists_each_location_and_channel_queued_after_the_cutoff(
    location: UUID,
) -> None:
    other = await other_location()
    early = await sync_runs.queue(location, Channel.GOPOS, T0)
    await finish(early.id, T0)
    await sync_runs.queue(location, Channel.GOPOS, T2)
    await sync_runs.queue(location, Channel.GOORDER, T1)
    await sync_runs.queue(other, Channel.GOORDER, T2)

    ours = {location, other}  # the database holds other tests' runs too

    async def since(cutoff: datetime) -> set[tuple[UUID, Channel]]:
        return {pair for pair in await sync_runs.queued_since(cutoff) if pair[0] in ours}

    assert await since(T1) == {(location, Channel.GOPOS), (other, Channel.GOORDER)}
    assert await since(T0) == {
        (location, Channel.GOPOS),
        (location, Channel.GOORDER),
        (other, Channel.GOORDER),
    }
    assert await since(T2) == set()


async def test_group_references_are_the_locations_groups_by_id(location: UUID) -> None:
    vip = await CustomerGroup.create(location_id=location, name="VIP", reference="vip")
    staff = await CustomerGroup.create(location_id=location, name="Staff", reference="Staff 1")
    await CustomerGroup.create(location_id=await other_location(), name="VIP", reference="vip")

    found = await groups.references(location)

    assert sorted(found) == sorted([(vip.id, "vip"), (staff.id, "Staff 1")])
    assert await groups.references(UNKNOWN) == []


def test_each_mirror_table_names_its_models_table() -> None:
    assert {table: table.model._meta.db_table for table in MirrorTable} == {
        MirrorTable.POS_GROUPS: "pos_customer_groups",
        MirrorTable.POS_DISCOUNTS: "pos_discounts",
        MirrorTable.PROMOTIONS: "order_promotions",
    }
