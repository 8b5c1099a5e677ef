"""Phone numbers as a location's customers type them, parsed with phonenumbers (libphonenumber).

A number is stored in E.164 (``+48600005123``). One written without a country code is read in
the location's country, which a location does not store: it is the country of the location's
time zone (Europe/Warsaw → PL, from the CLDR data Babel ships), else the one country that uses
the location's currency (PLN → PL), else none, and then only numbers with a country code are
valid.
"""

from __future__ import annotations

from functools import cache

import phonenumbers
from babel.core import get_global

from domain import entities
from domain.contacts import PhoneRule


@cache
def _currency_countries() -> dict[str, list[str]]:
    """Each currency in use today, with the countries that use it."""
    found: dict[str, list[str]] = {}
    for country, currencies in get_global("territory_currencies").items():
        for currency in currencies:
            if currency[2] is None and currency[3] is not False and len(country) == 2:
                found.setdefault(currency[0], []).append(country)
    return found


def location_region(timezone: str, currency: str) -> str | None:
    """The country (ISO 3166 alpha-2) a location's phone numbers are read in by default."""
    zone_country = get_global("zone_territories").get(timezone)
    if isinstance(zone_country, str) and len(zone_country) == 2 and zone_country != "001":
        return zone_country
    countries = _currency_countries().get(currency, [])
    return countries[0] if len(countries) == 1 else None


def e164(phone: str, region: str | None) -> str | None:
    """The number in E.164, or None when it does not parse or is not a valid number."""
    try:
        number = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_rule(location: entities.Location) -> PhoneRule:
    """How the location's phone numbers are read (see the module docstring)."""
    region = location_region(location.timezone, location.currency)
    return lambda phone: e164(phone, region)
