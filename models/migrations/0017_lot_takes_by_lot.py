"""The lots that expire at past instants: an index of them by location and creation, and what
they held at month ends.

Written by `tortoise makemigrations` (the table), then changed by hand (the partial index,
which Tortoise cannot describe):

- `credit_lots (location_id, created_at) WHERE expires_on IS NOT NULL`: the lots that expire
  made over a range of instants, which a month end's sums and a past day's read
  (`models.expiring_month_ends`); the indexes of 0013 hold only lots with something left now.
- `expiring_at_month_end`: what a location's lots that expire held at the end of a closed
  local month, by expiry day (`models.tables.wallet.ExpiringAtMonthEnd`), written the first
  time a report needs the month.

The takes are read by their debit entry, which the unique key (entry_id, lot_id) serves: no
index by lot is added (every debit would write it, and nothing reads the takes by lot).

Nothing is rewritten: every row, balance, lot and entry stays as it was.
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

MADE_INDEX = "credit_lots_expiring_made"


async def add_made_index(apps, schema_editor):
    await schema_editor.client.execute_query(
        f"CREATE INDEX {MADE_INDEX} ON credit_lots (location_id, created_at) "
        "WHERE expires_on IS NOT NULL"
    )


async def drop_made_index(apps, schema_editor):
    await schema_editor.client.execute_query(f"DROP INDEX IF EXISTS {MADE_INDEX}")


class Migration(migrations.Migration):
    dependencies = [("models", "0016_expiring_events")]

    initial = False

    operations = [
        ops.CreateModel(
            name="ExpiringAtMonthEnd",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("location", fields.ForeignKeyField("models.Location", source_field="location_id", db_constraint=True, to_field="id", related_name=False, on_delete=OnDelete.CASCADE)),
                ("timezone", fields.CharField(max_length=64)),
                ("month_end", fields.DateField()),
                ("expires_on", fields.DateField()),
                ("amount", fields.BigIntField()),
            ],
            options={"table": "expiring_at_month_end", "app": "models", "unique_together": (("location_id", "timezone", "month_end", "expires_on"),), "pk_attr": "id", "table_description": "What a location's lots that expire held at the end of a closed local month, by expiry"},
            bases=["Model"],
        ),
        ops.RunPython(add_made_index, drop_made_index),
    ]
