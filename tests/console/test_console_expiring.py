"""Raporty's Wygasające kredyty in a browser: on a location where two customers hold credits
that expire (one also credits that never do) and a third holds credits without expiry, the
table, the total and the count equal the API's `expiringCredits` before the default day (30 days
from today), a CSV file holds exactly the table's rows, another day asks the API again, and
Więcej reads the next page after the connection's cursor; axe-core finds no serious or critical
violation in the section. Photographed for docs/console-reports-expiring.png."""

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

LOCATION = "Wygasające"
GROUP = """mutation($input: CustomerGroupInput!) { createCustomerGroup(input: $input) {
  group { id } errors { code field message } } }"""
CUSTOMER = """mutation($input: CustomerInput!) { createCustomer(input: $input) {
  customer { id } errors { code field message } } }"""
CREDITS = """mutation($input: SetPromotionalCreditsInput!) { setPromotionalCredits(input: $input) {
  operation { id } errors { code field message } } }"""
EXPIRING = """query($before: Date!, $first: Int, $after: String) {
  expiringCredits(before: $before, first: $first, after: $after) {
    edges { node { customer { id firstName lastName } amount { amount } firstExpiresOn } }
    pageInfo { hasNextPage endCursor }
    totalCount
    total { amount }
  }
}"""
MONTHS = ["sty", "lut", "mar", "kwi", "maj", "cze", "lip", "sie", "wrz", "paź", "lis", "gru"]
TABLE = """() => [...document.querySelectorAll('[data-report="expiring"] tbody tr')]
  .map((tr) => [...tr.cells].map((td) => td.textContent.trim()))"""
ROWS = '[data-report="expiring"] tbody tr'
AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
RUN_AXE = """async () => {
  const result = await axe.run('[data-report="expiring"]', { resultTypes: ["violations"] });
  return result.violations
    .filter((v) => ["serious", "critical"].includes(v.impact)).map((v) => v.id);
}"""
# Customers whose credits expire only in 200 days: one more than a page of 50.
LATER = 51


def _in_days(days: int) -> str:
    return (datetime.now(ZoneInfo("Europe/Warsaw")).date() + timedelta(days=days)).isoformat()


def _zl(amount: str) -> str:
    """ "1234.50" as the console shows it in Polish: "1 234,50 zł"."""
    whole, fraction = amount.split(".")
    return f"{int(whole):,}".replace(",", " ") + f",{fraction} zł"


def _day(text: str) -> str:
    day = date.fromisoformat(text)
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


async def _credit(admin: Api, target: dict[str, Any], amount: str, expires: str | None) -> None:
    credit = {"target": target, "operation": "ADD", "amount": amount, "expiresOn": expires}
    assert (await admin.mutate(CREDITS, {"input": credit}))["errors"] == []


async def _customer(admin: Api, first: str, last: str, groups: list[str]) -> str:
    person = {"firstName": first, "lastName": last, "groupIds": groups}
    return str((await admin.mutate(CUSTOMER, {"input": person}))["customer"]["id"])


@pytest.fixture(scope="module")
async def seeded(admin: Api) -> dict[str, str]:
    """Anna: 10.00 expiring in 20 days and 5.00 in 7; Jan: 8.00 expiring in 3 days and 4.00
    never; Ewa: 12.00 that never expires; 51 customers of a group: 1.00 each in 200 days."""
    anna = await _customer(admin, "Anna", "Nowak", [])
    jan = await _customer(admin, "Jan", "Kowalski", [])
    ewa = await _customer(admin, "Ewa", "Bezterminowa", [])
    await _credit(admin, {"customerIds": [anna]}, "10.00", _in_days(20))
    await _credit(admin, {"customerIds": [anna]}, "5.00", _in_days(7))
    await _credit(admin, {"customerIds": [jan]}, "8.00", _in_days(3))
    await _credit(admin, {"customerIds": [jan]}, "4.00", None)
    await _credit(admin, {"customerIds": [ewa]}, "12.00", None)
    payload = await admin.mutate(GROUP, {"input": {"name": "Później"}})
    group = payload["group"]["id"]
    for n in range(LATER):
        await _customer(admin, "Klient", f"Późny {n:02d}", [group])
    await _credit(admin, {"filter": {"groupIds": [group]}}, "1.00", _in_days(200))
    return {"anna": anna, "jan": jan, "ewa": ewa}


