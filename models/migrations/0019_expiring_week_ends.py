"""The lots that expire at past instants: two indexes to read them over a range of instants, and
what they held at week ends.

Written by `tortoise makemigrations` (the table), then changed by hand (the partial indexes,
which Tortoise cannot describe):

- `credit_lots (location_id, created_at, expires_on, amount) WHERE expires_on IS NOT NULL`: the
  lots that expire made over a range of instants, read from the index alone, which a week
  end's sums and a past day's read (`models.expiring_week_ends`); the indexes of 0013 hold only
  lots with something left now.
- `wallet_entries (location_id, created_at) WHERE kind = 'EXPIRE'`: the EXPIRE entries written
  over a range of instants, without reading the other entries of the range.
- `expiring_at_week_end`: what a location's lots that expire held at the end of a closed
  local week, by expiry day (`models.tables.wallet.ExpiringAtWeekEnd`), written the first time
  a report needs the week.

The takes are read by their debit entry, which the unique key (entry_id, lot_id) serves: no
index by lot is added (every debit would write it, and nothing reads the takes by lot).

Nothing is rewritten: every row, balance, lot and entry stays as it was.
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

MADE_INDEX = "credit_lots_expiring_made"
EXPIRED_INDEX = "wallet_entries_expired"

_INDEXES = (
    f"CREATE INDEX {MADE_INDEX} ON credit_lots (location_id, created_at, expires_on, amount) "
    "WHERE expires_on IS NOT NULL",
    f"CREATE INDEX {EXPIRED_INDEX} ON wallet_entries (location_id, created_at) "
    "WHERE kind = 'EXPIRE'",
)


async def add_indexes(apps, schema_editor):
    for statement in _INDEXES:
        await schema_editor.client.execute_query(statement)


async def drop_indexes(apps, schema_editor):
    for name in (MADE_INDEX, EXPIRED_INDEX):
        await schema_editor.client.execute_query(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("models", "0018_expiry_runs")]

    initial = False

    operations = [
        ops.CreateModel(
            name="ExpiringAtWeekEnd",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("location", fields.ForeignKeyField("models.Location", source_field="location_id", db_constraint=True, to_field="id", related_name=False, on_delete=OnDelete.CASCADE)),
                ("timezone", fields.CharField(max_length=64)),
                ("week_end", fields.DateField()),
                ("expires_on", fields.DateField()),
                ("amount", fields.BigIntField()),
            ],
            options={"table": "expiring_at_week_end", "app": "models", "unique_together": (("location_id", "timezone", "week_end", "expires_on"),), "pk_attr": "id", "table_description": "What a location's lots that expire held at the end of a closed local week (its Sunday),"},
            bases=["Model"],
        ),
        ops.RunPython(add_indexes, drop_indexes),
    ]
