"""Ustawienia > Klucze API in a browser: the sales channels of each key in the list; a POS key is
created with the channels ticked (a till and its kiosk by default, the online store only when
ticked), an ADMIN key with every channel and none sent; the location's last ADMIN key cannot be
revoked, and the API's refusal is shown beside its row; a manager replacing the session's own
key is logged out; a new key is copied with one button. Every change is checked through the API."""

from __future__ import annotations

import json
from typing import Any

from playwright.async_api import Page, Request, expect

from tests.console.conftest import Api, Gateway, log_in, open_page, operation_of, plain

LOCATION = "Klucze"
KEYS = "{ apiKeys { id name role channels revokedAt } }"
CREATE_KEY = """mutation($name: String!, $role: ApiKeyRole!) {
  createApiKey(name: $name, role: $role) { apiKey { id } secret errors { code field message } } }"""
REVOKE_KEY = """mutation($id: ID!) { revokeApiKey(id: $id) {
  apiKey { id } errors { code field message } } }"""
LAST_ADMIN = (
    "To ostatni klucz ADMIN tej lokalizacji: utwórz inny klucz ADMIN, zanim go unieważnisz."
)


async def _keys(admin: Api) -> dict[str, dict[str, Any]]:
    """The location's keys by name (names are unique in this module)."""
    return {k["name"]: k for k in (await admin.data(KEYS))["apiKeys"]}


def _creations(page: Page) -> list[dict[str, Any]]:
    """The variables of every createApiKey the page sends."""
    sent: list[dict[str, Any]] = []

    def record(request: Request) -> None:
        if request.url.endswith("/graphql") and request.method == "POST":
            body = json.loads(request.post_data or "{}")
            if operation_of(body) == "CreateApiKey":
                sent.append(body["variables"])

    page.on("request", record)
    return sent


async def _open_keys(page: Page, gateway: Gateway, admin: Api) -> None:
    await log_in(page, gateway, admin.key)
    await open_page(page, gateway, "settings/api-keys")


async def _close_created(page: Page) -> None:
    """Closes the dialog that shows a new key's secret once."""
    shown = page.get_by_role("dialog", name="Utworzono klucz")
    await shown.get_by_role("button", name="Zamknij").last.click()
    await expect(shown).to_be_hidden()


async def _channels_cell(page: Page, name: str) -> str:
    row = page.get_by_role("row").filter(has=page.get_by_role("cell", name=name, exact=True))
    return plain(await row.locator("[data-channels]").inner_text())


async def test_a_pos_key_for_the_online_store_gets_the_online_channel_only(
    page: Page, gateway: Gateway, admin: Api
) -> None:
    sent = _creations(page)
    await _open_keys(page, gateway, admin)
    await page.get_by_role("button", name="Dodaj klucz").click()
    dialog = page.get_by_role("dialog", name="Dodaj klucz")
    channels = dialog.get_by_role("group", name="Kanały sprzedaży")
    till, kiosk = channels.get_by_label("Kasa (POS)"), channels.get_by_label("Kiosk")
    online = channels.get_by_label("Sklep internetowy (ONLINE)")

    await expect(dialog.get_by_label("Rola")).to_have_value("POS")
    await expect(till).to_be_checked()
    await expect(kiosk).to_be_checked()
    await expect(online).not_to_be_checked()
    await expect(online).to_have_accessible_description(
        "Tylko dla klucza sklepu internetowego (GoOrder); kasa i kiosk go nie potrzebują."
    )
    await dialog.get_by_label("Nazwa").fill("Sklep")
    await till.uncheck()
    await kiosk.uncheck()
    await online.check()
    await dialog.get_by_role("button", name="Utwórz").click()

    secret = page.get_by_role("dialog", name="Utworzono klucz").get_by_label("Klucz")
    await expect(secret).not_to_have_value("")
    await _close_created(page)
    assert sent == [{"name": "Sklep", "role": "POS", "channels": ["ONLINE"]}]
    created = (await _keys(admin))["Sklep"]
    assert (created["role"], created["channels"], created["revokedAt"]) == (
        "POS",
        ["ONLINE"],
        None,
    )
    assert await _channels_cell(page, "Sklep") == "Sklep internetowy (ONLINE)"


async def test_a_new_key_is_copied_to_the_clipboard_with_one_button(
    page: Page, gateway: Gateway, admin: Api
) -> None:
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=gateway.url)
    await _open_keys(page, gateway, admin)
    await page.get_by_role("button", name="Dodaj klucz").click()
    dialog = page.get_by_role("dialog", name="Dodaj klucz")
    await dialog.get_by_label("Nazwa").fill("Kasa do schowka")
    await dialog.get_by_role("button", name="Utwórz").click()

    shown = page.get_by_role("dialog", name="Utworzono klucz")
    secret = await shown.get_by_label("Klucz", exact=True).input_value()
    await shown.get_by_role("button", name="Kopiuj klucz").click()
    await expect(shown.get_by_role("status")).to_have_text("Skopiowano do schowka.")
    assert await page.evaluate("navigator.clipboard.readText()") == secret
    await _close_created(page)
    copied = Api(gateway.url, secret)
    assert await copied.data("{ viewer { apiKey { name role } } }") == {
        "viewer": {"apiKey": {"name": "Kasa do schowka", "role": "POS"}}
    }


