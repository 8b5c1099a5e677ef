"""The channels where a location's promotional credits may be used, and the group whose daily
discount limit each sale's group discount took.

Written by hand in `tortoise makemigrations`'s form:

- Every location keeps using credits on every channel (POS, KIOSK, ONLINE), as before.
- A GoPOS group's daily discount limit counts only the discounts granted through that group: a
  checkout records the reference of the group its group discount came through. Earlier sales
  recorded it only in their discounts' JSON; it is copied from there, so that today's usage
  reads the same after the upgrade.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

_FROM_JSON = {
    "postgres": (
        "(SELECT d->>'reference' FROM jsonb_array_elements(c.\"discounts\") d "
        "WHERE d->>'kind' = 'GROUP_DISCOUNT' LIMIT 1)"
    ),
    "sqlite": (
        "(SELECT json_extract(d.value, '$.reference') FROM json_each(c.\"discounts\") d "
        "WHERE json_extract(d.value, '$.kind') = 'GROUP_DISCOUNT' LIMIT 1)"
    ),
}


async def record_discount_references(apps, schema_editor):
    db = schema_editor.client
    dialect = "postgres" if db.capabilities.dialect == "postgres" else "sqlite"
    await db.execute_query(
        f'UPDATE "checkouts" AS c SET "discount_reference" = {_FROM_JSON[dialect]} '
        'WHERE c."group_discount" > 0'
    )


async def nothing(apps, schema_editor):
    pass


class Migration(migrations.Migration):
    dependencies = [("models", "0007_messages")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Location",
            name="credit_channels",
            field=fields.CharField(
                default="POS,KIOSK,ONLINE", db_default="POS,KIOSK,ONLINE", max_length=32
            ),
        ),
        ops.AddField(
            model_name="Checkout",
            name="discount_reference",
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.RunPython(record_discount_references, nothing),
    ]
