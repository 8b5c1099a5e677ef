"""Webhook deliveries end to end: events written by the database's triggers in the transaction
of what they tell of, turned into signed deliveries by the job, retried with backoff under the
same webhook-id, the endpoint disabled after persistent failure, and replayed. The receiver is
an httpx MockTransport under the runtime's sender. On both databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from domain.webhooks import MAX_ATTEMPTS, RETRY_DELAYS
from models import sql
from models.db import transaction
from models.tables.integrations import SyncRun
from models.tables.wallet import WalletEntry
from models.tables.webhooks import WebhookDelivery, WebhookEndpoint, WebhookOutbox
from services import webhooks
from services.runtime import Runtime
from tasks.inprocess import InProcessDispatcher
from tests.helpers import Api, Clock, create_customer
from tests.wallet_helpers import credit_ok
from tests.webhook_helpers import (
    ENDPOINTS,
    REPLAY,
    UPDATE_ENDPOINT,
    Receiver,
    create_endpoint,
    deliveries,
    receive,
)

# The runtime's time: now, as a receiver refuses a signature more than 5 minutes old.


@pytest.fixture
def now() -> datetime:
    """When the test starts, to the second: a signature is verified against the real time,
    within the specification's five minutes, so the time is taken for each test."""
    return datetime.now(UTC).replace(microsecond=0)


def verified(receiver: Receiver, secret: str, n: int = 0) -> Any:
    request = receiver.requests[n]
    return Webhook(secret).verify(request.content, dict(request.headers))


async def test_a_wallet_change_is_delivered_signed_with_its_entry_and_balance_after(
    api: Api, runtime: Runtime, clock: Clock, now: datetime
) -> None:
    # given an endpoint for wallet changes, and a customer given credits twice
    clock.now = now
    receiver = receive(runtime, api)
    endpoint, secret = await create_endpoint(api)
    customer = await create_customer(api, firstName="Anna")
    first = await credit_ok(api, {"customerIds": [customer["id"]]}, "ADD", "12.50")
    second = await credit_ok(api, {"customerIds": [customer["id"]]}, "REDUCE", "2.00")

    # when the job runs
    await webhooks.deliver(runtime)

    # then each entry was delivered once, signed with the endpoint's secret
    entries = await WalletEntry.filter(customer_id=customer["id"]).order_by("id")
    bodies = [verified(receiver, secret, n) for n in range(2)]
    assert bodies == [
        {
            "type": "wallet.changed",
            "timestamp": now.isoformat(),
            "data": {
                "entries": [
                    {
                        "entryId": entry.id,
                        "customerId": customer["id"],
                        "kind": kind,
                        "delta": delta,
                        "balanceAfter": after,
                        "source": "MANUAL",
                        "sourceId": operation["id"],
                        "createdAt": now.isoformat(),
                    }
                ]
            },
        }
        for entry, kind, delta, after, operation in zip(
            entries,
            ["ADD", "REDUCE"],
            ["12.50", "-2.00"],
            ["12.50", "10.50"],
            [first, second],
            strict=True,
        )
    ]
    assert receiver.requests[0].headers["webhook-timestamp"] == str(int(now.timestamp()))
    # and the log shows each one delivered, under the id it was sent with
    log = await deliveries(api, endpoint["id"])
    assert [d["messageId"] for d in log] == list(reversed(receiver.ids()))
    assert [(d["event"], d["status"], d["attempts"], d["lastStatusCode"]) for d in log] == [
        ("WALLET_CHANGED", "SUCCEEDED", 1, 200)
    ] * 2
    assert all(d["lastLatencyMs"] is not None and d["deliveredAt"] for d in log)
    # and the outbox is empty: a second run sends nothing more
    await webhooks.deliver(runtime)
    assert len(receiver.requests) == 2


async def test_a_location_without_endpoints_writes_nothing_to_the_outbox(
    api: Api, other: Api, runtime: Runtime
) -> None:
    # given a location with an endpoint for sync runs only, and one with none
    await create_endpoint(api, events=["SYNC_FINISHED"])
    for client in (api, other):
        customer = await create_customer(client, firstName="Jan")
        await credit_ok(client, {"customerIds": [customer["id"]]}, "ADD", "5.00")

    # then their wallet changes wrote no outbox row
    for client in (api, other):
        assert await WebhookOutbox.filter(location_id=client.location_id).count() == 0


