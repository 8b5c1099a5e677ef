"""Customers found the way people type them, and the list sorted by name or creation.

Written by `tortoise makemigrations` (the `name_key` column and the two sort indexes), then
changed by hand:

- Every live customer's phone is stored in E.164, read in the location's country (the country of
  its time zone, else the one country of its currency; as `services.phones` reads new numbers).
  A phone that is not a valid number is left as it was, and counted in the report.
- Every card code is normalised (`domain.contacts.normalise_card_code`: spaces dropped, upper
  case). When two cards of a location normalise to the same code, one keeps it: the card whose
  code already has that form, else the oldest card. The others keep their code as it was, so no
  card is lost; each is reported (location, customer, code) for a person to resolve, and is not
  found by a lookup until its code is changed.
- Every live customer's search text (names, email and card codes folded, the phone's digits) and
  name key are rebuilt.
- On PostgreSQL, the pg_trgm extension and a trigram GIN index on the search text, which serves
  the substring search (`LIKE '%term%'`). Going back drops the index, not the extension.

The report is printed, one line for each collision and one for each location with phones left
as they were.
"""

import re

import phonenumbers
from babel.core import get_global
from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from domain.contacts import name_key, normalise_card_code, search_text

TRIGRAM_INDEX = "customers_search_text_trgm"
BATCH = 1_000


def _postgres(schema_editor):
    return schema_editor.client.capabilities.dialect == "postgres"


def _statement(sql, postgres):
    """`$n` parameters for PostgreSQL, `?` for SQLite."""
    return sql if postgres else re.sub(r"\$\d+", "?", sql)


def _region(timezone, currency):
    country = get_global("zone_territories").get(timezone)
    if isinstance(country, str) and len(country) == 2 and country != "001":
        return country
    countries = [
        territory
        for territory, currencies in get_global("territory_currencies").items()
        if len(territory) == 2
        and any(c[0] == currency and c[2] is None and c[3] is not False for c in currencies)
    ]
    return countries[0] if len(countries) == 1 else None


def _e164(phone, region):
    try:
        number = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


async def _normalise_cards(db, postgres, location_id):
    """Normalise the location's card codes; the codes each customer holds afterwards."""
    cards = (
        await db.execute_query(
            _statement(
                'SELECT "id", "customer_id", "code" FROM "customer_cards" '
                'WHERE "location_id" = $1 ORDER BY "id"',
                postgres,
            ),
            [location_id],
        )
    )[1]
    by_code = {}
    for card in cards:
        by_code.setdefault(normalise_card_code(card["code"]), []).append(card)
    changes = []
    for code, holders in by_code.items():
        keeper = next((c for c in holders if c["code"] == code), holders[0])
        if keeper["code"] != code:
            changes.append([code, keeper["id"]])
        for other in holders:
            if other is not keeper:
                print(
                    f"0010: location {location_id}: card code {other['code']!r} of customer "
                    f"{other['customer_id']} left as it was: {code!r} is customer "
                    f"{keeper['customer_id']}'s card"
                )
    if changes:
        await db.execute_many(
            _statement('UPDATE "customer_cards" SET "code" = $1 WHERE "id" = $2', postgres),
            changes,
        )
    rows = (
        await db.execute_query(
            _statement(
                'SELECT "customer_id", "code" FROM "customer_cards" WHERE "location_id" = $1 '
                'ORDER BY "customer_id", "position", "code"',
                postgres,
            ),
            [location_id],
        )
    )[1]
    held = {}
    for row in rows:
        held.setdefault(str(row["customer_id"]), []).append(row["code"])
    return held


async def _refresh_customers(db, postgres, location_id, region, held):
    """Phones in E.164, search texts and name keys rebuilt; how many phones stayed as given."""
    select = _statement(
        'SELECT "id", "first_name", "last_name", "email", "phone", "search_text", "name_key" '
        'FROM "customers" WHERE "location_id" = $1 AND "deleted_at" IS NULL AND "id" > $2 '
        'ORDER BY "id" LIMIT $3',
        postgres,
    )
    update = _statement(
        'UPDATE "customers" SET "phone" = $1, "search_text" = $2, "name_key" = $3 '
        'WHERE "id" = $4',
        postgres,
    )
    invalid, after = 0, "00000000-0000-0000-0000-000000000000"
    while rows := (await db.execute_query(select, [location_id, after, BATCH]))[1]:
        changes = []
        for row in rows:
            phone = row["phone"]
            if phone and (normalised := _e164(phone, region)) is None:
                invalid += 1
            elif phone:
                phone = normalised
            codes = held.get(str(row["id"]), [])
            text = search_text(row["first_name"], row["last_name"], row["email"], phone, codes)
            key = name_key(row["first_name"], row["last_name"])
            if (phone, text, key) != (row["phone"], row["search_text"], row["name_key"]):
                changes.append([phone, text, key, row["id"]])
        if changes:
            await db.execute_many(update, changes)
        after = rows[-1]["id"]
    return invalid


async def renormalise(apps, schema_editor):
    db = schema_editor.client
    postgres = _postgres(schema_editor)
    locations = (await db.execute_query('SELECT "id", "timezone", "currency" FROM "locations" ORDER BY "id"'))[1]
    for location in locations:
        location_id = location["id"]
        held = await _normalise_cards(db, postgres, location_id)
        region = _region(location["timezone"], location["currency"])
        invalid = await _refresh_customers(db, postgres, location_id, region, held)
        if invalid:
            print(
                f"0010: location {location_id}: {invalid} phone number(s) are not valid "
                f"numbers (read in {region or 'no country'}) and were left as they were"
            )


async def nothing(apps, schema_editor):
    pass


async def add_trigram_index(apps, schema_editor):
    if _postgres(schema_editor):
        await schema_editor.client.execute_script(
            "CREATE EXTENSION IF NOT EXISTS pg_trgm; "
            f'CREATE INDEX "{TRIGRAM_INDEX}" ON "customers" USING gin ("search_text" gin_trgm_ops)'
        )


async def drop_trigram_index(apps, schema_editor):
    if _postgres(schema_editor):
        await schema_editor.client.execute_script(f'DROP INDEX IF EXISTS "{TRIGRAM_INDEX}"')


class Migration(migrations.Migration):
    dependencies = [("models", "0009_write_off")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Customer",
            name="name_key",
            field=fields.TextField(default="", db_default="", unique=False),
        ),
        ops.AddIndex(
            model_name="Customer",
            index=Index(fields=["location_id", "name_key", "id"]),
        ),
        ops.AddIndex(
            model_name="Customer",
            index=Index(fields=["location_id", "created_at", "id"]),
        ),
        ops.RunPython(renormalise, nothing),
        ops.RunPython(add_trigram_index, drop_trigram_index),
    ]
