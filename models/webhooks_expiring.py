"""`credits.expiring` in the database: the endpoints whose next day is due, what their
location's customers hold that expires on a day, and the conditional UPDATE that advances an
endpoint's last day notified in the transaction that writes that day's deliveries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from domain.webhooks import WebhookEvent, events_of
from models import sql
from models.db import Transaction
from models.tables.crm import Location
from models.tables.webhooks import WebhookEndpoint

# What the location's live customers hold in lots that expire on the day, by customer: the
# partial index `credit_lots_expiring` on (location_id, expires_on) serves it.
_EXPIRING_ON = """
SELECT l.customer_id, SUM(l.remaining) AS amount
FROM credit_lots l JOIN customers c ON c.id = l.customer_id
WHERE l.location_id = $1 AND l.remaining > 0 AND l.expires_on IS NOT NULL
    AND l.expires_on = $2 AND c.deleted_at IS NULL
GROUP BY l.customer_id
ORDER BY l.customer_id
"""


@dataclass(frozen=True)
class ExpiringEndpoint:
    """An endpoint as its `credits.expiring` notices need it."""

    id: UUID
    location_id: UUID
    timezone: str
    currency: str
    listening: bool  # enabled and subscribed to `credits.expiring`
    days_before: int
    notified_on: date | None
    due_at: datetime


async def due_endpoints(now: datetime, limit: int) -> list[UUID]:
    """Up to `limit` endpoints whose next day is due by `now`, the longest due first: one
    look-up on the index of `expiring_due_at`."""
    rows = await (
        WebhookEndpoint.filter(expiring_due_at__lte=now)
        .order_by("expiring_due_at", "id")
        .limit(limit)
        .values_list("id", flat=True)
    )
    return [UUID(str(row)) for row in rows]


async def endpoint(db: Transaction, endpoint_id: UUID) -> ExpiringEndpoint | None:
    row = await WebhookEndpoint.filter(id=endpoint_id).using_db(db).first()
    if row is None or row.expiring_due_at is None:
        return None
    location = await Location.filter(id=row.location_id).using_db(db).get()
    return ExpiringEndpoint(
        id=row.id,
        location_id=row.location_id,
        timezone=location.timezone,
        currency=location.currency,
        listening=row.enabled and WebhookEvent.CREDITS_EXPIRING in events_of(row.events),
        days_before=row.expiring_days_before,
        notified_on=row.expiring_notified_on,
        due_at=row.expiring_due_at,
    )


async def expiring_on(db: Transaction, location_id: UUID, day: date) -> list[tuple[UUID, int]]:
    """(customer, amount) of every live customer of the location holding credits that expire
    on `day`, by customer id."""
    rows = await sql.fetch(db, _EXPIRING_ON, [str(location_id), day])
    return [(sql.uuid(row["customer_id"]), int(row["amount"])) for row in rows]


async def advance(
    db: Transaction,
    endpoint_id: UUID,
    was: date | None,
    notified_on: date | None,
    due_at: datetime,
) -> bool:
    """Record `notified_on` as the endpoint's last day notified and `due_at` as when its next
    is due, only while its last day is still `was`: False when another worker recorded a day
    first (the caller rolls its deliveries back)."""
    scope = WebhookEndpoint.filter(id=endpoint_id).using_db(db)
    if was is None:
        scope = scope.filter(expiring_notified_on__isnull=True)
    else:
        scope = scope.filter(expiring_notified_on=was)
    return bool(await scope.update(expiring_notified_on=notified_on, expiring_due_at=due_at))
