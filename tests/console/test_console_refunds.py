"""A sale refunded by the line in a browser: Sprzedaż shows it "częściowo zwrócona" (and filters
by that status), and the sale's page lists each refund with what it gave back and took back.
The data is made through the API: a sale of two coffees and a cake, one coffee refunded, then
the cake."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.console.conftest import Api, Gateway, log_in, open_page, plain

LOCATION = "Zwroty"
GROUP = """mutation($input: CustomerGroupInput!) { createCustomerGroup(input: $input) {
  group { id } errors { code field message } } }"""
CUSTOMER = """mutation($input: CustomerInput!) { createCustomer(input: $input) {
  customer { id } errors { code field message } } }"""
CREDITS = """mutation($input: SetPromotionalCreditsInput!) { setPromotionalCredits(input: $input) {
  operation { id } errors { code field message } } }"""
COMMIT = """mutation($input: CheckoutInput!, $key: String!) {
  commitCheckout(input: $input, idempotencyKey: $key) {
    checkout { id creditsUsed { amount } cashbackGranted { amount } }
    errors { code field message } } }"""
REFUND = """mutation($id: ID!, $key: String!, $lines: [RefundLineInput!]) {
  refundCheckout(id: $id, idempotencyKey: $key, lines: $lines) {
    checkout { status }
    refund { creditsReturned { amount } cashbackReversed { amount } cashbackOwed { amount } }
    errors { code field message } } }"""


@pytest.fixture(scope="module")
async def sale(admin: Api) -> str:
    """Ola, in a group with 10% cashback, with 10.00 of credits: a sale of 2 coffees at 15.00
    and a cake at 20.00 (50.00) spends them and earns 4.00; one coffee comes back, then the
    cake."""
    group = (await admin.mutate(GROUP, {"input": {"name": "Kawosze", "cashbackPercent": "10"}}))[
        "group"
    ]["id"]
    ola = (
        await admin.mutate(
            CUSTOMER, {"input": {"firstName": "Ola", "lastName": "Zwrot", "groupIds": [group]}}
        )
    )["customer"]["id"]
    await admin.mutate(
        CREDITS,
        {"input": {"target": {"customerIds": [ola]}, "operation": "ADD", "amount": "10.00"}},
    )
    lines = [
        {"productId": "kawa", "name": "Kawa", "quantity": "2", "unitPrice": "15.00"},
        {"productId": "sernik", "name": "Sernik", "quantity": "1", "unitPrice": "20.00"},
    ]
    checkout = (
        await admin.mutate(
            COMMIT, {"input": {"customerId": ola, "lines": lines}, "key": "zwroty-1"}
        )
    )["checkout"]
    assert (checkout["creditsUsed"], checkout["cashbackGranted"]) == (
        {"amount": "10.00"},
        {"amount": "4.00"},
    )
    for key, line in (("zwrot-kawa", 0), ("zwrot-sernik", 1)):
        refunded = await admin.mutate(
            REFUND,
            {"id": checkout["id"], "key": key, "lines": [{"line": line, "quantity": "1"}]},
        )
        assert refunded["checkout"]["status"] == "PARTIALLY_REFUNDED"
    return str(checkout["id"])


async def test_a_partly_refunded_sale_shows_its_status_and_each_refund(
    page: Page, gateway: Gateway, admin: Api, sale: str, screenshots: Path
) -> None:
    await log_in(page, gateway, admin.key)
    await open_page(page, gateway, "sales")
    await page.get_by_label("Status").select_option(label="częściowo zwrócona")
    await expect(page.get_by_text("Transakcje: 1")).to_be_visible()
    row = page.locator("table.list tbody tr")
    assert plain(await row.inner_text()).split("\t")[1:] == [
        "Ola Zwrot",
        "Kasa (POS)",
        "częściowo zwrócona",
        "10,00 zł",
        "40,00 zł",
    ]

    await row.locator("a").first.click()
    status = page.locator("dl.facts").first
    await expect(status).to_contain_text("częściowo zwrócona")
    refunds = page.get_by_role("region", name="Zwroty").locator("tbody tr")
    await expect(refunds).to_have_count(2)
    # one coffee: 15.00 of 50.00 gives back 3.00 of credits and takes back 1.20 of cashback;
    # the cake: 20.00 gives back 4.00 and takes back 1.60
    assert [plain(text).split("\t")[1:] for text in await refunds.all_inner_texts()] == [
        ["Kawa × 1", "3,00 zł", "1,20 zł", "0,00 zł"],
        ["Sernik × 1", "4,00 zł", "1,60 zł", "0,00 zł"],
    ]
    await page.get_by_role("region", name="Zwroty").scroll_into_view_if_needed()
    await page.screenshot(path=screenshots / "console-sale-refunds.png", full_page=True)


async def test_the_sale_reads_in_english_too(
    page: Page, gateway: Gateway, admin: Api, sale: str
) -> None:
    await log_in(page, gateway, admin.key)
    await page.get_by_role("button", name="English").click()
    await open_page(page, gateway, f"sales/{sale}")

    await expect(page.locator("dl.facts").first).to_contain_text("partly refunded")
    region = page.get_by_role("region", name="Refunds")
    headers: list[Any] = await region.locator("thead th").all_inner_texts()
    assert headers == ["When", "Lines refunded", "Credits returned", "Cashback reversed", "Owed"]
