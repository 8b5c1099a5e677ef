"""The webhooks repository: endpoints, deliveries and the outbox, as `domain.webhooks` values.

Writes take the transaction of the service that owns it. The outbox is taken (read and deleted)
in the transaction that writes its deliveries, with `SKIP LOCKED` on PostgreSQL so that two
workers take different rows; an attempt claims its delivery with a conditional UPDATE that
names the attempts it expects, so that two workers never send the same attempt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.messages import Message, decode, encode
from domain.webhooks import (
    Delivery,
    DeliveryStatus,
    Endpoint,
    EndpointChanges,
    WebhookEvent,
    events_column,
    events_of,
)
from models import sql
from models.db import Transaction
from models.tables.checkouts import Checkout, CheckoutRefund
from models.tables.integrations import SyncRun
from models.tables.wallet import WalletEntry
from models.tables.webhooks import WebhookDelivery, WebhookEndpoint, WebhookOutbox

_TAKE_OUTBOX = """
DELETE FROM webhook_outbox WHERE id IN (
    SELECT id FROM webhook_outbox ORDER BY id LIMIT $1{skip_locked})
RETURNING id, location_id, event, subject, created_at"""


@dataclass(frozen=True)
class OutboxRow:
    id: int
    location_id: UUID
    event: WebhookEvent
    subject: str
    created_at: datetime


@dataclass(frozen=True)
class Subscriber:
    endpoint_id: UUID
    location_id: UUID
    events: tuple[WebhookEvent, ...]


@dataclass(frozen=True)
class NewDelivery:
    id: UUID
    location_id: UUID
    endpoint_id: UUID
    event: WebhookEvent
    message_id: str
    body: str


@dataclass(frozen=True)
class Claimed:
    """A delivery an attempt owns: what to send, and where."""

    id: UUID
    endpoint_id: UUID
    url: str
    sealed_secret: str
    message_id: str
    body: str
    attempt: int  # this attempt's number, from 1


def _endpoint(row: WebhookEndpoint) -> Endpoint:
    return Endpoint(
        id=row.id,
        location_id=row.location_id,
        url=row.url,
        events=events_of(row.events),
        enabled=row.enabled,
        disabled_reason=None if row.disabled_reason is None else decode(row.disabled_reason),
        expiring_days_before=row.expiring_days_before,
        created_at=row.created_at,
    )


def _delivery(row: WebhookDelivery) -> Delivery:
    return Delivery(
        id=row.id,
        endpoint_id=row.endpoint_id,
        event=WebhookEvent(row.event),
        message_id=row.message_id,
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        last_status_code=row.last_status_code,
        last_latency_ms=row.last_latency_ms,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


# ---------------------------------------------------------------- endpoints


async def endpoint_count(db: Transaction, location_id: UUID) -> int:
    return await WebhookEndpoint.filter(location_id=location_id).using_db(db).count()


async def endpoints(location_id: UUID) -> list[Endpoint]:
    rows = await WebhookEndpoint.filter(location_id=location_id).order_by("created_at", "id")
    return [_endpoint(row) for row in rows]


async def endpoint(location_id: UUID, endpoint_id: UUID) -> Endpoint | None:
    row = await WebhookEndpoint.get_or_none(id=endpoint_id, location_id=location_id)
    return None if row is None else _endpoint(row)


async def create_endpoint(
    db: Transaction,
    location_id: UUID,
    changes: EndpointChanges,
    sealed_secret: str,
    now: datetime,
) -> UUID:
    assert changes.url is not None
    assert changes.events is not None
    row = await WebhookEndpoint.create(
        location_id=location_id,
        url=changes.url,
        events=events_column(changes.events),
        enabled=True if changes.enabled is None else changes.enabled,
        expiring_days_before=changes.expiring_days_before,
        sealed_secret=sealed_secret,
        created_at=now,
        updated_at=now,
        expiring_due_at=now,  # `credits.expiring` starts from the day it was created
        using_db=db,
    )
    return row.id


async def update_endpoint(
    db: Transaction, location_id: UUID, endpoint_id: UUID, changes: EndpointChanges, now: datetime
) -> bool:
    columns: dict[str, Any] = {"updated_at": now}
    if changes.url is not None:
        columns["url"] = changes.url
    if changes.events is not None:
        columns["events"] = events_column(changes.events)
    if changes.expiring_days_before is not None:
        columns["expiring_days_before"] = changes.expiring_days_before
    if changes.enabled is not None:
        columns["enabled"] = changes.enabled
        if changes.enabled:  # enabled again by a person: the failures are forgiven
            columns["disabled_reason"] = None
            columns["consecutive_failures"] = 0
    scope = WebhookEndpoint.filter(id=endpoint_id, location_id=location_id).using_db(db)
    return bool(await scope.update(**columns))


async def delete_endpoint(db: Transaction, location_id: UUID, endpoint_id: UUID) -> bool:
    scope = WebhookEndpoint.filter(id=endpoint_id, location_id=location_id).using_db(db)
    return bool(await scope.delete())


# ---------------------------------------------------------------- outbox → deliveries


async def take_outbox(db: Transaction, limit: int) -> list[OutboxRow]:
    """The oldest `limit` outbox rows, deleted in `db` (they come back if it rolls back)."""
    statement = _TAKE_OUTBOX.format(skip_locked=sql.dialect().skip_locked)
    rows = await sql.fetch(db, statement, [limit])
    taken = [
        OutboxRow(
            id=int(row["id"]),
            location_id=sql.uuid(row["location_id"]),
            event=WebhookEvent.from_wire(str(row["event"])),
            subject=str(row["subject"]),
            created_at=sql.time(row["created_at"]),
        )
        for row in rows
    ]
    return sorted(taken, key=lambda row: row.id)


async def subscribers(db: Transaction, location_ids: Sequence[UUID]) -> list[Subscriber]:
    rows = await WebhookEndpoint.filter(location_id__in=list(location_ids), enabled=True).using_db(
        db
    )
    return [Subscriber(row.id, row.location_id, events_of(row.events)) for row in rows]


async def wallet_entries(db: Transaction, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    rows = await (
        WalletEntry.filter(id__in=list(ids))
        .using_db(db)
        .values(
            "id",
            "customer_id",
            "kind",
            "delta",
            "balance_after",
            "source",
            "source_id",
            "created_at",
        )
    )
    return {int(row["id"]): row for row in rows}


async def checkouts(db: Transaction, ids: Sequence[UUID]) -> dict[UUID, dict[str, Any]]:
    rows = await (
        Checkout.filter(id__in=list(ids))
        .using_db(db)
        .values(
            "id",
            "customer_id",
            "channel",
            "subtotal",
            "discount_total",
            "total",
            "credits_used",
            "cashback_granted",
            "created_at",
        )
    )
    return {row["id"]: row for row in rows}


async def refunds(db: Transaction, ids: Sequence[UUID]) -> dict[UUID, dict[str, Any]]:
    rows = await (
        CheckoutRefund.filter(id__in=list(ids))
        .using_db(db)
        .values(
            "id",
            "checkout_id",
            "number",
            "credits_returned",
            "cashback_reversed",
            "created_at",
        )
    )
    return {row["id"]: row for row in rows}


async def sync_runs(db: Transaction, ids: Sequence[UUID]) -> dict[UUID, dict[str, Any]]:
    rows = await (
        SyncRun.filter(id__in=list(ids))
        .using_db(db)
        .values("id", "channel", "status", "fetched", "linked", "unmatched", "finished_at")
    )
    return {row["id"]: row for row in rows}


async def insert_deliveries(
    db: Transaction, deliveries: Sequence[NewDelivery], now: datetime
) -> None:
    if not deliveries:
        return
    await WebhookDelivery.bulk_create(
        [
            WebhookDelivery(
                id=d.id,
                location_id=d.location_id,
                endpoint_id=d.endpoint_id,
                event=d.event.value,
                message_id=d.message_id,
                body=d.body,
                status=DeliveryStatus.PENDING.value,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            for d in deliveries
        ],
        using_db=db,
    )


# ---------------------------------------------------------------- sending


async def has_work(now: datetime) -> bool:
    """Whether the outbox holds a row or a delivery is due: two reads on indexes."""
    if await WebhookOutbox.exists():
        return True
    return await WebhookDelivery.filter(
        status=DeliveryStatus.PENDING.value, next_attempt_at__lte=now, endpoint__enabled=True
    ).exists()


async def due(now: datetime, limit: int) -> list[tuple[UUID, UUID, int]]:
    """(delivery, endpoint, attempts made) of the pending deliveries due by `now`, of enabled
    endpoints, the longest waiting first, in the order they were created."""
    rows = await (
        WebhookDelivery.filter(
            status=DeliveryStatus.PENDING.value, next_attempt_at__lte=now, endpoint__enabled=True
        )
        .order_by("next_attempt_at", "id")
        .limit(limit)
        .values_list("id", "endpoint_id", "attempts")
    )
    return [(UUID(str(d)), UUID(str(e)), int(attempts)) for d, e, attempts in rows]


async def claim(
    delivery_id: UUID, attempts: int, now: datetime, lease_until: datetime
) -> Claimed | None:
    """The delivery for attempt `attempts + 1`, owned until `lease_until`; None when another
    attempt took it first or it is no longer due."""
    taken = await WebhookDelivery.filter(
        id=delivery_id,
        status=DeliveryStatus.PENDING.value,
        attempts=attempts,
        next_attempt_at__lte=now,
    ).update(attempts=attempts + 1, next_attempt_at=lease_until)
    if not taken:
        return None
    row = await WebhookDelivery.get(id=delivery_id).prefetch_related("endpoint")
    endpoint_row: WebhookEndpoint = row.endpoint
    return Claimed(
        id=row.id,
        endpoint_id=row.endpoint_id,
        url=endpoint_row.url,
        sealed_secret=endpoint_row.sealed_secret,
        message_id=row.message_id,
        body=row.body,
        attempt=attempts + 1,
    )


async def record_attempt(
    db: Transaction,
    claimed: Claimed,
    *,
    status: DeliveryStatus,
    next_attempt_at: datetime | None,
    status_code: int | None,
    latency_ms: int | None,
    error: str | None,
    now: datetime,
) -> bool:
    """The attempt's outcome, written only while the attempt still owns the delivery."""
    columns: dict[str, Any] = {
        "status": status.value,
        "next_attempt_at": next_attempt_at,
        "last_status_code": status_code,
        "last_latency_ms": latency_ms,
        "last_error": error,
    }
    if status is DeliveryStatus.SUCCEEDED:
        columns["delivered_at"] = now
    scope = WebhookDelivery.filter(
        id=claimed.id, status=DeliveryStatus.PENDING.value, attempts=claimed.attempt
    ).using_db(db)
    return bool(await scope.update(**columns))


