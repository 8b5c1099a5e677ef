"""A sync run as the API and the sync job see it: the record of one synchronisation of a
location with GoPOS or GoOrder, from QUEUED to SUCCEEDED or FAILED (`domain.jobs`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain.jobs import JobStatus
from domain.upstream import Channel


@dataclass(frozen=True)
class SyncRunInfo:
    """A run as the API shows it, with what it counted."""

    id: UUID
    channel: Channel
    status: JobStatus
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    fetched: int  # GoPOS groups or GoOrder promotions read
    linked: int  # CRM groups linked to one of them
    unmatched: int  # upstream references no CRM group has
    written: int  # mirror rows written or marked removed
    error: str | None


@dataclass(frozen=True, slots=True)
class SyncJob:
    """What the sync job needs of its run to claim it: whose it is, which channel, its status
    and how many attempts it has had."""

    id: UUID
    location_id: UUID
    channel: Channel
    status: JobStatus
    attempts: int
