"""One idempotency key table for every keyed write: a key stands for one record, whatever kind.

Many requests with the same key, half asking for a one-off credit and half for a schedule:
exactly one creates its record; every other one answers with that record (when it asks for the
same thing) or IDEMPOTENCY_KEY_REUSED.

Keys are kept for the retention period (30 days by default); the periodic check then forgets
them in bounded batches. The tests of the purge itself run in 2001, before any other test's keys,
so that they count their own rows only.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from models.tables.crm import IdempotencyKey
from models.tables.wallet import CreditSchedule, WalletOperation
from services.idempotency import purge_expired_keys
from services.runtime import Runtime
from tasks.jobs import check
from tests.builders import FAR_FUTURE, SET_CREDITS, sql_statements
from tests.helpers import Api, Clock, create_customer

REQUESTS = 20
KEY = "march-promo"
REUSED = {
    "code": "IDEMPOTENCY_KEY_REUSED",
    "field": "input.idempotencyKey",
    "message": "This idempotency key was used for a different request.",
}


def _request(customer_id: str, recurring: bool) -> dict[str, Any]:
    request: dict[str, Any] = {
        "target": {"customerIds": [customer_id]},
        "operation": "ADD",
        "amount": "5.00",
        "idempotencyKey": KEY,
    }
    if recurring:
        request["recurrence"] = {"unit": "MONTH", "startDate": FAR_FUTURE}
    return {"input": request}


async def _records(location_id: str) -> tuple[list[str], list[str]]:
    """The ids of the location's operations and schedules."""
    uid = UUID(location_id)
    operations = await WalletOperation.filter(location_id=uid).values_list("id", flat=True)
    schedules = await CreditSchedule.filter(location_id=uid).values_list("id", flat=True)
    return [str(o) for o in operations], [str(s) for s in schedules]


async def _check_one_winner(api: Api, payloads: list[dict[str, Any]]) -> None:
    operations, schedules = await _records(api.location_id)
    # exactly one record was created, of either kind
    assert len(operations) + len(schedules) == 1, (operations, schedules)
    (created,) = operations + schedules
    kind = "operation" if operations else "schedule"
    # every answer is that record, or the key refused
    for payload in payloads:
        record = payload["operation"] or payload["schedule"]
        if record is not None:
            assert payload["errors"] == []
            assert payload[kind] is not None
            assert payload[kind]["id"] == created
        else:
            assert payload["errors"] == [REUSED]
    winners = [p for p in payloads if p["errors"] == []]
    assert len(winners) == REQUESTS // 2
    # and the one key row says so
    keys = await IdempotencyKey.filter(location_id=UUID(api.location_id)).values_list(
        "key", "kind", "record_id"
    )
    expected_kind = "WALLET_OPERATION" if operations else "CREDIT_SCHEDULE"
    assert [(k, kd, str(r)) for k, kd, r in keys] == [(KEY, expected_kind, created)]


async def test_concurrent_requests_with_one_key_create_one_record(
    api: Api, postgres_only: None
) -> None:
    anna = await create_customer(api, firstName="Anna")
    requests = [_request(anna["id"], recurring=n % 2 == 1) for n in range(REQUESTS)]

    payloads = await asyncio.gather(*(api.mutate(SET_CREDITS, r) for r in requests))

    await _check_one_winner(api, list(payloads))


@pytest.mark.parametrize("first_recurring", [False, True])
async def test_sequential_requests_with_one_key_create_one_record(
    api: Api, first_recurring: bool
) -> None:
    anna = await create_customer(api, firstName="Anna")
    requests = [
        _request(anna["id"], recurring=(n % 2 == 0) == first_recurring) for n in range(REQUESTS)
    ]

    payloads = [await api.mutate(SET_CREDITS, r) for r in requests]

    await _check_one_winner(api, payloads)
    operations, schedules = await _records(api.location_id)
    assert (len(operations), len(schedules)) == ((0, 1) if first_recurring else (1, 0))


async def test_a_key_is_per_location(api: Api, other: Api) -> None:
    anna = await create_customer(api, firstName="Anna")
    olga = await create_customer(other, firstName="Olga")

    mine = await api.mutate(SET_CREDITS, _request(anna["id"], recurring=False))
    theirs = await other.mutate(SET_CREDITS, _request(olga["id"], recurring=True))

    assert (mine["errors"], theirs["errors"]) == ([], [])
    locations = [UUID(api.location_id), UUID(other.location_id)]
    assert await IdempotencyKey.filter(key=KEY, location_id__in=locations).count() == 2


# ------------------------------------------------------------------------------ retention

