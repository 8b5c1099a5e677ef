"""The webhook job: the outbox becomes deliveries, and due deliveries are sent.

`pump` takes the outbox rows the database's triggers wrote (in the transaction of what they
tell of: a rolled-back change leaves none) and writes one delivery per subscribed endpoint,
deleting the rows in the same transaction: each event becomes its deliveries exactly once, and
two workers take different rows (`SKIP LOCKED`). Wallet entries of one source (a bulk
operation's chunk, a sale) go together, at most `MAX_ENTRIES_PER_DELIVERY` per delivery.

`send_due` sends what is due. Each attempt first claims its delivery with a conditional UPDATE
that also moves the next attempt past `ATTEMPT_LEASE`: a worker killed mid-send leaves the
delivery to be taken again when the lease ends, with the same `webhook-id`, so every event is
delivered at least once. No transaction is open while a request is in flight.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.messages import msg
from domain.money import money_text
from domain.webhooks import (
    ATTEMPT_LEASE,
    DISABLE_AFTER_FAILURES,
    DeliveryStatus,
    WebhookEvent,
    batches,
    body,
    failed_answer,
    message_id,
    next_attempt_at,
)
from models import locations
from models import webhooks as store
from models.db import Transaction, transaction
from models.ids import new_id
from services.access import currency_minor_units
from services.runtime import Runtime

log = logging.getLogger(__name__)

OUTBOX_BATCH = 1_000
MAX_OUTBOX_BATCHES = 50  # per run; the next run takes the rest
SEND_BATCH = 100
SEND_CONCURRENCY = 8
# A run sends for at most this long; the next run (the periodic check queues one while work
# is left) carries on.
SEND_SECONDS = 120.0


async def deliver(runtime: Runtime) -> tuple[int, int]:
    """One run of the job: (outbox rows taken, attempts made)."""
    taken = await pump(runtime)
    sent = await send_due(runtime)
    return taken, sent


async def has_work(runtime: Runtime) -> bool:
    return await store.has_work(runtime.clock())


# ---------------------------------------------------------------- outbox → deliveries


async def pump(runtime: Runtime) -> int:
    taken = 0
    for _ in range(MAX_OUTBOX_BATCHES):
        async with transaction() as db:
            rows = await store.take_outbox(db, OUTBOX_BATCH)
            if rows:
                now = runtime.clock()
                await store.insert_deliveries(db, await _deliveries(db, rows), now)
        taken += len(rows)
        if len(rows) < OUTBOX_BATCH:
            break
    return taken


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


async def _money(location_ids: Sequence[UUID]) -> dict[UUID, int]:
    found = {}
    for location_id in set(location_ids):
        location = await locations.find(location_id)
        found[location_id] = 2 if location is None else currency_minor_units(location.currency)
    return found


def _entry(row: dict[str, Any], minor: int) -> dict[str, Any]:
    return {
        "entryId": int(row["id"]),
        "customerId": str(row["customer_id"]),
        "kind": row["kind"],
        "delta": money_text(int(row["delta"]), minor),
        "balanceAfter": money_text(int(row["balance_after"]), minor),
        "source": row["source"],
        "sourceId": str(row["source_id"]),
        "createdAt": _iso(row["created_at"]),
    }


async def _payloads(
    db: Transaction, rows: Sequence[store.OutboxRow]
) -> list[tuple[UUID, WebhookEvent, datetime, dict[str, Any]]]:
    """(location, event, time, data) of each message the rows make, in the rows' order."""
    minor = await _money([row.location_id for row in rows])
    by_event: dict[WebhookEvent, list[store.OutboxRow]] = defaultdict(list)
    for row in rows:
        by_event[row.event].append(row)
    messages: list[tuple[UUID, WebhookEvent, datetime, dict[str, Any]]] = []
    wallet = by_event.pop(WebhookEvent.WALLET_CHANGED, [])
    if wallet:
        entries = await store.wallet_entries(db, [int(row.subject) for row in wallet])
        groups: dict[tuple[UUID, str], list[store.OutboxRow]] = defaultdict(list)
        for row in wallet:
            entry = entries.get(int(row.subject))
            if entry is not None:
                groups[(row.location_id, str(entry["source_id"]))].append(row)
        for (location_id, _), group in groups.items():
            for batch in batches(group):
                data = {
                    "entries": [_entry(entries[int(r.subject)], minor[location_id]) for r in batch]
                }
                messages.append(
                    (location_id, WebhookEvent.WALLET_CHANGED, batch[-1].created_at, data)
                )
    for event, event_rows in by_event.items():
        subjects = [UUID(row.subject) for row in event_rows]
        found = await _subjects(db, event, subjects)
        for row in event_rows:
            subject = found.get(UUID(row.subject))
            if subject is not None:
                data = _subject_data(event, subject, minor[row.location_id])
                messages.append((row.location_id, event, row.created_at, data))
    return messages


async def _subjects(
    db: Transaction, event: WebhookEvent, ids: Sequence[UUID]
) -> dict[UUID, dict[str, Any]]:
    if event is WebhookEvent.CHECKOUT_COMMITTED:
        return await store.checkouts(db, ids)
    if event is WebhookEvent.CHECKOUT_REFUNDED:
        return await store.refunds(db, ids)
    if event is WebhookEvent.SYNC_FINISHED:
        return await store.sync_runs(db, ids)
    return {}


