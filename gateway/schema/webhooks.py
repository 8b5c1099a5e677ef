"""Webhooks (ADMIN): endpoints, their delivery log, and replaying a delivery."""

from __future__ import annotations

from datetime import datetime

import strawberry

from domain import webhooks as rules
from domain.paging import DEFAULT_PAGE_SIZE
from gateway.context import Info
from gateway.schema.common import DeletePayload, Message, PageInfo, UserError
from gateway.schema.resolvers import mutation, query
from services import webhooks

WebhookEvent = strawberry.enum(rules.WebhookEvent, name="WebhookEvent")
WebhookDeliveryStatus = strawberry.enum(rules.DeliveryStatus, name="WebhookDeliveryStatus")


@strawberry.type
class WebhookEndpoint:
    id: strawberry.ID
    url: str
    events: list[rules.WebhookEvent]
    enabled: bool
    disabled_reason: str | None
    expiring_days_before: int
    created_at: datetime

    @classmethod
    def of(cls, endpoint: rules.Endpoint, language: str) -> WebhookEndpoint:
        reason = endpoint.disabled_reason
        return cls(
            id=strawberry.ID(str(endpoint.id)),
            url=endpoint.url,
            events=list(endpoint.events),
            enabled=endpoint.enabled,
            disabled_reason=None if reason is None else Message.of(reason, language).text,
            expiring_days_before=endpoint.expiring_days_before,
            created_at=endpoint.created_at,
        )


@strawberry.input
class WebhookEndpointInput:
    url: str | None = None
    events: list[rules.WebhookEvent] | None = None
    enabled: bool | None = None
    expiring_days_before: int | None = None

    def to_domain(self) -> rules.EndpointRequest:
        return rules.EndpointRequest(
            url=self.url,
            events=self.events,
            enabled=self.enabled,
            expiring_days_before=self.expiring_days_before,
        )


@strawberry.type
class WebhookDelivery:
    id: strawberry.ID
    event: rules.WebhookEvent
    message_id: str
    status: rules.DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_latency_ms: int | None
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def of(cls, delivery: rules.Delivery) -> WebhookDelivery:
        return cls(
            id=strawberry.ID(str(delivery.id)),
            event=delivery.event,
            message_id=delivery.message_id,
            status=delivery.status,
            attempts=delivery.attempts,
            last_status_code=delivery.last_status_code,
            last_latency_ms=delivery.last_latency_ms,
            created_at=delivery.created_at,
            delivered_at=delivery.delivered_at,
        )


@strawberry.type
class WebhookDeliveryEdge:
    node: WebhookDelivery
    cursor: str


@strawberry.type
class WebhookDeliveryConnection:
    edges: list[WebhookDeliveryEdge]
    page_info: PageInfo


@strawberry.type
class WebhookEndpointPayload:
    endpoint: WebhookEndpoint | None = None
    secret: str | None = strawberry.field(
        default=None, description="The signing secret, shown once: when the endpoint is created."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class WebhookDeliveryPayload:
    delivery: WebhookDelivery | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class Query:
    @query(admin=True)
    async def webhook_endpoints(self, info: Info) -> list[WebhookEndpoint]:
        principal = info.context.principal
        found = await webhooks.list_endpoints(principal.location_id)
        return [WebhookEndpoint.of(endpoint, principal.language) for endpoint in found]

    @query(admin=True)
    async def webhook_deliveries(
        self,
        info: Info,
        endpoint_id: strawberry.ID,
        first: int | None = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> WebhookDeliveryConnection:
        size = DEFAULT_PAGE_SIZE if first is None else first
        page = await webhooks.deliveries_page(
            info.context.principal.location_id, endpoint_id, size, after
        )
        return WebhookDeliveryConnection(
            edges=[
                WebhookDeliveryEdge(node=WebhookDelivery.of(item), cursor=cursor)
                for item, cursor in zip(page.items, page.cursors, strict=True)
            ],
            page_info=PageInfo.of(page),
        )


@strawberry.type
class Mutation:
    @mutation(WebhookEndpointPayload)
    async def create_webhook_endpoint(
        self, info: Info, input: WebhookEndpointInput
    ) -> WebhookEndpointPayload:
        principal, runtime = info.context.principal, info.context.runtime
        endpoint, secret = await webhooks.create_endpoint(
            runtime, principal.location_id, input.to_domain()
        )
        return WebhookEndpointPayload(
            endpoint=WebhookEndpoint.of(endpoint, principal.language), secret=secret
        )

    @mutation(WebhookEndpointPayload)
    async def update_webhook_endpoint(
        self, info: Info, id: strawberry.ID, input: WebhookEndpointInput
    ) -> WebhookEndpointPayload:
        principal, runtime = info.context.principal, info.context.runtime
        endpoint = await webhooks.update_endpoint(
            runtime, principal.location_id, id, input.to_domain()
        )
        return WebhookEndpointPayload(endpoint=WebhookEndpoint.of(endpoint, principal.language))

    @mutation(DeletePayload)
    async def delete_webhook_endpoint(self, info: Info, id: strawberry.ID) -> DeletePayload:
        deleted = await webhooks.delete_endpoint(info.context.principal.location_id, id)
        return DeletePayload(deleted_id=strawberry.ID(str(deleted)))

    @mutation(WebhookDeliveryPayload)
    async def replay_webhook_delivery(
        self, info: Info, id: strawberry.ID
    ) -> WebhookDeliveryPayload:
        principal, runtime = info.context.principal, info.context.runtime
        delivery = await webhooks.replay_delivery(runtime, principal.location_id, id)
        return WebhookDeliveryPayload(delivery=WebhookDelivery.of(delivery))