# The time of the retention tests: 30 days back is 2001-01-30 00:00 UTC.
IN_2001 = datetime(2001, 3, 1, tzinfo=UTC)
RETENTION_ENDS = IN_2001 - timedelta(days=30)


def _key(location_id: UUID, key: str, created_at: datetime) -> IdempotencyKey:
    return IdempotencyKey(
        location_id=location_id,
        key=key,
        request_hash="0" * 64,
        kind="CHECKOUT",
        record_id=uuid4(),
        created_at=created_at,
    )


async def _keys_left(location_id: UUID) -> tuple[int, int]:
    """(past the retention, within it) of the location's keys."""
    rows = IdempotencyKey.filter(location_id=location_id)
    old = await rows.filter(created_at__lt=RETENTION_ENDS).count()
    return old, await rows.filter(created_at__gte=RETENTION_ENDS).count()


async def test_keys_past_retention_are_forgotten_in_bounded_batches(
    api: Api, runtime: Runtime, clock: Clock
) -> None:
    # given 2,500 keys older than 30 days and three within them (one exactly 30 days old)
    location_id = UUID(api.location_id)
    first = datetime(2001, 1, 1, tzinfo=UTC)
    await IdempotencyKey.bulk_create(
        [_key(location_id, f"old-{n}", first + timedelta(seconds=n)) for n in range(2_500)]
        + [
            _key(location_id, "30 days", RETENTION_ENDS),
            _key(location_id, "29 days", RETENTION_ENDS + timedelta(days=1)),
            _key(location_id, "today", IN_2001),
        ]
    )
    clock.now = IN_2001
    assert runtime.idempotency_retention_days == 30

    # when a run may take two statements of 1,000 rows
    with sql_statements() as statements:
        purged = await purge_expired_keys(runtime, batch=1_000, batches=2)

    # then it forgets the 2,000 oldest in two statements, and keeps the rest for the next runs
    assert purged == 2_000
    assert [s for s in statements if s.lstrip().startswith("DELETE")] == [
        statements[0],
        statements[1],
    ]
    assert len(statements) == 2
    assert await _keys_left(location_id) == (500, 3)
    assert not await IdempotencyKey.filter(location_id=location_id, key="old-1999").exists()
    assert await IdempotencyKey.filter(location_id=location_id, key="old-2000").exists()
    assert await purge_expired_keys(runtime, batch=1_000, batches=2) == 500
    assert await purge_expired_keys(runtime, batch=1_000, batches=2) == 0
    assert await _keys_left(location_id) == (0, 3)


async def test_the_periodic_check_forgets_keys_past_retention(
    api: Api, runtime: Runtime, clock: Clock
) -> None:
    location_id = UUID(api.location_id)
    await IdempotencyKey.bulk_create(
        [
            _key(location_id, "old", RETENTION_ENDS - timedelta(seconds=1)),
            _key(location_id, "recent", RETENTION_ENDS + timedelta(seconds=1)),
        ]
    )
    clock.now = IN_2001

    await check(runtime)

    assert await _keys_left(location_id) == (0, 1)


async def test_a_credit_whose_key_was_forgotten_still_answers_its_request(
    api: Api, runtime: Runtime, clock: Clock
) -> None:
    # given a one-off credit and a schedule, each with a key, whose keys were since forgotten
    anna = await create_customer(api, firstName="Anna")
    once = _request(anna["id"], recurring=False)
    recurring = {"input": {**_request(anna["id"], recurring=True)["input"], "idempotencyKey": "s"}}
    credited = await api.mutate(SET_CREDITS, once)
    scheduled = await api.mutate(SET_CREDITS, recurring)
    assert (credited["errors"], scheduled["errors"]) == ([], [])
    clock.now = datetime.now(UTC) + timedelta(days=31)
    await purge_expired_keys(runtime)
    assert await IdempotencyKey.filter(location_id=UUID(api.location_id)).count() == 0

    # when the same requests come again, and another request with the same key
    again = await api.mutate(SET_CREDITS, once)
    schedule_again = await api.mutate(SET_CREDITS, recurring)
    other = await api.mutate(SET_CREDITS, {"input": {**once["input"], "amount": "6.00"}})

    # then the same answer each (the records keep their keys), and the other one is refused
    assert again["operation"]["id"] == credited["operation"]["id"]
    assert schedule_again["schedule"]["id"] == scheduled["schedule"]["id"]
    assert (again["errors"], schedule_again["errors"], other["errors"]) == ([], [], [REUSED])
    assert await _records(api.location_id) == (
        [credited["operation"]["id"]],
        [scheduled["schedule"]["id"]],
    )
