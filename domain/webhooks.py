"""Webhooks: what an endpoint may be, which events it hears, and how long a delivery is retried.

An endpoint is a URL of a location, the events it subscribes to and a secret that signs every
delivery (the Standard Webhooks scheme: `adapters.webhooks`). A delivery is one message to one
endpoint; its message id (`webhook-id`) is fixed when it is created and sent unchanged by every
attempt and every replay, so that a receiver deduplicates by it. A delivery is tried again after
each of `RETRY_DELAYS` (about a day in all) and then fails; an endpoint whose
`DISABLE_AFTER_FAILURES` deliveries in a row failed for good is disabled.

Pure rules: time is passed in.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import SplitResult, urlsplit
from uuid import UUID
from zoneinfo import ZoneInfo

from domain.errors import ErrorCode, Validator
from domain.messages import Message, msg
from domain.text import control_character


class WebhookEvent(StrEnum):
    """The API's names; `wire` is the name a receiver reads in the payload's `type`."""

    WALLET_CHANGED = "WALLET_CHANGED"
    CHECKOUT_COMMITTED = "CHECKOUT_COMMITTED"
    CHECKOUT_REFUNDED = "CHECKOUT_REFUNDED"
    CREDITS_EXPIRING = "CREDITS_EXPIRING"
    SYNC_FINISHED = "SYNC_FINISHED"

    @property
    def wire(self) -> str:
        return self.value.lower().replace("_", ".", 1)

    @classmethod
    def from_wire(cls, name: str) -> WebhookEvent:
        return cls(name.replace(".", "_").upper())


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


MAX_ENDPOINTS_PER_LOCATION = 10
MAX_URL_LENGTH = 2_000
DEFAULT_EXPIRING_DAYS_BEFORE = 7
MAX_EXPIRING_DAYS_BEFORE = 90
# The most wallet entries one `wallet.changed` delivery carries (a bulk operation's chunk is
# split into deliveries of this many).
MAX_ENTRIES_PER_DELIVERY = 100
# `credits.expiring`: an endpoint that missed days (a worker was down) catches up at most this
# many days, the oldest first.
MAX_EXPIRING_DAYS_BACK = 31
# The waits before the 2nd, 3rd, ... attempt: the last attempt is about 28 hours after the first.
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# Deliveries in a row that failed every attempt before the endpoint is disabled.
DISABLE_AFTER_FAILURES = 5
# How long an attempt owns its delivery: another worker takes it over after this (the sending
# worker died). Longer than a send's whole timeout.
ATTEMPT_LEASE = timedelta(seconds=60)
# What a delivery's log keeps of an answer that was not 2xx.
MAX_ERROR_LENGTH = 500

_SCHEMES = ("http", "https")


@dataclass(frozen=True)
class EndpointRequest:
    """What createWebhookEndpoint or updateWebhookEndpoint was sent; None is "left out"."""

    url: str | None = None
    events: Sequence[WebhookEvent] | None = None
    enabled: bool | None = None
    expiring_days_before: int | None = None


@dataclass(frozen=True)
class EndpointChanges:
    """A checked request: what to write (None keeps the stored value)."""

    url: str | None
    events: tuple[WebhookEvent, ...] | None
    enabled: bool | None
    expiring_days_before: int | None


@dataclass(frozen=True)
class Endpoint:
    id: UUID
    location_id: UUID
    url: str
    events: tuple[WebhookEvent, ...]
    enabled: bool
    disabled_reason: Message | None
    expiring_days_before: int
    created_at: datetime


@dataclass(frozen=True)
class Delivery:
    id: UUID
    endpoint_id: UUID
    event: WebhookEvent
    message_id: str
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_latency_ms: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


def url_host(url: str) -> str | None:
    parts = _split(url)
    return None if parts is None else parts.hostname


def url_problem(url: str) -> Message | None:
    """Why a trimmed endpoint URL is not acceptable, or None when it is."""
    if not url:
        return msg("webhook.url_empty")
    if len(url) > MAX_URL_LENGTH:
        return msg("webhook.url_too_long", count=MAX_URL_LENGTH)
    if control_character(url) or any(char.isspace() for char in url) or not url.isascii():
        return msg("webhook.url_invalid")
    parts = _split(url)
    if parts is None or parts.scheme not in _SCHEMES or "//" not in url:
        return msg("webhook.url_scheme")
    if parts.username is not None or parts.password is not None:
        return msg("webhook.url_user")
    if not parts.hostname or "#" in url:
        return msg("webhook.url_invalid")
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when it is read
    except ValueError:
        return msg("webhook.url_invalid")
    return None


def _split(url: str) -> SplitResult | None:
    try:
        return urlsplit(url)
    except ValueError:
        return None


def check_request(request: EndpointRequest, *, creating: bool) -> EndpointChanges:
    """The request checked; raises `DomainError` with every problem at once."""
    checks = Validator()
    url = None if request.url is None else request.url.strip()
    if url is None and creating:
        checks.add(ErrorCode.REQUIRED, "input.url", msg("webhook.url_empty"))
    elif url is not None and (problem := url_problem(url)):
        checks.add(ErrorCode.INVALID, "input.url", problem)
    events = None if request.events is None else tuple(dict.fromkeys(request.events))
    if (events is None and creating) or events == ():
        checks.add(ErrorCode.REQUIRED, "input.events", msg("webhook.events_empty"))
    days = request.expiring_days_before
    if days is not None and not 1 <= days <= MAX_EXPIRING_DAYS_BEFORE:
        checks.add(
            ErrorCode.INVALID,
            "input.expiringDaysBefore",
            msg("webhook.expiring_days_range", maximum=str(MAX_EXPIRING_DAYS_BEFORE)),
        )
    checks.check()
    if creating and days is None:
        days = DEFAULT_EXPIRING_DAYS_BEFORE
    return EndpointChanges(url, events, request.enabled, days)


def events_column(events: Iterable[WebhookEvent]) -> str:
    """The events as stored: wire names between commas (",wallet.changed,sync.finished,"), so
    that the database's triggers ask `LIKE '%,wallet.changed,%'`."""
    return "," + ",".join(event.wire for event in events) + ","


