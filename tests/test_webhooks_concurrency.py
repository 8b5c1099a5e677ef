"""Two workers at once never make an event's deliveries twice, nor send one attempt twice.

On PostgreSQL, where two job runs really overlap: each widens its window with a pause inside
its transaction (or its send). Each guard has a negative control: the same runs with the
guard swapped out are caught duplicating.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import httpx
import pytest

from models import sql
from models import webhooks as store
from models.db import Transaction
from models.tables.webhooks import WebhookDelivery
from services import webhooks
from services.runtime import Runtime
from services.webhooks import delivery
from tests.helpers import Api, create_customer
from tests.wallet_helpers import credit_ok
from tests.webhook_helpers import Receiver, create_endpoint, receive

PAUSE = 0.2


async def _events(api: Api, count: int) -> None:
    await create_endpoint(api)
    customer = await create_customer(api, firstName="Anna")
    for _ in range(count):
        await credit_ok(api, {"customerIds": [customer["id"]]}, "ADD", "1.00")


def _slow_inserts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each pump holds its transaction open a while after taking its rows."""
    insert = store.insert_deliveries

    async def slow(db: Transaction, deliveries: Sequence[Any], now: datetime) -> None:
        await asyncio.sleep(PAUSE)
        await insert(db, deliveries, now)

    monkeypatch.setattr(store, "insert_deliveries", slow)


async def _take_without_lock(db: Transaction, limit: int) -> list[store.OutboxRow]:
    """The negative control: read the rows, then delete them, with no lock between."""
    rows = await sql.fetch(
        db,
        "SELECT id, location_id, event, subject, created_at FROM webhook_outbox"
        " ORDER BY id LIMIT $1",
        [limit],
    )
    await sql.execute(
        db,
        "DELETE FROM webhook_outbox WHERE id = ANY($1::bigint[])",
        [[int(row["id"]) for row in rows]],
    )
    return [
        store.OutboxRow(
            int(r["id"]),
            r["location_id"],
            store.WebhookEvent.from_wire(r["event"]),
            r["subject"],
            r["created_at"],
        )
        for r in rows
    ]


async def _two_pumps(api: Api, runtime: Runtime) -> int:
    await asyncio.gather(webhooks.pump(runtime), webhooks.pump(runtime))
    return await WebhookDelivery.filter(location_id=api.location_id).count()


async def test_two_pumps_at_once_make_each_delivery_once(
    postgres_only: None, api: Api, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _events(api, 5)
    _slow_inserts(monkeypatch)

    assert await _two_pumps(api, runtime) == 5


async def test_negative_control_pumps_that_read_without_a_lock_duplicate(
    postgres_only: None, api: Api, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _events(api, 5)
    _slow_inserts(monkeypatch)
    monkeypatch.setattr(store, "take_outbox", _take_without_lock)

    assert await _two_pumps(api, runtime) == 10


def _slow_receiver(runtime: Runtime, api: Api) -> Receiver:
    receiver = receive(runtime, api)

    async def handle(request: httpx.Request) -> httpx.Response:
        receiver.requests.append(request)
        await asyncio.sleep(PAUSE)
        return httpx.Response(200)

    runtime.webhooks.transport = httpx.MockTransport(handle)
    return receiver


async def _two_attempts(api: Api, runtime: Runtime) -> Receiver:
    await _events(api, 1)
    await webhooks.pump(runtime)
    receiver = _slow_receiver(runtime, api)
    (delivery_id,) = await WebhookDelivery.filter(location_id=api.location_id).values_list(
        "id", flat=True
    )
    uid = UUID(str(delivery_id))
    await asyncio.gather(delivery.attempt(runtime, uid, 0), delivery.attempt(runtime, uid, 0))
    return receiver


async def test_two_attempts_at_once_send_once(
    postgres_only: None, api: Api, runtime: Runtime
) -> None:
    receiver = await _two_attempts(api, runtime)

    assert len(receiver.requests) == 1
    row = await WebhookDelivery.get(location_id=api.location_id)
    assert (row.status, row.attempts) == ("SUCCEEDED", 1)


async def test_negative_control_a_claim_that_names_no_attempt_sends_twice(
    postgres_only: None, api: Api, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    claim: Callable[..., Awaitable[store.Claimed | None]] = store.claim

    async def careless(delivery_id: UUID, attempts: int, now: datetime, until: datetime) -> Any:
        # takes the delivery whatever attempt and lease it is at
        for _ in range(10):
            await WebhookDelivery.filter(id=delivery_id).update(
                attempts=attempts, next_attempt_at=now
            )
            if (claimed := await claim(delivery_id, attempts, now, until)) is not None:
                return claimed
        return None

    monkeypatch.setattr(store, "claim", careless)

    receiver = await _two_attempts(api, runtime)

    assert len(receiver.requests) == 2
