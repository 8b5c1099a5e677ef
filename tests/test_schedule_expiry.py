"""Schedules whose top-ups expire, on SQLite and PostgreSQL: each top-up expires
`expiresAfterDays` after its period; with `replacePrevious`, what is left of the previous top-up
expires (EXPIRE entries) before the period's own top-up, exactly once per period."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from uuid import UUID

import pytest

from models.tables.wallet import CreditSchedule, WalletEntry
from services import schedules
from services.runtime import Runtime
from tasks.inprocess import InProcessDispatcher
from tests.helpers import Api, Clock, create_customer
from tests.lots_helpers import expire_due, lots_left, sums
from tests.wallet_helpers import credit_ok, set_credits


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(at("2026-01-01T12:00"))


@pytest.fixture(autouse=True)
async def own_schedules_only(api: Api) -> AsyncIterator[None]:
    """Ticks see every schedule in the database: drop this test's ones when it ends."""
    yield
    await CreditSchedule.filter(location_id=UUID(api.location_id)).delete()


async def tick(runtime: Runtime, clock: Clock, dispatcher: InProcessDispatcher, now: str) -> None:
    clock.now = at(now)
    await schedules.queue_due_runs(runtime)
    await dispatcher.drain()


async def test_each_top_up_expires_after_its_days(
    api: Api, runtime: Runtime, clock: Clock, dispatcher: InProcessDispatcher
) -> None:
    customer = await create_customer(api, firstName="Anna")
    one = {"customerIds": [customer["id"]]}
    recurrence = {"unit": "DAY", "every": 2, "startDate": "2026-01-01", "expiresAfterDays": 3}
    schedule = await credit_ok(api, one, "ADD", "10.00", recurrence=recurrence)
    assert (await CreditSchedule.get(id=schedule["id"])).expires_after_days == 3
    await tick(runtime, clock, dispatcher, "2026-01-01T12:00")
    await tick(runtime, clock, dispatcher, "2026-01-03T12:00")
    assert await lots_left(customer["id"]) == [
        (1000, 1000, date(2026, 1, 4)),
        (1000, 1000, date(2026, 1, 6)),
    ]
    clock.now = at("2026-01-05T12:00")
    await expire_due(runtime)
    assert await sums(customer["id"]) == (1000, 1000, 1000)


async def test_a_top_up_replacing_the_previous_one_expires_what_is_left_of_it_once(
    api: Api, runtime: Runtime, clock: Clock, dispatcher: InProcessDispatcher
) -> None:
    customer = await create_customer(api, firstName="Ola")
    one = {"customerIds": [customer["id"]]}
    await credit_ok(api, one, "ADD", "5.00")  # her own credits stay
    recurrence = {"unit": "DAY", "startDate": "2026-01-01", "replacePrevious": True}
    await credit_ok(api, one, "ADD", "10.00", recurrence=recurrence)
    await tick(runtime, clock, dispatcher, "2026-01-01T12:00")
    # neither lot expires by date: spending takes the older one (her own 5.00) first
    await credit_ok(api, one, "REDUCE", "3.00")
    await tick(runtime, clock, dispatcher, "2026-01-02T12:00")
    await tick(runtime, clock, dispatcher, "2026-01-02T13:00")  # a second tick changes nothing
    assert await lots_left(customer["id"]) == [(500, 200, None), (1000, 1000, None)]
    expired = await WalletEntry.filter(customer_id=customer["id"], kind="EXPIRE")
    assert [e.delta for e in expired] == [-1000]
    assert await sums(customer["id"]) == (1200, 1200, 1200)


async def test_expiry_days_out_of_range_are_refused(api: Api) -> None:
    customer = await create_customer(api, firstName="Jan")
    one = {"customerIds": [customer["id"]]}
    recurrence = {"unit": "DAY", "startDate": "2026-01-01", "expiresAfterDays": 0}
    payload = await set_credits(api, one, "ADD", "1.00", recurrence=recurrence)
    assert payload["errors"] == [
        {
            "code": "INVALID",
            "field": "input.recurrence.expiresAfterDays",
            "message": "Top-ups expire after 1 to 3660 days.",
        }
    ]