async def endpoint_succeeded(db: Transaction, endpoint_id: UUID) -> None:
    await WebhookEndpoint.filter(id=endpoint_id).using_db(db).update(consecutive_failures=0)


async def endpoint_failed(
    db: Transaction, endpoint_id: UUID, disable_after: int, reason: Message, now: datetime
) -> bool:
    """Count a delivery that failed for good; disable the endpoint at `disable_after` in a row.
    True when this disabled it."""
    scope = WebhookEndpoint.filter(id=endpoint_id).using_db(db)
    row = await scope.select_for_update().first()
    if row is None:
        return False
    failures = row.consecutive_failures + 1
    disable = row.enabled and failures >= disable_after
    columns: dict[str, Any] = {"consecutive_failures": failures}
    if disable:
        columns.update(enabled=False, disabled_reason=encode(reason), updated_at=now)
    await WebhookEndpoint.filter(id=endpoint_id).using_db(db).update(**columns)
    return disable


# ---------------------------------------------------------------- the log


async def deliveries_page(
    location_id: UUID, endpoint_id: UUID, first: int, before: UUID | None
) -> list[Delivery]:
    """The endpoint's deliveries newest first: `first + 1` of them, older than `before`."""
    scope = WebhookDelivery.filter(location_id=location_id, endpoint_id=endpoint_id)
    if before is not None:
        scope = scope.filter(id__lt=before)
    rows = await scope.order_by("-id").limit(first + 1)
    return [_delivery(row) for row in rows]


async def delivery(location_id: UUID, delivery_id: UUID) -> Delivery | None:
    row = await WebhookDelivery.get_or_none(id=delivery_id, location_id=location_id)
    return None if row is None else _delivery(row)


async def replay(db: Transaction, location_id: UUID, delivery_id: UUID, now: datetime) -> bool:
    """Send the delivery again, with the same message id, as a fresh series of attempts."""
    scope = WebhookDelivery.filter(id=delivery_id, location_id=location_id).using_db(db)
    updated = await scope.update(
        status=DeliveryStatus.PENDING.value,
        attempts=0,
        next_attempt_at=now,
        delivered_at=None,
    )
    return bool(updated)
