"""Periods of a recurring credit, as date arithmetic.

A recurrence is every N days, weeks or months from a start date, optionally up to an end date
(inclusive). Period dates are dates in the location's time zone; the caller passes "today".
Month steps keep the start date's day of month and clamp it to the month's last day, always
counted from the start date (Jan 31 -> Feb 28/29 -> Mar 31 -> Apr 30), never from the previous
clamped date. A worker remembers the last period it applied and catches up missed ones in order.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from domain.messages import Message, msg

MAX_CATCH_UP = 1000
MIN_EVERY = 1
MAX_EVERY = 365
MAX_EXPIRES_AFTER_DAYS = 3660  # ten years
MONTHS_PER_YEAR = 12
DAYS_PER_WEEK = 7


class RecurrenceUnit(StrEnum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"


@dataclass(frozen=True)
class Recurrence:
    every: int
    unit: RecurrenceUnit
    start_date: date
    end_date: date | None = None
    # Each top-up expires this many days after its period's date (None: never).
    expires_after_days: int | None = None
    # At each period, what is left of the schedule's earlier top-ups expires first.
    replace_previous: bool = False


def period_date(recurrence: Recurrence, index: int) -> date:
    """The date of the `index`-th period; index 0 is the start date."""
    if index < 0:
        raise ValueError(f"period index must not be negative, got {index}")
    start = recurrence.start_date
    match recurrence.unit:
        case RecurrenceUnit.DAY:
            return start + timedelta(days=index * recurrence.every)
        case RecurrenceUnit.WEEK:
            return start + timedelta(days=index * recurrence.every * DAYS_PER_WEEK)
        case RecurrenceUnit.MONTH:
            months_from_year_start = start.month - 1 + index * recurrence.every
            year = start.year + months_from_year_start // MONTHS_PER_YEAR
            month = months_from_year_start % MONTHS_PER_YEAR + 1
            last_day = calendar.monthrange(year, month)[1]
            return date(year, month, min(start.day, last_day))


def _first_index_after(recurrence: Recurrence, after: date | None) -> int:
    """The index of the first period dated after `after` (0 when `after` is None)."""
    start = recurrence.start_date
    if after is None or after < start:
        return 0
    if recurrence.unit is RecurrenceUnit.MONTH:
        months_since_start = (after.year - start.year) * MONTHS_PER_YEAR + after.month - start.month
        index = months_since_start // recurrence.every
        while period_date(recurrence, index) <= after:
            index += 1
        return index
    days_per_period = recurrence.every
    if recurrence.unit is RecurrenceUnit.WEEK:
        days_per_period *= DAYS_PER_WEEK
    return (after - start).days // days_per_period + 1


def _within_end(recurrence: Recurrence, day: date) -> bool:
    return recurrence.end_date is None or day <= recurrence.end_date


def due_periods(recurrence: Recurrence, after: date | None, today: date) -> list[date]:
    """Period dates after `after` (the last one applied) up to `today`, oldest first.

    At most `MAX_CATCH_UP` dates; the rest follow on the next call.
    """
    due: list[date] = []
    index = _first_index_after(recurrence, after)
    while len(due) < MAX_CATCH_UP:
        day = period_date(recurrence, index)
        if day > today or not _within_end(recurrence, day):
            break
        due.append(day)
        index += 1
    return due


def due_indices(recurrence: Recurrence, last_index: int, today: date) -> list[tuple[int, date]]:
    """(index, date) of the periods after index `last_index` up to `today`, oldest first.

    At most `MAX_CATCH_UP`; the rest follow on the next call.
    """
    due: list[tuple[int, date]] = []
    index = last_index + 1
    while len(due) < MAX_CATCH_UP:
        day = period_date(recurrence, index)
        if day > today or not _within_end(recurrence, day):
            break
        due.append((index, day))
        index += 1
    return due


def date_after_index(recurrence: Recurrence, last_index: int) -> date | None:
    """The date of the period after index `last_index`, or None when the recurrence has ended."""
    day = period_date(recurrence, last_index + 1)
    return day if _within_end(recurrence, day) else None


def last_index_before(recurrence: Recurrence, day: date) -> int:
    """The index of the last period dated before `day`; -1 when none is."""
    return _first_index_after(recurrence, day - timedelta(days=1)) - 1


def next_period(recurrence: Recurrence, after: date | None) -> date | None:
    """The first period date after `after`, or None when the recurrence has ended by then."""
    day = period_date(recurrence, _first_index_after(recurrence, after))
    return day if _within_end(recurrence, day) else None


def local_today(now: datetime, timezone: str) -> date:
    """The calendar date at the aware instant `now` in the IANA time zone `timezone`."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    return now.astimezone(ZoneInfo(timezone)).date()


def recurrence_problems(recurrence: Recurrence, today: date) -> list[tuple[str, Message]]:
    """(field, message) for each thing wrong with `recurrence`; empty when it is valid.

    `today` is the date in the location's time zone: a schedule may start today or later,
    never in the past, so that no period due before it was created is ever applied.
    """
    problems: list[tuple[str, Message]] = []
    if not MIN_EVERY <= recurrence.every <= MAX_EVERY:
        problems.append(
            (
                "input.recurrence.every",
                msg("recurrence.every", minimum=MIN_EVERY, maximum=MAX_EVERY),
            )
        )
    if recurrence.start_date < today:
        problems.append(
            (
                "input.recurrence.startDate",
                msg("recurrence.start_past", today=today.isoformat()),
            )
        )
    if recurrence.end_date is not None and recurrence.end_date < recurrence.start_date:
        problems.append(("input.recurrence.endDate", msg("recurrence.end_before_start")))
    days = recurrence.expires_after_days
    if days is not None and not 1 <= days <= MAX_EXPIRES_AFTER_DAYS:
        problems.append(
            (
                "input.recurrence.expiresAfterDays",
                msg("recurrence.expires_after_days", minimum=1, maximum=MAX_EXPIRES_AFTER_DAYS),
            )
        )
    return problems
