"""Credits that expire in a browser: the customer page lists the lots the balance is made of
with their expiry dates (soonest first, "bez terminu" last), and the credits dialog gives
credits an optional "Wygasa" date. Photographed for docs/console-customer-lots.png."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Page, expect

from tests.console.conftest import Api, Gateway, log_in, open_page, plain

LOCATION = "Wygasanie"
CUSTOMER = """mutation($input: CustomerInput!) { createCustomer(input: $input) {
  customer { id } errors { code field message } } }"""
CREDITS = """mutation($input: SetPromotionalCreditsInput!) { setPromotionalCredits(input: $input) {
  operation { id } errors { code field message } } }"""
LOTS = """query($id: ID!) { customer(id: $id) { wallet { balance { amount }
  lots { remaining { amount } expiresOn } } } }"""


def _in_days(days: int) -> date:
    today = datetime.now(ZoneInfo("Europe/Warsaw")).date()
    return date.fromordinal(today.toordinal() + days)


async def _credit(admin: Api, customer: str, amount: str, expires_on: date | None) -> None:
    payload = await admin.mutate(
        CREDITS,
        {
            "input": {
                "target": {"customerIds": [customer]},
                "operation": "ADD",
                "amount": amount,
                "expiresOn": None if expires_on is None else expires_on.isoformat(),
            }
        },
    )
    assert payload["errors"] == []


@pytest.fixture(scope="module")
async def customer(admin: Api) -> str:
    """Iga: 20.00 that never expires, 10.00 expiring in 30 days, 5.00 in 7 days."""
    created = await admin.mutate(CUSTOMER, {"input": {"firstName": "Iga", "lastName": "Termin"}})
    iga = str(created["customer"]["id"])
    await _credit(admin, iga, "20.00", None)
    await _credit(admin, iga, "10.00", _in_days(30))
    await _credit(admin, iga, "5.00", _in_days(7))
    return iga


def _polish(day: date) -> str:
    months = ["sty", "lut", "mar", "kwi", "maj", "cze", "lip", "sie", "wrz", "paź", "lis", "gru"]
    return f"{day.day} {months[day.month - 1]} {day.year}"


async def _lots(page: Page) -> list[list[str]]:
    rows = page.locator("table.lots tbody tr")
    await expect(rows.first).to_be_visible()
    return [plain(text).split("\t") for text in await rows.all_inner_texts()]


async def test_the_customer_page_lists_the_lots_with_their_expiry(
    page: Page, gateway: Gateway, admin: Api, customer: str, screenshots: Path
) -> None:
    await log_in(page, gateway, admin.key)
    await open_page(page, gateway, f"customers/{customer}")
    wallet = page.get_by_role("region", name="Portfel", exact=True)
    await expect(wallet.locator("[data-balance]")).to_have_text("35,00\u00a0zł")
    await expect(wallet.locator("table.lots caption")).to_have_text("Z czego składa się saldo")
    assert await _lots(page) == [
        ["5,00 zł", "5,00 zł", _polish(_in_days(7)), "Ręcznie"],
        ["10,00 zł", "10,00 zł", _polish(_in_days(30)), "Ręcznie"],
        ["20,00 zł", "20,00 zł", "bez terminu", "Ręcznie"],
    ]
    await page.screenshot(path=screenshots / "console-customer-lots.png", full_page=True)


async def test_the_credits_dialog_gives_credits_an_expiry_date(
    page: Page, gateway: Gateway, admin: Api, customer: str
) -> None:
    await log_in(page, gateway, admin.key)
    await open_page(page, gateway, f"customers/{customer}")
    await page.get_by_role("button", name="Więcej").click()
    await page.get_by_role("menuitem", name="Ustaw promocyjne kredyty").click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_label("Kwota").fill("3,00")
    await expect(dialog.get_by_text("Opcjonalnie: to, co zostanie z tych kredytów")).to_be_visible()
    await dialog.get_by_label("Wygasa").fill(_in_days(1).isoformat())
    await dialog.get_by_role("button", name="Zastosuj").click()
    await expect(dialog.locator('[data-operation-status="SUCCEEDED"]')).to_be_visible()

    wallet = (await admin.data(LOTS, {"id": customer}))["customer"]["wallet"]
    assert wallet["lots"][0] == {
        "remaining": {"amount": "3.00"},
        "expiresOn": _in_days(1).isoformat(),
    }
    # a REDUCE takes credits away: no expiry to give
    await dialog.get_by_text("Zamknij", exact=True).click()
    await page.get_by_role("button", name="Więcej").click()
    await page.get_by_role("menuitem", name="Ustaw promocyjne kredyty").click()
    await page.get_by_role("dialog").get_by_label("Zmniejsz").check()
    await expect(page.get_by_role("dialog").get_by_label("Wygasa")).to_have_count(0)
