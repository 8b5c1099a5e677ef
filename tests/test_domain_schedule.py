from datetime import UTC, date, datetime

import pytest

from domain.schedule import (
    MAX_CATCH_UP,
    Recurrence,
    RecurrenceUnit,
    date_after_index,
    due_indices,
    due_periods,
    last_index_before,
    local_today,
    next_period,
    period_date,
    recurrence_problems,
)
from tests.english import en

DAY = RecurrenceUnit.DAY
WEEK = RecurrenceUnit.WEEK
MONTH = RecurrenceUnit.MONTH


@pytest.mark.parametrize(
    ("recurrence", "expected_dates"),
    [
        (
            Recurrence(1, MONTH, date(2026, 1, 31)),
            [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)],
        ),
        (
            Recurrence(1, MONTH, date(2028, 1, 31)),
            [date(2028, 1, 31), date(2028, 2, 29), date(2028, 3, 31), date(2028, 4, 30)],
        ),
        (
            Recurrence(1, MONTH, date(2026, 11, 30)),
            [date(2026, 11, 30), date(2026, 12, 30), date(2027, 1, 30), date(2027, 2, 28)],
        ),
        (
            Recurrence(2, MONTH, date(2026, 12, 31)),
            [date(2026, 12, 31), date(2027, 2, 28), date(2027, 4, 30), date(2027, 6, 30)],
        ),
        (
            Recurrence(12, MONTH, date(2028, 2, 29)),
            [
                date(2028, 2, 29),
                date(2029, 2, 28),
                date(2030, 2, 28),
                date(2031, 2, 28),
                date(2032, 2, 29),
            ],
        ),
        (
            Recurrence(1, WEEK, date(2026, 12, 24)),
            [date(2026, 12, 24), date(2026, 12, 31), date(2027, 1, 7), date(2027, 1, 14)],
        ),
        (
            Recurrence(2, WEEK, date(2026, 3, 2)),
            [date(2026, 3, 2), date(2026, 3, 16), date(2026, 3, 30), date(2026, 4, 13)],
        ),
        (
            Recurrence(1, DAY, date(2028, 2, 28)),
            [date(2028, 2, 28), date(2028, 2, 29), date(2028, 3, 1), date(2028, 3, 2)],
        ),
        (
            Recurrence(3, DAY, date(2026, 12, 30)),
            [date(2026, 12, 30), date(2027, 1, 2), date(2027, 1, 5), date(2027, 1, 8)],
        ),
    ],
)
def test_period_date(recurrence: Recurrence, expected_dates: list[date]) -> None:
    assert [period_date(recurrence, i) for i in range(len(expected_dates))] == expected_dates


def test_period_date_refuses_negative_index() -> None:
    with pytest.raises(ValueError, match="period index must not be negative"):
        period_date(Recurrence(1, DAY, date(2026, 1, 1)), -1)