async def test_a_till_key_gets_the_till_and_its_kiosk_and_an_admin_key_every_channel(
    page: Page, gateway: Gateway, admin: Api
) -> None:
    sent = _creations(page)
    await _open_keys(page, gateway, admin)
    add = page.get_by_role("button", name="Dodaj klucz")

    await add.click()
    dialog = page.get_by_role("dialog", name="Dodaj klucz")
    await dialog.get_by_label("Nazwa").fill("Kasa 1")
    await dialog.get_by_role("button", name="Utwórz").click()
    await _close_created(page)

    await add.click()
    await dialog.get_by_label("Nazwa").fill("Zaplecze")
    await dialog.get_by_label("Rola").select_option("ADMIN")
    await expect(dialog.get_by_role("group", name="Kanały sprzedaży")).to_have_count(0)
    await expect(dialog.get_by_role("checkbox")).to_have_count(0)
    await expect(dialog).to_contain_text("Kanały sprzedaży: wszystkie")
    await dialog.get_by_role("button", name="Utwórz").click()
    await _close_created(page)

    assert sent == [
        {"name": "Kasa 1", "role": "POS", "channels": ["POS", "KIOSK"]},
        {"name": "Zaplecze", "role": "ADMIN", "channels": None},
    ]
    keys = await _keys(admin)
    assert keys["Kasa 1"]["channels"] == ["POS", "KIOSK"]
    assert (keys["Zaplecze"]["role"], keys["Zaplecze"]["channels"]) == (
        "ADMIN",
        ["POS", "KIOSK", "ONLINE"],
    )
    assert await _channels_cell(page, "Kasa 1") == "Kasa (POS), Kiosk"
    assert await _channels_cell(page, "Zaplecze") == "wszystkie"
    assert await _channels_cell(page, "admin (ta sesja)") == "wszystkie"


async def test_a_pos_key_without_a_channel_is_refused_beside_the_channels(
    page: Page, gateway: Gateway, admin: Api
) -> None:
    before = await _keys(admin)
    await _open_keys(page, gateway, admin)
    await page.get_by_role("button", name="Dodaj klucz").click()
    dialog = page.get_by_role("dialog", name="Dodaj klucz")
    channels = dialog.get_by_role("group", name="Kanały sprzedaży")

    await dialog.get_by_label("Nazwa").fill("Bez kanałów")
    await channels.get_by_label("Kasa (POS)").uncheck()
    await channels.get_by_label("Kiosk").uncheck()
    await dialog.get_by_role("button", name="Utwórz").click()

    error = dialog.locator('[data-field="channels"]')
    await expect(error).to_have_text(
        "Zaznacz co najmniej jeden kanał: klucz POS sprzedaje na kanałach, które ma zaznaczone."
    )
    await expect(channels.get_by_label("Kiosk")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_role("dialog", name="Utworzono klucz")).to_have_count(0)
    assert await _keys(admin) == before


async def test_the_key_of_the_session_can_be_replaced_and_the_console_logs_out(
    page: Page, gateway: Gateway, admin: Api
) -> None:
    manager = (await admin.mutate(CREATE_KEY, {"name": "Kierownik", "role": "ADMIN"}))["secret"]
    await log_in(page, gateway, manager)
    await open_page(page, gateway, "settings/api-keys")

    await page.get_by_role("button", name="Unieważnij klucz Kierownik").click()
    confirm = page.get_by_role("dialog", name="Unieważnić klucz?")
    await expect(confirm).to_contain_text("„Kierownik” to klucz tej sesji")
    await confirm.get_by_role("button", name="Unieważnij").click()

    await expect(page.get_by_role("alert")).to_have_text(
        "Klucz tej sesji został unieważniony. Zaloguj się innym kluczem ADMIN."
    )
    await expect(page.get_by_role("button", name="Wyloguj")).to_have_count(0)
    assert (await _keys(admin))["Kierownik"]["revokedAt"] is not None


async def test_the_last_admin_key_is_not_revoked_and_the_refusal_shows_beside_it(
    page: Page, gateway: Gateway, admin: Api
) -> None:
    # given the session's key and one other ADMIN key, as the page lists them
    for key in (await _keys(admin)).values():
        if key["role"] == "ADMIN" and key["revokedAt"] is None and key["name"] != "admin":
            await admin.mutate(REVOKE_KEY, {"id": key["id"]})
    spare = (await admin.mutate(CREATE_KEY, {"name": "Zapasowy", "role": "ADMIN"}))["apiKey"]
    await _open_keys(page, gateway, admin)
    own = page.get_by_role("button", name="Unieważnij klucz admin")
    await expect(own).to_be_visible()
    await expect(page.get_by_role("button", name="Unieważnij klucz Zapasowy")).to_be_visible()

    # when the other one is revoked elsewhere, and then the session's key here
    await admin.mutate(REVOKE_KEY, {"id": spare["id"]})
    await own.click()
    confirm = page.get_by_role("dialog", name="Unieważnić klucz?")
    await confirm.get_by_role("button", name="Unieważnij").click()

    # then the refusal is shown in the key's row, which takes the focus, and the key stays
    row = page.get_by_role("row").filter(has=page.get_by_role("cell", name="admin (ta sesja)"))
    refusal = row.get_by_role("alert")
    await expect(refusal).to_have_text(LAST_ADMIN)
    await expect(refusal).to_be_focused()
    await expect(page.get_by_role("dialog")).to_have_count(0)
    await expect(own).to_have_count(0)
    await expect(page.get_by_role("button", name="Wyloguj")).to_be_visible()
    keys = await _keys(admin)
    assert keys["admin"]["revokedAt"] is None
    assert keys["Zapasowy"]["revokedAt"] is not None

    # and the page, opened again, says why the last ADMIN key has no revoke button
    await page.reload()
    await expect(row.locator(".row-actions")).to_have_text("ostatni klucz ADMIN")
    await expect(own).to_have_count(0)
