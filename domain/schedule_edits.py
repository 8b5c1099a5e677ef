"""Editing a credit schedule: its amount, description and end date, checked as creation checks
them, applied from its next period.

A period already under way keeps what it started with (its run records the amount and the
description its first attempt took). A new end date moves the next period, or ends the schedule
when none is left before it; an end date given to a schedule that had ended carries it on from
today, as a resume does: the periods that fell while it was over are never applied.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from domain.contacts import clean_text
from domain.credit_jobs import ScheduleJob
from domain.credits import MAX_DESCRIPTION_LENGTH
from domain.errors import ErrorCode, Validator
from domain.ledger import CreditOperation, amount_problem
from domain.messages import msg
from domain.money import to_minor
from domain.requests import UNSET, ScheduleUpdate
from domain.schedule import date_after_index, last_index_before
from domain.text import text_problem


def schedule_changes(
    schedule: ScheduleJob, update: ScheduleUpdate, *, minor_units: int, today: date
) -> dict[str, Any]:
    """The columns an edit writes (none for an edit that gives nothing), or a `DomainError`
    naming every problem. `today` is the date in the location's time zone."""
    checks = Validator()
    columns: dict[str, Any] = {}
    if update.amount is not UNSET and update.amount is not None:
        operation = CreditOperation(schedule.operation)
        if problem := amount_problem(operation, update.amount, minor_units):
            checks.add(ErrorCode.INVALID, "input.amount", problem)
        else:
            columns["amount"] = to_minor(update.amount, minor_units)
    if update.description is not UNSET:
        description = clean_text(update.description)
        if description is not None and (
            problem := text_problem(description, MAX_DESCRIPTION_LENGTH, multiline=True)
        ):
            checks.add(ErrorCode.INVALID, "input.description", problem)
        columns["description"] = description
    if update.end_date is not UNSET:
        end = update.end_date
        if schedule.target == "GROUPS" and not schedule.group_ids:
            message = msg("schedule.groups_deleted")
            checks.add(ErrorCode.INVALID, "input.endDate", message)
        elif end is not None and end < schedule.start_date:
            message = msg("recurrence.end_before_start")
            checks.add(ErrorCode.INVALID, "input.endDate", message)
        elif end is not None and end < today:
            message = msg("schedule.end_past", today=today.isoformat())
            checks.add(ErrorCode.INVALID, "input.endDate", message)
        else:
            columns.update(_ends(schedule, end, today))
    checks.check()
    return columns


def _ends(schedule: ScheduleJob, end: date | None, today: date) -> dict[str, Any]:
    """The end date, and the next period under it; a schedule that had ended carries on after
    the periods that fell before today."""
    last = schedule.last_period
    if date_after_index(schedule.recurrence, last) is None:
        last = max(last, last_index_before(schedule.recurrence, today))
    recurrence = replace(schedule.recurrence, end_date=end)
    return {"end_date": end, "last_period": last, "next_run_on": date_after_index(recurrence, last)}
