"""One idempotency key table for every keyed write: a key stands for one record, whatever kind.

Many requests with the same key, half asking for a one-off credit and half for a schedule:
exactly one creates its record; every other one answers with that record (when it asks for the
same thing) or IDEMPOTENCY_KEY_REUSED.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import pytest

from models.entities import IdempotencyKey
from models.wallet import CreditSchedule, WalletOperation
from tests.builders import FAR_FUTURE, SET_CREDITS
from tests.helpers import Api, create_customer

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
