"""Klienci, a customer's page and Sprzedaż in a browser: keyset pages of 50, the search and
credits filters, contact data, cards and groups edited (a bad email refused beside its field),
the customer's sales and a sale's lines; every change is checked through the API."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.async_api import Page, Request, expect

from tests.console.conftest import Api, Gateway, log_in, open_page, operation_of, plain

LOCATION = "Klienci"
CUSTOMERS = 55
CUSTOMER = """mutation($input: CustomerInput!) { createCustomer(input: $input) {
  customer { id } errors { code field message } } }"""
GROUP = """mutation($name: String!) { createCustomerGroup(input: {name: $name}) {
  group { id } errors { code field message } } }"""
CREDITS = """mutation($input: SetPromotionalCreditsInput!) { setPromotionalCredits(input: $input) {
  operation { id } errors { code field message } } }"""
COMMIT = """mutation($input: CheckoutInput!, $key: String!) {
  commitCheckout(input: $input, idempotencyKey: $key) {
    checkout { id } errors { code field message } } }"""
READ = """query($id: ID!) { customer(id: $id) { firstName lastName email phone note
  cards { code number expiresOn } groups { name } } }"""


@pytest.fixture(scope="module")
async def seeded(admin: Api) -> dict[str, Any]:
    """55 customers (Klient00 … Klient54), the first two given 30.00, "Stali" and "Studenci"
    groups, and two sales of the first customer, at the till and online, that spend its
    credits."""
    groups = {
        name: (await admin.mutate(GROUP, {"name": name}))["group"]["id"]
        for name in ("Stali", "Studenci")
    }
    ids = []
    for n in range(CUSTOMERS):
        payload = await admin.mutate(
            CUSTOMER,
            {
                "input": {
                    "firstName": "Zofia" if n == 7 else "Jan",
                    "lastName": f"Klient{n:02d}",
                    "cards": [{"code": f"KL{n:04d}"}],
                    "groupIds": [groups["Stali"]] if n < 5 else [],
                }
            },
        )
        ids.append(payload["customer"]["id"])
    await admin.mutate(
        CREDITS,
        {
            "input": {
                "target": {"customerIds": ids[:2]},
                "operation": "ADD",
                "amount": "30.00",
                "description": "Prezent",
            }
        },
    )
    for key, channel, price in (("sale-pos", "POS", "12.50"), ("sale-online", "ONLINE", "40.00")):
        lines = [{"productId": "kawa", "name": "Kawa", "quantity": "2", "unitPrice": price}]
        await admin.mutate(
            COMMIT,
            {"input": {"channel": channel, "customerId": ids[0], "lines": lines}, "key": key},
        )
    return {"ids": ids, "groups": groups}


def _customer_queries(page: Page) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    def record(request: Request) -> None:
        if request.url.endswith("/graphql") and request.method == "POST":
            body = json.loads(request.post_data or "{}")
            if operation_of(body) == "Customers":
                sent.append(body["variables"])

    page.on("request", record)
    return sent


async def test_customers_come_in_keyset_pages_of_50(
    page: Page, gateway: Gateway, admin: Api, seeded: dict[str, Any]
) -> None:
    sent = _customer_queries(page)
    await log_in(page, gateway, admin.key)
    rows = page.locator("table.list tbody tr")
    await expect(page.get_by_text(f"Wyniki: {CUSTOMERS}")).to_be_visible()
    await expect(rows).to_have_count(50)
    first_page = await rows.all_inner_texts()

    await page.get_by_role("button", name="Następna").click()
    await expect(rows).to_have_count(5)
    await expect(page.get_by_text("Strona 2")).to_be_visible()
    await expect(page.get_by_role("button", name="Następna")).to_be_disabled()
    await page.get_by_role("button", name="Poprzednia").click()
    await expect(rows).to_have_count(50)

    assert await rows.all_inner_texts() == first_page
    assert {s["first"] for s in sent} == {50}
    assert [s["after"] is None for s in sent] == [True, False, True]


async def test_search_and_the_credits_filter_narrow_the_list(
    page: Page, gateway: Gateway, admin: Api, seeded: dict[str, Any]
) -> None:
    await log_in(page, gateway, admin.key)
    rows = page.locator("table.list tbody tr")

    await page.get_by_label("Szukaj").fill("zofia")
    await expect(page.get_by_text("Wyniki: 1")).to_be_visible()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Zofia Klient07")
    await page.get_by_label("Szukaj").fill("")
    await expect(page.get_by_text(f"Wyniki: {CUSTOMERS}")).to_be_visible()
    await page.get_by_label("Promocyjne kredyty").select_option(label="Z kredytami")
    # The first customer's 30.00 went on its two sales.
    await expect(page.get_by_text("Wyniki: 1")).to_be_visible()
    assert [plain(t).split("\t")[1:] for t in await rows.all_inner_texts()] == [
        ["Jan Klient01", "", "", "KL0001", "Stali", "30,00 zł"]
    ]
    await page.get_by_label("Promocyjne kredyty").select_option(label="Bez kredytów")
    await expect(page.get_by_text(f"Wyniki: {CUSTOMERS - 1}")).to_be_visible()


async def test_contact_data_cards_and_groups_are_edited_on_the_customer_page(
    page: Page, gateway: Gateway, admin: Api, seeded: dict[str, Any]
) -> None:
    customer = seeded["ids"][10]
    await log_in(page, gateway, admin.key)
    await open_page(page, gateway, f"customers/{customer}")
    form = page.get_by_role("form", name="Dane kontaktowe")

    await form.get_by_label("E-mail").fill("nie-email")
    await form.get_by_role("button", name="Zapisz").click()
    await expect(form.locator('[data-field="input.email"]')).to_be_visible()
    await expect(form.get_by_label("E-mail")).to_have_attribute("aria-invalid", "true")
    assert (await admin.data(READ, {"id": customer}))["customer"]["email"] is None

    await form.get_by_label("E-mail").fill("jan.dziesiaty@example.com")
    await form.get_by_label("Telefon").fill("+48 600 700 800")
    await form.get_by_label("Notatka").fill("Lubi latte")
    await form.get_by_role("button", name="Dodaj kartę").click()
    await form.get_by_label("Kod karty").nth(1).fill("NOWA0010")
    await form.get_by_label("Numer").nth(1).fill("5555")
    await form.get_by_label("Studenci").check()
    await form.get_by_role("button", name="Zapisz").click()
    await expect(form.get_by_role("status")).to_have_text("Zapisano.")

    assert (await admin.data(READ, {"id": customer}))["customer"] == {
        "firstName": "Jan",
        "lastName": "Klient10",
        "email": "jan.dziesiaty@example.com",
        "phone": "+48600700800",  # stored in E.164
        "note": "Lubi latte",
        "cards": [
            {"code": "KL0010", "number": None, "expiresOn": None},
            {"code": "NOWA0010", "number": "5555", "expiresOn": None},
        ],
        "groups": [{"name": "Studenci"}],
    }


async def test_the_customer_page_lists_the_sales_and_a_sale_shows_its_lines(
    page: Page, gateway: Gateway, admin: Api, seeded: dict[str, Any]
) -> None:
    await log_in(page, gateway, admin.key)
    await open_page(page, gateway, f"customers/{seeded['ids'][0]}")
    sales = page.get_by_role("region", name="Zakupy").locator("tbody tr")
    await expect(sales).to_have_count(2)
    assert [plain(t).split("\t")[1:] for t in await sales.all_inner_texts()] == [
        ["Online", "zatwierdzona", "5,00 zł", "75,00 zł"],
        ["Kasa (POS)", "zatwierdzona", "25,00 zł", "0,00 zł"],
    ]

    await open_page(page, gateway, "sales")
    await page.get_by_label("Kanał").select_option(label="Online")
    await expect(page.get_by_text("Transakcje: 1")).to_be_visible()
    await page.locator("table.list tbody tr a").first.click()
    lines = page.get_by_role("region", name="Pozycje").locator("tbody tr")
    await expect(lines).to_have_count(1)
    assert plain(await lines.inner_text()).split("\t") == [
        "Kawa",
        "2",
        "40,00 zł",
        "80,00 zł",
        "5,00 zł",
        "75,00 zł",
    ]
    discounts = page.get_by_role("region", name="Rabaty").locator("tbody tr")
    assert plain(await discounts.inner_text()).split("\t")[1:] == [
        "Promocyjne kredyty",
        "",
        "5,00 zł",
    ]


async def test_the_list_sorts_by_name_balance_and_creation_date_and_the_pager_counts(
    page: Page, gateway: Gateway, admin: Api, seeded: dict[str, Any]
) -> None:
    sent = _customer_queries(page)
    await log_in(page, gateway, admin.key)
    rows = page.locator("table.list tbody tr")
    await expect(page.locator(".pager")).to_contain_text("Strona 1 z 2 · łącznie: 55")
    await expect(rows.first).to_contain_text("Jan Klient00")
    await page.get_by_label("Kolejność").select_option(label="Nazwisko i imię, Ż–A")
    await expect(rows.first).to_contain_text("Jan Klient54")

    # The balance header's button sorts by balance, highest first (as the option does).
    await page.get_by_role("button", name="Saldo").click()
    await expect(page.get_by_label("Kolejność")).to_have_value("BALANCE_DESC")
    await expect(rows.first).to_contain_text("Jan Klient01")
    await expect(page.get_by_role("columnheader", name="Saldo")).to_have_attribute(
        "aria-sort", "descending"
    )
    await page.get_by_label("Kolejność").select_option(label="Data dodania, od najnowszych")
    await expect(rows.first).to_contain_text("Jan Klient54")
    await page.get_by_role("button", name="Następna").click()
    await expect(page.locator(".pager")).to_contain_text("Strona 2 z 2 · łącznie: 55")
    await expect(rows.last).to_contain_text("Jan Klient00")
    await page.get_by_label("Kolejność").select_option(label="Data dodania, od najstarszych")
    await expect(page.locator(".pager")).to_contain_text("Strona 1 z 2")
    await expect(rows.first).to_contain_text("Jan Klient00")

    assert [s.get("orderBy") for s in sent] == [
        "NAME_ASC",
        "NAME_DESC",
        "BALANCE_DESC",
        "CREATED_DESC",
        "CREATED_DESC",
        "CREATED_ASC",
    ]