async def test_a_change_that_rolls_back_leaves_no_event(
    api: Api, runtime: Runtime, now: datetime
) -> None:
    receiver = receive(runtime, api)
    await create_endpoint(api)
    customer = await create_customer(api, firstName="Ewa")
    statement = (
        "INSERT INTO wallet_entries (location_id, customer_id, kind, requested_amount, delta,"
        " balance_after, description, source, source_id, period, actor, created_at)"
        " VALUES ($1, $2, 'ADD', 100, 100, 100, NULL, 'MANUAL', $3, 0, NULL, $4)"
    )
    values = [api.location_id, customer["id"], customer["id"], now]

    # when an entry is written in a transaction that rolls back
    try:
        async with transaction() as db:
            await sql.execute(db, statement, values)
            assert await WebhookOutbox.filter(location_id=api.location_id).using_db(db).count() == 1
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass

    # then no event is left, and nothing is sent
    assert await WebhookOutbox.filter(location_id=api.location_id).count() == 0
    await webhooks.deliver(runtime)
    assert receiver.requests == []
    # while the same entry committed is sent
    async with transaction() as db:
        await sql.execute(db, statement, values)
    await webhooks.deliver(runtime)
    assert len(receiver.requests) == 1


async def test_a_bulk_operations_entries_are_batched_a_hundred_at_a_time(
    api: Api, runtime: Runtime
) -> None:
    receiver = receive(runtime, api)
    _, secret = await create_endpoint(api)
    for n in range(120):
        await create_customer(api, firstName=f"Klient {n}")

    operation = await credit_ok(api, {"allCustomers": True}, "ADD", "1.00")
    await webhooks.deliver(runtime)

    batches = [verified(receiver, secret, n)["data"]["entries"] for n in range(2)]
    assert [len(batch) for batch in batches] == [100, 20]
    ids = [entry["entryId"] for batch in batches for entry in batch]
    assert ids == sorted(ids)
    assert len(set(ids)) == 120
    assert {(e["sourceId"], e["balanceAfter"]) for b in batches for e in b} == {
        (operation["id"], "1.00")
    }


async def test_a_failed_attempt_is_retried_after_its_backoff_with_the_same_id(
    api: Api, runtime: Runtime, clock: Clock, now: datetime
) -> None:
    clock.now = now
    receiver = receive(runtime, api)
    answers = iter([500, 200])
    receiver.answer = lambda request: next(answers)
    endpoint, secret = await create_endpoint(api)
    customer = await create_customer(api, firstName="Ola")
    await credit_ok(api, {"customerIds": [customer["id"]]}, "ADD", "3.00")

    # when the first attempt fails
    await webhooks.deliver(runtime)
    (log,) = await deliveries(api, endpoint["id"])
    assert (log["status"], log["attempts"], log["lastStatusCode"]) == ("PENDING", 1, 500)
    # then nothing is tried before the backoff
    clock.now = now + RETRY_DELAYS[0] - timedelta(seconds=1)
    await webhooks.deliver(runtime)
    assert len(receiver.requests) == 1

    # and after it, the same message is sent again, and succeeds
    clock.now = now + RETRY_DELAYS[0]
    await webhooks.deliver(runtime)
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == log["messageId"]
    assert first.content == second.content
    assert second.headers["webhook-timestamp"] == str(int(clock.now.timestamp()))
    assert verified(receiver, secret, 1)["type"] == "wallet.changed"
    (log,) = await deliveries(api, endpoint["id"])
    assert (log["status"], log["attempts"], log["lastStatusCode"]) == ("SUCCEEDED", 2, 200)


async def _run_until_settled(runtime: Runtime, clock: Clock) -> None:
    for _ in range(MAX_ATTEMPTS + 1):
        await webhooks.deliver(runtime)
        clock.now = clock() + timedelta(hours=11)