@pytest.mark.parametrize(
    ("recurrence", "after", "today", "expected"),
    [
        (Recurrence(1, MONTH, date(2026, 1, 31)), None, date(2026, 1, 30), []),
        (Recurrence(1, DAY, date(2026, 1, 31)), None, date(2026, 1, 31), [date(2026, 1, 31)]),
        (
            Recurrence(1, MONTH, date(2026, 1, 31)),
            date(2026, 1, 31),
            date(2026, 5, 15),
            [date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)],
        ),
        (
            Recurrence(1, MONTH, date(2026, 1, 31)),
            None,
            date(2026, 3, 31),
            [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)],
        ),
        (
            Recurrence(1, MONTH, date(2026, 1, 31)),
            date(2026, 2, 28),
            date(2026, 3, 30),
            [],
        ),
        (
            Recurrence(1, MONTH, date(2026, 1, 31)),
            date(2026, 4, 15),
            date(2026, 6, 30),
            [date(2026, 4, 30), date(2026, 5, 31), date(2026, 6, 30)],
        ),
        (
            Recurrence(2, MONTH, date(2026, 1, 15)),
            date(2026, 3, 15),
            date(2026, 9, 14),
            [date(2026, 5, 15), date(2026, 7, 15)],
        ),
        (
            Recurrence(1, WEEK, date(2026, 1, 5), end_date=date(2026, 1, 26)),
            None,
            date(2026, 12, 31),
            [date(2026, 1, 5), date(2026, 1, 12), date(2026, 1, 19), date(2026, 1, 26)],
        ),
        (
            Recurrence(1, WEEK, date(2026, 1, 5), end_date=date(2026, 1, 25)),
            date(2026, 1, 12),
            date(2026, 12, 31),
            [date(2026, 1, 19)],
        ),
        (
            Recurrence(10, DAY, date(2026, 1, 1)),
            date(2026, 1, 15),
            date(2026, 2, 1),
            [date(2026, 1, 21), date(2026, 1, 31)],
        ),
        (
            Recurrence(10, DAY, date(2026, 1, 1)),
            date(2026, 1, 21),
            date(2026, 1, 30),
            [],
        ),
        (
            Recurrence(1, DAY, date(2026, 1, 10)),
            date(2025, 12, 1),
            date(2026, 1, 11),
            [date(2026, 1, 10), date(2026, 1, 11)],
        ),
    ],
)
def test_due_periods(
    recurrence: Recurrence, after: date | None, today: date, expected: list[date]
) -> None:
    assert due_periods(recurrence, after, today) == expected


def test_due_periods_skips_far_past_without_listing_it() -> None:
    recurrence = Recurrence(1, DAY, date(1900, 1, 1))
    assert due_periods(recurrence, date(2026, 6, 29), date(2026, 7, 1)) == [
        date(2026, 6, 30),
        date(2026, 7, 1),
    ]


def test_due_periods_caps_catch_up() -> None:
    recurrence = Recurrence(1, DAY, date(2020, 1, 1))
    due = due_periods(recurrence, None, date(2026, 1, 1))
    assert len(due) == MAX_CATCH_UP == 1000
    assert due[0] == date(2020, 1, 1)
    assert due[-1] == date(2022, 9, 26)
    assert due_periods(recurrence, due[-1], date(2026, 1, 1))[0] == date(2022, 9, 27)


@pytest.mark.parametrize(
    ("recurrence", "after", "expected"),
    [
        (Recurrence(1, MONTH, date(2026, 1, 31)), None, date(2026, 1, 31)),
        (Recurrence(1, MONTH, date(2026, 1, 31)), date(2026, 1, 31), date(2026, 2, 28)),
        (Recurrence(1, MONTH, date(2026, 1, 31)), date(2026, 2, 28), date(2026, 3, 31)),
        (Recurrence(1, MONTH, date(2026, 1, 31)), date(2025, 6, 1), date(2026, 1, 31)),
        (Recurrence(2, WEEK, date(2026, 3, 2)), date(2026, 3, 3), date(2026, 3, 16)),
        (Recurrence(1, DAY, date(2026, 3, 2)), date(2026, 3, 2), date(2026, 3, 3)),
        (
            Recurrence(1, MONTH, date(2026, 1, 31), end_date=date(2026, 3, 30)),
            date(2026, 2, 28),
            None,
        ),
        (
            Recurrence(1, WEEK, date(2026, 1, 5), end_date=date(2026, 1, 12)),
            date(2026, 1, 5),
            date(2026, 1, 12),
        ),
        (
            Recurrence(1, WEEK, date(2026, 1, 5), end_date=date(2026, 1, 12)),
            date(2026, 1, 12),
            None,
        ),
    ],
)
def test_next_period(recurrence: Recurrence, after: date | None, expected: date | None) -> None:
    assert next_period(recurrence, after) == expected


