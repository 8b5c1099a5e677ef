"""Undoing a bulk action and a single edit on a balance that changed, in a browser.

Operacje → Cofnij shows what the undo would do first (customers restored fully and in part, the
credits taken back), then undoes; the list then names the undo and what it restored, and the
operation it reversed says it was undone. A manager's single change sends the balance the
preview showed; when a sale changed it meanwhile, the dialog says the balance now, writes
nothing, and applies on the second try."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from playwright.async_api import Locator, Page, expect

from tests.console.conftest import Api, Gateway, log_in, open_page, plain

LOCATION = "Cofanie"
CUSTOMER = """mutation($input: CustomerInput!) { createCustomer(input: $input) {
  customer { id } errors { code field message } } }"""
CREDITS = """mutation($input: SetPromotionalCreditsInput!) { setPromotionalCredits(input: $input) {
  operation { id status } errors { code field message } } }"""
CREDITS_RECURRING = """mutation($input: SetPromotionalCreditsInput!) {
  setPromotionalCredits(input: $input) { schedule { id } errors { code field message } } }"""
COMMIT = """mutation($input: CheckoutInput!, $key: String!) {
  commitCheckout(input: $input, idempotencyKey: $key) {
    checkout { id creditsUsed { amount } } errors { code field message } } }"""
WALLET = """query($id: ID!) { customer(id: $id) { wallet { balance { amount }
  entries(first: 1) { edges { node { kind delta { amount } } } } } } }"""


async def _customer(admin: Api, first: str, last: str) -> str:
    payload = await admin.mutate(CUSTOMER, {"input": {"firstName": first, "lastName": last}})
    return str(payload["customer"]["id"])


async def _credit(admin: Api, ids: list[str], operation: str, amount: str, text: str) -> str:
    request = {"target": {"customerIds": ids}, "operation": operation, "amount": amount}
    payload = await admin.mutate(CREDITS, {"input": {**request, "description": text}})
    return str(payload["operation"]["id"])


async def _spend(admin: Api, customer: str, price: str, key: str) -> None:
    lines = [{"productId": "obiad", "name": "Obiad", "quantity": "1", "unitPrice": price}]
    payload = await admin.mutate(
        COMMIT, {"input": {"customerId": customer, "lines": lines}, "key": key}
    )
    assert payload["checkout"]["creditsUsed"] == {"amount": price}


async def _wallet(admin: Api, customer: str) -> dict[str, Any]:
    wallet: dict[str, Any] = (await admin.data(WALLET, {"id": customer}))["customer"]["wallet"]
    return wallet


async def _row(page: Page, operation: str) -> Locator:
    row = page.locator(f'tr[data-operation="{operation}"]')
    await expect(row).to_be_visible()
    return row


async def test_cofnij_shows_the_preview_then_undoes_and_marks_the_operation(
    page: Page, gateway: Gateway, admin: Api, screenshots: Path
) -> None:
    # given a bonus of 20,00 zł for two customers, one of whom has spent 5,00 zł of it since
    ewa = await _customer(admin, "Ewa", "Cofnięta")
    adam = await _customer(admin, "Adam", "Cofnięty")
    bonus = await _credit(admin, [ewa, adam], "ADD", "20.00", "Premia świąteczna")
    await _spend(admin, ewa, "5.00", "cofanie-1")
    await log_in(page, gateway, admin.key)
    await open_page(page, gateway, "operations")

    # when the manager asks to undo it
    await (await _row(page, bonus)).get_by_role("button", name="Cofnij").click()
    dialog = page.get_by_role("dialog", name="Cofnij operację")

    # then the preview says what the undo would do, before anything is written
    await expect(dialog.locator('[data-undo="restored"]')).to_have_text("1")
    await expect(dialog.locator('[data-undo="partly"]')).to_have_text("1")
    await expect(dialog.locator('[data-undo="amount"]')).to_have_text("35,00\u00a0zł")
    assert plain(await dialog.locator("dl").inner_text()).split("\n") == [
        "Przywróceni w całości",
        "1",
        "Przywróceni częściowo",
        "1",
        "Do odebrania łącznie",
        "35,00 zł",
    ]
    assert (await _wallet(admin, adam))["balance"] == {"amount": "20.00"}
    await page.screenshot(path=screenshots / "console-undo.png")

    # when it is confirmed
    await dialog.get_by_role("button", name="Potwierdź cofnięcie").click()
    await expect(dialog).to_have_count(0)

    # then the operation says it was undone, and may not be undone again
    original = await _row(page, bonus)
    await expect(original.locator("[data-undone]")).to_have_text("Cofnięta")
    await expect(original.get_by_role("button", name="Cofnij")).to_have_count(0)
    # and the undo, first in the list, names what it reversed and what it restored
    undo = page.locator("table.list tbody tr").first
    await expect(undo.locator("[data-restored]")).to_have_text(
        "Przywróceni w całości: 1, częściowo: 1"
    )
    await expect(undo).to_contain_text("Cofnięcie: Dodaj 20,00\u00a0zł")
    await expect(undo.get_by_role("button", name="Cofnij")).to_have_count(0)
    for customer in (ewa, adam):
        wallet = await _wallet(admin, customer)
        assert wallet["balance"] == {"amount": "0.00"}
        assert wallet["entries"]["edges"][0]["node"]["kind"] == "UNDO"


async def test_a_balance_changed_by_a_sale_is_shown_and_the_second_try_applies(
    page: Page, gateway: Gateway, admin: Api
) -> None:
    # given a customer with 10,00 zł, and the manager's dialog previewing a SET to 30,00 zł
    ola = await _customer(admin, "Ola", "Nieaktualna")
    await _credit(admin, [ola], "ADD", "10.00", "Na start")
    await log_in(page, gateway, admin.key)
    await open_page(page, gateway, f"customers/{ola}")
    await page.get_by_role("button", name="Więcej").click()
    await page.get_by_role("menuitem", name="Ustaw promocyjne kredyty").click()
    dialog = page.get_by_role("dialog", name="Ustaw promocyjne kredyty")
    await dialog.get_by_label("Ustaw", exact=True).check()
    await dialog.get_by_label("Kwota").fill("30")
    before = dialog.locator('[data-preview="balanceBefore"]')
    await expect(before).to_have_text("10,00\u00a0zł")

    # when the customer pays 4,00 zł with credits at a till meanwhile, and the manager applies
    await _spend(admin, ola, "4.00", "nieaktualne-1")
    await dialog.get_by_role("button", name="Zastosuj").click()

    # then nothing is written, the balance now is said, and the preview shows it
    await expect(dialog.locator("[data-stale-balance]")).to_have_text(
        "Saldo klienta zmieniło się w międzyczasie i wynosi teraz 6,00\u00a0zł. Nic nie"
        " zapisano: sprawdź podgląd i zatwierdź ponownie."
    )
    await expect(before).to_have_text("6,00\u00a0zł")
    assert (await _wallet(admin, ola))["balance"] == {"amount": "6.00"}

    # when the manager applies again
    await dialog.get_by_role("button", name="Zastosuj").click()

    # then the SET is written from the balance now
    await expect(dialog.locator('[data-operation-status="SUCCEEDED"]')).to_be_visible()
    wallet = await _wallet(admin, ola)
    assert wallet["balance"] == {"amount": "30.00"}
    assert wallet["entries"]["edges"][0]["node"] == {"kind": "SET", "delta": {"amount": "24.00"}}


RUNS = (
    """{ creditSchedules { id runs(first: 5) { edges { node { status operation { id } } } } } }"""
)
DELETE_SCHEDULE = """mutation($id: ID!) { deleteCreditSchedule(id: $id) {
  deletedId errors { code field message } } }"""


async def _ran_today(admin: Api, schedule_id: str) -> str:
    """The id of today's period once the gateway's periodic check (every 5 s) has run it."""
    for _ in range(300):
        schedules = (await admin.data(RUNS))["creditSchedules"]
        (mine,) = [s for s in schedules if s["id"] == schedule_id]
        runs = [e["node"] for e in mine["runs"]["edges"]]
        if [r["status"] for r in runs] == ["SUCCEEDED"]:
            return str(runs[0]["operation"]["id"])
        await asyncio.sleep(0.1)
    raise AssertionError("today's period did not run")


async def test_a_schedule_period_is_undone_from_the_history_of_the_top_up(
    page: Page, gateway: Gateway, admin: Api
) -> None:
    # given a daily top-up of 3,00 zł for one customer, today's period applied
    jan = await _customer(admin, "Jan", "Okresowy")
    today = datetime.now(ZoneInfo("Europe/Warsaw")).date()
    recurrence = {"every": 1, "unit": "DAY", "startDate": today.isoformat()}
    request = {"target": {"customerIds": [jan]}, "operation": "ADD", "amount": "3.00"}
    created = await admin.mutate(
        CREDITS_RECURRING,
        {"input": {**request, "description": "Codzienny bonus", "recurrence": recurrence}},
    )
    schedule = created["schedule"]["id"]
    await _ran_today(admin, schedule)
    assert (await _wallet(admin, jan))["balance"] == {"amount": "3.00"}
    await log_in(page, gateway, admin.key)
    await open_page(page, gateway, "schedules")

    # when the manager undoes today's period from the top-up's history
    row = page.get_by_role("row").filter(has_text="Codzienny bonus")
    await row.get_by_role("button", name=re.compile("^Historia doładowania")).click()
    history = page.get_by_role("dialog", name="Historia doładowania")
    await history.get_by_role("button", name=re.compile("^Cofnij okres")).click()
    dialog = page.get_by_role("dialog", name="Cofnij operację")
    await expect(dialog.locator('[data-undo="restored"]')).to_have_text("1")
    await expect(dialog.locator('[data-undo="amount"]')).to_have_text("3,00\u00a0zł")
    await dialog.get_by_role("button", name="Potwierdź cofnięcie").click()

    # then the history says the period was undone, and the credits are taken back
    history = page.get_by_role("dialog", name="Historia doładowania")
    await expect(history.locator("[data-undone]")).to_have_text("Cofnięty")
    await expect(history.get_by_role("button", name=re.compile("^Cofnij okres"))).to_have_count(0)
    wallet = await _wallet(admin, jan)
    assert wallet["balance"] == {"amount": "0.00"}
    assert wallet["entries"]["edges"][0]["node"] == {"kind": "UNDO", "delta": {"amount": "-3.00"}}
    await admin.mutate(DELETE_SCHEDULE, {"id": schedule})