def events_of(column: str) -> tuple[WebhookEvent, ...]:
    return tuple(WebhookEvent.from_wire(name) for name in column.split(",") if name)


def next_attempt_at(attempts: int, now: datetime) -> datetime | None:
    """When a delivery that has failed `attempts` attempts is tried again; None: no more."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return now + RETRY_DELAYS[attempts - 1]


def message_id(delivery_id: UUID) -> str:
    """The `webhook-id` of a delivery, for good: every attempt and replay sends it."""
    return f"msg_{delivery_id.hex}"


def body(event: WebhookEvent, timestamp: datetime, data: dict[str, Any]) -> str:
    """A delivery's body, as it is stored and signed (compact JSON, keys in order)."""
    payload = {"type": event.wire, "timestamp": timestamp.isoformat(), "data": data}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def batches(items: Sequence[Any], size: int = MAX_ENTRIES_PER_DELIVERY) -> list[Sequence[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def failed_answer(status_code: int | None, error: str | None) -> str:
    """What the log keeps of a failed attempt, bounded."""
    text = error if status_code is None else f"HTTP {status_code}"
    return (text or "")[:MAX_ERROR_LENGTH]


def next_expiring_day(notified_on: date | None, first_day: date, today: date) -> date:
    """The next local day whose `credits.expiring` notices are due: the day after the last one
    notified (`first_day` when none was), but at most `MAX_EXPIRING_DAYS_BACK` days back from
    `today`. After `today` when nothing is due yet."""
    following = first_day if notified_on is None else notified_on + timedelta(days=1)
    return max(following, today - timedelta(days=MAX_EXPIRING_DAYS_BACK - 1))


def day_start(day: date, timezone: str) -> datetime:
    """The first instant of the local `day` in the IANA time zone `timezone`, in UTC."""
    return datetime.combine(day, time(0), ZoneInfo(timezone)).astimezone(UTC)
