"""Request limits over HTTP: query cost, execution time, body size; no suggestions in production."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

import services.customers
from gateway.app import create_app
from gateway.schema.root import build_schema
from settings import Settings
from tests.helpers import (
    CREATE_CUSTOMER,
    ENTRIES_PER_CUSTOMER,
    PAGE_OF_CUSTOMERS,
    Api,
    create_customer,
    new_location,
    query_cost,
)
from tests.wallet_helpers import SET_CREDITS, credit_input, snapshot

GRAPHQL_RESPONSE = "application/graphql-response+json"


def _aliased(count: int) -> str:
    return "{ " + " ".join(f"a{n}: {ENTRIES_PER_CUSTOMER}" for n in range(count)) + " }"


@pytest.fixture
async def make_api(database: Settings) -> AsyncIterator[Callable[..., Awaitable[Api]]]:
    """An ADMIN client of an app built with other settings; its dispatcher closes after."""
    apps: list[Starlette] = []
    clients: list[httpx.AsyncClient] = []

    async def make(**changes: Any) -> Api:
        app = create_app(dataclasses.replace(database, **changes), manage_database=False)
        apps.append(app)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")
        clients.append(client)
        return await new_location(client, "Limits Bistro")

    yield make
    for client in clients:
        await client.aclose()
    for app in apps:
        await app.state.dispatcher.close()


@pytest.fixture
def list_calls(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Records every call of the service behind `customers`, which still runs."""
    calls: list[object] = []
    original = services.customers.list_customers

    async def recording(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return await original(*args, **kwargs)

    monkeypatch.setattr(services.customers, "list_customers", recording)
    return calls


async def _post(api: Api, body: Any, **headers: str) -> httpx.Response:
    return await api.http.post("/graphql", json=body, headers={**api.headers, **headers})


# ------------------------------------------------------------------ query cost


async def test_a_page_of_200_customers_with_their_groups_is_within_the_budget(
    api: Api, list_calls: list[object]
) -> None:
    await create_customer(api, firstName="Anna")

    response = await _post(api, {"query": PAGE_OF_CUSTOMERS})

    assert response.status_code == 200
    assert [e["node"]["firstName"] for e in response.json()["data"]["customers"]["edges"]] == [
        "Anna"
    ]
    assert len(list_calls) == 1


@pytest.mark.parametrize(("aliases", "cost"), [(1, 201_001), (3, 603_003), (30, 6_030_030)])
async def test_the_aliased_wallet_attack_is_refused_before_anything_runs(
    api: Api, list_calls: list[object], aliases: int, cost: int
) -> None:
    response = await _post(api, {"query": _aliased(aliases)}, accept=GRAPHQL_RESPONSE)

    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "message": f"This query costs {cost:,}, over the limit of 20,000: ask for "
                "smaller pages or fewer fields.",
                "extensions": {"code": "QUERY_TOO_COSTLY", "cost": cost, "limit": 20_000},
            }
        ]
    }
    assert list_calls == []


async def test_the_cost_reads_the_page_size_from_the_variables(
    api: Api, list_calls: list[object]
) -> None:
    query = "query($n: Int) { customers(first: $n) { edges { node { id wallet { entries(first: $n) { totalCount } } } } } }"  # noqa: E501

    small = await _post(api, {"query": query, "variables": {"n": 100}})
    large = await _post(api, {"query": query, "variables": {"n": 200}})

    # 1 + n × (edges 1 + node 1 + id 1 + wallet (1 + entries (1 + n × 1)))
    assert small.json() == {"data": {"customers": {"edges": []}}}
    assert large.json()["errors"][0]["extensions"] == {
        "code": "QUERY_TOO_COSTLY",
        "cost": 1 + 200 * (4 + 1 + 200),
        "limit": 20_000,
    }
    assert len(list_calls) == 1


async def test_the_budget_is_a_setting(make_api: Callable[..., Awaitable[Api]]) -> None:
    api = await make_api(max_query_cost=50)

    within = await _post(api, {"query": "{ customers(first: 49) { totalCount } }"})
    over = await _post(api, {"query": "{ customers(first: 50) { totalCount } }"})

    assert within.json() == {"data": {"customers": {"totalCount": 0}}}
    assert over.json()["errors"][0]["extensions"] == {
        "code": "QUERY_TOO_COSTLY",
        "cost": 51,
        "limit": 50,
    }


