"""`updateCreditSchedule` and `CreditSchedule.runs` through the API, on both databases: an edit
applies from the next period, a refused one changes nothing, and the runs list each period
newest first with the customers it reached and what it wrote. The rules behind them are tested
in memory (`test_schedule_edit_rules.py`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from models.tables.wallet import CreditSchedule, ScheduleRun
from services import schedules
from services.runtime import Runtime
from tasks.inprocess import InProcessDispatcher
from tests.helpers import Api, Clock, create_customer
from tests.wallet_helpers import balance_of, credit_ok

UPDATE = """
mutation($id: ID!, $input: CreditScheduleUpdateInput!) {
  updateCreditSchedule(id: $id, input: $input) {
    schedule { amount { amount } description endDate nextRunOn }
    errors { code field }
  }
}"""

RUNS = """
query($first: Int, $after: String) {
  creditSchedules {
    runs(first: $first, after: $after) {
      edges { node { period status customerCount total { amount } operation { id } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(at("2026-06-15T08:00"))


@pytest.fixture(autouse=True)
async def own_schedules_only(api: Api) -> AsyncIterator[None]:
    """Ticks see every schedule in the database: drop this test's ones when it ends."""
    yield
    await CreditSchedule.filter(location_id=UUID(api.location_id)).delete()


async def tick(now: datetime, dispatcher: InProcessDispatcher) -> None:
    runtime: Runtime = dispatcher.context["runtime"]
    assert isinstance(runtime.clock, Clock)
    runtime.clock.now = now
    await schedules.queue_due_runs(runtime)
    await dispatcher.drain()


async def runs(api: Api, **variables: Any) -> dict[str, Any]:
    (schedule,) = (await api.data(RUNS, variables))["creditSchedules"]
    found: dict[str, Any] = schedule["runs"]
    return found


async def test_an_edit_applies_from_the_next_period_and_the_runs_show_each(
    api: Api, dispatcher: InProcessDispatcher
) -> None:
    # given a daily 10.00 for two customers from today, today's period applied
    ids = [(await create_customer(api, firstName=n))["id"] for n in ("Ala", "Ola")]
    schedule = await credit_ok(
        api,
        {"customerIds": ids},
        "ADD",
        "10.00",
        description="Daily",
        recurrence={"unit": "DAY", "startDate": "2026-06-15"},
    )
    await dispatcher.drain()

    # when a refused edit, then an edit of the amount and end date, are sent
    refused = await api.mutate(
        UPDATE, {"id": schedule["id"], "input": {"amount": "-1", "endDate": "2026-06-14"}}
    )
    edited = await api.mutate(
        UPDATE, {"id": schedule["id"], "input": {"amount": "2.50", "endDate": "2026-06-16"}}
    )
    # and the days pass
    await tick(at("2026-06-16T08:00"), dispatcher)
    await tick(at("2026-06-20T08:00"), dispatcher)

    # then the refusal named both fields, and the edit applied from the next period only
    assert refused == {
        "schedule": None,
        "errors": [
            {"code": "INVALID", "field": "input.amount"},
            {"code": "INVALID", "field": "input.endDate"},
        ],
    }
    assert edited == {
        "schedule": {
            "amount": {"amount": "2.50"},
            "description": "Daily",
            "endDate": "2026-06-16",
            "nextRunOn": "2026-06-16",
        },
        "errors": [],
    }
    assert [await balance_of(api, i) for i in ids] == ["12.50", "12.50"]
    first = await runs(api, first=1)
    rest = await runs(api, first=5, after=first["pageInfo"]["endCursor"])
    # each period is a wallet operation too, named by its run's id (what an undo takes)
    periods = await ScheduleRun.filter(schedule_id=schedule["id"]).order_by("-period")
    run_ids = [{"id": str(run.id)} for run in periods]
    assert [e["node"] for e in first["edges"] + rest["edges"]] == [
        {
            "period": "2026-06-16",
            "status": "SUCCEEDED",
            "customerCount": 2,
            "total": {"amount": "5.00"},
            "operation": run_ids[0],
        },
        {
            "period": "2026-06-15",
            "status": "SUCCEEDED",
            "customerCount": 2,
            "total": {"amount": "20.00"},
            "operation": run_ids[1],
        },
    ]
    assert (first["pageInfo"]["hasNextPage"], rest["pageInfo"]["hasNextPage"]) == (True, False)
