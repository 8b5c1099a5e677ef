"""Raporty in a browser: on a location with credits given by hand and in bulk, cashback and
sales paid with credits, each section's figures equal the API's report (as the console formats
them), each chart is drawn (a canvas with a size), a CSV file holds exactly the table's rows
(UTF-8 with a BOM, ";", amounts with a decimal comma), another interval asks the API again, a
customer links to the customer page, a past day's liability is that day's, and a period ending
before it starts is refused."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Page, Request, expect

from tests.console.conftest import Api, Gateway, log_in, open_page, operation_of, plain

LOCATION = "Raporty"
GROUP = """mutation($input: CustomerGroupInput!) { createCustomerGroup(input: $input) {
  group { id } errors { code field message } } }"""
CUSTOMER = """mutation($input: CustomerInput!) { createCustomer(input: $input) {
  customer { id } errors { code field message } } }"""
CREDITS = """mutation($input: SetPromotionalCreditsInput!) { setPromotionalCredits(input: $input) {
  operation { id } errors { code field message } } }"""
COMMIT = """mutation($input: CheckoutInput!, $key: String!) {
  commitCheckout(input: $input, idempotencyKey: $key) {
    checkout { id creditsUsed { amount } } errors { code field message } } }"""
MONEY = "{ amount }"
ACTIVITY_COLUMNS = [
    *("issuedManual", "issuedBulk", "issuedSchedule", "issuedCashback", "refunded"),
    *("redeemed", "expired", "cashbackReversed", "reduced", "clawedBack", "writtenOff"),
    *("undone", "netChange"),
]
REPORTS = f"""query($from: Date!, $to: Date!, $interval: ReportInterval!) {{
  liabilityReport {{
    at outstanding {MONEY} held {MONEY} owed {MONEY} scheduledNext30Days {MONEY}
    byGroup {{ group {{ name }} amount {MONEY} customers }}
    byExpiryMonth {{ month amount {MONEY} }}
  }}
  activityReport(from: $from, to: $to, interval: $interval) {{
    start {" ".join(f"{c} {MONEY}" for c in ACTIVITY_COLUMNS)}
  }}
  discountCostReport(from: $from, to: $to) {{
    day group {{ name }} groupDiscounts {MONEY} promotions {MONEY} creditsUsed {MONEY} sales
  }}
  topCustomersReport(from: $from, to: $to, first: 20) {{
    customer {{ id firstName lastName }} creditsUsed {MONEY} sales
  }}
}}"""
PAST = """query($at: Date) {
  liabilityReport(at: $at) { at outstanding { amount } byGroup { customers } } }"""
MONTHS = ["sty", "lut", "mar", "kwi", "maj", "cze", "lip", "sie", "wrz", "paź", "lis", "gru"]
TABLE = """(section) => [...document.querySelectorAll(`[data-report="${section}"] tbody tr`)]
  .map((tr) => [...tr.cells].map((td) => td.textContent.trim()))"""
CANVAS = """(section) => [...document.querySelectorAll(`[data-report="${section}"] canvas`)]
  .map((c) => [c.getBoundingClientRect().width > 100, c.getBoundingClientRect().height > 100])"""


def _zl(amount: str) -> str:
    """ "1234.50" as the console shows it in Polish: "1 234,50 zł"."""
    sign = "-" if amount.startswith("-") else ""
    whole, fraction = amount.lstrip("-").split(".")
    grouped = f"{int(whole):,}".replace(",", " ")
    return f"{sign}{grouped},{fraction} zł"


def _day(text: str) -> str:
    day = date.fromisoformat(text)
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def _comma(amount: str) -> str:
    return amount.replace(".", ",")


@pytest.fixture(scope="module")
async def seeded(admin: Api) -> dict[str, Any]:
    """A group with 10 % cashback and two members, a customer in no group; 30.00 to the group
    in bulk, 12.00 by hand to one customer; two sales paid partly with credits."""
    group = {"name": "Stali goście", "cashbackPercent": "10.00"}
    group_id = (await admin.mutate(GROUP, {"input": group}))["group"]["id"]
    people = (("Anna", "Nowak", [group_id]), ("Piotr", "Zieliński", [group_id]))
    people += (("Ewa", "Kowalska", []),)
    customers = []
    for n, (first, last, groups) in enumerate(people):
        card = {"code": f"RAP-{n}"}
        person = {"firstName": first, "lastName": last, "cards": [card], "groupIds": groups}
        customers.append((await admin.mutate(CUSTOMER, {"input": person}))["customer"]["id"])
    given = [
        ({"filter": {"groupIds": [group_id]}}, "30.00"),
        ({"customerIds": [customers[2]]}, "12.00"),
    ]
    for target, amount in given:
        credit = {"target": target, "operation": "ADD", "amount": amount, "description": "Start"}
        await admin.mutate(CREDITS, {"input": credit})
    for n, (card, price) in enumerate((("RAP-0", "45.00"), ("RAP-2", "8.50"))):
        line = {"productId": "obiad", "name": "Obiad", "quantity": "1", "unitPrice": price}
        sale = {"cardCode": card, "lines": [line]}
        await admin.mutate(COMMIT, {"input": sale, "key": f"raporty-{n}"})
    return {"group": group_id, "customers": customers}


def _period() -> tuple[str, str]:
    """The page's default period: the last 30 days in the location's time zone (Warsaw)."""
    today = datetime.now(ZoneInfo("Europe/Warsaw")).date()
    return (today - timedelta(days=29)).isoformat(), today.isoformat()


async def _reports(admin: Api, interval: str = "DAY") -> dict[str, Any]:
    start, end = _period()
    return await admin.data(REPORTS, {"from": start, "to": end, "interval": interval})


async def _table(page: Page, section: str) -> list[list[str]]:
    rows: list[list[str]] = await page.evaluate(TABLE, section)
    return [[plain(cell) for cell in row] for row in rows]


async def _csv(page: Page, button: str) -> list[list[str]]:
    async with page.expect_download() as started:
        await page.get_by_role("button", name=button).click()
    download = await started.value
    data = await asyncio.to_thread(Path(await download.path()).read_bytes)
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


def _activity_rows(report: list[dict[str, Any]]) -> list[list[str]]:
    return [[_day(r["start"]), *(_zl(r[c]["amount"]) for c in ACTIVITY_COLUMNS)] for r in report]


async def test_each_report_shows_the_apis_figures_with_a_chart(
    page: Page, gateway: Gateway, admin: Api, seeded: dict[str, Any], screenshots: Path
) -> None:
    await log_in(page, gateway, admin.key)
    await (
        page.get_by_role("navigation", name="Menu główne")
        .get_by_role("link", name="Raporty")
        .click()
    )
    await expect(page.locator("main h1")).to_have_text("Raporty")
    await expect(page.locator("main .loading")).to_have_count(0)
    data = await _reports(admin)
    start, end = _period()

    assert await page.get_by_label("Od dnia").input_value() == start
    assert await page.get_by_label("Do dnia").input_value() == end
    assert await page.get_by_label("Stan na koniec dnia").input_value() == end
    liability = data["liabilityReport"]
    tiles = page.locator('[data-report="liability-tiles"]')
    figures = {
        name: plain(await tiles.locator(f'[data-figure="{name}"]').inner_text())
        for name in ("outstanding", "held", "owed", "scheduled")
    }
    assert figures == {
        "outstanding": _zl(liability["outstanding"]["amount"]),
        "held": _zl(liability["held"]["amount"]),
        "owed": _zl(liability["owed"]["amount"]),
        "scheduled": _zl(liability["scheduledNext30Days"]["amount"]),
    }
    # 30 + 30 + 12 given; 30.00 and 8.50 spent; 10 % cashback of the 15.00 Anna paid.
    assert figures["outstanding"] == "35,00 zł"
    groups = await _table(page, "liability")
    assert groups == [
        [
            g["group"]["name"] if g["group"] else "Bez grupy",
            str(g["customers"]),
            _zl(g["amount"]["amount"]),
        ]
        for g in liability["byGroup"]
    ] + [
        ["Bez terminu ważności" if e["month"] is None else e["month"], _zl(e["amount"]["amount"])]
        for e in liability["byExpiryMonth"]
    ]
    assert groups[:2] == [["Stali goście", "2", "31,50 zł"], ["Bez grupy", "1", "3,50 zł"]]

    activity = await _table(page, "activity")
    assert activity == _activity_rows(data["activityReport"])
    assert len(activity) == 30
    discounts = await _table(page, "discounts")
    assert discounts == [
        [
            _day(r["day"]),
            r["group"]["name"] if r["group"] else "Bez grupy",
            _zl(r["groupDiscounts"]["amount"]),
            _zl(r["promotions"]["amount"]),
            _zl(r["creditsUsed"]["amount"]),
            str(r["sales"]),
        ]
        for r in data["discountCostReport"]
    ]
    # No sale had a group discount: the credits used are of no group.
    assert [row[1:] for row in discounts] == [["Bez grupy", "0,00 zł", "0,00 zł", "38,50 zł", "2"]]
    top = await _table(page, "top")
    assert top == [
        [
            f"{r['customer']['firstName']} {r['customer']['lastName']}",
            _zl(r["creditsUsed"]["amount"]),
            str(r["sales"]),
        ]
        for r in data["topCustomersReport"]
    ]
    assert top == [["Anna Nowak", "30,00 zł", "1"], ["Ewa Kowalska", "8,50 zł", "1"]]
    for section, charts in (("liability", 1), ("activity", 1), ("discounts", 1), ("top", 1)):
        assert await page.evaluate(CANVAS, section) == [[True, True]] * charts, section

    await page.locator("#activity-title").evaluate("(heading) => heading.scrollIntoView()")
    await page.screenshot(path=screenshots / "console-reports-activity.png")

    await page.get_by_role("link", name="Anna Nowak").click()
    await expect(page.locator("main h1")).to_have_text("Anna Nowak")
    assert page.url.endswith(f"#/customers/{seeded['customers'][0]}")


async def test_a_csv_file_holds_the_tables_rows(
    page: Page, gateway: Gateway, admin: Api, seeded: dict[str, Any]
) -> None:
    await log_in(page, gateway, admin.key)
    await open_page(page, gateway, "reports")
    await expect(page.locator('[data-report="top"] tbody tr')).to_have_count(2)
    data = await _reports(admin)

    rows = await _csv(page, "Eksportuj CSV: Ruch kredytów")
    header = [
        "Początek okresu",
        "Wydane ręcznie",
        "Wydane zbiorczo",
        "Z cyklicznych doładowań",
        "Wypłacony cashback",
        "Oddane przy zwrotach",
        "Wykorzystane",
        "Wygasłe",
        "Cofnięty cashback",
        "Zmniejszone",
        "Odebrane przy zwrotach",
        "Umorzone (usunięci klienci)",
        "Cofnięte operacje",
        "Zmiana sald",
    ]
    assert rows == [header] + [
        [r["start"], *(_comma(r[c]["amount"]) for c in ACTIVITY_COLUMNS)]
        for r in data["activityReport"]
    ]
    today = [r for r in rows[1:] if r[0] == _period()[1]]
    assert today == [
        [
            _period()[1],
            "12,00",
            "60,00",
            "0,00",
            "1,50",
            "0,00",
            "38,50",
            "0,00",
            "0,00",
            "0,00",
            "0,00",
            "0,00",
            "0,00",
            "35,00",
        ]
    ]
    assert await _csv(page, "Eksportuj CSV: Najaktywniejsi klienci") == [
        ["Klient", "Wykorzystane kredyty", "Sprzedaże"],
        ["Anna Nowak", "30,00", "1"],
        ["Ewa Kowalska", "8,50", "1"],
    ]
    assert await _csv(page, "Eksportuj CSV: Koszt rabatów") == [
        ["Dzień", "Grupa", "Rabaty grup", "Promocje", "Wykorzystane kredyty", "Sprzedaże"],
        [_period()[1], "Bez grupy", "0,00", "0,00", "38,50", "2"],
    ]
    assert await _csv(page, "Eksportuj CSV: Kredyty według grup") == [
        ["Grupa", "Klienci z kredytami", "Kredyty"],
        ["Stali goście", "2", "31,50"],
        ["Bez grupy", "1", "3,50"],
    ]


async def test_another_interval_asks_the_api_again(
    page: Page, gateway: Gateway, admin: Api, seeded: dict[str, Any]
) -> None:
    await log_in(page, gateway, admin.key)
    await open_page(page, gateway, "reports")
    await expect(page.locator('[data-report="activity"] tbody tr')).to_have_count(30)

    def weekly(request: Request) -> bool:
        body = json.loads(request.post_data or "{}")
        return operation_of(body) == "ActivityReport" and body["variables"]["interval"] == "WEEK"

    async with page.expect_request(weekly):
        await page.get_by_label("Przedział").select_option(label="tydzień")
    weeks = (await _reports(admin, "WEEK"))["activityReport"]
    await expect(page.locator('[data-report="activity"] tbody tr')).to_have_count(len(weeks))
    assert await _table(page, "activity") == _activity_rows(weeks)
    assert await page.evaluate(CANVAS, "activity") == [[True, True]]

    async with page.expect_request(lambda r: '"interval":"MONTH"' in (r.post_data or "")):
        await page.get_by_label("Przedział").select_option(label="miesiąc")
    months = (await _reports(admin, "MONTH"))["activityReport"]
    await expect(page.locator('[data-report="activity"] tbody tr')).to_have_count(len(months))
    assert await _table(page, "activity") == _activity_rows(months)


async def test_a_period_ending_before_it_starts_is_refused(
    page: Page, gateway: Gateway, admin: Api, seeded: dict[str, Any]
) -> None:
    await log_in(page, gateway, admin.key)
    await open_page(page, gateway, "reports")
    start, end = _period()

    await page.get_by_label("Od dnia").fill(end)
    await page.get_by_label("Do dnia").fill(start)

    await expect(page.get_by_role("alert")).to_have_text(
        "Data „do dnia” nie może być wcześniejsza niż „od dnia”."
    )
    await expect(page.locator('[data-report="activity"]')).to_have_count(0)
    tomorrow = (date.fromisoformat(end) + timedelta(days=1)).isoformat()
    await page.get_by_label("Stan na koniec dnia").fill(tomorrow)
    await expect(page.locator('[data-report="liability"]').get_by_role("alert")).to_have_text(
        "Raport dotyczy dnia dzisiejszego lub wcześniejszego: "
        "salda przyszłego dnia nie są jeszcze znane."
    )


async def test_the_liability_of_a_past_day_is_the_apis_for_that_day(
    page: Page, gateway: Gateway, admin: Api, seeded: dict[str, Any]
) -> None:
    await log_in(page, gateway, admin.key)
    await open_page(page, gateway, "reports")
    tiles = page.locator('[data-report="liability-tiles"]')
    await expect(tiles.locator('[data-figure="outstanding"]')).to_have_text("35,00 zł")
    yesterday = (date.fromisoformat(_period()[1]) - timedelta(days=1)).isoformat()

    async with page.expect_request(lambda r: f'"at":"{yesterday}"' in (r.post_data or "")):
        await page.get_by_label("Stan na koniec dnia").fill(yesterday)

    past = (await admin.data(PAST, {"at": yesterday}))["liabilityReport"]
    assert past == {"at": yesterday, "outstanding": {"amount": "0.00"}, "byGroup": []}
    await expect(tiles.locator('[data-figure="outstanding"]')).to_have_text("0,00 zł")
    await expect(page.locator('[data-report="liability"] .empty')).to_have_text(
        ["Żaden klient nie ma kredytów.", "Żaden klient nie ma kredytów."]
    )
