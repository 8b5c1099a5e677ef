"""An expiry run: the job that expires, for one location and one local day, what is left of
every credit lot whose expiry day ended before that day (`domain.jobs` lifecycle).

One run per location and day: the periodic check creates it the first time it finds due lots
of that location on that day. A run covers every lot due by its day, however many days back,
so a worker that was down catches up with the next run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from domain.jobs import JobStatus


@dataclass(frozen=True, slots=True)
class ExpiryRunJob:
    """What the run's job needs to claim it: whose it is, its day, status and attempts."""

    id: UUID
    location_id: UUID
    day: date  # lots with `expires_on` before this day (the location's date) are due
    status: JobStatus
    attempts: int


@dataclass(frozen=True)
class ExpiryRunInfo:
    """A run as the back office reads it, with what it expired."""

    id: UUID
    day: date
    status: JobStatus
    attempts: int
    lots_expired: int
    amount_expired: int  # minor units
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
