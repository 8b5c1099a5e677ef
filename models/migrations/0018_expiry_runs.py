"""Expiry runs: the expiry of credit lots becomes a job that follows the job lifecycle.

Written as `tortoise makemigrations` would (one new table):

- `expiry_runs`: one row per location and local day (unique), made by the periodic check the
  first time it finds due lots of the location that day, and run by a job (status, attempts,
  error and the timestamps, named as on every job table), with how many lots and how much it
  expired. The (status, heartbeat) index serves the check's look for silent runs.

Nothing else is rewritten: every row, balance, lot and entry stays as it was. Lots that were
due and not yet expired when the migration ran are expired by the first run the check makes.
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from models.ids import new_id


class Migration(migrations.Migration):
    dependencies = [("models", "0017_sales_returned")]

    initial = False

    operations = [
        ops.CreateModel(
            name="ExpiryRun",
            fields=[
                ("id", fields.UUIDField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ("location", fields.ForeignKeyField("models.Location", source_field="location_id", db_constraint=True, to_field="id", related_name=False, on_delete=OnDelete.CASCADE)),
                ("day", fields.DateField()),
                ("status", fields.CharField(default="QUEUED", max_length=10)),
                ("attempts", fields.IntField(default=0)),
                ("error", fields.TextField(null=True, unique=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("started_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("heartbeat_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("finished_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("lots_expired", fields.IntField(default=0)),
                ("amount_expired", fields.BigIntField(default=0)),
            ],
            options={"table": "expiry_runs", "app": "models", "unique_together": (("location_id", "day"),), "indexes": [Index(fields=["status", "heartbeat_at"])], "pk_attr": "id", "table_description": "The expiry of one location's due credit lots on one local day (`domain.expiry_runs`):"},
            bases=["Model"],
        ),
    ]
