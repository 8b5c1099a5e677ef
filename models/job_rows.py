"""A job's row read back by its id, for any job table (`models.jobs.JobModel`).

The lifecycle (`services.lifecycle`) hands each kind of job the row it queues the job from:
the row the periodic check found silent (`models.jobs.silent_since`), or, when a stopping
process puts its job back in the queue at once, this read. It is off every hot path: one
indexed read per interrupted attempt.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from models.jobs import JobModel


async def row(model: JobModel, job_id: UUID) -> Any:
    """The job's row as its kind's `enqueue` takes it; a job that is gone raises the ORM's
    `DoesNotExist` (the caller leaves the job to the periodic check)."""
    return await model.get(id=job_id)