async def test_a_costly_mutation_document_changes_nothing(
    make_api: Callable[..., Awaitable[Api]],
) -> None:
    schema = build_schema(production=False)._schema
    budget = query_cost(schema, CREATE_CUSTOMER)
    assert query_cost(schema, SET_CREDITS) > budget
    api = await make_api(max_query_cost=budget)
    customer = await create_customer(api, firstName="Anna")
    before = await snapshot(api.location_id)

    body = await api.raw(SET_CREDITS, credit_input({"customerIds": [customer["id"]]}, "ADD", "5"))

    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert "data" not in body
    assert await snapshot(api.location_id) == before


# ------------------------------------------------------------------ execution time


@pytest.fixture
def slow_list(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """`customers` takes 30 s; the list says whether it was cancelled or finished."""
    outcome: list[str] = []

    async def slow(*args: Any, **kwargs: Any) -> Any:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise
        outcome.append("finished")

    monkeypatch.setattr(services.customers, "list_customers", slow)
    return outcome


async def test_a_request_over_the_time_limit_is_cancelled_and_answered_503(
    make_api: Callable[..., Awaitable[Api]], slow_list: list[str]
) -> None:
    api = await make_api(request_timeout_seconds=0.2)

    started = time.monotonic()
    response = await _post(api, {"query": "{ customers { totalCount } }"})
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert response.json() == {
        "errors": [
            {
                "message": "The request took longer than 0.2 s and was stopped.",
                "extensions": {"code": "TIMEOUT"},
            }
        ]
    }
    assert slow_list == ["cancelled"]
    assert elapsed < 5


async def test_a_request_within_the_time_limit_is_answered(
    make_api: Callable[..., Awaitable[Api]],
) -> None:
    api = await make_api(request_timeout_seconds=5)

    response = await _post(api, {"query": "{ customers { totalCount } }"})

    assert response.json() == {"data": {"customers": {"totalCount": 0}}}


async def test_a_request_whose_client_disconnects_is_cancelled(
    make_api: Callable[..., Awaitable[Api]], slow_list: list[str]
) -> None:
    api = await make_api()
    app = api.http._transport.app  # type: ignore[attr-defined]
    body = json.dumps({"query": "{ customers { totalCount } }"}).encode()
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": body, "more_body": False},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if len(messages) == 1:
            await asyncio.sleep(0.2)  # the client leaves while `customers` runs
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    started = time.monotonic()
    await app(_scope(api), receive, send)

    assert slow_list == ["cancelled"]
    assert time.monotonic() - started < 5
    assert sent[0]["status"] == 499


# ------------------------------------------------------------------ body size

TOO_LARGE = {
    "errors": [
        {
            "message": "The body is larger than 1,000 bytes.",
            "extensions": {"code": "PAYLOAD_TOO_LARGE"},
        }
    ]
}
VIEWER = "{ viewer { apiKey { role } } }"


def _body_of(size: int) -> bytes:
    """A valid request body of exactly `size` bytes (padded with spaces)."""
    body = json.dumps({"query": VIEWER}).encode()
    return body + b" " * (size - len(body))


async def _post_bytes(api: Api, content: Any) -> httpx.Response:
    headers = {**api.headers, "content-type": "application/json"}
    return await api.http.post("/graphql", content=content, headers=headers)


async def test_a_body_at_the_limit_is_read_and_one_byte_more_is_413(
    make_api: Callable[..., Awaitable[Api]],
) -> None:
    api = await make_api(max_body_bytes=1_000)

    at_limit = await _post_bytes(api, _body_of(1_000))
    over = await _post_bytes(api, _body_of(1_001))

    assert at_limit.json() == {"data": {"viewer": {"apiKey": {"role": "ADMIN"}}}}
    assert over.status_code == 413
    assert over.json() == TOO_LARGE


async def test_the_default_limit_is_one_mebibyte(api: Api) -> None:
    at_limit = await _post_bytes(api, _body_of(1_048_576))
    over = await _post_bytes(api, _body_of(1_048_577))

    assert at_limit.status_code == 200
    assert over.status_code == 413


def _scope(api: Api, *headers: tuple[bytes, bytes]) -> dict[str, Any]:
    """An HTTP request to /graphql as the server hands it to the application."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "root_path": "",
        "query_string": b"",
        "server": ("gw", 80),
        "client": ("127.0.0.1", 5000),
        "headers": [
            (b"authorization", f"Bearer {api.key}".encode()),
            (b"content-type", b"application/json"),
            *headers,
        ],
    }


async def test_a_declared_length_over_the_limit_is_413_before_reading_the_body(
    make_api: Callable[..., Awaitable[Api]],
) -> None:
    api = await make_api(max_body_bytes=1_000)
    app = api.http._transport.app  # type: ignore[attr-defined]
    reads: list[object] = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        reads.append("receive")
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = _scope(api, (b"content-length", b"50000000"))
    await app(scope, receive, send)

    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"]) == TOO_LARGE
    assert reads == []


async def test_a_chunked_body_is_refused_once_past_the_limit(
    make_api: Callable[..., Awaitable[Api]],
) -> None:
    api = await make_api(max_body_bytes=1_000)
    chunks: list[int] = []

    async def stream(count: int) -> AsyncIterator[bytes]:
        for n in range(count):
            chunks.append(n)
            yield b" " * 100

    over = await _post_bytes(api, stream(1_000))
    sent_over = len(chunks)
    chunks.clear()

    async def small() -> AsyncIterator[bytes]:
        yield json.dumps({"query": VIEWER}).encode()

    within = await _post_bytes(api, small())

    assert over.status_code == 413
    assert over.json() == TOO_LARGE
    assert sent_over == 11  # 1,100 bytes read of 100,000
    assert within.json() == {"data": {"viewer": {"apiKey": {"role": "ADMIN"}}}}


async def test_a_content_length_that_is_not_a_number_is_400(api: Api) -> None:
    app = api.http._transport.app  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        request = client.build_request(
            "POST",
            "/graphql",
            content=b"{}",
            headers={**api.headers, "content-type": "application/json"},
        )
        request.headers["content-length"] = "-1"
        response = await client.send(request)

    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "Content-Length must be a number of bytes."


# ------------------------------------------------------------------ suggestions


@pytest.fixture
async def production(make_api: Callable[..., Awaitable[Api]]) -> Api:
    return await make_api(env="production")


SUGGESTING = [
    (
        {"query": "{ custmer(id: 1) { id } }"},
        "Cannot query field 'custmer' on type 'Query'. Did you mean 'customer' or 'customers'?",
        "Cannot query field 'custmer' on type 'Query'.",
    ),
    (
        {"query": '{ customer(cardcode: "X") { id } }'},
        "Unknown argument 'cardcode' on field 'Query.customer'. Did you mean 'cardCode'?",
        "Unknown argument 'cardcode' on field 'Query.customer'.",
    ),
    (
        {"query": "query($f: CustomerFiltr) { customers(filter: $f) { totalCount } }"},
        "Unknown type 'CustomerFiltr'. Did you mean 'CustomerFilter', 'CustomerOrder', "
        "'Customer', 'CustomerCard', or 'CustomerEdge'?",
        "Unknown type 'CustomerFiltr'.",
    ),
    (
        {"query": SET_CREDITS, "variables": credit_input({}, "ADDD", "5")},
        "Variable '$input' has invalid value at .operation: Value 'ADDD' does not exist in "
        "'CreditOperation' enum. Did you mean the enum value 'ADD'?",
        "Variable '$input' has invalid value at .operation: Value 'ADDD' does not exist in "
        "'CreditOperation' enum.",
    ),
]


@pytest.mark.parametrize(
    ("body", "development", "production_message"),
    SUGGESTING,
    ids=["field", "argument", "type", "enum-variable"],
)
async def test_suggestions_are_made_in_development_only(
    api: Api, production: Api, body: dict[str, Any], development: str, production_message: str
) -> None:
    in_development = (await _post(api, body)).json()
    in_production = (await _post(production, body)).json()

    assert [e["message"] for e in in_development["errors"]] == [development]
    assert [e["message"] for e in in_production["errors"]] == [production_message]


async def test_no_suggestion_for_an_enum_literal_or_an_unknown_input_field_in_production(
    production: Api,
) -> None:
    literal = (
        'mutation { setPromotionalCredits(input: {target: {}, operation: ADDD, amount: "1", '
        "descripton: 1}) { errors { code } } }"
    )
    variables = credit_input({}, "ADD", "5", descripton="x")

    errors = (await _post(production, {"query": literal})).json()["errors"]
    errors += (await _post(production, {"query": SET_CREDITS, "variables": variables})).json()[
        "errors"
    ]

    assert [e["extensions"]["field"] for e in errors] == [
        "input.operation",
        "input.descripton",
        "input.descripton",
    ]
    assert [e for e in errors if "Did you mean" in e["message"]] == []
