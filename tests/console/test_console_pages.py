"""Every console page and dialog, on a location with data in every list: axe-core finds no
serious or critical accessibility violation, the page logs no error (no Content-Security-Policy
violation), and a 1366×768 screenshot is written (see the `screenshots` fixture;
GOCRM_SCREENSHOTS=docs makes the README's)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import FilePayload, Page, expect

from tests.console.conftest import SIMULATORS, Api, Gateway, log_in, open_page

LOCATION = "Strony"
AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
GROUP = """mutation($input: CustomerGroupInput!) { createCustomerGroup(input: $input) {
  group { id } errors { code field message } } }"""
CUSTOMER = """mutation($input: CustomerInput!) { createCustomer(input: $input) {
  customer { id } errors { code field message } } }"""
CREDITS = """mutation($input: SetPromotionalCreditsInput!) { setPromotionalCredits(input: $input) {
  operation { id } schedule { id } errors { code field message } } }"""
CONFIGURE = """mutation($channel: Channel!, $input: IntegrationInput!) {
  configureIntegration(channel: $channel, input: $input) { errors { code field message } } }"""
SYNCHRONIZE = """mutation($channel: Channel!) { synchronize(channel: $channel) {
  syncRun { id } errors { code field message } } }"""
SYNC_RUN = "query($id: ID!) { syncRun(id: $id) { status error } }"
COMMIT = """mutation($input: CheckoutInput!, $key: String!) {
  commitCheckout(input: $input, idempotencyKey: $key) {
    checkout { id } quote { total { amount } } errors { code field message } } }"""
FIRST_NAMES = ("Anna", "Piotr", "Katarzyna", "Tomasz", "Magdalena", "Paweł")
LAST_NAMES = ("Nowak", "Kowalski", "Wiśniewska", "Wójcik", "Kamińska", "Lewandowski")
ASCII = str.maketrans("ąćęłńóśźż", "acelnoszz")
RUN_AXE = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5),
  }));
}"""


async def _synchronised(admin: Api, channel: str) -> None:
    run = (await admin.mutate(SYNCHRONIZE, {"channel": channel}))["syncRun"]["id"]
    for _ in range(100):
        found = (await admin.data(SYNC_RUN, {"id": run}))["syncRun"]
        if found["status"] in ("SUCCEEDED", "FAILED"):
            assert found == {"status": "SUCCEEDED", "error": None}
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the {channel} sync did not finish")


