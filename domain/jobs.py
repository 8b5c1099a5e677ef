"""The one lifecycle of every background job: bulk operations, schedule periods, sync runs,
expiry runs.

    QUEUED → RUNNING → SUCCEEDED
                     ↘ FAILED (a readable error) — at once when no retry can succeed, or
                       after `max_attempts` attempts

A job is claimed by an update that names the status and the attempt count it expects, so of
two copies of a job only one runs an attempt. A running attempt beats every
`heartbeat_seconds`; one whose heartbeat has stopped for `stale_after_seconds` (its worker
died, or Redis lost it) is put back to QUEUED by the periodic check and enqueued again. An
attempt that fails with an error goes back to QUEUED as well and is retried by the same check,
which makes the pause between attempts at least `stale_after_seconds`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from domain.messages import Message, msg


class JobStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


UNFINISHED = (JobStatus.QUEUED, JobStatus.RUNNING)


@dataclass(frozen=True, slots=True)
class JobPolicy:
    max_attempts: int = 5
    heartbeat_seconds: float = 3.0
    stale_after_seconds: float = 15.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0 < self.heartbeat_seconds < self.stale_after_seconds:
            raise ValueError("the heartbeat interval must be positive and below the threshold")

    @property
    def stale_after(self) -> timedelta:
        return timedelta(seconds=self.stale_after_seconds)


def attempt_failed(attempt: int, max_attempts: int) -> Message:
    """The `error` of a job whose attempt failed unexpectedly (the details go to the log)."""
    if attempt >= max_attempts:
        return msg("job.failed", count=attempt)
    return msg("job.attempt_failed", attempt=attempt, count=max_attempts)


def attempt_died(attempt: int, max_attempts: int) -> Message:
    """The `error` of a job whose attempt stopped without a word (its worker died)."""
    if attempt >= max_attempts:
        return msg("job.died", count=attempt)
    return msg("job.attempt_died", attempt=attempt, count=max_attempts)