@pytest.mark.parametrize(
    ("now", "zone", "expected"),
    [
        (datetime(2026, 11, 30, 23, 30, tzinfo=UTC), "Europe/Warsaw", date(2026, 12, 1)),
        (datetime(2026, 11, 30, 22, 59, tzinfo=UTC), "Europe/Warsaw", date(2026, 11, 30)),
        (datetime(2026, 11, 30, 23, 0, tzinfo=UTC), "Europe/Warsaw", date(2026, 12, 1)),
        (datetime(2026, 6, 30, 21, 59, tzinfo=UTC), "Europe/Warsaw", date(2026, 6, 30)),
        (datetime(2026, 6, 30, 22, 0, tzinfo=UTC), "Europe/Warsaw", date(2026, 7, 1)),
        (datetime(2026, 12, 1, 3, 0, tzinfo=UTC), "America/New_York", date(2026, 11, 30)),
        (datetime(2026, 11, 30, 23, 30, tzinfo=UTC), "UTC", date(2026, 11, 30)),
    ],
)
def test_local_today(now: datetime, zone: str, expected: date) -> None:
    assert local_today(now, zone) == expected


def test_local_today_refuses_naive_datetime() -> None:
    with pytest.raises(ValueError, match="now must be an aware datetime"):
        local_today(datetime(2026, 11, 30, 23, 30), "Europe/Warsaw")


START_IN_THE_PAST = (
    "input.recurrence.startDate",
    "Start date must not be before today (2026-01-01).",
)


@pytest.mark.parametrize(
    ("recurrence", "expected"),
    [
        (Recurrence(1, DAY, date(2026, 1, 1)), []),
        (Recurrence(365, MONTH, date(2026, 1, 1), end_date=date(2026, 1, 1)), []),
        (
            Recurrence(0, WEEK, date(2026, 1, 1)),
            [("input.recurrence.every", "Every must be between 1 and 365.")],
        ),
        (
            Recurrence(366, DAY, date(2026, 1, 1)),
            [("input.recurrence.every", "Every must be between 1 and 365.")],
        ),
        (
            Recurrence(1, MONTH, date(2026, 1, 2), end_date=date(2026, 1, 1)),
            [("input.recurrence.endDate", "End date must not be before the start date.")],
        ),
        (
            Recurrence(-1, MONTH, date(2026, 1, 2), end_date=date(2025, 1, 1)),
            [
                ("input.recurrence.every", "Every must be between 1 and 365."),
                ("input.recurrence.endDate", "End date must not be before the start date."),
            ],
        ),
        (Recurrence(1, DAY, date(2025, 12, 31)), [START_IN_THE_PAST]),
        (Recurrence(1, DAY, date(1, 1, 1)), [START_IN_THE_PAST]),
    ],
)
def test_recurrence_problems(recurrence: Recurrence, expected: list[tuple[str, str]]) -> None:
    problems = recurrence_problems(recurrence, today=date(2026, 1, 1))
    assert [(field, en(message)) for field, message in problems] == expected


def test_due_indices_continue_from_the_last_applied_index() -> None:
    monthly = Recurrence(1, RecurrenceUnit.MONTH, date(2026, 1, 31))

    due = due_indices(monthly, 0, date(2026, 4, 30))

    assert due == [(1, date(2026, 2, 28)), (2, date(2026, 3, 31)), (3, date(2026, 4, 30))]


def test_due_indices_stop_at_the_end_date() -> None:
    daily = Recurrence(1, RecurrenceUnit.DAY, date(2026, 12, 1), end_date=date(2026, 12, 3))

    assert due_indices(daily, -1, date(2026, 12, 31)) == [
        (0, date(2026, 12, 1)),
        (1, date(2026, 12, 2)),
        (2, date(2026, 12, 3)),
    ]
    assert date_after_index(daily, 2) is None
    assert date_after_index(daily, 1) == date(2026, 12, 3)


def test_last_index_before_a_day() -> None:
    weekly = Recurrence(1, RecurrenceUnit.WEEK, date(2026, 12, 1))

    assert last_index_before(weekly, date(2026, 12, 1)) == -1
    assert last_index_before(weekly, date(2026, 12, 8)) == 0
    assert last_index_before(weekly, date(2026, 12, 9)) == 1