def _subject_data(event: WebhookEvent, row: dict[str, Any], minor: int) -> dict[str, Any]:
    def money(name: str) -> str:
        return money_text(int(row[name]), minor)

    if event is WebhookEvent.CHECKOUT_COMMITTED:
        customer = row["customer_id"]
        return {
            "checkoutId": str(row["id"]),
            "customerId": None if customer is None else str(customer),
            "channel": row["channel"],
            "subtotal": money("subtotal"),
            "discountTotal": money("discount_total"),
            "total": money("total"),
            "creditsUsed": money("credits_used"),
            "cashbackGranted": money("cashback_granted"),
            "createdAt": _iso(row["created_at"]),
        }
    if event is WebhookEvent.CHECKOUT_REFUNDED:
        return {
            "refundId": str(row["id"]),
            "checkoutId": str(row["checkout_id"]),
            "number": int(row["number"]),
            "creditsReturned": money("credits_returned"),
            "cashbackReversed": money("cashback_reversed"),
            "createdAt": _iso(row["created_at"]),
        }
    return {
        "syncRunId": str(row["id"]),
        "channel": row["channel"],
        "status": row["status"],
        "fetched": int(row["fetched"]),
        "linked": int(row["linked"]),
        "unmatched": int(row["unmatched"]),
        "finishedAt": _iso(row["finished_at"]),
    }


async def _deliveries(db: Transaction, rows: Sequence[store.OutboxRow]) -> list[store.NewDelivery]:
    subscribers = await store.subscribers(db, sorted({row.location_id for row in rows}))
    deliveries = []
    messages = await _payloads(db, rows)
    # Ids in the order of the messages (time-ordered ids made in the same millisecond are not).
    ids = iter(sorted(new_id() for _ in range(len(messages) * max(1, len(subscribers)))))
    for location_id, event, at, data in messages:
        text = body(event, at, data)
        for subscriber in subscribers:
            if subscriber.location_id == location_id and event in subscriber.events:
                delivery_id = next(ids)
                deliveries.append(
                    store.NewDelivery(
                        delivery_id,
                        location_id,
                        subscriber.endpoint_id,
                        event,
                        message_id(delivery_id),
                        text,
                    )
                )
    return deliveries


# ---------------------------------------------------------------- sending


async def send_due(runtime: Runtime) -> int:
    """Send every delivery due now, a batch at a time: each endpoint's in the order they were
    created, one at a time, and `SEND_CONCURRENCY` endpoints at once. How many attempts were
    made."""
    made = 0
    slots = asyncio.Semaphore(SEND_CONCURRENCY)

    async def in_order(queue: list[tuple[UUID, int]]) -> int:
        async with slots:
            return sum([await attempt(runtime, d, attempts) for d, attempts in queue])

    deadline = time.monotonic() + SEND_SECONDS
    while not runtime.stop.requested and time.monotonic() < deadline:
        due = await store.due(runtime.clock(), SEND_BATCH)
        queues: dict[UUID, list[tuple[UUID, int]]] = defaultdict(list)
        for delivery_id, endpoint_id, attempts in due:
            queues[endpoint_id].append((delivery_id, attempts))
        counts = await asyncio.gather(*(in_order(queue) for queue in queues.values()))
        made += sum(counts)
        if len(due) < SEND_BATCH or not any(counts):
            break
    return made


async def attempt(runtime: Runtime, delivery_id: UUID, attempts: int) -> bool:
    """One attempt at the delivery (which has had `attempts`); False when another worker took
    it first."""
    now = runtime.clock()
    claimed = await store.claim(delivery_id, attempts, now, now + ATTEMPT_LEASE)
    if claimed is None:
        return False
    try:
        secret = runtime.secrets.box().open(claimed.sealed_secret)
    except Exception as error:  # no key, another key, a damaged value: the attempt fails
        log.warning("webhook endpoint %s: its secret cannot be opened", claimed.endpoint_id)
        await _record(runtime, claimed, None, 0, f"the secret cannot be opened: {error}")
        return True
    sender = runtime.webhooks.sender()
    answer = await sender.send(
        claimed.url, secret, claimed.message_id, runtime.clock(), claimed.body
    )
    await _record(runtime, claimed, answer.status_code, answer.latency_ms, answer.error)
    return True


async def _record(
    runtime: Runtime,
    claimed: store.Claimed,
    status_code: int | None,
    latency_ms: int,
    error: str | None,
) -> None:
    now = runtime.clock()
    succeeded = status_code is not None and 200 <= status_code < 300
    retry_at = None if succeeded else next_attempt_at(claimed.attempt, now)
    if succeeded:
        status = DeliveryStatus.SUCCEEDED
    else:
        status = DeliveryStatus.PENDING if retry_at is not None else DeliveryStatus.FAILED
    async with transaction() as db:
        written = await store.record_attempt(
            db,
            claimed,
            status=status,
            next_attempt_at=retry_at,
            status_code=status_code,
            latency_ms=latency_ms,
            error=None if succeeded else failed_answer(status_code, error),
            now=now,
        )
        if not written:
            return
        if succeeded:
            await store.endpoint_succeeded(db, claimed.endpoint_id)
        elif status is DeliveryStatus.FAILED:
            reason = msg("webhook.disabled_failures", count=DISABLE_AFTER_FAILURES)
            disabled = await store.endpoint_failed(
                db, claimed.endpoint_id, DISABLE_AFTER_FAILURES, reason, now
            )
            if disabled:
                log.warning("webhook endpoint %s disabled: %s", claimed.endpoint_id, reason)
