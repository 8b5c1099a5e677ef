"""A customer's wallet in a browser: the balance, the cashback held by the group and the reversed
cashback still owed (each shown only when there is some), and the history naming cashback
released and owed cashback deducted, in Polish and in English. The data is made through the
API: sales, a refund after the cashback was spent, a hold, a top-up that pays off part of the
debt, and the hold's end."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.console.conftest import (
    Api,
    Gateway,
    log_in,
    open_page,
    plain,
    release_held_cashback,
)

LOCATION = "Portfel"
GROUP = """mutation($input: CustomerGroupInput!) { createCustomerGroup(input: $input) {
  group { id } errors { code field message } } }"""
UPDATE_GROUP = """mutation($id: ID!, $input: CustomerGroupInput!) {
  updateCustomerGroup(id: $id, input: $input) { group { id } errors { code field message } } }"""
CUSTOMER = """mutation($input: CustomerInput!) { createCustomer(input: $input) {
  customer { id } errors { code field message } } }"""
COMMIT = """mutation($input: CheckoutInput!, $key: String!) {
  commitCheckout(input: $input, idempotencyKey: $key) {
    checkout { id creditsUsed { amount } cashbackGranted { amount } }
    errors { code field message } } }"""
REFUND = """mutation($id: ID!, $key: String!) { refundCheckout(id: $id, idempotencyKey: $key) {
  refund { creditsReturned { amount } cashbackReversed { amount } cashbackOwed { amount } }
  errors { code field message } } }"""
CREDITS = """mutation($input: SetPromotionalCreditsInput!) { setPromotionalCredits(input: $input) {
  operation { id } errors { code field message } } }"""
WALLET = """query($id: ID!) { customer(id: $id) { wallet {
  balance { amount } held { amount } owed { amount } } } }"""


async def _sale(admin: Api, customer: str, price: str, key: str) -> dict[str, Any]:
    lines = [{"productId": "obiad", "name": "Obiad", "quantity": "1", "unitPrice": price}]
    payload = await admin.mutate(
        COMMIT, {"input": {"customerId": customer, "lines": lines}, "key": key}
    )
    checkout: dict[str, Any] = payload["checkout"]
    return checkout


async def _wallet(admin: Api, customer: str) -> dict[str, str]:
    wallet = (await admin.data(WALLET, {"id": customer}))["customer"]["wallet"]
    return {part: wallet[part]["amount"] for part in ("balance", "held", "owed")}


@pytest.fixture(scope="module")
async def customer(admin: Api) -> str:
    """Ewa, in a group with 10% cashback: 10.00 owed and 5.00 held, then a top-up of 4.00 that
    pays off part of what is owed. Another customer has neither."""
    tenth = {"name": "Dziesiątka", "cashbackPercent": "10"}
    group = (await admin.mutate(GROUP, {"input": tenth}))["group"]["id"]
    ewa = (
        await admin.mutate(
            CUSTOMER, {"input": {"firstName": "Ewa", "lastName": "Portfel", "groupIds": [group]}}
        )
    )["customer"]["id"]
    await admin.mutate(CUSTOMER, {"input": {"firstName": "Adam", "lastName": "Pusty"}})
    # 10.00 of cashback, spent on a bill of 10.00, then the first bill refunded: 10.00 is owed
    first = await _sale(admin, ewa, "100.00", "portfel-1")
    assert first["cashbackGranted"] == {"amount": "10.00"}
    second = await _sale(admin, ewa, "10.00", "portfel-2")
    assert second["creditsUsed"] == {"amount": "10.00"}
    refund = (await admin.mutate(REFUND, {"id": first["id"], "key": "portfel-zwrot-1"}))["refund"]
    assert refund == {
        "creditsReturned": {"amount": "0.00"},
        "cashbackReversed": {"amount": "0.00"},
        "cashbackOwed": {"amount": "10.00"},
    }
    # the group now holds its cashback for 7 days: a bill of 50.00 holds 5.00
    await admin.mutate(UPDATE_GROUP, {"id": group, "input": {"cashbackHoldDays": 7}})
    await _sale(admin, ewa, "50.00", "portfel-3")
    # 4.00 added pays off 4.00 of what is owed
    await admin.mutate(
        CREDITS,
        {
            "input": {
                "target": {"customerIds": [ewa]},
                "operation": "ADD",
                "amount": "4.00",
                "description": "Przeprosiny",
            }
        },
    )
    assert await _wallet(admin, ewa) == {"balance": "0.00", "held": "5.00", "owed": "6.00"}
    return str(ewa)


async def _history(page: Page) -> list[list[str]]:
    """Kind, change and balance after of each history row, newest first."""
    rows = page.locator("table.history tbody tr")
    await expect(rows.first).to_be_visible()
    cells = [plain(text).split("\t") for text in await rows.all_inner_texts()]
    return [[row[1], row[3], row[4]] for row in cells]


async def test_the_wallet_shows_what_is_held_and_owed_and_the_history_names_it(
    page: Page, gateway: Gateway, admin: Api, customer: str
) -> None:
    await log_in(page, gateway, admin.key)
    await open_page(page, gateway, f"customers/{customer}")
    wallet = page.get_by_role("region", name="Portfel", exact=True)

    await expect(wallet.locator("[data-balance]")).to_have_text("0,00\u00a0zł")
    await expect(wallet.locator('[data-wallet="held"]')).to_have_text("5,00\u00a0zł")
    await expect(wallet.locator('[data-wallet="owed"]')).to_have_text("6,00\u00a0zł")
    assert [line for line in plain(await wallet.inner_text()).split("\n") if line] == [
        "Portfel",
        "Saldo promocyjnych kredytów",
        "0,00 zł",
        "Wstrzymany cashback",
        "5,00 zł",
        "Przyznany, ale jeszcze nie do wydania: trafi na saldo, gdy minie wstrzymanie"
        " ustawione w grupie.",
        "Do potrącenia",
        "6,00 zł",
        "Cofnięty cashback, którego saldo nie pokryło: zostanie potrącony z następnych"
        " kredytów klienta.",
    ]
    # One heading says what the table is; its caption is for screen readers only.
    history = page.get_by_role("region", name="Historia portfela")
    assert [plain(t) for t in await history.get_by_text("Historia portfela").all_inner_texts()] == [
        "Historia portfela",
        "Historia portfela (5)",
    ]
    await expect(history.locator("caption")).to_have_class("visually-hidden")
    assert await _history(page) == [
        ["Potrącenie cashbacku", "-4,00 zł", "0,00 zł"],
        ["Dodanie", "+4,00 zł", "4,00 zł"],
        ["Cofnięcie cashbacku", "0,00 zł", "0,00 zł"],
        ["Wykorzystanie", "-10,00 zł", "0,00 zł"],
        ["Cashback", "+10,00 zł", "10,00 zł"],
    ]

    await page.get_by_role("button", name="English").click()
    wallet = page.get_by_role("region", name="Wallet", exact=True)
    await expect(wallet.locator("dt")).to_have_text(["Held cashback", "Owed"])
    assert (await _history(page))[0] == ["Owed cashback deducted", "-PLN 4.00", "PLN 0.00"]


async def test_released_cashback_pays_off_what_is_owed_first(
    page: Page, gateway: Gateway, admin: Api, customer: str
) -> None:
    # when the hold has ended (in every location of the gateway, so other modules' sales too):
    # the 5.00 released pays off 5.00 of the 6.00 owed
    assert release_held_cashback(gateway, days=8) >= 1
    assert await _wallet(admin, customer) == {"balance": "0.00", "held": "0.00", "owed": "1.00"}

    await log_in(page, gateway, admin.key)
    await open_page(page, gateway, f"customers/{customer}")
    wallet = page.get_by_role("region", name="Portfel", exact=True)

    await expect(wallet.locator('[data-wallet="owed"]')).to_have_text("1,00\u00a0zł")
    await expect(wallet.locator('[data-wallet="held"]')).to_have_count(0)
    assert (await _history(page))[:2] == [
        ["Potrącenie cashbacku", "-5,00 zł", "0,00 zł"],
        ["Zwolnienie cashbacku", "+5,00 zł", "5,00 zł"],
    ]
    await page.get_by_role("button", name="English").click()
    assert (await _history(page))[1] == ["Cashback released", "+PLN 5.00", "PLN 5.00"]


async def test_a_wallet_with_nothing_held_or_owed_shows_the_balance_only(
    page: Page, gateway: Gateway, admin: Api, customer: str
) -> None:
    found = await admin.data(
        '{ customers(first: 5, filter: {search: "Pusty"}) { edges { node { id } } } }'
    )
    (edge,) = found["customers"]["edges"]
    await log_in(page, gateway, admin.key)
    await open_page(page, gateway, f"customers/{edge['node']['id']}")
    wallet = page.get_by_role("region", name="Portfel", exact=True)

    await expect(wallet.locator("[data-balance]")).to_have_text("0,00\u00a0zł")
    await expect(wallet.locator("dl")).to_have_count(0)
