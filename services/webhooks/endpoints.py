"""Webhook endpoints as a location's administrator manages them, and their delivery log.

A new endpoint's secret (`whsec_…`) is returned once, by `create_endpoint`, and stored sealed
with the runtime's key, as integration secrets are (`services.integrations`). A URL whose host
is an address the egress rules refuse is refused here; a host name is judged again at every
send, when it is resolved (`adapters.webhooks`).
"""

from __future__ import annotations

from uuid import UUID

from adapters.webhooks import new_secret, refused_literal
from domain.entities import Page
from domain.errors import DomainError, ErrorCode, Validator, fail, not_found
from domain.ids import parse_id
from domain.messages import msg
from domain.paging import decode_cursor, page_of, page_size_problem
from domain.webhooks import (
    MAX_ENDPOINTS_PER_LOCATION,
    Delivery,
    Endpoint,
    EndpointChanges,
    EndpointRequest,
    check_request,
    url_host,
)
from models import locations
from models import webhooks as store
from models.db import IntegrityError, transaction
from services.jobs import enqueue_webhooks
from services.runtime import Runtime, SecretsUnavailableError


async def list_endpoints(location_id: UUID) -> list[Endpoint]:
    return await store.endpoints(location_id)


def _checked(runtime: Runtime, request: EndpointRequest, *, creating: bool) -> EndpointChanges:
    changes = check_request(request, creating=creating)
    host = None if changes.url is None else url_host(changes.url)
    if host is not None:
        refused = refused_literal(host, runtime.webhooks.allowed)
        if refused is not None:
            raise fail(ErrorCode.INVALID, "input.url", msg("webhook.url_private", address=refused))
    return changes


def _sealed(runtime: Runtime, secret: str) -> str:
    try:
        return runtime.secrets.box().seal(secret)
    except SecretsUnavailableError as error:
        raise fail(ErrorCode.NOT_CONFIGURED, None, msg("integration.no_secret_key")) from error


async def create_endpoint(
    runtime: Runtime, location_id: UUID, request: EndpointRequest
) -> tuple[Endpoint, str]:
    """The new endpoint and its secret, which is shown this once."""
    changes = _checked(runtime, request, creating=True)
    secret = new_secret()
    sealed = _sealed(runtime, secret)
    async with transaction() as db:
        await locations.hold(db, location_id)  # creations of one location one at a time
        if await store.endpoint_count(db, location_id) >= MAX_ENDPOINTS_PER_LOCATION:
            raise fail(
                ErrorCode.INVALID,
                None,
                msg("webhook.too_many", count=MAX_ENDPOINTS_PER_LOCATION),
            )
        try:
            endpoint_id = await store.create_endpoint(
                db, location_id, changes, sealed, runtime.clock()
            )
        except IntegrityError as error:
            raise _url_taken() from error
    created = await store.endpoint(location_id, endpoint_id)
    assert created is not None
    return created, secret


def _url_taken() -> DomainError:
    return fail(ErrorCode.DUPLICATE, "input.url", msg("webhook.url_taken"))


def _id(value: str, field: str, what: str) -> UUID:
    parsed = parse_id(value)
    if parsed is None:
        raise not_found(field, what)
    return parsed


async def update_endpoint(
    runtime: Runtime, location_id: UUID, endpoint_id: str, request: EndpointRequest
) -> Endpoint:
    uid = _id(endpoint_id, "id", "webhook_endpoint")
    changes = _checked(runtime, request, creating=False)
    try:
        async with transaction() as db:
            if not await store.update_endpoint(db, location_id, uid, changes, runtime.clock()):
                raise not_found("id", "webhook_endpoint")
    except IntegrityError as error:
        raise _url_taken() from error
    updated = await store.endpoint(location_id, uid)
    if updated is None:  # deleted meanwhile
        raise not_found("id", "webhook_endpoint")
    return updated


async def delete_endpoint(location_id: UUID, endpoint_id: str) -> UUID:
    uid = _id(endpoint_id, "id", "webhook_endpoint")
    async with transaction() as db:
        if not await store.delete_endpoint(db, location_id, uid):
            raise not_found("id", "webhook_endpoint")
    return uid


async def deliveries_page(
    location_id: UUID, endpoint_id: str, first: int, after: str | None
) -> Page[Delivery]:
    """The endpoint's deliveries, newest first."""
    checks = Validator()
    if problem := page_size_problem(first):
        checks.add(ErrorCode.INVALID, "first", problem)
    before = None
    if after is not None:
        before = parse_id(decode_cursor(after) or "")
        if before is None:
            checks.add(ErrorCode.INVALID, "after", msg("page.bad_cursor"))
    checks.check()
    uid = _id(endpoint_id, "endpointId", "webhook_endpoint")
    if await store.endpoint(location_id, uid) is None:
        raise not_found("endpointId", "webhook_endpoint")
    fetched = await store.deliveries_page(location_id, uid, first, before)
    return page_of(fetched, first, len(fetched), lambda delivery: delivery.id)


async def replay_delivery(runtime: Runtime, location_id: UUID, delivery_id: str) -> Delivery:
    """Send the delivery again, with the same `webhook-id`; the next run of the job sends it."""
    uid = _id(delivery_id, "id", "webhook_delivery")
    async with transaction() as db:
        if not await store.replay(db, location_id, uid, runtime.clock()):
            raise not_found("id", "webhook_delivery")
    replayed = await store.delivery(location_id, uid)
    if replayed is None:
        raise not_found("id", "webhook_delivery")
    await enqueue_webhooks(runtime.dispatcher, runtime.clock())
    return replayed
