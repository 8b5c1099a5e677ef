"""A job's row read back by its id, on both databases: the row an interrupted attempt queues
its job again from."""

from __future__ import annotations

from uuid import uuid4

import pytest
from tortoise.exceptions import DoesNotExist

from domain.jobs import JobStatus
from models import jobs, locations
from models.db import transaction
from models.tables.integrations import SyncRun
from settings import Settings


async def test_row_reads_the_job_of_any_table_by_its_id(database: Settings) -> None:
    async with transaction() as db:
        location = await locations.create(db, "Jobs Bistro", "PLN", "Europe/Warsaw")
    run = await SyncRun.create(location_id=location.id, channel="GOPOS", attempts=2)

    row = await jobs.row(SyncRun, run.id)

    assert isinstance(row, SyncRun)
    assert (row.id, row.location_id, row.status, row.attempts) == (
        run.id,
        location.id,
        JobStatus.QUEUED.value,
        2,
    )


async def test_a_job_that_is_gone_raises(database: Settings) -> None:
    with pytest.raises(DoesNotExist):
        await jobs.row(SyncRun, uuid4())
