"""Ustawienia > Grupy klientów in a browser: the reference fills itself from the name while the
user types, stays editable, the API's errors appear beside their fields, the cashback hold is
set in days and listed beside the cashback, deleting asks first; every change is checked through
the API."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.console.conftest import Api, Gateway, log_in, open_page

LOCATION = "Grupy"
GROUPS = "{ customerGroups { name reference description cashbackPercent customerCount } }"


async def _open_groups(page: Page, gateway: Gateway, admin: Api) -> None:
    await log_in(page, gateway, admin.key)
    await open_page(page, gateway, "settings/groups")


async def test_a_new_group_gets_its_reference_while_the_name_is_typed(
    page: Page, gateway: Gateway, admin: Api
) -> None:
    await _open_groups(page, gateway, admin)
    await page.get_by_role("button", name="Dodaj", exact=True).click()
    dialog = page.get_by_role("dialog", name="Dodaj")
    name, reference = dialog.get_by_label("Nazwa"), dialog.get_by_label("Referencja")

    await expect(name).to_be_focused()
    await name.press_sequentially("Stały", delay=20)
    await expect(reference).to_have_value("staly")
    await name.press_sequentially(" klient", delay=20)
    await expect(reference).to_have_value("staly-klient")
    await dialog.get_by_label("Opis").fill("Goście, którzy wracają")
    await dialog.get_by_label("Cashback %").fill("2,5")
    await dialog.get_by_role("button", name="Zapisz").click()

    await expect(dialog).to_be_hidden()
    row = page.get_by_role("row").filter(has_text="Stały klient")
    await expect(row).to_contain_text("staly-klient")
    await expect(row).to_contain_text("2,5 %")
    assert (await admin.data(GROUPS))["customerGroups"] == [
        {
            "name": "Stały klient",
            "reference": "staly-klient",
            "description": "Goście, którzy wracają",
            "cashbackPercent": "2.50",
            "customerCount": 0,
        }
    ]


async def test_an_edited_reference_no_longer_follows_the_name(
    page: Page, gateway: Gateway, admin: Api
) -> None:
    await _open_groups(page, gateway, admin)
    await page.get_by_role("button", name="Dodaj", exact=True).click()
    dialog = page.get_by_role("dialog")
    name, reference = dialog.get_by_label("Nazwa"), dialog.get_by_label("Referencja")

    await name.press_sequentially("Złota karta", delay=10)
    await expect(reference).to_have_value("zlota-karta")
    await reference.fill("zloci")
    await name.press("End")
    await name.press_sequentially(" plus", delay=10)
    await page.wait_for_timeout(400)  # longer than the name's debounce
    await expect(reference).to_have_value("zloci")
    await dialog.get_by_role("button", name="Zapisz").click()

    await expect(dialog).to_be_hidden()
    groups = (await admin.data(GROUPS))["customerGroups"]
    assert {g["name"]: g["reference"] for g in groups}["Złota karta plus"] == "zloci"


async def test_a_clashing_name_shows_the_api_error_beside_the_name(
    page: Page, gateway: Gateway, admin: Api
) -> None:
    before = await admin.data(GROUPS)
    if "Stały klient" not in [g["name"] for g in before["customerGroups"]]:
        await admin.mutate(
            'mutation { createCustomerGroup(input: {name: "Stały klient"}) { errors { code } } }'
        )
        before = await admin.data(GROUPS)
    await _open_groups(page, gateway, admin)
    await page.get_by_role("button", name="Dodaj", exact=True).click()
    dialog = page.get_by_role("dialog")

    await dialog.get_by_label("Nazwa").fill("STAŁY KLIENT")
    await expect(dialog.get_by_label("Referencja")).to_have_value("staly-klient")
    await dialog.get_by_role("button", name="Zapisz").click()

    error = dialog.locator('[data-field="input.name"]')
    await expect(error).to_have_text("Referencja „staly-klient” jest już używana przez inną grupę.")
    await expect(dialog.get_by_label("Nazwa")).to_have_attribute("aria-invalid", "true")
    assert await admin.data(GROUPS) == before


async def test_the_connections_cells_line_up_with_their_row(
    page: Page, gateway: Gateway, admin: Api
) -> None:
    if not (await admin.data(GROUPS))["customerGroups"]:
        await admin.mutate(
            'mutation { createCustomerGroup(input: {name: "Stały klient"}) { errors { code } } }'
        )
    await _open_groups(page, gateway, admin)
    row = page.locator("table.list tbody tr").first
    cells = await row.locator("td").evaluate_all(
        """cells => cells.map(c => [getComputedStyle(c).display, c.getBoundingClientRect().top,
          c.getBoundingClientRect().height])"""
    )
    assert {display for display, _, _ in cells} == {"table-cell"}
    assert len({(top, height) for _, top, height in cells}) == 1


async def test_the_dialog_keeps_focus_and_escape_closes_it(
    page: Page, gateway: Gateway, admin: Api
) -> None:
    await _open_groups(page, gateway, admin)
    add = page.get_by_role("button", name="Dodaj", exact=True)
    await add.click()
    dialog = page.get_by_role("dialog")
    # the dialog takes the focus once it has rendered
    await expect(dialog).to_be_visible()
    await page.wait_for_function(
        "() => document.querySelector('[role=dialog]')?.contains(document.activeElement)"
    )

    for _ in range(12):
        await page.keyboard.press("Tab")
        assert await dialog.evaluate("(d) => d.contains(document.activeElement)")
    for _ in range(3):
        await page.keyboard.press("Shift+Tab")
        assert await dialog.evaluate("(d) => d.contains(document.activeElement)")
    await page.keyboard.press("Escape")

    await expect(dialog).to_be_hidden()
    await expect(add).to_be_focused()


async def test_deleting_a_group_asks_first(page: Page, gateway: Gateway, admin: Api) -> None:
    await admin.mutate(
        'mutation { createCustomerGroup(input: {name: "Do usunięcia"}) { errors { code } } }'
    )
    await _open_groups(page, gateway, admin)

    await page.get_by_role("button", name="Usuń grupę Do usunięcia").click()
    confirm = page.get_by_role("dialog", name="Usunąć grupę?")
    await confirm.get_by_role("button", name="Anuluj").click()
    await expect(confirm).to_be_hidden()
    names = [g["name"] for g in (await admin.data(GROUPS))["customerGroups"]]
    assert "Do usunięcia" in names

    await page.get_by_role("button", name="Usuń grupę Do usunięcia").click()
    await confirm.get_by_role("button", name="Usuń").click()
    await expect(page.get_by_role("row").filter(has_text="Do usunięcia")).to_have_count(0)
    names = [g["name"] for g in (await admin.data(GROUPS))["customerGroups"]]
    assert "Do usunięcia" not in names


async def test_a_group_holds_its_cashback_for_the_days_given(
    page: Page, gateway: Gateway, admin: Api
) -> None:
    holds = "{ customerGroups { name cashbackPercent cashbackHoldDays } }"
    await _open_groups(page, gateway, admin)
    await page.get_by_role("button", name="Dodaj", exact=True).click()
    dialog = page.get_by_role("dialog", name="Dodaj")
    hold = dialog.get_by_label("Wstrzymanie cashbacku (dni)")
    await dialog.get_by_label("Nazwa").fill("Nowi goście")
    await dialog.get_by_label("Cashback %").fill("10")
    await expect(hold).to_have_value("0")

    # a number that is not whole is refused in the browser, one out of range by the API
    before = await admin.data(holds)
    for typed, message in (
        ("7,5", "Podaj liczbę całkowitą dni, od 0 do 365."),
        ("366", "Wstrzymanie trwa od 0 do 365 dni."),
    ):
        await hold.fill(typed)
        await dialog.get_by_role("button", name="Zapisz").click()
        await expect(dialog.locator('[data-field="input.cashbackHoldDays"]')).to_have_text(message)
        await expect(hold).to_have_attribute("aria-invalid", "true")
    assert await admin.data(holds) == before

    await hold.fill("7")
    await dialog.get_by_role("button", name="Zapisz").click()
    await expect(dialog).to_be_hidden()
    row = page.get_by_role("row").filter(has_text="Nowi goście")
    await expect(row).to_contain_text("10 %")
    await expect(row).to_contain_text("7 dni")
    groups = {g["name"]: g for g in (await admin.data(holds))["customerGroups"]}
    assert groups["Nowi goście"] == {
        "name": "Nowi goście",
        "cashbackPercent": "10.00",
        "cashbackHoldDays": 7,
    }

    # an edited group shows its hold, and emptying the field ends it
    await page.get_by_role("button", name="Edytuj grupę Nowi goście").click()
    edit = page.get_by_role("dialog", name="Edytuj grupę")
    await expect(edit.get_by_label("Wstrzymanie cashbacku (dni)")).to_have_value("7")
    await edit.get_by_label("Wstrzymanie cashbacku (dni)").fill("")
    await edit.get_by_role("button", name="Zapisz").click()
    await expect(edit).to_be_hidden()
    await expect(row).not_to_contain_text("dni")
    groups = {g["name"]: g for g in (await admin.data(holds))["customerGroups"]}
    assert groups["Nowi goście"]["cashbackHoldDays"] == 0
