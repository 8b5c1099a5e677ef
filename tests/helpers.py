"""A small GraphQL client for tests, and builders for common data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from graphql import GraphQLSchema, parse

from domain.access import Role
from gateway.graphql.cost import CostBudget
from gateway.graphql.trusted import documents_in
from services import access

# The product's trusted documents by operation name: what a till sends in production.
TRUSTED = {document.name: document for document in documents_in()}


@dataclass
class Api:
    http: httpx.AsyncClient
    key: str
    location_id: str
    # Sent as Accept-Language: the tests read English messages unless they ask for another.
    language: str | None = "en"

    @property
    def headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.key}"}
        if self.language is not None:
            headers["Accept-Language"] = self.language
        return headers

    async def raw(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The whole response body; the request must have been answered with 200."""
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=self.headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def trusted(self, name: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The whole response body to the trusted document `name`, sent by its id."""
        body = {"documentId": f"sha256:{TRUSTED[name].id}", "variables": variables or {}}
        response = await self.http.post("/graphql", json=body, headers=self.headers)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """`data` of a response that must have no errors."""
        body = await self.raw(query, variables)
        assert "errors" not in body, body
        result: dict[str, Any] = body["data"]
        return result

    async def mutate(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The payload of the one mutation in `query`."""
        data = await self.data(query, variables)
        (payload,) = data.values()
        assert isinstance(payload, dict)
        return payload

    async def key_with_role(self, role: Role, name: str = "till 1") -> Api:
        from uuid import UUID

        _, secret = await access.create_api_key(UUID(self.location_id), name, role)
        return Api(self.http, secret, self.location_id)


async def new_location(http: httpx.AsyncClient, name: str) -> Api:
    location, secret = await access.create_location(name)
    return Api(http, secret, str(location.id))


CREATE_GROUP = """
mutation($input: CustomerGroupInput!) {
  createCustomerGroup(input: $input) {
    group { id name reference description cashbackPercent customerCount }
    errors { code field message }
  }
}"""

CREATE_CUSTOMER = """
mutation($input: CustomerInput!) {
  createCustomer(input: $input) {
    customer { id firstName lastName email phone note cards { code number expiresOn }
               groups { id reference } }
    errors { code field message }
  }
}"""


async def create_group(api: Api, name: str, **extra: Any) -> dict[str, Any]:
    payload = await api.mutate(CREATE_GROUP, {"input": {"name": name, **extra}})
    assert payload["errors"] == [], payload
    group: dict[str, Any] = payload["group"]
    return group


async def create_customer(api: Api, **fields: Any) -> dict[str, Any]:
    payload = await api.mutate(CREATE_CUSTOMER, {"input": fields})
    assert payload["errors"] == [], payload
    customer: dict[str, Any] = payload["customer"]
    return customer


# A page of 200 customers with their groups: what the cost budget must comfortably allow.
PAGE_OF_CUSTOMERS = """{
  customers(first: 200) {
    edges { node { id firstName lastName email groups { id name reference } } }
  }
}"""

# 200 entries of each of 200 customers: the selection of the aliased attack the budget refuses.
ENTRIES_PER_CUSTOMER = """customers(first: 200) {
  edges { node { id wallet { entries(first: 200) { edges { node { id delta { amount } } } } } } }
}"""


class Clock:
    """A settable clock for the runtime: the real time until `now` is set."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now if self.now is not None else datetime.now(UTC)


def query_cost(
    schema: GraphQLSchema,
    document: str,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
) -> int:
    """What the gateway's cost check costs `document` at: a budget of 0 refuses anything that
    costs more, and its refusal carries the cost (0 when the document names no operation)."""
    refusal = CostBudget(0, {}).refusal(
        schema, parse(document), document, variables, operation_name
    )
    if refusal is None:
        return 0
    assert refusal.extensions is not None
    cost: int = refusal.extensions["cost"]
    return cost
