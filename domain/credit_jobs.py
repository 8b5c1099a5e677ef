"""Credit requests as they are stored and applied: a one-off operation and a schedule with its
period runs, as the jobs that apply them read them back.

An operation stores its target as `customer_ids` (ids as text, in the order they were stored)
or as a filter, `customer_filter`, in the JSON shape of `selection_to_json`. A stored filter
without a criterion, `{}` above all, means every customer of the location: that is how an
`allCustomers` request is stored, and what the empty filters that an earlier release accepted
meant (`stored_selection`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID

from domain.credits import CustomerSelection
from domain.ids import parse_id
from domain.schedule import (
    Recurrence,
    RecurrenceUnit,
    date_after_index,
    due_indices,
    last_index_before,
    local_today,
    period_date,
)


@dataclass(frozen=True)
class CreditRecord:
    """What an operation and a schedule alike record of the request they were made from."""

    location_id: UUID
    operation: str
    amount: int
    description: str | None
    actor: str | None
    idempotency_key: str | None
    request_hash: str


@dataclass(frozen=True)
class NewSchedule:
    """A schedule's own columns, beside its `CreditRecord`, as it is created."""

    every: int
    unit: str
    start_date: date
    end_date: date | None
    target: str  # CUSTOMERS, GROUPS or ALL
    customer_ids: tuple[str, ...]
    group_ids: tuple[str, ...]
    created_at: datetime
    expires_after_days: int | None = None
    replace_previous: bool = False


@dataclass(frozen=True)
class OperationJob:
    """What running a wallet operation needs of it."""

    id: UUID
    location_id: UUID
    operation: str
    amount: int
    description: str | None
    actor: str | None
    source: str
    status: str
    attempts: int
    total: int
    customer_ids: tuple[str, ...] | None  # exactly one of the two (see the module docstring)
    customer_filter: Mapping[str, object] | None
    undo_of_id: UUID | None = None  # an undo (`services.undo`): the operation or run it reverses
    expires_on: date | None = None  # what it credits expires at the end of this day


@dataclass(frozen=True)
class ScheduleJob:
    """What the tick and a period run need of a credit schedule. `customer_ids` and
    `group_ids` are the stored text: malformed ones name nothing."""

    id: UUID
    location_id: UUID
    operation: str
    amount: int
    description: str | None
    every: int
    unit: str
    start_date: date
    end_date: date | None
    target: str  # CUSTOMERS, GROUPS or ALL
    customer_ids: tuple[str, ...]
    group_ids: tuple[str, ...]
    paused: bool
    last_period: int  # the last period applied or skipped; -1 before the first
    created_at: datetime
    expires_after_days: int | None = None  # each top-up expires this long after its period
    replace_previous: bool = False  # earlier top-ups' remainders expire at each period

    @property
    def recurrence(self) -> Recurrence:
        return Recurrence(
            self.every,
            RecurrenceUnit(self.unit),
            self.start_date,
            self.end_date,
            self.expires_after_days,
            self.replace_previous,
        )

    def due_periods(self, now: datetime, timezone: str) -> list[tuple[int, date]]:
        """(index, date) of the periods due by `now` in the location's time zone after the last
        one done with, oldest first (at most `MAX_CATCH_UP`). Never a period dated before the
        schedule was created: catching up covers only what fell due while nothing ticked,
        whatever start date an older row was given."""
        recurrence = self.recurrence
        before_creation = last_index_before(recurrence, local_today(self.created_at, timezone))
        last = max(self.last_period, before_creation)
        return due_indices(recurrence, last, local_today(now, timezone))

    def resumed(self, today: date) -> Resumed:
        """Where the schedule carries on when it is resumed on `today`: the periods that fell
        while it was paused are skipped, today's still runs."""
        skip_to = last_index_before(self.recurrence, today)
        last = max(self.last_period, skip_to)
        return Resumed(
            skip_through=skip_to if skip_to > self.last_period else None,
            last_period=last,
            next_run_on=date_after_index(self.recurrence, last),
        )

    def next_run_after(self, period: int) -> date | None:
        """The date of the period after `period`; None when the recurrence has ended."""
        return date_after_index(self.recurrence, period)

    def ending_now(self) -> date:
        """The end date that ends the schedule after the last period done with: no period
        comes after it (a schedule that never ran ends the day before it starts), so neither
        the tick nor a resume applies another."""
        if self.last_period < 0:
            ends = self.start_date - timedelta(days=1)
        else:
            ends = period_date(self.recurrence, self.last_period)
        return ends if self.end_date is None else min(ends, self.end_date)

    def without_group(self, group_id: UUID) -> GroupRemoval:
        """What becomes of the schedule when group `group_id` is deleted: a schedule of that
        group only ends; one of other groups too just loses it."""
        kept = tuple(g for g in self.group_ids if parse_id(g) != group_id)
        if kept == self.group_ids:
            return GroupRemoval(kept, None)
        return GroupRemoval(kept, None if kept else self.ending_now())


@dataclass(frozen=True)
class GroupRemoval:
    """A schedule's groups after one of them is deleted, and its end date when none is left
    (None: it carries on)."""

    group_ids: tuple[str, ...]
    ends_on: date | None


@dataclass(frozen=True)
class Resumed:
    """A resumed schedule: its runs up to `skip_through` (when given) are skipped, and it
    carries on after `last_period`, next on `next_run_on`."""

    skip_through: int | None
    last_period: int
    next_run_on: date | None


@dataclass(frozen=True)
class ScheduleRunJob:
    """One period of a schedule, as its job claims it."""

    id: UUID
    schedule_id: UUID
    period: int
    period_on: date
    status: str
    attempts: int
    # What the period applies, once its first attempt took it from the schedule (None before).
    amount: int | None = None
    description: str | None = None


def selection_to_json(selection: CustomerSelection) -> dict[str, object]:
    """A filter as an operation stores it, and as its request's fingerprint spells it."""

    def ids(values: tuple[UUID | None, ...] | None) -> list[str] | None:
        return None if values is None else [str(v) for v in values if v is not None]

    return {
        "ids": ids(selection.ids),
        "group_ids": ids(selection.group_ids),
        "search": selection.search,
        "has_credits": selection.has_credits,
    }


def stored_selection(stored: Mapping[str, object]) -> CustomerSelection | None:
    """The customers an operation's stored filter selects; None for every customer (see the
    module docstring)."""
    selection = _selection_from_json(stored)
    return None if selection == CustomerSelection() else selection


def _selection_from_json(data: Mapping[str, object]) -> CustomerSelection:
    def ids(name: str) -> tuple[UUID, ...] | None:
        value = data.get(name)
        if not isinstance(value, list):
            return None
        return tuple(uid for uid in (parse_id(str(v)) for v in value) if uid is not None)

    search = data.get("search")
    has_credits = data.get("has_credits")
    return CustomerSelection(
        ids=ids("ids"),
        group_ids=ids("group_ids"),
        search=search if isinstance(search, str) else None,
        has_credits=has_credits if isinstance(has_credits, bool) else None,
    )
