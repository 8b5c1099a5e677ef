"""The `credits.expiring` webhook event, on SQLite and PostgreSQL.

Once a day per endpoint that subscribes to it (the location's local day D, Europe/Warsaw here),
the endpoint is told of every customer holding credits that expire on D + its
`expiringDaysBefore`, with the sum of what is left; exactly once per endpoint and day, also
when the check runs twice or two at once (PostgreSQL, with a negative control), catching up
the days a worker missed; nothing for a disabled or unsubscribed endpoint.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks import Webhook

from domain.schedule import local_today
from models import webhooks as store
from models import webhooks_expiring as expiring
from models.db import Transaction
from models.tables.webhooks import WebhookDelivery, WebhookEndpoint
from services import webhooks
from services.runtime import Runtime
from tasks.jobs import check
from tests.builders import bulk_customers, sql_statements
from tests.helpers import Api, Clock, create_customer
from tests.wallet_helpers import credit_ok
from tests.webhook_helpers import (
    UPDATE_ENDPOINT,
    create_endpoint,
    deliveries,
    hook_url,
    receive,
)

# 10:00 on Dec 1 2026 in Warsaw (UTC+1 in winter).
MORNING = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
# The first instant of Dec 2 in Warsaw.
DEC2 = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
EXPIRING = ["CREDITS_EXPIRING"]


@pytest.fixture(autouse=True)
def _receiver(runtime: Runtime) -> None:
    """Every request the job sends is answered here (a job the check queues may run)."""
    receive(runtime)


async def _bodies(api: Api) -> list[dict[str, Any]]:
    """The location's `credits.expiring` deliveries' bodies, in the order they were written."""
    rows = await WebhookDelivery.filter(
        location_id=api.location_id, event="CREDITS_EXPIRING"
    ).order_by("id")
    return [json.loads(row.body) for row in rows]


def _notices(bodies: Sequence[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    """(day, customer, amount, expires on) of every item of the bodies."""
    return [
        (b["data"]["day"], c["customerId"], c["amount"], c["expiresOn"])
        for b in bodies
        for c in b["data"]["customers"]
    ]


async def _customer(api: Api, name: str, *credits: tuple[str, str | None]) -> str:
    customer = await create_customer(api, firstName=name)
    for amount, expires_on in credits:
        extra = {} if expires_on is None else {"expiresOn": expires_on}
        await credit_ok(api, {"customerIds": [customer["id"]]}, "ADD", amount, **extra)
    return str(customer["id"])


async def test_the_customers_whose_credits_expire_are_told_on_the_local_day_before(
    api: Api, runtime: Runtime, clock: Clock
) -> None:
    # given an endpoint (7 days before) and customers' credits expiring on Dec 8 and Dec 9
    clock.now = MORNING
    await create_endpoint(api, events=EXPIRING)
    anna = await _customer(api, "Anna", ("50.00", "2026-12-08"), ("20.50", "2026-12-08"))
    jan = await _customer(api, "Jan", ("30.00", "2026-12-09"), ("5.00", None))
    ewa = await _customer(api, "Ewa", ("10.00", "2026-12-08"))
    await credit_ok(api, {"customerIds": [ewa]}, "REDUCE", "10.00")  # nothing left of it
    await _customer(api, "Hans", ("40.00", None), ("15.00", "2026-12-10"))

    # on Dec 1 the customers of Dec 8 are told of; a check again adds nothing
    assert await webhooks.emit_expiring(runtime) >= 1
    await webhooks.emit_expiring(runtime)
    await check(runtime)
    assert _notices(await _bodies(api)) == [("2026-12-01", anna, "70.50", "2026-12-08")]

    # the last instant of Dec 1 in Warsaw (22:59:59 UTC) is still Dec 1
    clock.now = DEC2 - timedelta(seconds=1)
    await webhooks.emit_expiring(runtime)
    assert len(await _bodies(api)) == 1
    # its first instant is Dec 2: those of Dec 9
    clock.now = DEC2
    await webhooks.emit_expiring(runtime)
    await webhooks.emit_expiring(runtime)
    bodies = await _bodies(api)
    assert _notices(bodies) == [
        ("2026-12-01", anna, "70.50", "2026-12-08"),
        ("2026-12-02", jan, "30.00", "2026-12-09"),
    ]
    assert bodies[1]["type"] == "credits.expiring"
    assert bodies[1]["timestamp"] == DEC2.isoformat()


async def test_a_worker_that_was_down_catches_the_days_up_in_order(
    api: Api, runtime: Runtime, clock: Clock
) -> None:
    clock.now = MORNING
    endpoint, _ = await create_endpoint(api, events=EXPIRING, expiringDaysBefore=3)
    anna = await _customer(api, "Anna", ("10.00", "2026-12-05"), ("1.00", "2026-12-07"))
    jan = await _customer(api, "Jan", ("20.00", "2026-12-05"), ("2.00", "2026-12-06"))
    # Dec 1 is not notified by a check (the worker is down) until Dec 3 at noon
    clock.now = datetime(2026, 12, 3, 11, 0, tzinfo=UTC)
    await webhooks.emit_expiring(runtime)

    # Dec 1 (nothing expires Dec 4), Dec 2 (Dec 5) and Dec 3 (Dec 6), in order, once
    await webhooks.emit_expiring(runtime)
    first, second = sorted([(anna, "10.00"), (jan, "20.00")])  # by customer id
    assert _notices(await _bodies(api)) == [
        ("2026-12-02", *first, "2026-12-05"),
        ("2026-12-02", *second, "2026-12-05"),
        ("2026-12-03", jan, "2.00", "2026-12-06"),
    ]
    row = await WebhookEndpoint.get(id=endpoint["id"])
    assert row.expiring_notified_on == date(2026, 12, 3)
    assert row.expiring_due_at == datetime(2026, 12, 3, 23, 0, tzinfo=UTC)


async def test_catching_up_goes_back_at_most_31_days(
    api: Api, runtime: Runtime, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock.now = MORNING
    endpoint, _ = await create_endpoint(api, events=EXPIRING, expiringDaysBefore=1)
    anna = await _customer(api, "Anna", ("10.00", "2026-12-02"))
    # the last day notified 60 days back (a worker down for two months)
    await WebhookEndpoint.filter(id=endpoint["id"]).update(expiring_notified_on=date(2026, 10, 2))

    asked: list[date] = []
    expiring_on = expiring.expiring_on

    async def spy(db: Transaction, location_id: Any, day: date) -> list[Any]:
        if str(location_id) == api.location_id:
            asked.append(day)
        return await expiring_on(db, location_id, day)

    monkeypatch.setattr(expiring, "expiring_on", spy)

    await webhooks.emit_expiring(runtime)

    # the days Nov 1 to Dec 1 are notified in order (those expiring Nov 2 to Dec 2), no more
    assert asked == [date(2026, 11, 2) + timedelta(days=n) for n in range(31)]
    assert _notices(await _bodies(api)) == [("2026-12-01", anna, "10.00", "2026-12-02")]
    row = await WebhookEndpoint.get(id=endpoint["id"])
    assert row.expiring_notified_on == date(2026, 12, 1)
    assert row.expiring_due_at == datetime(2026, 12, 1, 23, 0, tzinfo=UTC)


async def test_a_new_endpoint_starts_from_the_day_it_was_created(
    api: Api, runtime: Runtime, clock: Clock
) -> None:
    clock.now = MORNING
    anna = await _customer(api, "Anna", ("10.00", "2026-12-08"), ("4.00", "2026-12-12"))
    clock.now = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    await webhooks.emit_expiring(runtime)
    await create_endpoint(api, events=EXPIRING)

    await webhooks.emit_expiring(runtime)

    # Dec 5 only (those of Dec 12), not the days before it was created (Dec 8 was Dec 1's)
    assert _notices(await _bodies(api)) == [("2026-12-05", anna, "4.00", "2026-12-12")]


async def test_a_disabled_or_unsubscribed_endpoint_is_told_nothing(
    api: Api, runtime: Runtime, clock: Clock
) -> None:
    clock.now = MORNING
    off, _ = await create_endpoint(api, events=EXPIRING, enabled=False)
    wallet, _ = await create_endpoint(api, url=hook_url(api) + "/wallet")
    anna = await _customer(api, "Anna", ("10.00", "2026-12-08"), ("3.00", "2026-12-10"))

    await webhooks.emit_expiring(runtime)
    await webhooks.pump(runtime)
    # the wallet endpoint heard the credits; nothing of what expires
    assert await deliveries(api, off["id"]) == []
    assert {d["event"] for d in await deliveries(api, wallet["id"])} == {"WALLET_CHANGED"}

    # enabled again on Dec 1, with 8 days before: from the next day (Dec 2, those of Dec 10)
    payload = await api.mutate(
        UPDATE_ENDPOINT, {"id": off["id"], "input": {"enabled": True, "expiringDaysBefore": 8}}
    )
    assert payload["errors"] == []
    await webhooks.emit_expiring(runtime)
    assert await _bodies(api) == []
    clock.now = DEC2
    await webhooks.emit_expiring(runtime)
    assert _notices(await _bodies(api)) == [("2026-12-02", anna, "3.00", "2026-12-10")]


async def test_the_notices_are_delivered_signed_like_every_event(
    api: Api, runtime: Runtime, clock: Clock
) -> None:
    # the real time: a receiver refuses a signature more than 5 minutes old
    clock.now = datetime.now(UTC).replace(microsecond=0)
    today = local_today(clock.now, "Europe/Warsaw")
    in_a_week = (today + timedelta(days=7)).isoformat()
    receiver = receive(runtime, api)
    endpoint, secret = await create_endpoint(api, events=EXPIRING)
    anna = await _customer(api, "Anna", ("12.50", in_a_week))

    await webhooks.emit_expiring(runtime)
    await webhooks.deliver(runtime)

    (request,) = receiver.requests
    event = Webhook(secret).verify(request.content, dict(request.headers))
    assert event == {
        "type": "credits.expiring",
        "timestamp": clock.now.isoformat(),
        "data": {
            "day": today.isoformat(),
            "customers": [{"customerId": anna, "amount": "12.50", "expiresOn": in_a_week}],
        },
    }
    (logged,) = await deliveries(api, endpoint["id"])
    assert (logged["event"], logged["status"], logged["attempts"]) == (
        "CREDITS_EXPIRING",
        "SUCCEEDED",
        1,
    )
    assert logged["messageId"] == request.headers["webhook-id"]


async def test_many_customers_go_in_deliveries_of_at_most_100(
    api: Api, runtime: Runtime, clock: Clock
) -> None:
    clock.now = MORNING
    await create_endpoint(api, events=EXPIRING)
    customers = await bulk_customers(api.location_id, 150, prefix="Klient")
    await credit_ok(api, {"customerIds": customers}, "ADD", "1.00", expiresOn="2026-12-08")

    await webhooks.emit_expiring(runtime)

    bodies = await _bodies(api)
    assert [len(b["data"]["customers"]) for b in bodies] == [100, 50]
    assert [c for _, c, _, _ in _notices(bodies)] == sorted(customers)


# ---------------------------------------------------------------- two checks at once

PAUSE = 0.2


def _slow_inserts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each check holds its transaction open a while after writing the day's deliveries."""
    insert = store.insert_deliveries

    async def slow(db: Transaction, deliveries: Sequence[Any], now: datetime) -> None:
        await insert(db, deliveries, now)
        await asyncio.sleep(PAUSE)

    monkeypatch.setattr(store, "insert_deliveries", slow)


