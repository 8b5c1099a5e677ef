"""The console in Polish holds no English sentence: on every page and dialog a manager uses, each
text a person can see or hear (text nodes, aria-label, title, placeholder) is a value of the
console's Polish catalog (its {parameters} filled in), data (names, e-mails, amounts, dates,
counts), or written in another language on purpose (an element with its own `lang`, such as
the "English" switch). The catalog is the console's own (`catalog("pl")` of i18n.js), so a new
text the catalog lacks, or a server's English message shown raw, fails here."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.console.conftest import Api, Gateway, log_in, open_page

LOCATION = "Polski"
GROUP = """mutation($input: CustomerGroupInput!) { createCustomerGroup(input: $input) {
  group { id reference } errors { code field message } } }"""
CUSTOMER = """mutation($input: CustomerInput!) { createCustomer(input: $input) {
  customer { id } errors { code field message } } }"""
CREDITS = """mutation($input: SetPromotionalCreditsInput!) { setPromotionalCredits(input: $input) {
  operation { id } schedule { id } errors { code field message } } }"""
PEOPLE = (
    ("Agnieszka", "Zielińska", "agnieszka.zielinska@example.com", "+48 600 200 001"),
    ("Tomasz", "Wójcik", "tomasz.wojcik@example.com", "+48 600 200 002"),
    ("Katarzyna", "Lewandowska", "katarzyna.lewandowska@example.com", "+48 600 200 003"),
)

# In the page: every text a person meets that is neither Polish catalog text nor data.
FOREIGN_TEXTS = (Path(__file__).parent / "foreign_texts.js").read_text()


@pytest.fixture(scope="module")
async def seeded(admin: Api) -> dict[str, Any]:
    """Two groups, three customers with cards, credits, a monthly top-up far ahead and a till's
    key; `data` lists every text of it the pages may show."""
    groups = {}
    for name in ("Stały klient", "Pracownicy"):
        payload = await admin.mutate(GROUP, {"input": {"name": name, "cashbackPercent": "2.50"}})
        groups[name] = payload["group"]
    customers = []
    for n, (first, last, email, phone) in enumerate(PEOPLE):
        payload = await admin.mutate(
            CUSTOMER,
            {
                "input": {
                    "firstName": first,
                    "lastName": last,
                    "email": email,
                    "phone": phone,
                    "cards": [{"code": f"PL{n:04d}"}],
                    "groupIds": [groups["Stały klient"]["id"]],
                }
            },
        )
        customers.append(payload["customer"]["id"])
    target = {"filter": {"groupIds": [groups["Stały klient"]["id"]]}}
    await admin.mutate(
        CREDITS,
        {
            "input": {
                "target": target,
                "operation": "ADD",
                "amount": "20.00",
                "description": "Powitalne",
            }
        },
    )
    recurrence = {"every": 1, "unit": "MONTH", "startDate": "2030-01-31"}
    await admin.mutate(
        CREDITS,
        {
            "input": {
                "target": target,
                "operation": "SET",
                "amount": "50.00",
                "description": "Miesięczne",
                "recurrence": recurrence,
            }
        },
    )
    await admin.mutate(
        """mutation { createApiKey(name: "Kasa 1", role: POS) { errors { code } } }"""
    )
    data = ["GoCRM", LOCATION, "admin", "Kasa 1", "Powitalne", "Miesięczne", "GoPOS", "GoOrder"]
    data += [g["reference"] for g in groups.values()] + list(groups)
    for n, (first, last, email, phone) in enumerate(PEOPLE):
        data += [f"{first} {last}", first, last, email, phone, f"PL{n:04d}"]
    return {"customer": customers[0], "data": data}


async def _credits_dialog(page: Page) -> None:
    await page.get_by_label("Grupa klientów").select_option(label="Stały klient")
    await expect(page.get_by_text("Wyniki: 3")).to_be_visible()
    await page.get_by_label("Zaznacz wszystkich na tej stronie").check()
    await page.get_by_role("button", name="Ustaw promocyjne kredyty").click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_label("Zmniejsz").check()
    await dialog.get_by_label("Kwota").fill("5")
    await dialog.get_by_label("Powtarzaj", exact=True).check()
    await dialog.get_by_label("Powtarzaj co").fill("3")
    await expect(dialog.locator('[data-preview="balanceAfter"]')).to_be_visible()


async def _wrong_amount(page: Page) -> None:
    await page.get_by_role("button", name="Zaznacz wszystkie wyniki (3)").click()
    await page.get_by_role("button", name="Ustaw promocyjne kredyty").click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_label("Kwota").fill("dwanaście")
    await dialog.get_by_role("button", name="Zastosuj").click()
    await expect(dialog.locator('[data-field="input.amount"]')).to_be_visible()


async def _group_deletion(page: Page) -> None:
    await page.get_by_role("button", name="Usuń grupę Stały klient").click()
    await expect(page.get_by_role("dialog")).to_contain_text(
        "Grupa „Stały klient” zostanie usunięta, a 3 klientów przestanie do niej należeć."
    )
    await expect(page.get_by_role("dialog").locator('[data-schedules="ending"]')).to_be_visible()


async def _schedule_edit(page: Page) -> None:
    await page.get_by_role("button", name="Edytuj doładowanie", exact=False).click()
    await expect(page.get_by_role("dialog").get_by_label("Kwota")).to_have_value("50,00")


async def _key_created(page: Page) -> None:
    await page.get_by_role("button", name="Dodaj klucz").click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_label("Nazwa").fill("Kiosk")
    await dialog.get_by_role("button", name="Utwórz").click()
    await expect(dialog.get_by_role("button", name="Kopiuj klucz")).to_be_visible()


Opener = Callable[[Page], Awaitable[None]] | None
PAGES: list[tuple[str, str, Opener]] = [
    ("customers", "customers", None),
    ("credits-dialog", "customers", _credits_dialog),
    ("wrong-amount", "customers", _wrong_amount),
    ("customer", "customers/{customer}", None),
    ("schedules", "schedules", None),
    ("schedule-edit", "schedules", _schedule_edit),
    ("operations", "operations", None),
    ("sales", "sales", None),
    ("reports", "reports", None),
    ("groups", "settings/groups", None),
    ("group-deletion", "settings/groups", _group_deletion),
    ("api-keys", "settings/api-keys", None),
    ("api-key-created", "settings/api-keys", _key_created),
    ("location", "settings/location", None),
    ("integrations", "integrations", None),
    ("integrations-connections", "integrations/connections", None),
]


# The server's own texts a page shows, as the API gives them in Polish (from its catalog).
SERVER_TEXTS = "{ customerGroups { connections { detail reason { messageId } } } }"


async def _server_texts(admin: Api) -> list[str]:
    groups = (await admin.data(SERVER_TEXTS))["customerGroups"]
    connections = [c for g in groups for c in g["connections"] if c["detail"]]
    # Each comes from the catalog: it has a message id.
    assert all(c["reason"]["messageId"] for c in connections)
    return [c["detail"] for c in connections]


@pytest.mark.parametrize(("name", "route", "opener"), PAGES, ids=[p[0] for p in PAGES])
async def test_a_page_in_polish_holds_no_english_sentence(
    page: Page,
    gateway: Gateway,
    admin: Api,
    seeded: dict[str, Any],
    name: str,
    route: str,
    opener: Opener,
) -> None:
    await log_in(page, gateway, admin.key)
    await open_page(page, gateway, route.format(**seeded))
    if opener is not None:
        await opener(page)
    data = seeded["data"] + await _server_texts(admin)
    assert await page.evaluate(FOREIGN_TEXTS, data) == []


# Texts the same in both languages: names of things, not sentences.
SAME_IN_BOTH = {"ADMIN", "POS", "Kiosk", "Online", "Cashback", "Cashback %", "E-mail", "Status"}


async def test_the_polish_catalog_holds_every_text_and_none_in_english(
    page: Page, gateway: Gateway
) -> None:
    await page.goto(f"{gateway.url}/console/")
    catalogs = await page.evaluate(
        """async () => {
          const { catalog } = await import("/console/static/i18n.js");
          return { pl: catalog("pl"), en: catalog("en") };
        }"""
    )
    polish, english = catalogs["pl"], catalogs["en"]
    # A text counted in Polish has its one/few/many/other forms; in English one/other.
    assert sorted(_texts(polish) ^ _texts(english)) == []
    same = {key for key, text in polish.items() if text == english.get(key)}
    # "{operation} {amount} {every}" has no words to translate.
    worded = {key for key in same if re.search(r"[^\W\d_]", re.sub(r"\{\w+\}", "", polish[key]))}
    assert sorted(key for key in worded if polish[key] not in SAME_IN_BOTH) == []


def _texts(catalog: dict[str, str]) -> set[str]:
    return {re.sub(r"\.(one|few|many|other)$", "", key) for key in catalog}
