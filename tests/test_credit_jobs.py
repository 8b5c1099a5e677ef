"""How a credit request's target is stored and read back, and the fingerprint spelled from it:
plain data, no database. A stored filter must keep meaning what it meant when it was written,
and a request's fingerprint must stay the one stored with its record."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from uuid import UUID

from domain.credit_jobs import Resumed, ScheduleJob, selection_to_json, stored_selection
from domain.credits import CustomerSelection, ParsedCredit, ParsedTarget
from domain.ledger import CreditOperation
from domain.schedule import Recurrence, RecurrenceUnit
from services.wallet import request_hash

GROUP = UUID("00000000-0000-4000-8000-000000000001")
CUSTOMER = UUID("00000000-0000-4000-8000-000000000002")


def test_a_filter_is_stored_without_its_malformed_ids_and_read_back_as_it_was() -> None:
    selection = CustomerSelection(
        ids=(CUSTOMER, None), group_ids=(GROUP,), search="nowak", has_credits=True
    )

    stored = selection_to_json(selection)

    assert stored == {
        "ids": [str(CUSTOMER)],
        "group_ids": [str(GROUP)],
        "search": "nowak",
        "has_credits": True,
    }
    assert stored_selection(stored) == CustomerSelection(
        ids=(CUSTOMER,), group_ids=(GROUP,), search="nowak", has_credits=True
    )


def test_a_stored_filter_without_a_criterion_is_every_customer() -> None:
    assert stored_selection({}) is None
    assert stored_selection(selection_to_json(CustomerSelection())) is None
    assert stored_selection({"ids": None, "search": 7, "has_credits": "yes"}) is None


def test_stored_text_that_is_not_an_id_names_no_one() -> None:
    assert stored_selection({"ids": ["not-an-id", str(CUSTOMER)]}) == CustomerSelection(
        ids=(CUSTOMER,)
    )
    assert stored_selection({"group_ids": ["nope"]}) == CustomerSelection(group_ids=())


def test_the_fingerprints_of_stored_requests_stay_the_same() -> None:
    by_filter = ParsedTarget(
        selection=CustomerSelection(
            ids=(CUSTOMER, None), group_ids=(GROUP,), search="nowak", has_credits=True
        )
    )
    by_list = ParsedTarget(customer_ids=(CUSTOMER, GROUP, CUSTOMER))

    assert request_hash(ParsedCredit(CreditOperation.ADD, 500, "Spring", None, by_filter)) == (
        "f404bc350eca36694bce694f291c1878827613345d9f69898908fdc0af65da2f"
    )
    assert request_hash(ParsedCredit(CreditOperation.SET, 0, None, None, by_list)) == (
        "ca462746a5007ccf15fd01fdeaf6a87540b478e0917fdc6f62e8a3ae7ba8fe9b"
    )


def test_a_schedule_reads_its_recurrence_from_its_columns() -> None:
    schedule = ScheduleJob(
        id=GROUP,
        location_id=CUSTOMER,
        operation="ADD",
        amount=100,
        description=None,
        every=2,
        unit="WEEK",
        start_date=date(2026, 3, 2),
        end_date=date(2026, 6, 1),
        target="ALL",
        customer_ids=(),
        group_ids=(),
        paused=False,
        last_period=-1,
        created_at=datetime(2026, 3, 1, tzinfo=UTC),
    )

    assert schedule.recurrence == Recurrence(
        2, RecurrenceUnit.WEEK, date(2026, 3, 2), date(2026, 6, 1)
    )


DAILY = ScheduleJob(
    id=GROUP,
    location_id=CUSTOMER,
    operation="ADD",
    amount=100,
    description=None,
    every=1,
    unit="DAY",
    start_date=date(2026, 3, 2),
    end_date=None,
    target="ALL",
    customer_ids=(),
    group_ids=(),
    paused=False,
    last_period=-1,
    created_at=datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
)


def test_the_tick_finds_every_period_due_since_the_last_one_oldest_first() -> None:
    now = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)

    assert DAILY.due_periods(now, "Europe/Warsaw") == [
        (0, date(2026, 3, 2)),
        (1, date(2026, 3, 3)),
        (2, date(2026, 3, 4)),
    ]
    assert replace(DAILY, last_period=1).due_periods(now, "Europe/Warsaw") == [
        (2, date(2026, 3, 4))
    ]
    assert replace(DAILY, last_period=2).due_periods(now, "Europe/Warsaw") == []


def test_the_tick_never_catches_up_a_period_dated_before_the_schedule_was_created() -> None:
    created_late = replace(DAILY, created_at=datetime(2026, 3, 5, 10, 0, tzinfo=UTC))

    due = created_late.due_periods(datetime(2026, 3, 6, 10, 0, tzinfo=UTC), "Europe/Warsaw")

    assert due == [(3, date(2026, 3, 5)), (4, date(2026, 3, 6))]


def test_a_period_falls_due_at_midnight_in_the_locations_time_zone() -> None:
    # 23:30 UTC is already the next day in Warsaw (UTC+1 in March), not yet in UTC
    now = datetime(2026, 3, 3, 23, 30, tzinfo=UTC)
    schedule = replace(DAILY, last_period=0)

    assert schedule.due_periods(now, "Europe/Warsaw") == [
        (1, date(2026, 3, 3)),
        (2, date(2026, 3, 4)),
    ]
    assert schedule.due_periods(now, "UTC") == [(1, date(2026, 3, 3))]


def test_a_resumed_schedule_skips_what_fell_while_paused_and_runs_today() -> None:
    paused_after_first = replace(DAILY, last_period=0, paused=True)
    ahead = replace(DAILY, last_period=5, paused=True)

    assert paused_after_first.resumed(date(2026, 3, 5)) == Resumed(
        skip_through=2, last_period=2, next_run_on=date(2026, 3, 5)
    )
    assert ahead.resumed(date(2026, 3, 5)) == Resumed(
        skip_through=None, last_period=5, next_run_on=date(2026, 3, 8)
    )


def test_a_schedule_past_its_end_date_has_no_next_run() -> None:
    ending = replace(DAILY, end_date=date(2026, 3, 6))

    assert ending.next_run_after(3) == date(2026, 3, 6)
    assert ending.next_run_after(4) is None
