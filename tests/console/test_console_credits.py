"""Promotional credits in a browser: a group's customers selected by the filter and credited
after the preview, a monthly SET, every customer selected without a filter (once and monthly),
a REDUCE from the customer's page with its history row, and a wrong amount refused beside its
field; every change is checked through the API."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Locator, Page, Request, expect

from tests.console.conftest import Api, Gateway, log_in, open_page, operation_of, plain

LOCATION = "Kredyty"
MEMBERS, OTHERS = 8, 4
CREATE_GROUP = """mutation { createCustomerGroup(input: {name: "Stały klient"}) {
  group { id } errors { code field message } } }"""
CREATE_CUSTOMER = """mutation($input: CustomerInput!) { createCustomer(input: $input) {
  customer { id } errors { code field message } } }"""
CREDIT = """mutation($input: SetPromotionalCreditsInput!) { setPromotionalCredits(input: $input) {
  operation { status } errors { code field message } } }"""
BALANCES = """query($filter: CustomerFilter) { customers(first: 50, filter: $filter) {
  edges { node { id wallet { balance { amount } } } } } }"""
OPERATIONS = """{ walletOperations(first: 20) { edges { node {
  operation amount { amount } description status total processed actor } } } }"""
SCHEDULES = """{ creditSchedules { operation amount { amount } description every unit startDate
  endDate target groupIds paused nextRunOn } }"""
SCHEDULE_IDS = """{ creditSchedules { id } }"""
DELETE_SCHEDULE = """mutation($id: ID!) { deleteCreditSchedule(id: $id) {
  deletedId errors { code field message } } }"""
ENTRIES = """query($id: ID!) { customer(id: $id) { wallet { balance { amount } entries(first: 5) {
  totalCount edges { node { kind requestedAmount { amount } delta { amount }
  balanceAfter { amount } description source actor } } } } } }"""


@pytest.fixture(scope="module")
async def seeded(admin: Api) -> dict[str, Any]:
    """The group "Stały klient" with 8 members, 3 of whom hold 10.00, and 4 customers outside
    it."""
    group = (await admin.mutate(CREATE_GROUP))["group"]["id"]
    members: list[str] = []
    others: list[str] = []
    for n in range(MEMBERS + OTHERS):
        member = n < MEMBERS
        customer = await admin.mutate(
            CREATE_CUSTOMER,
            {
                "input": {
                    "firstName": ["Anna", "Piotr", "Ewa", "Jan"][n % 4],
                    "lastName": f"Klient{n:02d}",
                    "email": f"klient{n}@example.com",
                    "cards": [{"code": f"KR{n:04d}"}],
                    "groupIds": [group] if member else [],
                }
            },
        )
        (members if member else others).append(customer["customer"]["id"])
    await admin.mutate(
        CREDIT,
        {
            "input": {
                "target": {"customerIds": members[:3]},
                "operation": "ADD",
                "amount": "10.00",
                "description": "Na start",
            }
        },
    )
    return {"group": group, "members": members, "others": others}


async def _balances(admin: Api) -> dict[str, str]:
    edges = (await admin.data(BALANCES))["customers"]["edges"]
    return {e["node"]["id"]: e["node"]["wallet"]["balance"]["amount"] for e in edges}


async def _everything(admin: Api) -> tuple[Any, ...]:
    return (
        await _balances(admin),
        await admin.data(OPERATIONS),
        await admin.data(SCHEDULES),
    )


async def _select_the_group(page: Page) -> None:
    await page.get_by_label("Grupa klientów").select_option(label="Stały klient")
    await expect(page.get_by_text(f"Wyniki: {MEMBERS}")).to_be_visible()


async def _open_the_dialog_for_all_results(page: Page) -> Locator:
    await page.get_by_role("button", name=f"Zaznacz wszystkie wyniki ({MEMBERS})").click()
    await expect(page.get_by_text(f"Zaznaczeni: {MEMBERS}")).to_be_visible()
    await page.get_by_role("button", name="Ustaw promocyjne kredyty").click()
    dialog = page.get_by_role("dialog", name="Ustaw promocyjne kredyty")
    await expect(dialog.get_by_text(f"Wszystkie wyniki filtra: {MEMBERS}")).to_be_visible()
    return dialog


async def _preview(dialog: Locator) -> dict[str, str]:
    await expect(dialog.locator('[data-preview="customerCount"]')).to_be_visible()
    return {
        name: plain(await dialog.locator(f'[data-preview="{name}"]').inner_text())
        for name in ("customerCount", "changedCount", "balanceBefore", "balanceAfter")
    }


def _zloty(amount: float) -> str:
    """An amount as the Polish console shows it (below 10 000: no grouping)."""
    assert amount < 10_000
    return f"{amount:.2f}".replace(".", ",") + " zł"


def _next_month() -> date:
    today = datetime.now(ZoneInfo("Europe/Warsaw")).date()
    return date(today.year + today.month // 12, today.month % 12 + 1, 1)


async def _open_the_dialog_for_every_customer(page: Page) -> Locator:
    everyone = MEMBERS + OTHERS
    await expect(page.get_by_text(f"Wyniki: {everyone}")).to_be_visible()
    await page.get_by_role("button", name=f"Zaznacz wszystkie wyniki ({everyone})").click()
    await expect(page.get_by_text(f"Zaznaczeni: {everyone}")).to_be_visible()
    await page.get_by_role("button", name="Ustaw promocyjne kredyty").click()
    dialog = page.get_by_role("dialog", name="Ustaw promocyjne kredyty")
    await expect(dialog.get_by_text(f"Wszyscy klienci: {everyone}")).to_be_visible()
    return dialog


def _mutations(page: Page) -> list[dict[str, Any]]:
    """The setPromotionalCredits requests the page sends, as they go."""
    sent: list[dict[str, Any]] = []

    def record(request: Request) -> None:
        if request.url.endswith("/graphql") and request.method == "POST":
            body = json.loads(request.post_data or "{}")
            if operation_of(body) == "SetPromotionalCredits":
                sent.append(body["variables"]["input"])

    page.on("request", record)
    return sent


async def test_all_results_of_the_group_filter_get_50_after_the_preview(
    page: Page, gateway: Gateway, admin: Api, seeded: dict[str, Any]
) -> None:
    before = await _balances(admin)
    sent = _mutations(page)
    await log_in(page, gateway, admin.key)
    await _select_the_group(page)
    dialog = await _open_the_dialog_for_all_results(page)

    await dialog.get_by_label("Dodaj").check()
    await dialog.get_by_label("Kwota").fill("50,00")
    await dialog.get_by_label("Opis").fill("Doładowanie środków")
    assert await _preview(dialog) == {
        "customerCount": "8",
        "changedCount": "8",
        "balanceBefore": "30,00 zł",
        "balanceAfter": "430,00 zł",
    }
    await dialog.get_by_role("button", name="Zastosuj").dblclick()

    result = dialog.locator('[data-operation-status="SUCCEEDED"]')
    await expect(result).to_contain_text("Przetworzono 8 z 8")
    after = await _balances(admin)
    for member in seeded["members"]:
        assert float(after[member]) == float(before[member]) + 50
    for other in seeded["others"]:
        assert after[other] == before[other]
    operations = [e["node"] for e in (await admin.data(OPERATIONS))["walletOperations"]["edges"]]
    assert operations[0] == {
        "operation": "ADD",
        "amount": {"amount": "50.00"},
        "description": "Doładowanie środków",
        "status": "SUCCEEDED",
        "total": 8,
        "processed": 8,
        "actor": "admin",
    }
    assert [o["description"] for o in operations].count("Doładowanie środków") == 1
    # The request names the filter, not the customers; a double click sends one key.
    assert {json.dumps(s, sort_keys=True) for s in sent} == {json.dumps(sent[0], sort_keys=True)}
    assert sent[0]["target"] == {
        "filter": {"search": None, "groupIds": [seeded["group"]], "hasCredits": None}
    }
    assert len(sent[0]["idempotencyKey"]) == 36

    await dialog.get_by_role("button", name="Zamknij").last.click()
    await expect(dialog).to_be_hidden()
    await page.get_by_role("link", name="Operacje").click()
    row = page.locator("table.list tbody tr").first
    await expect(row).to_contain_text("Doładowanie środków")
    cells = [plain(text).strip() for text in await row.locator("td").all_inner_texts()]
    assert cells[1:6] == [
        "Dodaj 50,00 zł",
        "Doładowanie środków",
        "Zakończona",
        "Przetworzono 8 z 8",
        "admin",
    ]


async def test_a_monthly_set_of_100_appears_under_recurring_top_ups(
    page: Page, gateway: Gateway, admin: Api, seeded: dict[str, Any]
) -> None:
    today = datetime.now(ZoneInfo("Europe/Warsaw")).date()
    start = _next_month()
    before = await _balances(admin)
    await log_in(page, gateway, admin.key)
    await _select_the_group(page)
    dialog = await _open_the_dialog_for_all_results(page)

    await dialog.get_by_label("Ustaw").check()
    await dialog.get_by_label("Kwota").fill("100")
    await dialog.get_by_label("Opis").fill("Miesięczne doładowanie")
    await dialog.get_by_label("Powtarzaj", exact=True).check()
    await expect(dialog.get_by_label("Data początkowa")).to_have_value(today.isoformat())
    await dialog.get_by_label("Powtarzaj co").fill("1")
    await dialog.get_by_label("Jednostka").select_option(label="miesiąc")
    recipients = dialog.locator("[data-recipients]")
    await expect(recipients).to_have_text(
        "Kto dostanie doładowanie: wszyscy obecni i przyszli członkowie grupy Stały klient"
    )
    await dialog.get_by_label("Data początkowa").fill(start.isoformat())
    await dialog.get_by_role("button", name="Utwórz cykliczne doładowanie").click()
    await expect(dialog.get_by_role("status")).to_contain_text("Utworzono cykliczne doładowanie")
    await dialog.get_by_role("link", name="Cykliczne doładowania").click()

    await expect(page.get_by_role("heading", name="Cykliczne doładowania")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Miesięczne doładowanie")
    await expect(row).to_contain_text("Stały klient (klientów teraz: 8)")
    await expect(row).to_contain_text("Ustaw 100,00 zł")
    await expect(row).to_contain_text("co miesiąc")
    await expect(row).to_contain_text("aktywne")
    assert (await admin.data(SCHEDULES))["creditSchedules"] == [
        {
            "operation": "SET",
            "amount": {"amount": "100.00"},
            "description": "Miesięczne doładowanie",
            "every": 1,
            "unit": "MONTH",
            "startDate": start.isoformat(),
            "endDate": None,
            "target": "GROUPS",
            "groupIds": [seeded["group"]],
            "paused": False,
            "nextRunOn": start.isoformat(),
        }
    ]
    assert await _balances(admin) == before

    await row.get_by_role("button", name="Wstrzymaj").click()
    await expect(row).to_contain_text("wstrzymane")
    assert [s["paused"] for s in (await admin.data(SCHEDULES))["creditSchedules"]] == [True]
    await row.get_by_role("button", name="Wznów").click()
    await expect(row).to_contain_text("aktywne")
    assert [s["paused"] for s in (await admin.data(SCHEDULES))["creditSchedules"]] == [False]

    await row.get_by_role("button", name="Usuń").click()
    confirm = page.get_by_role("dialog", name="Usunąć cykliczne doładowanie?")
    await confirm.get_by_role("button", name="Usuń").click()
    await expect(row).to_have_count(0)
    assert (await admin.data(SCHEDULES))["creditSchedules"] == []


async def test_all_results_without_a_filter_credit_every_customer_after_the_preview(
    page: Page, gateway: Gateway, admin: Api, seeded: dict[str, Any]
) -> None:
    before = await _balances(admin)
    assert len(before) == MEMBERS + OTHERS
    total_before = sum(float(b) for b in before.values())
    sent = _mutations(page)
    await log_in(page, gateway, admin.key)
    dialog = await _open_the_dialog_for_every_customer(page)

    await dialog.get_by_label("Dodaj").check()
    await dialog.get_by_label("Kwota").fill("2,00")
    await dialog.get_by_label("Opis").fill("Dla wszystkich")
    assert await _preview(dialog) == {
        "customerCount": "12",
        "changedCount": "12",
        "balanceBefore": _zloty(total_before),
        "balanceAfter": _zloty(total_before + 24),
    }
    await dialog.get_by_role("button", name="Zastosuj").click()

    await expect(dialog.locator('[data-operation-status="SUCCEEDED"]')).to_contain_text(
        "Przetworzono 12 z 12"
    )
    after = await _balances(admin)
    assert {c: float(after[c]) for c in after} == {c: float(before[c]) + 2 for c in before}
    # The request says every customer: an empty filter would be refused.
    assert [s["target"] for s in sent] == [{"allCustomers": True}]


async def test_a_monthly_top_up_for_every_customer_follows_them_all(
    page: Page, gateway: Gateway, admin: Api, seeded: dict[str, Any]
) -> None:
    start = _next_month()
    before = await _balances(admin)
    sent = _mutations(page)
    await log_in(page, gateway, admin.key)
    dialog = await _open_the_dialog_for_every_customer(page)

    await dialog.get_by_label("Dodaj").check()
    await dialog.get_by_label("Kwota").fill("5")
    await dialog.get_by_label("Opis").fill("Dla wszystkich co miesiąc")
    assert (await _preview(dialog))["customerCount"] == "12"
    repeat = dialog.get_by_label("Powtarzaj", exact=True)
    await expect(repeat).to_be_enabled()
    await repeat.check()
    await dialog.get_by_label("Jednostka").select_option(label="miesiąc")
    await expect(dialog.locator("[data-recipients]")).to_have_text(
        "Kto dostanie doładowanie: wszyscy obecni i przyszli klienci"
    )
    await dialog.get_by_label("Data początkowa").fill(start.isoformat())
    await dialog.get_by_role("button", name="Utwórz cykliczne doładowanie").click()
    await expect(dialog.get_by_role("status")).to_contain_text("Utworzono cykliczne doładowanie")
    try:
        await dialog.get_by_role("link", name="Cykliczne doładowania").click()
        row = page.get_by_role("row").filter(has_text="Dla wszystkich co miesiąc")
        await expect(row).to_contain_text("Wszyscy klienci (teraz: 12)")
        assert [s["target"] for s in sent] == [{"allCustomers": True}]
        assert (await admin.data(SCHEDULES))["creditSchedules"] == [
            {
                "operation": "ADD",
                "amount": {"amount": "5.00"},
                "description": "Dla wszystkich co miesiąc",
                "every": 1,
                "unit": "MONTH",
                "startDate": start.isoformat(),
                "endDate": None,
                "target": "ALL",
                "groupIds": [],
                "paused": False,
                "nextRunOn": start.isoformat(),
            }
        ]
        assert await _balances(admin) == before
    finally:
        for schedule in (await admin.data(SCHEDULE_IDS))["creditSchedules"]:
            await admin.mutate(DELETE_SCHEDULE, {"id": schedule["id"]})


async def test_a_search_text_disables_repeating_and_says_why(
    page: Page, gateway: Gateway, admin: Api, seeded: dict[str, Any]
) -> None:
    await log_in(page, gateway, admin.key)
    await page.get_by_label("Szukaj").fill("Anna")
    await page.get_by_label("Grupa klientów").select_option(label="Stały klient")
    await expect(page.get_by_text("Wyniki: 2")).to_be_visible()
    await page.get_by_role("button", name="Zaznacz wszystkie wyniki (2)").click()
    await page.get_by_role("button", name="Ustaw promocyjne kredyty").click()
    dialog = page.get_by_role("dialog")

    repeat = dialog.get_by_label("Powtarzaj", exact=True)
    await expect(repeat).to_be_disabled()
    await expect(repeat).to_have_accessible_description(
        "Cykliczne doładowanie obejmuje grupy klientów, wybranych klientów albo wszystkich"
        " klientów, a ten filtr zawiera wyszukiwany tekst. Zaznacz klientów albo filtruj tylko"
        " według grupy."
    )


async def test_reducing_from_the_customer_page_adds_a_history_row(
    page: Page, gateway: Gateway, admin: Api, seeded: dict[str, Any]
) -> None:
    customer = seeded["members"][0]
    balance = (await admin.data(ENTRIES, {"id": customer}))["customer"]["wallet"]["balance"]
    before = float(balance["amount"])
    await log_in(page, gateway, admin.key)
    await open_page(page, gateway, f"customers/{customer}")

    await page.get_by_role("button", name="Więcej").click()
    await page.get_by_role("menuitem", name="Ustaw promocyjne kredyty").click()
    dialog = page.get_by_role("dialog", name="Ustaw promocyjne kredyty")
    await dialog.get_by_label("Zmniejsz").check()
    await dialog.get_by_label("Kwota").fill("5,50")
    await dialog.get_by_label("Opis").fill("Korekta")
    preview = await _preview(dialog)
    assert preview["customerCount"] == "1"
    assert preview["changedCount"] == "1"
    await dialog.get_by_role("button", name="Zastosuj").click()
    await expect(dialog.locator('[data-operation-status="SUCCEEDED"]')).to_be_visible()
    await dialog.get_by_role("button", name="Zamknij").last.click()

    expected_after = f"{before - 5.5:.2f}"
    row = page.locator("table.history tbody tr").first
    await expect(row).to_contain_text("Zmniejszenie")
    assert plain(await row.inner_text()).split("\t")[1:] == [
        "Zmniejszenie",
        "5,50 zł",
        "-5,50 zł",
        f"{expected_after.replace('.', ',')} zł",
        "Korekta",
        "Ręcznie",
        "admin",
    ]
    wallet = (await admin.data(ENTRIES, {"id": customer}))["customer"]["wallet"]
    assert wallet["balance"] == {"amount": expected_after}
    assert wallet["entries"]["edges"][0]["node"] == {
        "kind": "REDUCE",
        "requestedAmount": {"amount": "5.50"},
        "delta": {"amount": "-5.50"},
        "balanceAfter": {"amount": expected_after},
        "description": "Korekta",
        "source": "MANUAL",
        "actor": "admin",
    }


# The server's message when it comes from its catalog, in Polish ("Najwyżej 2 miejsca po
# przecinku."); a GraphQL error about a Decimal, which has none, in the console's own words.
AMOUNT_ERROR = "Podaj kwotę jako liczbę z najwyżej dwoma miejscami po przecinku, np. 50,00."


@pytest.mark.parametrize(
    ("typed", "message"),
    [("12,345", "Najwyżej 2 miejsca po przecinku."), ("dwanaście", AMOUNT_ERROR)],
)
async def test_a_wrong_amount_shows_the_api_error_beside_the_field_and_changes_nothing(
    page: Page, gateway: Gateway, admin: Api, seeded: dict[str, Any], typed: str, message: str
) -> None:
    before = await _everything(admin)
    await log_in(page, gateway, admin.key)
    await _select_the_group(page)
    dialog = await _open_the_dialog_for_all_results(page)

    await dialog.get_by_label("Kwota").fill(typed)
    await dialog.get_by_role("button", name="Zastosuj").click()

    error = dialog.locator('[data-field="input.amount"]')
    await expect(error).to_have_text(message)
    amount = dialog.get_by_label("Kwota")
    await expect(amount).to_have_attribute("aria-invalid", "true")
    await expect(amount).to_have_accessible_description(await error.inner_text())
    await expect(dialog.locator("[data-operation-status]")).to_have_count(0)
    assert await _everything(admin) == before
