"""Integracje in a browser: GoPOS configured through the form (its secret write-only),
Synchronizuj against the simulator, and Połączenia showing LINKED, NOT_FOUND and AMBIGUOUS with
their reasons and the upstream reference no group has; checked through the API."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.console.conftest import SIMULATORS, Api, Gateway, log_in, open_page

LOCATION = "Integracje"
# What services/demo_gopos.json (served by the demo app's simulator) gives each reference:
# one group for "staly-klient", two for "vip", none for "pracownicy", and "studenci" no CRM
# group has.
GROUPS = ("Stały klient", "VIP", "Pracownicy")
GOPOS = {"clientId": "gocrm-demo", "clientSecret": "demo-gopos-secret", "organizationId": "1001"}
INTEGRATION = """{ integration(channel: GOPOS) { configured baseUrl clientId organizationId
  lastSync { status fetched linked unmatched } unmatchedReferences } }"""
CONNECTIONS = "{ customerGroups { reference connections { channel status detail } } }"


@pytest.fixture(scope="module")
async def groups(admin: Api) -> None:
    for name in GROUPS:
        await admin.mutate(
            "mutation($name: String!) { createCustomerGroup(input: {name: $name}) {"
            " errors { code field message } } }",
            {"name": name},
        )


async def _sync(page: Page) -> None:
    """Presses Synchronizuj and waits for the new run to succeed."""
    card = page.get_by_role("region", name="GoPOS")
    runs = card.locator("[data-run]")
    earlier = await runs.get_attribute("data-run") if await runs.count() else ""
    await card.get_by_role("button", name="Synchronizuj").click()
    new_run = card.locator(f'[data-sync-status="SUCCEEDED"]:not([data-run="{earlier}"])')
    await expect(new_run).to_be_visible()


async def test_gopos_configured_synchronised_and_its_connections_shown(
    page: Page, gateway: Gateway, admin: Api, groups: None
) -> None:
    base_url = f"{gateway.url}{SIMULATORS['gopos']}"
    await log_in(page, gateway, admin.key)
    await open_page(page, gateway, "integrations")
    card = page.get_by_role("region", name="GoPOS")
    await expect(card).to_contain_text("nieskonfigurowana")
    await expect(card.get_by_role("button", name="Synchronizuj")).to_be_disabled()

    await card.get_by_label("Adres API").fill(base_url)
    await card.get_by_label("Identyfikator klienta").fill(GOPOS["clientId"])
    await card.get_by_label("ID organizacji").fill(GOPOS["organizationId"])
    await card.get_by_label("Sekret klienta").fill(GOPOS["clientSecret"])
    await card.get_by_role("button", name="Zapisz").click()
    await expect(card.get_by_role("status")).to_have_text("Zapisano.")
    await expect(card).to_contain_text("skonfigurowana")
    await expect(card.get_by_label("Sekret klienta")).to_have_value("")
    await _sync(page)

    integration = (await admin.data(INTEGRATION))["integration"]
    assert integration == {
        "configured": True,
        "baseUrl": base_url,
        "clientId": "gocrm-demo",
        "organizationId": "1001",
        "lastSync": {"status": "SUCCEEDED", "fetched": 4, "linked": 1, "unmatched": 1},
        "unmatchedReferences": ["studenci"],
    }
    await expect(card).to_contain_text("Pobrano: 4 · połączone grupy: 1 · referencje bez grupy: 1")

    await page.get_by_role("link", name="Połączenia").click()
    table = page.locator("table.connections")
    await expect(table).to_be_visible()
    shown: dict[str, Any] = {}
    for row in await table.locator("tbody tr").all():
        cell = row.locator('td[data-channel="GOPOS"]')
        shown[await row.get_attribute("data-reference") or ""] = (
            await cell.locator("[data-status]").get_attribute("data-status"),
            await cell.locator(".detail").all_inner_texts(),
        )
    connections = {
        g["reference"]: next(c for c in g["connections"] if c["channel"] == "GOPOS")
        for g in (await admin.data(CONNECTIONS))["customerGroups"]
    }
    assert {ref: status for ref, (status, _) in shown.items()} == {
        "staly-klient": "LINKED",
        "vip": "AMBIGUOUS",
        "pracownicy": "NOT_FOUND",
    }
    for reference, (status, detail) in shown.items():
        assert connections[reference]["status"] == status
        assert detail == ([connections[reference]["detail"]] if status != "LINKED" else [])
    assert "21" in connections["vip"]["detail"]
    assert "22" in connections["vip"]["detail"]
    await expect(page.locator('ul.references[data-channel="GOPOS"]')).to_have_text("studenci")


async def test_an_empty_secret_keeps_the_stored_one(
    page: Page, gateway: Gateway, admin: Api, groups: None
) -> None:
    before = (await admin.data(INTEGRATION))["integration"]
    assert before["configured"]
    await log_in(page, gateway, admin.key)
    await open_page(page, gateway, "integrations")
    card = page.get_by_role("region", name="GoPOS")

    await expect(card.get_by_label("Adres API")).to_have_value(before["baseUrl"])
    await expect(card.get_by_label("Identyfikator klienta")).to_have_value("gocrm-demo")
    await expect(card.get_by_label("ID organizacji")).to_have_value("1001")
    await expect(card.get_by_label("Sekret klienta")).to_have_value("")
    assert GOPOS["clientSecret"] not in await page.content()
    await card.get_by_role("button", name="Zapisz").click()
    await expect(card.get_by_role("status")).to_have_text("Zapisano.")
    await _sync(page)

    after = (await admin.data(INTEGRATION))["integration"]
    assert after == before