async def _api(admin: Api, before: str) -> tuple[list[list[str]], dict[str, Any]]:
    """Every page of the API's answer as the table shows it, and the first page's figures."""
    rows: list[list[str]] = []
    after = None
    first: dict[str, Any] = {}
    while True:
        variables = {"before": before, "first": 50, "after": after}
        found = (await admin.data(EXPIRING, variables))["expiringCredits"]
        first = first or found
        for edge in found["edges"]:
            node = edge["node"]
            name = f"{node['customer']['firstName']} {node['customer']['lastName']}"
            rows.append([name, _zl(node["amount"]["amount"]), _day(node["firstExpiresOn"])])
        if not found["pageInfo"]["hasNextPage"]:
            return rows, first
        after = found["pageInfo"]["endCursor"]


async def _table(page: Page) -> list[list[str]]:
    rows: list[list[str]] = await page.evaluate(TABLE)
    return [[plain(cell) for cell in row] for row in rows]


async def _figures(page: Page) -> tuple[str, str]:
    tiles = page.locator('[data-report="expiring-tiles"]')
    total = await tiles.locator('[data-figure="expiring-total"]').inner_text()
    return plain(total), await tiles.locator('[data-figure="expiring-count"]').inner_text()


async def _csv(page: Page, before: str | None = None) -> list[list[str]]:
    async with page.expect_download() as started:
        await page.get_by_role("button", name="Eksportuj CSV: Wygasające kredyty").click()
    download = await started.value
    data = await asyncio.to_thread(Path(await download.path()).read_bytes)
    assert data.startswith(b"\xef\xbb\xbf")
    assert download.suggested_filename == f"wygasajace-kredyty-przed-{before or _in_days(30)}.csv"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


async def test_the_table_total_and_count_are_the_apis_before_30_days_from_today(
    page: Page, gateway: Gateway, admin: Api, seeded: dict[str, str], screenshots: Path
) -> None:
    await page.context.add_init_script(path=AXE)
    await log_in(page, gateway, admin.key)
    await open_page(page, gateway, "reports")
    section = page.locator('[data-report="expiring"]')
    await expect(section.locator("h2")).to_have_text("Wygasające kredyty")
    assert await page.get_by_label("Wygasające przed dniem").input_value() == _in_days(30)
    await expect(page.locator(ROWS)).to_have_count(2)

    rows, found = await _api(admin, _in_days(30))
    assert await _table(page) == rows
    assert rows == [
        ["Jan Kowalski", "8,00 zł", _day(_in_days(3))],
        ["Anna Nowak", "15,00 zł", _day(_in_days(7))],
    ]
    assert (found["totalCount"], found["total"]["amount"]) == (2, "23.00")
    assert await _figures(page) == ("23,00 zł", "2")
    await expect(section.locator('[data-report="expiring-shown"]')).to_have_text(
        "Wczytano 2 z 2 klientów."
    )
    await expect(section.get_by_role("button", name="Więcej")).to_have_count(0)
    assert await page.evaluate(RUN_AXE) == []

    await page.locator("#expiring-title").evaluate("(heading) => heading.scrollIntoView()")
    await page.screenshot(path=screenshots / "console-reports-expiring.png")
    await section.get_by_role("link", name="Anna Nowak").click()
    await expect(page.locator("main h1")).to_have_text("Anna Nowak")
    assert page.url.endswith(f"#/customers/{seeded['anna']}")


