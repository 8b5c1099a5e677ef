"""Logging in to the console: an ADMIN key kept in the tab's sessionStorage only, a POS key or an
unknown key refused with a clear message, log-out, a revoked key sent back to the log-in, and
the language switch remembered."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.async_api import Page, expect

from tests.console.conftest import Api, Gateway, log_in, plain

LOCATION = "Dostęp"
STORED_KEY = "gocrm.console.apiKey"
CREATE_KEY = """mutation($name: String!, $role: ApiKeyRole!) {
  createApiKey(name: $name, role: $role) { apiKey { id } secret errors { code field message } } }"""
REVOKE_KEY = """mutation($id: ID!) { revokeApiKey(id: $id) { apiKey { id } errors { code } } }"""


async def _new_key(admin: Api, name: str, role: str) -> dict[str, Any]:
    payload = await admin.mutate(CREATE_KEY, {"name": name, "role": role})
    return {"id": payload["apiKey"]["id"], "secret": payload["secret"]}


async def _storage(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate(
        "() => ({session: {...sessionStorage}, local: {...localStorage}})"
    )
    return result


async def test_an_admin_key_logs_in_and_stays_in_this_tab_only(
    page: Page, gateway: Gateway, admin: Api
) -> None:
    await log_in(page, gateway, admin.key)

    await expect(page.get_by_role("banner")).to_contain_text("Dostęp · admin")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Klienci")
    assert await _storage(page) == {"session": {STORED_KEY: admin.key}, "local": {}}
    await page.reload()
    await expect(page.get_by_role("button", name="Wyloguj")).to_be_visible()


async def test_a_pos_key_cannot_use_the_console(page: Page, gateway: Gateway, admin: Api) -> None:
    till = await _new_key(admin, "Kasa 1", "POS")
    await page.goto(f"{gateway.url}/console/")

    await page.get_by_label("Klucz API").fill(till["secret"])
    await page.get_by_role("button", name="Zaloguj").click()

    await expect(page.get_by_label("Klucz API")).to_have_accessible_description(
        "Tego klucza nie można używać w konsoli: to klucz kasowy (POS). Użyj klucza z rolą ADMIN."
    )
    await expect(page.get_by_role("button", name="Wyloguj")).to_have_count(0)
    assert await _storage(page) == {"session": {}, "local": {}}


async def test_an_unknown_key_is_refused(page: Page, gateway: Gateway) -> None:
    await page.goto(f"{gateway.url}/console/")

    await page.get_by_role("button", name="Zaloguj").click()
    await expect(page.get_by_label("Klucz API")).to_have_accessible_description("Wklej klucz API.")
    await page.get_by_label("Klucz API").fill("gocrm_not-a-key")
    await page.get_by_role("button", name="Zaloguj").click()

    await expect(page.get_by_label("Klucz API")).to_have_accessible_description(
        "Ten klucz jest nieprawidłowy albo został unieważniony."
    )
    assert await _storage(page) == {"session": {}, "local": {}}


async def test_log_out_forgets_the_key(page: Page, gateway: Gateway, admin: Api) -> None:
    await log_in(page, gateway, admin.key)

    await page.get_by_role("button", name="Wyloguj").click()

    await expect(page.get_by_role("alert")).to_have_text("Wylogowano.")
    await expect(page.get_by_label("Klucz API")).to_have_value("")
    assert await _storage(page) == {"session": {}, "local": {}}
    await page.reload()
    await expect(page.get_by_role("button", name="Zaloguj")).to_be_visible()


async def test_a_revoked_key_is_sent_back_to_the_log_in(
    page: Page, gateway: Gateway, admin: Api
) -> None:
    manager = await _new_key(admin, "Kierownik", "ADMIN")
    await log_in(page, gateway, manager["secret"])
    await admin.mutate(REVOKE_KEY, {"id": manager["id"]})

    await page.get_by_role("link", name="Operacje").click()

    await expect(page.get_by_role("alert")).to_have_text(
        "Klucz przestał działać. Zaloguj się ponownie."
    )
    assert await _storage(page) == {"session": {}, "local": {}}


async def test_english_is_one_click_away_and_remembered(
    page: Page, gateway: Gateway, admin: Api
) -> None:
    created = await admin.mutate(
        'mutation { createCustomer(input: {firstName: "Zofia", lastName: "Nowak"}) {'
        " customer { id } errors { code } } }"
    )
    await admin.mutate(
        "mutation($id: ID!) { setPromotionalCredits(input: {target: {customerIds: [$id]},"
        ' operation: SET, amount: "1234.50"}) { errors { code } } }',
        {"id": created["customer"]["id"]},
    )
    await log_in(page, gateway, admin.key)
    await expect(page.get_by_role("cell", name="1\u00a0234,50\u00a0zł")).to_be_visible()

    await page.get_by_role("button", name="English").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Customers")
    await expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert plain(await page.get_by_role("row").nth(1).inner_text()).endswith("PLN 1,234.50")
    assert await page.evaluate("document.documentElement.lang") == "en"
    await page.reload()
    await expect(page.get_by_role("link", name="Customer groups")).to_be_visible()

    await page.get_by_role("button", name="Polski").click()
    await expect(page.get_by_role("link", name="Grupy klientów")).to_be_visible()
    assert (await _storage(page))["local"] == {"gocrm.console.language": "pl"}


async def test_a_new_key_is_shown_once_and_can_be_revoked(
    page: Page, gateway: Gateway, admin: Api
) -> None:
    await log_in(page, gateway, admin.key)
    await page.get_by_role("link", name="Klucze API").click()
    await page.get_by_role("button", name="Dodaj klucz").click()
    dialog = page.get_by_role("dialog", name="Dodaj klucz")
    await dialog.get_by_label("Nazwa").fill("Kasa 2")
    await dialog.get_by_label("Rola").select_option("POS")
    await dialog.get_by_role("button", name="Utwórz").click()

    shown = page.get_by_role("dialog", name="Utworzono klucz")
    secret = await shown.get_by_label("Klucz").input_value()
    till = Api(gateway.url, secret)
    viewer = (await till.data("{ viewer { apiKey { name role revokedAt } } }"))["viewer"]
    assert viewer == {"apiKey": {"name": "Kasa 2", "role": "POS", "revokedAt": None}}
    await shown.get_by_role("button", name="Zamknij").last.click()
    await expect(shown).to_be_hidden()
    assert secret not in await page.content()
    await expect(page.get_by_role("button", name="Unieważnij klucz admin")).to_have_count(0)

    await page.get_by_role("button", name="Unieważnij klucz Kasa 2").click()
    confirm = page.get_by_role("dialog", name="Unieważnić klucz?")
    await confirm.get_by_role("button", name="Unieważnij").click()
    await expect(page.get_by_role("button", name="Unieważnij klucz Kasa 2")).to_have_count(0)

    keys = (await admin.data("{ apiKeys { name revokedAt } }"))["apiKeys"]
    assert [k["revokedAt"] is not None for k in keys if k["name"] == "Kasa 2"] == [True]
    async with httpx.AsyncClient() as client:
        refused = await client.post(
            f"{gateway.url}/graphql",
            json={"query": "{ viewer { location { id } } }"},
            headers={"Authorization": f"Bearer {secret}"},
        )
    assert refused.status_code == 401
