"""Recurring top-ups in a browser: the dialog names who a schedule reaches (the group's present
and future members, or a fixed list of customers) and offers the group for customers picked
under its filter; units agree with the number typed; a schedule is edited from the next period
on and lists its runs; deleting a group names the top-ups that deleting ends; a REDUCE preview
says how many balances are below the amount and end at 0. Every change is checked through the
API, and every schedule a test makes is deleted before it ends."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Locator, Page, expect

from tests.console.conftest import Api, Gateway, log_in, open_page, plain

LOCATION = "Doładowania"
MEMBERS, OTHERS = 6, 3
CREATE_GROUP = """mutation($name: String!) { createCustomerGroup(input: {name: $name}) {
  group { id } errors { code field message } } }"""
CREATE_CUSTOMER = """mutation($input: CustomerInput!) { createCustomer(input: $input) {
  customer { id } errors { code field message } } }"""
CREDIT = """mutation($input: SetPromotionalCreditsInput!) { setPromotionalCredits(input: $input) {
  operation { id } schedule { id } errors { code field message } } }"""
SCHEDULES = """{ creditSchedules { id operation amount { amount } description every unit
  startDate endDate target groupIds customerCount paused nextRunOn lastRunOn } }"""
RUNS = """{ creditSchedules { id runs(first: 5) { edges { node { period status customerCount
  total { amount } } } } } }"""
DELETE_SCHEDULE = """mutation($id: ID!) { deleteCreditSchedule(id: $id) {
  deletedId errors { code field message } } }"""
BALANCES = """{ customers(first: 50) { edges { node { id wallet { balance { amount } } } } } }"""
ZONE = ZoneInfo("Europe/Warsaw")


@pytest.fixture(scope="module")
async def seeded(admin: Api) -> dict[str, Any]:
    """ "Stały klient" with 6 members, 2 of whom hold 10.00, and 3 customers outside it."""
    group = (await admin.mutate(CREATE_GROUP, {"name": "Stały klient"}))["group"]["id"]
    members: list[str] = []
    for n in range(MEMBERS + OTHERS):
        payload = await admin.mutate(
            CREATE_CUSTOMER,
            {
                "input": {
                    "firstName": ["Anna", "Piotr", "Ewa"][n % 3],
                    "lastName": f"Cykliczna{n:02d}",
                    "email": f"cykl{n}@example.com",
                    "groupIds": [group] if n < MEMBERS else [],
                }
            },
        )
        if n < MEMBERS:
            members.append(payload["customer"]["id"])
    await admin.mutate(
        CREDIT,
        {
            "input": {
                "target": {"customerIds": members[:2]},
                "operation": "ADD",
                "amount": "10.00",
                "description": "Na start",
            }
        },
    )
    return {"group": group, "members": members}


@pytest.fixture
async def no_schedules_left(admin: Api) -> AsyncIterator[None]:
    """Deletes every schedule the test made, whatever its outcome."""
    yield
    for schedule in (await admin.data(SCHEDULES))["creditSchedules"]:
        await admin.mutate(DELETE_SCHEDULE, {"id": schedule["id"]})


def _today() -> date:
    return datetime.now(ZONE).date()


def _next_month() -> date:
    today = _today()
    return date(today.year + today.month // 12, today.month % 12 + 1, 1)


async def _dialog_for_the_page_of_the_group(page: Page) -> Locator:
    """The credits dialog for the customers ticked by the header checkbox under the group filter:
    the trap of the issue, where a schedule would follow those customers and not the group."""
    await page.get_by_label("Grupa klientów").select_option(label="Stały klient")
    await expect(page.get_by_text(f"Wyniki: {MEMBERS}")).to_be_visible()
    await page.get_by_label("Zaznacz wszystkich na tej stronie").check()
    await expect(page.get_by_text(f"Zaznaczeni: {MEMBERS}")).to_be_visible()
    await page.get_by_role("button", name="Ustaw promocyjne kredyty").click()
    return page.get_by_role("dialog", name="Ustaw promocyjne kredyty")


async def _unit_names(dialog: Locator, every: str) -> list[str]:
    await dialog.get_by_label("Powtarzaj co").fill(every)
    return [
        plain(t) for t in await dialog.get_by_label("Jednostka").locator("option").all_inner_texts()
    ]


@pytest.mark.parametrize(
    ("recipients", "target", "group_ids", "row_text"),
    [
        (
            "wszyscy obecni i przyszli członkowie grupy Stały klient",
            "GROUPS",
            True,
            "Stały klient (klientów teraz: 6)",
        ),
        ("6 wybranych klientów, na stałe", "CUSTOMERS", False, "Wybrani klienci: 6"),
    ],
    ids=["the-group", "the-fixed-list"],
)
async def test_the_recurring_dialog_names_its_recipients_and_offers_the_group(
    page: Page,
    gateway: Gateway,
    admin: Api,
    seeded: dict[str, Any],
    no_schedules_left: None,
    screenshots: Path,
    recipients: str,
    target: str,
    group_ids: bool,
    row_text: str,
) -> None:
    start = _next_month()
    await log_in(page, gateway, admin.key)
    dialog = await _dialog_for_the_page_of_the_group(page)
    await dialog.get_by_label("Kwota").fill("25")
    await dialog.get_by_label("Opis").fill("Co miesiąc dla stałych")
    await dialog.get_by_label("Powtarzaj", exact=True).check()

    offer = dialog.get_by_role("group", name="Kto dostanie doładowanie")
    fixed = offer.get_by_label("6 wybranych klientów, na stałe")
    group = offer.get_by_label("wszyscy obecni i przyszli członkowie grupy Stały klient")
    await expect(fixed).to_be_checked()
    await expect(group).not_to_be_checked()
    await expect(offer.locator("[data-recipients]")).to_have_text(
        "Ta lista się nie zmienia: klienci, którzy dołączą później do grupy, nie dostaną"
        " doładowania."
    )
    assert await _unit_names(dialog, "1") == ["dzień", "tydzień", "miesiąc"]
    assert await _unit_names(dialog, "2") == ["dni", "tygodnie", "miesiące"]
    assert await _unit_names(dialog, "5") == ["dni", "tygodni", "miesięcy"]
    assert await _unit_names(dialog, "22") == ["dni", "tygodnie", "miesiące"]
    await dialog.get_by_label("Powtarzaj co").fill("1")
    await dialog.get_by_label("Jednostka").select_option(label="miesiąc")
    await offer.get_by_label(recipients).check()
    if group_ids:
        await expect(offer.locator("[data-recipients]")).to_have_text(
            "Co okres doładowanie obejmie tych, którzy są wtedy w grupie."
        )
    await dialog.get_by_label("Data początkowa").fill(start.isoformat())
    await expect(dialog.locator('[data-preview="customerCount"]')).to_have_text(str(MEMBERS))
    await offer.scroll_into_view_if_needed()
    await page.screenshot(path=screenshots / f"console-credits-recurring-{target.lower()}.png")
    await dialog.get_by_role("button", name="Utwórz cykliczne doładowanie").click()
    await expect(dialog.get_by_role("status")).to_contain_text("Utworzono cykliczne doładowanie")

    (schedule,) = (await admin.data(SCHEDULES))["creditSchedules"]
    assert {k: schedule[k] for k in ("target", "groupIds", "every", "unit", "customerCount")} == {
        "target": target,
        "groupIds": [seeded["group"]] if group_ids else [],
        "every": 1,
        "unit": "MONTH",
        "customerCount": MEMBERS,
    }
    await dialog.get_by_role("link", name="Cykliczne doładowania").click()
    row = page.get_by_role("row").filter(has_text="Co miesiąc dla stałych")
    await expect(row).to_contain_text(row_text)
    await expect(row).to_contain_text("co miesiąc")


async def _ran_today(admin: Api, schedule_id: str) -> dict[str, Any]:
    """The schedule once the gateway's periodic check (every 5 s) has run today's period."""
    for _ in range(200):
        schedules = (await admin.data(SCHEDULES))["creditSchedules"]
        (found,) = [s for s in schedules if s["id"] == schedule_id]
        if found["lastRunOn"] == _today().isoformat():
            runs = (await admin.data(RUNS))["creditSchedules"]
            (mine,) = [s for s in runs if s["id"] == schedule_id]
            statuses = [e["node"]["status"] for e in mine["runs"]["edges"]]
            if statuses == ["SUCCEEDED"]:
                return found
        await asyncio.sleep(0.1)
    raise AssertionError("today's period did not run")


async def test_a_schedule_is_edited_from_its_next_period_and_lists_its_runs(
    page: Page,
    gateway: Gateway,
    admin: Api,
    seeded: dict[str, Any],
    no_schedules_left: None,
    screenshots: Path,
) -> None:
    today = _today()
    created = await admin.mutate(
        CREDIT,
        {
            "input": {
                "target": {"filter": {"groupIds": [seeded["group"]]}},
                "operation": "ADD",
                "amount": "1.00",
                "description": "Dzienne kredyty",
                "recurrence": {"every": 1, "unit": "DAY", "startDate": today.isoformat()},
            }
        },
    )
    schedule_id = created["schedule"]["id"]
    await _ran_today(admin, schedule_id)
    balances = (await admin.data(BALANCES))["customers"]
    await log_in(page, gateway, admin.key)
    await open_page(page, gateway, "schedules")
    row = page.get_by_role("row").filter(has_text="Dzienne kredyty")
    await expect(row).to_contain_text("codziennie")
    await expect(row).to_contain_text("Dodaj 1,00 zł")

    target = "Stały klient (klientów teraz: 6)"
    await row.get_by_role("button", name=f"Historia doładowania: {target}").click()
    history = page.get_by_role("dialog", name="Historia doładowania")
    run = history.locator(f'[data-run="{today.isoformat()}"]')
    await expect(run).to_be_visible()
    cells = [plain(c) for c in await run.get_by_role("cell").all_inner_texts()]
    assert cells[:4] == [_polish_date(today), "6", "6,00 zł", "Zakończona"]
    await page.screenshot(path=screenshots / "console-schedule-runs.png")
    await history.get_by_role("button", name="Zamknij", exact=True).first.click()

    end = today + timedelta(days=30)
    await row.get_by_role("button", name=f"Edytuj doładowanie: {target}").click()
    edit = page.get_by_role("dialog", name="Edytuj cykliczne doładowanie")
    tomorrow = _polish_date(today + timedelta(days=1))
    await expect(edit).to_contain_text(f"Zmiany obowiązują od następnego doładowania ({tomorrow}).")
    await expect(edit.get_by_label("Kwota")).to_have_value("1,00")
    await edit.get_by_label("Kwota").fill("2,50")
    await edit.get_by_label("Opis").fill("Dzienne kredyty, więcej")
    await edit.get_by_label("Data końcowa (opcjonalnie)").fill(end.isoformat())
    await page.screenshot(path=screenshots / "console-schedule-edit.png")
    await edit.get_by_role("button", name="Zapisz").click()
    await expect(edit).to_have_count(0)

    row = page.get_by_role("row").filter(has_text="Dzienne kredyty, więcej")
    await expect(row).to_contain_text("Dodaj 2,50 zł")
    await expect(row).to_contain_text(f"– {_polish_date(end)}")
    (changed,) = [
        s for s in (await admin.data(SCHEDULES))["creditSchedules"] if s["id"] == schedule_id
    ]
    assert {k: changed[k] for k in ("amount", "description", "endDate", "nextRunOn")} == {
        "amount": {"amount": "2.50"},
        "description": "Dzienne kredyty, więcej",
        "endDate": end.isoformat(),
        "nextRunOn": (today + timedelta(days=1)).isoformat(),
    }
    assert (await admin.data(BALANCES))["customers"] == balances


POLISH_MONTHS = ("sty", "lut", "mar", "kwi", "maj", "cze", "lip", "sie", "wrz", "paź", "lis", "gru")


def _polish_date(day: date) -> str:
    """A date as the Polish console shows it (Intl's medium style): "6 gru 2026"."""
    return f"{day.day} {POLISH_MONTHS[day.month - 1]} {day.year}"


async def _monthly(admin: Api, group_ids: list[str], amount: str, description: str) -> str:
    recurrence = {"every": 2, "unit": "WEEK", "startDate": _next_month().isoformat()}
    credit = {
        "target": {"filter": {"groupIds": group_ids}},
        "operation": "ADD",
        "amount": amount,
        "description": description,
        "recurrence": recurrence,
    }
    schedule: str = (await admin.mutate(CREDIT, {"input": credit}))["schedule"]["id"]
    return schedule


async def test_deleting_a_group_names_the_top_ups_it_ends_and_those_it_leaves(
    page: Page, gateway: Gateway, admin: Api, seeded: dict[str, Any], no_schedules_left: None
) -> None:
    group = (await admin.mutate(CREATE_GROUP, {"name": "Sezonowi"}))["group"]["id"]
    alone = await _monthly(admin, [group], "30.00", "Sezonowe")
    shared = await _monthly(admin, [group, seeded["group"]], "5.00", "Wspólne")
    await log_in(page, gateway, admin.key)
    await open_page(page, gateway, "settings/groups")
    await page.get_by_role("button", name="Usuń grupę Sezonowi").click()
    confirm = page.get_by_role("dialog", name="Usunąć grupę?")
    await expect(confirm).to_contain_text(
        "Grupa „Sezonowi” zostanie usunięta. Nie należy do niej żaden klient."
    )
    await expect(confirm).to_contain_text("Usunięcie grupy zakończy jej cykliczne doładowanie:")
    await expect(confirm).to_contain_text(
        "To cykliczne doładowanie obejmie już tylko pozostałe grupy:"
    )
    lists = {
        marker: [
            plain(t)
            for t in await confirm.locator(f'[data-schedules="{marker}"] li').all_inner_texts()
        ]
        for marker in ("ending", "narrowed")
    }
    assert lists == {
        "ending": ["Dodaj 30,00 zł co 2 tygodnie · Sezonowe"],
        "narrowed": ["Dodaj 5,00 zł co 2 tygodnie · Wspólne"],
    }
    await confirm.get_by_role("button", name="Usuń").click()
    await expect(confirm).to_have_count(0)

    schedules = {s["id"]: s for s in (await admin.data(SCHEDULES))["creditSchedules"]}
    assert alone not in schedules or schedules[alone]["nextRunOn"] is None
    assert schedules[shared]["groupIds"] == [seeded["group"]]
    assert schedules[shared]["nextRunOn"] == _next_month().isoformat()


async def test_a_reduce_preview_says_how_many_balances_stop_at_zero(
    page: Page, gateway: Gateway, admin: Api
) -> None:
    group = (await admin.mutate(CREATE_GROUP, {"name": "Korekta"}))["group"]["id"]
    for n, balance in enumerate(("12.00", "3.00", None)):
        person = {"firstName": "Ola", "lastName": f"Korekta{n}", "groupIds": [group]}
        created = await admin.mutate(CREATE_CUSTOMER, {"input": person})
        if balance:
            target = {"customerIds": [created["customer"]["id"]]}
            credit = {"target": target, "operation": "ADD", "amount": balance}
            await admin.mutate(CREDIT, {"input": credit})
    before = (await admin.data(BALANCES))["customers"]
    await log_in(page, gateway, admin.key)
    await page.get_by_label("Grupa klientów").select_option(label="Korekta")
    await expect(page.get_by_text("Wyniki: 3")).to_be_visible()
    await page.get_by_role("button", name="Zaznacz wszystkie wyniki (3)").click()
    await page.get_by_role("button", name="Ustaw promocyjne kredyty").click()
    dialog = page.get_by_role("dialog", name="Ustaw promocyjne kredyty")
    await dialog.get_by_label("Zmniejsz").check()
    clamped = dialog.locator('[data-preview="clampedCount"]')
    after = dialog.locator('[data-preview="balanceAfter"]')

    await dialog.get_by_label("Kwota").fill("5")
    await expect(clamped).to_have_text(
        "Kwota przekracza salda 2 klientów: po zmniejszeniu wyniosą one 0."
    )
    await expect(after).to_have_text(re.compile(r"^7,00\szł$"))
    await dialog.get_by_label("Kwota").fill("2")
    await expect(clamped).to_have_text(
        "Kwota przekracza saldo 1 klienta: po zmniejszeniu wyniesie ono 0."
    )
    await expect(after).to_have_text(re.compile(r"^11,00\szł$"))
    await dialog.get_by_label("Dodaj").check()
    await expect(after).to_have_text(re.compile(r"^21,00\szł$"))
    await expect(clamped).to_have_count(0)
    assert (await admin.data(BALANCES))["customers"] == before