async def test_an_endpoint_is_disabled_after_five_deliveries_failed_every_attempt(
    api: Api, runtime: Runtime, clock: Clock, now: datetime
) -> None:
    clock.now = now
    receiver = receive(runtime, api)
    receiver.answer = lambda request: 503
    endpoint, _ = await create_endpoint(api)
    customer = await create_customer(api, firstName="Piotr")
    for _ in range(4):
        await credit_ok(api, {"customerIds": [customer["id"]]}, "ADD", "1.00")

    # when four deliveries fail every attempt, the endpoint stays enabled
    await _run_until_settled(runtime, clock)
    log = await deliveries(api, endpoint["id"])
    assert [(d["status"], d["attempts"]) for d in log] == [("FAILED", MAX_ATTEMPTS)] * 4
    assert len(receiver.requests) == 4 * MAX_ATTEMPTS
    assert (await api.data(ENDPOINTS))["webhookEndpoints"][0]["enabled"] is True

    # and the fifth disables it, with the reason shown
    await credit_ok(api, {"customerIds": [customer["id"]]}, "ADD", "1.00")
    await _run_until_settled(runtime, clock)
    (shown,) = (await api.data(ENDPOINTS))["webhookEndpoints"]
    assert (shown["enabled"], shown["disabledReason"]) == (
        False,
        "Disabled after 5 deliveries in a row failed every attempt.",
    )

    # then the location's changes write no more events, and nothing more is sent
    await credit_ok(api, {"customerIds": [customer["id"]]}, "ADD", "1.00")
    assert await WebhookOutbox.filter(location_id=api.location_id).count() == 0
    sent = len(receiver.requests)
    await _run_until_settled(runtime, clock)
    assert len(receiver.requests) == sent

    # and enabled again by a person, the reason is gone
    payload = await api.mutate(UPDATE_ENDPOINT, {"id": endpoint["id"], "input": {"enabled": True}})
    assert (payload["endpoint"]["enabled"], payload["endpoint"]["disabledReason"]) == (True, None)


async def test_a_replay_sends_the_delivery_again_with_the_same_id(
    api: Api, other: Api, runtime: Runtime, dispatcher: InProcessDispatcher
) -> None:
    receiver = receive(runtime, api)
    endpoint, secret = await create_endpoint(api)
    customer = await create_customer(api, firstName="Hans")
    await credit_ok(api, {"customerIds": [customer["id"]]}, "ADD", "4.00")
    await webhooks.deliver(runtime)
    (delivered,) = await deliveries(api, endpoint["id"])

    # another location cannot replay it
    refused = await other.mutate(REPLAY, {"id": delivered["id"]})
    assert [e["code"] for e in refused["errors"]] == ["NOT_FOUND"]

    # when it is replayed
    payload = await api.mutate(REPLAY, {"id": delivered["id"]})
    assert payload["errors"] == []
    assert payload["delivery"] == {
        "id": delivered["id"],
        "messageId": delivered["messageId"],
        "status": "PENDING",
        "attempts": 0,
    }
    await dispatcher.drain()

    # then it was sent again, with the same id and body
    first, again = receiver.requests
    assert again.headers["webhook-id"] == first.headers["webhook-id"] == delivered["messageId"]
    assert verified(receiver, secret, 1) == verified(receiver, secret, 0)
    (log,) = await deliveries(api, endpoint["id"])
    assert (log["status"], log["attempts"]) == ("SUCCEEDED", 1)


async def test_a_sync_run_that_finishes_is_an_event(
    api: Api, runtime: Runtime, now: datetime
) -> None:
    receiver = receive(runtime, api)
    _, secret = await create_endpoint(api, events=["SYNC_FINISHED"])
    run = await SyncRun.create(location_id=api.location_id, channel="GOPOS", status="RUNNING")

    await SyncRun.filter(id=run.id).update(fetched=3, linked=2)  # no status change: no event
    assert await WebhookOutbox.filter(location_id=api.location_id).count() == 0
    await SyncRun.filter(id=run.id).update(status="SUCCEEDED", finished_at=now)
    await webhooks.deliver(runtime)

    assert verified(receiver, secret) == {
        "type": "sync.finished",
        "timestamp": now.isoformat(),
        "data": {
            "syncRunId": str(run.id),
            "channel": "GOPOS",
            "status": "SUCCEEDED",
            "fetched": 3,
            "linked": 2,
            "unmatched": 0,
            "finishedAt": now.isoformat(),
        },
    }


