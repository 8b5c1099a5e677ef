"""The `credits.expiring` event: once a day per endpoint that subscribes to it, the customers
whose credits expire `expiringDaysBefore` days later.

For the local day D (the location's time zone) an endpoint is told of every live customer
holding credits in lots that expire on D + its `expiring_days_before`: one item per customer
with the sum of what is left, at most `MAX_ENTRIES_PER_DELIVERY` customers per delivery. The
deliveries go out as every other event's do (signed, retried, logged, replayable).

Exactly once per endpoint and day: each day is written in a transaction of its own that ends
with a conditional UPDATE of the endpoint's last day notified (`models.webhooks_expiring`); a
worker that finds the day taken by another rolls its deliveries back. A worker that was down
catches the missed days up in order, at most `MAX_EXPIRING_DAYS_BACK` of them. A new endpoint
starts from the day it was created. A day that passes while the endpoint is disabled or not
subscribed is passed over without notices, as no other event is recorded for it then; a
change of `expiring_days_before` applies from the next day notified.

The periodic check calls `emit_expiring`: when nothing is due it costs one indexed look-up;
after an outage it catches up for at most `budget` seconds a check.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from uuid import UUID

from domain.money import money_text
from domain.schedule import local_today
from domain.webhooks import (
    MAX_EXPIRING_DAYS_BACK,
    WebhookEvent,
    batches,
    body,
    day_start,
    message_id,
    next_expiring_day,
)
from models import webhooks as store
from models import webhooks_expiring as expiring
from models.db import Transaction, transaction
from models.ids import new_id
from services.access import currency_minor_units
from services.runtime import Runtime

# Endpoints taken per check; the next check takes the rest.
DUE_BATCH = 200


class _TakenError(Exception):
    """Another worker recorded the day first: this transaction's deliveries are dropped."""


async def emit_expiring(runtime: Runtime, *, budget: float = 5.0) -> int:
    """Write the `credits.expiring` deliveries of every day due by now, for at most `budget`
    seconds (the next check carries on); how many deliveries."""
    now = runtime.clock()
    started = time.monotonic()
    made = 0
    for endpoint_id in await expiring.due_endpoints(now, DUE_BATCH):
        if time.monotonic() - started >= budget:
            break
        for _ in range(MAX_EXPIRING_DAYS_BACK + 1):
            try:
                async with transaction() as db:
                    count, done = await _next_day(db, endpoint_id, now)
            except _TakenError:
                break
            made += count
            if done:
                break
    return made


async def _next_day(db: Transaction, endpoint_id: UUID, now: datetime) -> tuple[int, bool]:
    """Notify the endpoint's next due day, in `db`: (deliveries written, whether it is now
    notified up to the location's today)."""
    found = await expiring.endpoint(db, endpoint_id)
    if found is None:
        return 0, True
    today = local_today(now, found.timezone)
    first_day = local_today(found.due_at, found.timezone)
    day = next_expiring_day(found.notified_on, first_day, today)
    if day > today:  # not due yet in the location's time zone (it was moved): wait for it
        await _advance(db, found, found.notified_on, day_start(day, found.timezone))
        return 0, True
    if not found.listening:  # disabled or not subscribed: the days pass without notices
        await _advance(db, found, today, day_start(today + timedelta(days=1), found.timezone))
        return 0, True
    deliveries = await _deliveries(db, found, day, now)
    await store.insert_deliveries(db, deliveries, now)
    await _advance(db, found, day, day_start(day + timedelta(days=1), found.timezone))
    return len(deliveries), day == today


async def _advance(
    db: Transaction, found: expiring.ExpiringEndpoint, notified_on: date | None, due_at: datetime
) -> None:
    if not await expiring.advance(db, found.id, found.notified_on, notified_on, due_at):
        raise _TakenError


async def _deliveries(
    db: Transaction, found: expiring.ExpiringEndpoint, day: date, now: datetime
) -> list[store.NewDelivery]:
    """The day's notices to the endpoint: the customers whose credits expire
    `days_before` days after `day`, a batch of them per delivery."""
    expires_on = day + timedelta(days=found.days_before)
    held = await expiring.expiring_on(db, found.location_id, expires_on)
    minor = currency_minor_units(found.currency)
    event = WebhookEvent.CREDITS_EXPIRING
    groups = batches(held)
    # Ids in the order of the batches (time-ordered ids made in the same millisecond are not).
    ids = sorted(new_id() for _ in groups)
    deliveries = []
    for delivery_id, group in zip(ids, groups, strict=True):
        customers = [
            {
                "customerId": str(customer_id),
                "amount": money_text(amount, minor),
                "expiresOn": expires_on.isoformat(),
            }
            for customer_id, amount in group
        ]
        text = body(event, now, {"day": day.isoformat(), "customers": customers})
        deliveries.append(
            store.NewDelivery(
                delivery_id, found.location_id, found.id, event, message_id(delivery_id), text
            )
        )
    return deliveries
