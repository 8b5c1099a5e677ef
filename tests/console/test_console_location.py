"""Ustawienia > Lokalizacja in a browser: the language the server writes in when a request names
none, and the sales channels where promotional credits may be spent, saved through
`updateLocationSettings` and checked through the API; the console speaks the location's language
until its user picks one."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.console.conftest import Api, Gateway, log_in, open_page

LOCATION = "Ustawienia"
SETTINGS = "{ viewer { location { language creditChannels } } }"


async def test_the_language_and_the_credit_channels_are_saved(
    page: Page, gateway: Gateway, admin: Api
) -> None:
    assert await admin.data(SETTINGS) == {
        "viewer": {"location": {"language": "pl", "creditChannels": ["POS", "KIOSK", "ONLINE"]}}
    }
    await log_in(page, gateway, admin.key)
    await open_page(page, gateway, "settings/location")
    language = page.get_by_label("Język wiadomości")
    channels = page.get_by_role("group", name="Promocyjne kredyty na kanałach")
    await expect(language).to_have_value("pl")
    await expect(language).to_have_accessible_description(
        "W tym języku serwer pisze komunikaty i opisy w historii portfeli, gdy kasa albo sklep"
        " nie podają języka."
    )
    for name in ("Kasa (POS)", "Kiosk", "Sklep internetowy (ONLINE)"):
        await expect(channels.get_by_label(name)).to_be_checked()

    await language.select_option(label="angielski")
    await channels.get_by_label("Sklep internetowy (ONLINE)").uncheck()
    await channels.get_by_label("Kiosk").uncheck()
    await page.get_by_role("button", name="Zapisz").click()
    await expect(page.get_by_role("status")).to_have_text("Zapisano.")
    assert await admin.data(SETTINGS) == {
        "viewer": {"location": {"language": "en", "creditChannels": ["POS"]}}
    }

    # A console whose user never picked a language speaks the location's.
    await page.reload()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Location settings")
    await expect(page.get_by_label("Language of messages")).to_have_value("en")
    channels = page.get_by_role("group", name="Promotional credits on channels")
    await expect(channels.get_by_label("Till (POS)")).to_be_checked()
    await expect(channels.get_by_label("Kiosk")).not_to_be_checked()
    await expect(channels.get_by_label("Online store (ONLINE)")).not_to_be_checked()

    # One who picked Polish keeps it.
    await page.get_by_role("button", name="Polski").click()
    await page.reload()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Ustawienia lokalizacji")
