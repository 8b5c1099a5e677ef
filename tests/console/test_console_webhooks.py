"""Ustawienia > Webhooki in a browser: an endpoint is added with its secret shown once, its
deliveries appear in its log (to a receiver on loopback, which the demo allows) and one is sent
again with the same id; its events are edited; it is disabled. Every change is checked through
the API; axe finds no serious violation; the screenshot is docs/console-webhooks.png."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.console.conftest import Api, Gateway, log_in, open_page
from tests.console.test_console_pages import AXE, RUN_AXE

LOCATION = "Webhooki"
ENDPOINTS = "{ webhookEndpoints { id url events enabled } }"
CUSTOMER = """mutation($input: CustomerInput!) { createCustomer(input: $input) {
  customer { id } errors { code field message } } }"""
CREDITS = """mutation($input: SetPromotionalCreditsInput!) { setPromotionalCredits(input: $input) {
  operation { id } errors { code field message } } }"""


class Receiver:
    """Answers every POST 200 and keeps each request's webhook-id."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                headers = {
                    name.strip().lower(): value.strip()
                    for name, _, value in (line.partition(":") for line in head.split("\r\n")[1:])
                    if name
                }
                await reader.readexactly(int(headers.get("content-length", "0")))
                self.ids.append(headers["webhook-id"])
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    found = Receiver()
    server = await asyncio.start_server(found.handle, "127.0.0.1", 0)
    yield found, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/gocrm"
    server.close()


async def _received(receiver: Receiver, count: int) -> None:
    for _ in range(300):  # the demo's periodic check runs every 5 seconds
        if len(receiver.ids) >= count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{count} deliveries were expected, {len(receiver.ids)} arrived")


async def test_an_endpoint_is_added_its_deliveries_logged_and_replayed_edited_and_disabled(
    page: Page,
    gateway: Gateway,
    admin: Api,
    receiver: tuple[Receiver, str],
    screenshots: Path,
) -> None:
    hooks, url = receiver
    await page.context.add_init_script(path=AXE)
    await log_in(page, gateway, admin.key)
    await page.get_by_role("link", name="Webhooki").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Webhooki")
    await expect(page.get_by_text("Nie ma jeszcze punktów odbioru.")).to_be_visible()

    # when an endpoint is added for wallet changes and sales
    await page.get_by_role("button", name="Dodaj punkt odbioru").click()
    dialog = page.get_by_role("dialog", name="Dodaj punkt odbioru")
    await dialog.get_by_label("Adres URL").fill(url)
    events = dialog.get_by_role("group", name="Zdarzenia")
    await expect(events.get_by_label("Zmiana portfela")).to_be_checked()
    await events.get_by_label("Zatwierdzona sprzedaż").check()
    await dialog.get_by_role("button", name="Utwórz").click()

    # then its secret is shown once
    shown = page.get_by_role("dialog", name="Utworzono punkt odbioru")
    secret = await shown.get_by_label("Sekret podpisu").input_value()
    assert secret.startswith("whsec_")
    await shown.get_by_role("button", name="Zamknij").last.click()
    (endpoint,) = (await admin.data(ENDPOINTS))["webhookEndpoints"]
    assert (endpoint["url"], endpoint["events"], endpoint["enabled"]) == (
        url,
        ["WALLET_CHANGED", "CHECKOUT_COMMITTED"],
        True,
    )
    row = page.get_by_role("row").filter(has_text=url)
    await expect(row.locator("[data-events]")).to_have_text(
        "Zmiana portfela, Zatwierdzona sprzedaż"
    )

    # when a customer is given credits, the change is delivered and shows in the log
    made = await admin.mutate(CUSTOMER, {"input": {"firstName": "Ala"}})
    given = await admin.mutate(
        CREDITS,
        {
            "input": {
                "target": {"customerIds": [made["customer"]["id"]]},
                "operation": "ADD",
                "amount": "10.00",
            }
        },
    )
    assert given["errors"] == []
    await _received(hooks, 1)
    await row.get_by_role("button", name="Dostarczenia").click()
    log = page.get_by_role("region", name=f"Dostarczenia do {url}")
    delivery = log.locator(f'[data-delivery="{hooks.ids[0]}"]')
    await expect(delivery).to_contain_text("Zmiana portfela")
    await expect(delivery).to_contain_text("Dostarczone")
    await expect(delivery.locator("[data-answer]")).to_have_text(re.compile(r"^200 · \d+ ms$"))

    # and sent again, it arrives with the same id
    await delivery.get_by_role("button", name="Wyślij ponownie").click()
    await expect(log.get_by_role("status")).to_have_text(
        "Dostarczenie zostanie wysłane ponownie, z tym samym identyfikatorem."
    )
    await _received(hooks, 2)
    assert hooks.ids[1] == hooks.ids[0]
    # the log, read again while the delivery waits, shows it delivered once more
    await expect(delivery).to_contain_text("Dostarczone")
    await expect(delivery.get_by_role("cell").nth(3)).to_have_text("1")
    violations = await page.evaluate(RUN_AXE)
    assert [v for v in violations if v["impact"] in ("serious", "critical")] == []
    await page.screenshot(path=screenshots / "console-webhooks.png")

    # when its events are edited
    await row.get_by_role("button", name="Edytuj").click()
    editing = page.get_by_role("dialog", name="Edytuj punkt odbioru")
    await editing.get_by_label("Zatwierdzona sprzedaż").uncheck()
    await editing.get_by_role("button", name="Zapisz").click()
    await expect(editing).to_be_hidden()
    await expect(row.locator("[data-events]")).to_have_text("Zmiana portfela")

    # and it is disabled
    await row.get_by_role("button", name="Wyłącz").click()
    await expect(row.get_by_text("Wyłączony", exact=True)).to_be_visible()
    (endpoint,) = (await admin.data(ENDPOINTS))["webhookEndpoints"]
    assert (endpoint["events"], endpoint["enabled"]) == (["WALLET_CHANGED"], False)


async def test_an_endpoint_with_a_bad_address_is_refused_beside_its_field(
    page: Page, gateway: Gateway, admin: Api
) -> None:
    await log_in(page, gateway, admin.key)
    await open_page(page, gateway, "settings/webhooks")
    await page.get_by_role("button", name="Dodaj punkt odbioru").click()
    dialog = page.get_by_role("dialog", name="Dodaj punkt odbioru")
    await dialog.get_by_label("Adres URL").fill("ftp://example.com")
    await dialog.get_by_label("Zmiana portfela").uncheck()
    await dialog.get_by_role("button", name="Utwórz").click()

    await expect(dialog.locator('[data-field="input.url"]')).to_have_text(
        "Adres punktu odbioru musi zaczynać się od http:// lub https://."
    )
    await expect(dialog.locator('[data-field="input.events"]')).to_have_text(
        "Wybierz co najmniej jedno zdarzenie."
    )
