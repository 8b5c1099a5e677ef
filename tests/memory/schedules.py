"""`models.schedules` in memory: recurring credits and their period runs, one run per
(schedule, period)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import asdict
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

from domain import entities
from domain.credit_jobs import CreditRecord, NewSchedule, ScheduleJob, ScheduleRunJob
from domain.ids import parse_id
from domain.jobs import JobStatus
from models.queries import entity_of
from tests.memory.operations import chunks
from tests.memory.tables import Customer, Memory, Run, Schedule


def _ids(stored: Sequence[str]) -> set[UUID]:
    return {uid for uid in map(parse_id, stored) if uid is not None}


def entity(row: Schedule) -> entities.CreditSchedule:
    return entities.CreditSchedule(
        id=row.id,
        operation=row.operation,
        amount=row.amount,
        description=row.description,
        every=row.every,
        unit=row.unit,
        start_date=row.start_date,
        end_date=row.end_date,
        target=row.target,
        group_ids=tuple(UUID(g) for g in row.group_ids),
        customer_ids=tuple(UUID(c) for c in row.customer_ids),
        paused=row.paused,
        next_run_on=row.next_run_on,
        last_run_on=row.last_run_on,
        created_at=row.created_at,
        expires_after_days=row.expires_after_days,
        replace_previous=row.replace_previous,
    )


def _job(row: Schedule) -> ScheduleJob:
    ids, groups = tuple(row.customer_ids), tuple(row.group_ids)
    return entity_of(ScheduleJob, row, customer_ids=ids, group_ids=groups)


def _run(row: Run) -> ScheduleRunJob:
    return entity_of(ScheduleRunJob, row, status=str(row.status))


class Schedules:
    def __init__(self, memory: Memory) -> None:
        self.memory = memory

    async def view(self, schedule_id: UUID) -> entities.CreditSchedule | None:
        row = self.memory.t.schedules.get(schedule_id)
        return entity(row) if row else None

    async def current(self, schedule_id: UUID) -> entities.CreditSchedule:
        return entity(self.memory.t.schedules[schedule_id])

    async def keyed(
        self, location_id: UUID, key: str
    ) -> tuple[entities.CreditSchedule, str | None] | None:
        for row in self.memory.t.schedules.values():
            if row.location_id == location_id and row.idempotency_key == key:
                return entity(row), row.request_hash
        return None

    async def job(self, schedule_id: UUID, location_id: UUID | None = None) -> ScheduleJob | None:
        row = self.memory.t.schedules.get(schedule_id)
        if row is None or location_id not in (None, row.location_id):
            return None
        return _job(row)

    def _targets(self, schedule: ScheduleJob) -> list[Customer]:
        """ALL: every live customer now; GROUPS: the groups' live members now; CUSTOMERS: the
        listed ones still live."""
        live = self.memory.live(schedule.location_id)
        if schedule.target == "ALL":
            return live
        if schedule.target == "GROUPS":
            groups = _ids(schedule.group_ids)
            return [c for c in live if c.group_ids & groups]
        listed = _ids(schedule.customer_ids)
        return [c for c in live if c.id in listed]

    async def target_count(self, schedule: ScheduleJob) -> int:
        return len(self._targets(schedule))

    def target_chunks(self, schedule: ScheduleJob, size: int) -> AsyncIterator[list[UUID]]:
        return chunks(lambda: self._targets(schedule), size, None)

    async def due(self, by: date, schedule_id: UUID | None = None) -> list[ScheduleJob]:
        return [
            _job(row)
            for row in self.memory.t.schedules.values()
            if not row.paused
            and row.next_run_on is not None
            and row.next_run_on <= by
            and schedule_id in (None, row.id)
        ]

    def _runs_of_live(self, schedule_id: UUID | None) -> list[Run]:
        """Runs of schedules not paused (of `schedule_id`, when given), by schedule and period."""
        schedules = self.memory.t.schedules
        found = [
            run
            for run in self.memory.t.runs.values()
            if not schedules[run.schedule_id].paused and schedule_id in (None, run.schedule_id)
        ]
        return sorted(found, key=lambda r: (r.schedule_id, r.period))

    async def fresh_runs(self, schedule_id: UUID | None = None) -> list[ScheduleRunJob]:
        return [
            _run(r)
            for r in self._runs_of_live(schedule_id)
            if r.status == JobStatus.QUEUED and r.attempts == 0 and r.heartbeat_at is None
        ]

    async def first_unfinished_run(self, schedule_id: UUID) -> ScheduleRunJob | None:
        unfinished = [
            run
            for (owner, _), run in sorted(self.memory.t.runs.items())
            if owner == schedule_id and run.status in (JobStatus.QUEUED, JobStatus.RUNNING)
        ]
        return _run(unfinished[0]) if unfinished else None

    async def create(
        self, db: Any, record: CreditRecord, schedule: NewSchedule
    ) -> entities.CreditSchedule:
        row = Schedule(
            id=uuid4(),
            **asdict(record),
            every=schedule.every,
            unit=schedule.unit,
            start_date=schedule.start_date,
            end_date=schedule.end_date,
            target=schedule.target,
            customer_ids=list(schedule.customer_ids),
            group_ids=list(schedule.group_ids),
            next_run_on=schedule.start_date,
            created_at=schedule.created_at,
            expires_after_days=schedule.expires_after_days,
            replace_previous=schedule.replace_previous,
        )
        self.memory.t.schedules[row.id] = row
        return entity(row)

    async def pause(self, schedule_id: UUID) -> None:
        self.memory.t.schedules[schedule_id].paused = True

    async def resume(
        self,
        db: Any,
        schedule_id: UUID,
        *,
        skip_through: int | None,
        last_period: int,
        next_run_on: date | None,
        now: datetime,
    ) -> None:
        for (owner, period), run in self.memory.t.runs.items():
            skipped = skip_through is not None and period <= skip_through
            if owner == schedule_id and skipped and run.status == JobStatus.QUEUED:
                run.status, run.finished_at = "SKIPPED", now
        row = self.memory.t.schedules[schedule_id]
        row.paused, row.last_period, row.next_run_on = False, last_period, next_run_on

    async def delete(self, schedule_id: UUID) -> None:
        del self.memory.t.schedules[schedule_id]
        for key in [k for k in self.memory.t.runs if k[0] == schedule_id]:
            del self.memory.t.runs[key]

    async def active_with_groups(
        self, location_ids: Sequence[UUID]
    ) -> list[entities.CreditSchedule]:
        rows = sorted(self.memory.t.schedules.values(), key=lambda r: (r.created_at, r.id))
        return [
            entity(r)
            for r in rows
            if r.location_id in location_ids and r.target == "GROUPS" and r.next_run_on
        ]

    async def of_group(self, db: Any, location_id: UUID, group_id: UUID) -> list[ScheduleJob]:
        return [
            _job(r)
            for r in self.memory.t.schedules.values()
            if r.location_id == location_id and r.target == "GROUPS"
            if str(group_id) in r.group_ids
        ]

    async def remove_group(
        self,
        db: Any,
        schedule_id: UUID,
        group_ids: Sequence[str],
        ends_on: date | None,
        now: datetime,
    ) -> None:
        row = self.memory.t.schedules[schedule_id]
        row.group_ids = list(group_ids)
        if ends_on is None:
            return
        row.end_date, row.next_run_on = ends_on, None
        for (owner, _), run in self.memory.t.runs.items():
            if owner == schedule_id and run.status == JobStatus.QUEUED:
                run.status, run.finished_at = "SKIPPED", now

    async def runs(
        self, schedule: ScheduleJob, before: int | None, limit: int
    ) -> list[entities.ScheduleRun]:
        found = sorted(
            (
                run
                for (owner, period), run in self.memory.t.runs.items()
                if owner == schedule.id and run.status != "SKIPPED"
                if before is None or period < before
            ),
            key=lambda run: -run.period,
        )[:limit]
        entries = [
            e
            for e in self.memory.t.entries.values()
            if e.source_id == schedule.id and e.kind == schedule.operation
        ]
        return [
            entities.ScheduleRun(
                period=run.period,
                period_on=run.period_on,
                status=str(run.status),
                customer_count=sum(e.period == run.period for e in entries),
                total=sum(e.delta for e in entries if e.period == run.period),
                finished_at=run.finished_at,
            )
            for run in found
        ]

    async def update(self, db: Any, schedule_id: UUID, columns: Mapping[str, Any]) -> None:
        row = self.memory.t.schedules[schedule_id]
        for name, value in columns.items():
            setattr(row, name, value)

    async def add_runs(self, schedule_id: UUID, periods: Sequence[tuple[int, date]]) -> None:
        for period, day in periods:
            self.memory.t.runs.setdefault(
                (schedule_id, period),
                Run(
                    id=uuid4(),
                    created_at=self.memory.clock(),
                    schedule_id=schedule_id,
                    period=period,
                    period_on=day,
                ),
            )

    async def advance(
        self,
        schedule_id: UUID,
        period: int,
        period_on: date,
        next_run_on: date | None,
        db: Any = None,
    ) -> None:
        row = self.memory.t.schedules.get(schedule_id)
        if row is not None and row.last_period < period:
            row.last_period, row.last_run_on, row.next_run_on = period, period_on, next_run_on