@pytest.fixture(scope="module")
async def seeded(admin: Api, gateway: Gateway) -> dict[str, Any]:
    """Groups (one holding its cashback for 7 days), 36 customers, a bulk credit, a schedule,
    both integrations synchronised, a sale whose cashback is held and a till's key."""
    groups = {}
    for name, cashback, hold in (
        ("Stały klient", "2.50", 0),
        ("VIP", "5.00", 7),
        ("Pracownicy", None, 0),
    ):
        group = {"name": name, "cashbackPercent": cashback, "cashbackHoldDays": hold}
        payload = await admin.mutate(GROUP, {"input": group})
        groups[name] = payload["group"]["id"]
    customers = []
    for n in range(36):
        first, last = FIRST_NAMES[n % 6], LAST_NAMES[(n * 5) % 6]
        member_of = [groups["Stały klient"]] if n % 2 == 0 else []
        member_of += [groups["VIP"]] if n % 9 == 0 else []
        payload = await admin.mutate(
            CUSTOMER,
            {
                "input": {
                    "firstName": first,
                    "lastName": last,
                    "email": f"{first}.{n}@example.com".lower().translate(ASCII),
                    "phone": f"+48 600 100 {n:03d}",
                    "cards": [{"code": f"ST{n:04d}"}],
                    "groupIds": member_of,
                }
            },
        )
        customers.append(payload["customer"]["id"])
    await admin.mutate(
        CREDITS,
        {
            "input": {
                "target": {"filter": {"groupIds": [groups["Stały klient"]]}},
                "operation": "ADD",
                "amount": "20.00",
                "description": "Powitalne kredyty",
            }
        },
    )
    await admin.mutate(
        CREDITS,
        {
            "input": {
                "target": {"filter": {"groupIds": [groups["VIP"]]}},
                "operation": "SET",
                "amount": "100.00",
                "description": "Miesięczne kredyty VIP",
                "recurrence": {"every": 1, "unit": "MONTH", "startDate": "2030-01-31"},
            }
        },
    )
    await admin.mutate(
        CONFIGURE,
        {
            "channel": "GOPOS",
            "input": {
                "baseUrl": f"{gateway.url}{SIMULATORS['gopos']}",
                "clientId": "gocrm-demo",
                "clientSecret": "demo-gopos-secret",
                "organizationId": "1001",
            },
        },
    )
    await admin.mutate(
        CONFIGURE,
        {
            "channel": "GOORDER",
            "input": {
                "baseUrl": f"{gateway.url}{SIMULATORS['goorder']}",
                "apiKey": "demo-goorder-key",
                "storeId": "demo-store",
            },
        },
    )
    await _synchronised(admin, "GOPOS")
    await _synchronised(admin, "GOORDER")
    lines = [
        {"productId": "latte", "name": "Latte", "quantity": "2", "unitPrice": "12.50"},
        {"productId": "sernik", "name": "Sernik", "quantity": "1", "unitPrice": "18.90"},
    ]
    sale = await admin.mutate(
        COMMIT, {"input": {"cardCode": "ST0000", "lines": lines}, "key": "strony-1"}
    )
    await admin.mutate(
        """mutation { createApiKey(name: "Kasa 1", role: POS) { errors { code } } }"""
    )
    # customers[2], of Stały klient, holds the 20.00 given above and nothing held.
    return {"customer": customers[0], "credited": customers[2], "sale": sale["checkout"]["id"]}


async def _credits_dialog(page: Page) -> None:
    await page.get_by_label("Grupa klientów").select_option(label="Stały klient")
    await expect(page.get_by_text("Wyniki: 18")).to_be_visible()
    await page.get_by_role("button", name="Zaznacz wszystkie wyniki (18)").click()
    await page.get_by_role("button", name="Ustaw promocyjne kredyty").click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_label("Kwota").fill("50,00")
    await dialog.get_by_label("Opis").fill("Doładowanie środków")
    await dialog.get_by_label("Powtarzaj", exact=True).check()
    await expect(dialog.locator('[data-preview="balanceAfter"]')).to_be_visible()


async def _group_dialog(page: Page) -> None:
    await page.get_by_role("button", name="Edytuj grupę Stały klient").click()
    await expect(page.get_by_role("dialog").get_by_label("Referencja")).to_have_value(
        "staly-klient"
    )


async def _key_dialog(page: Page) -> None:
    await page.get_by_role("button", name="Dodaj klucz").click()
    await page.get_by_role("dialog").get_by_label("Nazwa").fill("Kiosk")


async def _key_created(page: Page) -> None:
    await _key_dialog(page)
    await page.get_by_role("dialog").get_by_role("button", name="Utwórz").click()
    await expect(page.get_by_role("button", name="Kopiuj klucz")).to_be_visible()


async def _group_deletion(page: Page) -> None:
    await page.get_by_role("button", name="Usuń grupę VIP").click()
    await expect(page.get_by_role("dialog").locator('[data-schedules="ending"] li')).to_have_count(
        1
    )


async def _schedule_edit(page: Page) -> None:
    await page.get_by_role("button", name="Edytuj doładowanie: VIP (klientów teraz: 4)").click()
    await expect(page.get_by_role("dialog").get_by_label("Kwota")).to_have_value("100,00")


async def _customer_menu(page: Page) -> None:
    await page.get_by_role("button", name="Więcej").click()
    await expect(page.get_by_role("menuitem", name="Usuń klienta")).to_be_visible()


async def _delete_dialog(page: Page) -> None:
    await page.get_by_role("button", name="Więcej").click()
    await page.get_by_role("menuitem", name="Usuń klienta").click()
    await expect(page.get_by_role("dialog").get_by_role("alert")).to_be_visible()