async def test_a_csv_file_holds_the_expiring_rows(
    page: Page, gateway: Gateway, admin: Api, seeded: dict[str, str]
) -> None:
    await log_in(page, gateway, admin.key)
    await open_page(page, gateway, "reports")
    await expect(page.locator(ROWS)).to_have_count(2)

    assert await _csv(page) == [
        ["Klient", "Wygasające kredyty", "Pierwsze wygaśnięcie"],
        ["Jan Kowalski", "8,00", _in_days(3)],
        ["Anna Nowak", "15,00", _in_days(7)],
    ]


async def test_the_csv_file_holds_every_customer_not_only_the_page_shown(
    page: Page, gateway: Gateway, admin: Api, seeded: dict[str, str]
) -> None:
    await log_in(page, gateway, admin.key)
    await open_page(page, gateway, "reports")
    await expect(page.locator(ROWS)).to_have_count(2)
    far = _in_days(365)
    await page.get_by_label("Wygasające przed dniem").fill(far)
    await expect(page.locator(ROWS)).to_have_count(50)

    written = await _csv(page, far)

    found = (await admin.data(EXPIRING, {"before": far, "first": 100}))["expiringCredits"]
    nodes = [edge["node"] for edge in found["edges"]]
    assert len(nodes) == found["totalCount"] == 53
    assert written == [
        ["Klient", "Wygasające kredyty", "Pierwsze wygaśnięcie"],
        *(
            [
                f"{n['customer']['firstName']} {n['customer']['lastName']}",
                n["amount"]["amount"].replace(".", ","),
                n["firstExpiresOn"],
            ]
            for n in nodes
        ),
    ]
    await expect(page.locator(ROWS)).to_have_count(50)  # the table still shows its page


def _asks(before: str, after: bool = False) -> Any:
    def matches(request: Request) -> bool:
        body = json.loads(request.post_data or "{}")
        if operation_of(body) != "ExpiringCredits":
            return False
        variables = body["variables"]
        return variables["before"] == before and (variables.get("after") is not None) == after

    return matches


async def test_another_day_asks_again_and_more_reads_the_next_page(
    page: Page, gateway: Gateway, admin: Api, seeded: dict[str, str]
) -> None:
    await log_in(page, gateway, admin.key)
    await open_page(page, gateway, "reports")
    await expect(page.locator(ROWS)).to_have_count(2)
    day = page.get_by_label("Wygasające przed dniem")
    section = page.locator('[data-report="expiring"]')

    far = _in_days(365)
    async with page.expect_request(_asks(far)):
        await day.fill(far)
    await expect(page.locator(ROWS)).to_have_count(50)
    rows, found = await _api(admin, far)
    assert len(rows) == 2 + LATER
    assert await _table(page) == rows[:50]
    assert (found["totalCount"], found["total"]["amount"]) == (53, "74.00")
    assert await _figures(page) == ("74,00 zł", "53")
    await expect(section.locator('[data-report="expiring-shown"]')).to_have_text(
        "Wczytano 50 z 53 klientów.Więcej"
    )

    async with page.expect_request(_asks(far, after=True)):
        await section.get_by_role("button", name="Więcej").click()
    await expect(page.locator(ROWS)).to_have_count(53)
    assert await _table(page) == rows
    await expect(section.get_by_role("button", name="Więcej")).to_have_count(0)

    soon = _in_days(5)
    async with page.expect_request(_asks(soon)):
        await day.fill(soon)
    await expect(page.locator(ROWS)).to_have_count(1)
    assert await _table(page) == [["Jan Kowalski", "8,00 zł", _day(_in_days(3))]]
    assert await _figures(page) == ("8,00 zł", "1")

    await day.fill("")
    await expect(section.get_by_role("alert")).to_have_text("Podaj dzień.")
    await expect(page.locator(ROWS)).to_have_count(0)
