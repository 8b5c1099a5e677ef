"""What the webhook tests share: the API's documents, and a receiver that records every request
(an httpx MockTransport under the runtime's webhook sender)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.runtime import Runtime
from tests.helpers import Api

ENDPOINT_FIELDS = "id url events enabled disabledReason expiringDaysBefore createdAt"
CREATE_ENDPOINT = f"""
mutation($input: WebhookEndpointInput!) {{
  createWebhookEndpoint(input: $input) {{
    endpoint {{ {ENDPOINT_FIELDS} }} secret
    errors {{ code field message }}
  }}
}}"""
UPDATE_ENDPOINT = f"""
mutation($id: ID!, $input: WebhookEndpointInput!) {{
  updateWebhookEndpoint(id: $id, input: $input) {{
    endpoint {{ {ENDPOINT_FIELDS} }} secret
    errors {{ code field message }}
  }}
}}"""
DELETE_ENDPOINT = """
mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { deletedId errors { code field message } } }"""
REPLAY = """
mutation($id: ID!) {
  replayWebhookDelivery(id: $id) {
    delivery { id messageId status attempts }
    errors { code field message }
  }
}"""
# The same, with the errors' message ids.
CREATE_ENDPOINT_IDS = CREATE_ENDPOINT.replace("message }", "message messageId }")
ENDPOINTS = f"{{ webhookEndpoints {{ {ENDPOINT_FIELDS} }} }}"
DELIVERIES = """
query($endpointId: ID!, $first: Int, $after: String) {
  webhookDeliveries(endpointId: $endpointId, first: $first, after: $after) {
    edges { cursor node { id event messageId status attempts lastStatusCode lastLatencyMs
                          createdAt deliveredAt } }
    pageInfo { hasNextPage endCursor }
  }
}"""
HOOK_URL = "https://hooks.example.com/gocrm"


def hook_url(api: Api) -> str:
    """A location's own endpoint URL: the database is shared by the session's tests, and a run
    of the job sends every location's due deliveries."""
    return f"{HOOK_URL}/{api.location_id}"


@dataclass
class Receiver:
    """Records the requests to `only` (every request when None); answers every request what
    `answer` says (200 unless told)."""

    only: str | None = None
    requests: list[httpx.Request] = field(default_factory=list)
    answer: Callable[[httpx.Request], int] = lambda request: 200

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.only is None or str(request.url) == self.only:
            self.requests.append(request)
            return httpx.Response(self.answer(request), text="ok")
        return httpx.Response(200)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(request.content) for request in self.requests]

    def ids(self) -> list[str]:
        return [request.headers["webhook-id"] for request in self.requests]


def receive(runtime: Runtime, api: Api | None = None) -> Receiver:
    """The receiver of every endpoint, recording those to `api`'s own URL (`hook_url`)."""
    receiver = Receiver(only=None if api is None else hook_url(api))
    runtime.webhooks.transport = httpx.MockTransport(receiver.handle)
    return receiver


async def create_endpoint(api: Api, **fields: Any) -> tuple[dict[str, Any], str]:
    values = {"url": hook_url(api), "events": ["WALLET_CHANGED"], **fields}
    payload = await api.mutate(CREATE_ENDPOINT, {"input": values})
    assert payload["errors"] == [], payload
    return payload["endpoint"], payload["secret"]


async def deliveries(api: Api, endpoint_id: str, first: int = 50) -> list[dict[str, Any]]:
    data = await api.data(DELIVERIES, {"endpointId": endpoint_id, "first": first})
    return [edge["node"] for edge in data["webhookDeliveries"]["edges"]]