async def test_a_sale_and_its_refund_are_events(
    api: Api, runtime: Runtime, clock: Clock, now: datetime
) -> None:
    clock.now = now
    receiver = receive(runtime, api)
    _, secret = await create_endpoint(api, events=["CHECKOUT_COMMITTED", "CHECKOUT_REFUNDED"])
    await create_customer(api, firstName="Anna", cards=[{"code": "CARD-1"}])
    line = {"productId": "latte", "quantity": "2", "unitPrice": "12.50"}
    committed = await api.mutate(
        "mutation($input: CheckoutInput!) { commitCheckout(input: $input,"
        ' idempotencyKey: "sale-1") { checkout { id customer { id } } errors { code } } }',
        {"input": {"cardCode": "CARD-1", "lines": [line]}},
    )
    assert committed["errors"] == []
    sale = committed["checkout"]
    refunded = await api.mutate(
        'mutation($id: ID!) { refundCheckout(id: $id, idempotencyKey: "refund-1")'
        " { errors { code } } }",
        {"id": sale["id"]},
    )
    assert refunded["errors"] == []

    await webhooks.deliver(runtime)

    bodies = [verified(receiver, secret, n) for n in range(2)]
    assert bodies[0] == {
        "type": "checkout.committed",
        "timestamp": now.isoformat(),
        "data": {
            "checkoutId": sale["id"],
            "customerId": sale["customer"]["id"],
            "channel": "POS",
            "subtotal": "25.00",
            "discountTotal": "0.00",
            "total": "25.00",
            "creditsUsed": "0.00",
            "cashbackGranted": "0.00",
            "createdAt": now.isoformat(),
        },
    }
    assert bodies[1]["type"] == "checkout.refunded"
    assert bodies[1]["data"]["checkoutId"] == sale["id"]
    assert (bodies[1]["data"]["number"], bodies[1]["data"]["creditsReturned"]) == (1, "0.00")
    assert json.loads(receiver.requests[1].content) == bodies[1]
    assert await WebhookDelivery.filter(location_id=api.location_id).count() == 2


async def test_a_host_that_is_not_public_at_send_time_is_refused_and_the_attempt_fails(
    api: Api, runtime: Runtime
) -> None:
    # given an endpoint saved while any address was allowed (a name, or rebinding DNS)
    receiver = receive(runtime, api)
    endpoint, _ = await create_endpoint(api, url="http://127.0.0.1:9/hook")
    customer = await create_customer(api, firstName="Iga")
    await credit_ok(api, {"customerIds": [customer["id"]]}, "ADD", "1.00")

    # when the sender runs under the production rules (public addresses only)
    runtime.webhooks.allowed = ()
    try:
        await webhooks.deliver(runtime)
    finally:
        runtime.webhooks.allowed = None
        await runtime.webhooks.aclose()

    # then nothing was sent, and the attempt failed without an answer
    assert receiver.requests == []
    (log,) = await deliveries(api, endpoint["id"])
    assert (log["status"], log["attempts"], log["lastStatusCode"]) == ("PENDING", 1, None)
    row = await WebhookDelivery.get(id=log["id"])
    assert "127.0.0.1" in (row.last_error or "")
    assert "not a public address" in (row.last_error or "")


async def test_a_huge_answer_is_never_read_and_the_status_counts(
    api: Api, runtime: Runtime
) -> None:
    sent: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["webhook-id"])
        return httpx.Response(200, content=b"x" * (10 * 1024 * 1024))

    runtime.webhooks.transport = httpx.MockTransport(handle)
    endpoint, _ = await create_endpoint(api)
    customer = await create_customer(api, firstName="Zofia")
    await credit_ok(api, {"customerIds": [customer["id"]]}, "ADD", "1.00")

    await webhooks.deliver(runtime)

    (log,) = await deliveries(api, endpoint["id"])
    assert (log["status"], log["lastStatusCode"], log["messageId"]) == ("SUCCEEDED", 200, sent[0])


async def test_a_secret_that_cannot_be_opened_fails_the_attempt(api: Api, runtime: Runtime) -> None:
    receiver = receive(runtime, api)
    endpoint, _ = await create_endpoint(api)
    await WebhookEndpoint.filter(id=endpoint["id"]).update(sealed_secret="not a sealed secret")
    customer = await create_customer(api, firstName="Olga")
    await credit_ok(api, {"customerIds": [customer["id"]]}, "ADD", "1.00")

    await webhooks.deliver(runtime)

    assert receiver.requests == []
    (log,) = await deliveries(api, endpoint["id"])
    assert (log["status"], log["attempts"], log["lastStatusCode"]) == ("PENDING", 1, None)