async def _members_dialog(page: Page) -> None:
    await page.get_by_role("button", name="Zaznacz wszystkie wyniki (36)").click()
    await page.get_by_role("button", name="Grupa…").click()
    await page.get_by_role("dialog").get_by_label("Grupa", exact=True).select_option(label="VIP")


# A file with a problem on each of its last two lines, as a manager's first try may be.
IMPORT_FILE = "\r\n".join(
    [
        "first_name;last_name;email;phone;note;card_code;groups",
        "Agnieszka;Zielińska;agnieszka.zielinska@example.pl;+48 601 234 567;;KARTA-0001;VIP",
        "Łukasz;Wiśniewski;lukasz.wisniewski@example.pl;;Stolik przy oknie;KARTA-0002;",
        "Małgorzata;Kowalczyk;malgorzata@example;;;KARTA-0003;VIP",
        "Zofia;Wójcik;zofia.wojcik@example.pl;;;;Stały klient",
    ]
)


async def _import_dialog(page: Page) -> None:
    await page.get_by_role("button", name="Importuj CSV").click()
    file = FilePayload(name="klienci.csv", mimeType="text/csv", buffer=IMPORT_FILE.encode())
    await page.get_by_role("dialog").get_by_label("Plik CSV").set_input_files(files=[file])
    await expect(page.locator('[data-import="checked"]')).to_be_visible()
    await page.get_by_role("button", name="Importuj (wierszy: 4)").scroll_into_view_if_needed()


async def _english(page: Page) -> None:
    await page.get_by_role("button", name="English").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Customers")


Opener = Callable[[Page], Awaitable[None]] | None
# (screenshot name, route, what to open on it); None as the route is the log-in page.
PAGES: list[tuple[str, str | None, Opener]] = [
    ("login", None, None),
    ("customers", "customers", None),
    ("credits-dialog", "customers", _credits_dialog),
    ("customers-en", "customers", _english),
    ("customer", "customers/{customer}", _customer_menu),
    ("customer-new", "customers/new", None),
    ("customer-delete", "customers/{credited}", _delete_dialog),
    ("customers-group", "customers", _members_dialog),
    ("customer-import", "customers", _import_dialog),
    ("sales", "sales", None),
    ("sale", "sales/{sale}", None),
    ("schedules", "schedules", None),
    ("schedule-edit", "schedules", _schedule_edit),
    ("operations", "operations", None),
    ("reports", "reports", None),
    ("integrations", "integrations/connections", None),
    ("integrations-settings", "integrations", None),
    ("groups", "settings/groups", None),
    ("group-dialog", "settings/groups", _group_dialog),
    ("group-deletion", "settings/groups", _group_deletion),
    ("api-keys", "settings/api-keys", None),
    ("api-key-dialog", "settings/api-keys", _key_dialog),
    ("api-key-created", "settings/api-keys", _key_created),
    ("location", "settings/location", None),
]


@pytest.mark.parametrize(("name", "route", "opener"), PAGES, ids=[p[0] for p in PAGES])
async def test_every_page_passes_axe_and_is_photographed(
    page: Page,
    gateway: Gateway,
    admin: Api,
    seeded: dict[str, Any],
    screenshots: Path,
    name: str,
    route: str | None,
    opener: Opener,
) -> None:
    # An init script reaches the page without an inline <script>: the policy stays as served.
    await page.context.add_init_script(path=AXE)
    if route is None:
        await page.goto(f"{gateway.url}/console/")
        await page.get_by_label("Klucz API").wait_for()
    else:
        await log_in(page, gateway, admin.key)
        await open_page(page, gateway, route.format(**seeded))
    if opener is not None:
        await opener(page)

    violations = await page.evaluate(RUN_AXE)
    await page.screenshot(path=screenshots / f"console-{name}.png")

    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == [], [f"{v['id']} ({v['impact']}): {v['nodes']}" for v in serious]
