"""The expiry runs repository: one run per location and local day (`domain.expiry_runs`), read
and written as domain values, so that services never hold a Tortoise model
(`models.tables.wallet.ExpiryRun`).

`due` is the periodic check's one statement for every location: of the (location, day) pairs
it names, those with no run yet and at least one due lot, each an index probe of the partial
index on lots by location and expiry (migration 0013) and one of the runs' unique key. When
nothing is due that is all the check reads. `create` inserts a run with
`ON CONFLICT DO NOTHING`: of two workers' checks that both found a day without its run, one
inserts it and the other learns so from the rows returned. The job lifecycle
(`services.lifecycle`, through `JOB_TABLE`) moves its status and heartbeat; `add_expired`
adds a chunk's counts in the chunk's own transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F

from domain.expiry_runs import ExpiryRunInfo, ExpiryRunJob
from domain.jobs import JobStatus
from domain.lots import Expired
from models import sql
from models.ids import new_id
from models.jobs import JobModel
from models.tables.wallet import ExpiryRun

# The table whose rows the job lifecycle claims, beats and settles.
JOB_TABLE: JobModel = ExpiryRun

# How many (location, day) pairs one statement of `due` names on SQLite (two parameters each).
PAIRS_PER_STATEMENT = 400

_DUE_WHERE = """
WHERE NOT EXISTS (
        SELECT 1 FROM expiry_runs r WHERE r.location_id = v.location_id AND r.day = v.day
    )
    AND EXISTS (
        SELECT 1 FROM credit_lots l
        WHERE l.location_id = v.location_id AND l.remaining > 0
            AND l.expires_on IS NOT NULL AND l.expires_on < v.day
    )
"""

_POSTGRES_DUE = f"""
SELECT v.location_id, v.day FROM unnest($1::uuid[], $2::date[]) AS v(location_id, day)
{_DUE_WHERE}
"""

_SQLITE_DUE = (
    """
WITH v(location_id, day) AS (VALUES {rows})
SELECT v.location_id, v.day FROM v
"""
    + _DUE_WHERE
)

_CREATE = """
INSERT INTO expiry_runs (id, location_id, day, status, attempts, created_at, lots_expired,
    amount_expired)
VALUES ($1, $2, $3, 'QUEUED', 0, $4, 0, 0)
ON CONFLICT (location_id, day) DO NOTHING
RETURNING id
"""


async def due(days: Sequence[tuple[UUID, date]]) -> list[tuple[UUID, date]]:
    """Of the (location, day) pairs `days`, those with no run yet and a lot of the location
    that still holds something and whose expiry day ended before `day`."""
    if not days:
        return []
    if sql.dialect().numbered:
        values = [[str(location_id) for location_id, _ in days], [day for _, day in days]]
        rows = await sql.fetch(sql.pool(), _POSTGRES_DUE, values)
    else:
        rows = []
        for start in range(0, len(days), PAIRS_PER_STATEMENT):
            part = days[start : start + PAIRS_PER_STATEMENT]
            statement = _SQLITE_DUE.format(rows=", ".join("(?, ?)" for _ in part))
            flat = [v for location_id, day in part for v in (str(location_id), day)]
            rows += await sql.fetch(sql.pool(), statement, flat)
    return [(sql.uuid(row[0]), sql.day(row[1])) for row in rows]


async def create(location_id: UUID, day: date, now: datetime) -> ExpiryRunJob | None:
    """Insert the QUEUED run of the location for `day`; None when it exists already (another
    check made it first)."""
    run_id = new_id()
    rows = await sql.fetch(sql.pool(), _CREATE, [run_id, str(location_id), day, now])
    if not rows:
        return None
    return ExpiryRunJob(run_id, location_id, day, JobStatus.QUEUED, 0)


async def job(run_id: UUID) -> ExpiryRunJob | None:
    """The run `run_id` as its job claims it; None when there is no such run."""
    row = await ExpiryRun.get_or_none(id=run_id)
    if row is None:
        return None
    return ExpiryRunJob(row.id, row.location_id, row.day, JobStatus(row.status), row.attempts)


async def add_expired(run_id: UUID, attempt: int, expired: Expired, db: BaseDBAsyncClient) -> None:
    """In the transaction `db` of the chunk that expired them: add the chunk's lots and amount
    to the run's counts (attempt `attempt` holds the run, see `models.jobs.hold`)."""
    query = ExpiryRun.filter(id=run_id, status=JobStatus.RUNNING, attempts=attempt)
    await query.using_db(db).update(
        lots_expired=F("lots_expired") + expired.lots,
        amount_expired=F("amount_expired") + expired.amount,
    )


async def latest(location_id: UUID, limit: int) -> list[ExpiryRunInfo]:
    """The location's `limit` latest runs, newest day first."""
    rows = await ExpiryRun.filter(location_id=location_id).order_by("-day").limit(limit)
    return [
        ExpiryRunInfo(
            id=row.id,
            day=row.day,
            status=JobStatus(row.status),
            attempts=row.attempts,
            lots_expired=row.lots_expired,
            amount_expired=row.amount_expired,
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            error=row.error,
        )
        for row in rows
    ]
