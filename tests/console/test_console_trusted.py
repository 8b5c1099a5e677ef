"""The console where ADMIN keys too run only trusted documents: on a production gateway with
GOCRM_TRUSTED_DOCUMENTS_FOR_ADMIN=1 every page works and every request the console makes names
one of its documents (gateway/console/static/documents.js) by id, with no text. A gateway that
does not know a document's id (older than the console) gets its text once instead."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, Route, expect

from gateway.graphql.trusted import CONSOLE_DOCUMENTS, documents_in
from tests.console.conftest import (
    CONSOLE_OPERATIONS,
    VIEWPORT,
    Gateway,
    log_in,
    open_page,
    operation_of,
    serve,
)

LOCATION = "Zaufane"
VIEWER = next(d for d in documents_in(CONSOLE_DOCUMENTS) if d.name == "Viewer")
DOCUMENT_IDS = {name: document_id for document_id, name in CONSOLE_OPERATIONS.items()}
UNKNOWN_ID = "sha256:" + "0" * 64
# The pages walked, the documents each must have sent by the time it shows and a text of the
# seeded data it shows, if any.
WALK: list[tuple[str, set[str], str | None]] = [
    ("customers", {"Viewer", "Customers", "GroupNames"}, "Zofia Zaufana"),
    ("customers/{customer}", {"Customer", "CustomerHistory", "CustomerCheckouts"}, "Na start"),
    ("settings/groups", {"Groups"}, "Stali goście"),
    ("reports", {"LiabilityReport", "ActivityReport", "DiscountCostReport"}, None),
    ("operations", {"WalletOperations"}, "Na start"),
    ("sales", {"Checkouts"}, None),
    ("schedules", {"CreditSchedules"}, None),
    ("integrations", {"Integrations"}, None),
    ("integrations/connections", {"GroupConnections"}, "Stali goście"),
    ("settings/api-keys", {"ApiKeys"}, None),
    ("settings/webhooks", {"WebhookEndpoints"}, None),
    ("settings/location", {"LocationSettings"}, None),
]


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A production gateway whose ADMIN keys run only trusted documents."""
    folder = tmp_path_factory.mktemp("console-strict-gateway")
    env = {"GOCRM_ENV": "production", "GOCRM_TRUSTED_DOCUMENTS_FOR_ADMIN": "1"}
    yield from serve(folder, (LOCATION,), "gateway.app:app_factory", env)


async def _post(gateway: Gateway, body: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {gateway.keys[LOCATION]}"}
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(f"{gateway.url}/graphql", json=body, headers=headers)


async def _run(gateway: Gateway, name: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The payload of the console's mutation `name`, sent by its id; it must have no errors."""
    response = await _post(gateway, {"documentId": DOCUMENT_IDS[name], "variables": variables})
    (payload,) = response.json()["data"].values()
    assert payload["errors"] == [], payload
    result: dict[str, Any] = payload
    return result


@pytest.fixture(scope="module")
async def seeded(strict: Gateway) -> dict[str, str]:
    """A group, a customer in it and a credit to the group, made by the console's own
    documents: the strict gateway refuses anything else."""
    group = await _run(strict, "CreateCustomerGroup", {"input": {"name": "Stali goście"}})
    customer = await _run(
        strict,
        "CreateCustomer",
        {
            "input": {
                "firstName": "Zofia",
                "lastName": "Zaufana",
                "cards": [{"code": "ZAU-0001"}],
                "groupIds": [group["group"]["id"]],
            }
        },
    )
    target = {"filter": {"groupIds": [group["group"]["id"]]}}
    credit = {"target": target, "operation": "ADD", "amount": "15.00", "description": "Na start"}
    await _run(strict, "SetPromotionalCredits", {"input": credit})
    return {"customer": customer["customer"]["id"]}


async def test_the_gateway_refuses_an_admin_keys_own_text(strict: Gateway) -> None:
    response = await _post(strict, {"query": "{ viewer { location { id } } }"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "TRUSTED_DOCUMENT_REQUIRED"


async def test_every_page_runs_on_the_consoles_trusted_documents_alone(
    page: Page, strict: Gateway, seeded: dict[str, str]
) -> None:
    bodies: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda r: bodies.append(json.loads(r.post_data or "{}")) if "/graphql" in r.url else None,
    )
    await log_in(page, strict, strict.keys[LOCATION])
    await expect(page.locator("table.list tbody tr")).to_have_count(1)

    for route, documents, shown in WALK:
        await open_page(page, strict, route.format(**seeded))
        if shown is not None:
            await expect(page.locator("main").get_by_text(shown).first).to_be_visible()
        await expect(page.locator(".alert.error")).to_have_count(0)
        assert documents <= {operation_of(body) for body in bodies}, route

    assert len(bodies) > len(WALK)
    assert [b for b in bodies if "query" in b or operation_of(b) is None] == []


async def test_a_gateway_that_does_not_know_a_document_is_sent_its_text(
    browser: Browser, gateway: Gateway
) -> None:
    """Against the development gateway, which runs any text: the first Viewer goes to it under
    an id it does not know, as to a gateway older than the console."""
    context = await browser.new_context(viewport=VIEWPORT, locale="pl-PL")
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sent: list[dict[str, Any]] = []

    async def forget_the_first_viewer(route: Route) -> None:
        body = json.loads(route.request.post_data or "{}")
        if operation_of(body) == "Viewer" and not sent:
            body = {**body, "documentId": UNKNOWN_ID}
        sent.append(body)
        await route.continue_(post_data=json.dumps(body))

    await page.route("**/graphql", forget_the_first_viewer)
    await log_in(page, gateway, gateway.keys[LOCATION])
    await context.close()

    assert sent[:2] == [
        {"documentId": UNKNOWN_ID, "variables": {}},
        {"query": VIEWER.body, "variables": {}},
    ]
    assert [operation_of(body) for body in sent[2:]] == [
        name for name in (operation_of(body) for body in sent[2:]) if name is not None
    ]
    assert len(errors) == 1
    assert "status of 400" in errors[0]