async def _two_checks(api: Api, runtime: Runtime, clock: Clock) -> list[tuple[str, ...]]:
    clock.now = MORNING
    await create_endpoint(api, events=EXPIRING)
    await _customer(api, "Anna", ("10.00", "2026-12-08"))
    await asyncio.gather(webhooks.emit_expiring(runtime), webhooks.emit_expiring(runtime))
    return [notice[:3] for notice in _notices(await _bodies(api))]


async def test_two_checks_at_once_tell_the_day_once(
    postgres_only: None, api: Api, runtime: Runtime, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _slow_inserts(monkeypatch)

    assert len(await _two_checks(api, runtime, clock)) == 1


async def test_negative_control_checks_that_advance_unconditionally_tell_it_twice(
    postgres_only: None, api: Api, runtime: Runtime, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _slow_inserts(monkeypatch)

    async def careless(
        db: Transaction, endpoint_id: Any, was: Any, notified_on: Any, due_at: datetime
    ) -> bool:
        scope = WebhookEndpoint.filter(id=endpoint_id).using_db(db)
        await scope.update(expiring_notified_on=notified_on, expiring_due_at=due_at)
        return True

    monkeypatch.setattr(expiring, "advance", careless)

    assert len(await _two_checks(api, runtime, clock)) == 2


async def test_a_check_with_nothing_due_makes_one_indexed_read(
    api: Api, runtime: Runtime, clock: Clock
) -> None:
    clock.now = MORNING
    await create_endpoint(api, events=EXPIRING)
    await webhooks.emit_expiring(runtime)
    # an instant before every endpoint of the database is due again
    clock.now = datetime(2000, 1, 1, tzinfo=UTC)

    with sql_statements() as statements:
        assert await webhooks.emit_expiring(runtime) == 0

    assert len(statements) == 1
    assert "expiring_due_at" in statements[0]


async def test_a_check_out_of_time_leaves_the_days_to_the_next(
    api: Api, runtime: Runtime, clock: Clock
) -> None:
    clock.now = MORNING
    await create_endpoint(api, events=EXPIRING)
    anna = await _customer(api, "Anna", ("10.00", "2026-12-08"))

    assert await webhooks.emit_expiring(runtime, budget=0) == 0
    assert await _bodies(api) == []
    await webhooks.emit_expiring(runtime)
    assert _notices(await _bodies(api)) == [("2026-12-01", anna, "10.00", "2026-12-08")]
