"""Integration settings, sync runs and the GoPOS / GoOrder mirror; a sync version per location;
when a schedule run started.

Written from `tortoise makemigrations`, then changed by hand where Tortoise's schema editor
does not do what the state says:

- At most one QUEUED or RUNNING sync run per location and channel: a partial unique index.
  `CreateModel` creates no constraint of its options, and Tortoise's `AddConstraint` refuses a
  condition on SQLite; both engines take the same `CREATE UNIQUE INDEX ... WHERE` statement, so
  the constraint is recorded in the state only and the index made with raw SQL.
- `locations.sync_version` and `schedule_runs.started_at` are added to tables that hold rows:
  the first has a database default, the second is nullable.
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import UniqueConstraint

from models.ids import new_id
import functools
from json import dumps, loads

ONE_UNFINISHED_RUN = "sync_runs_one_unfinished"
UNFINISHED_CONDITION = "status IN ('QUEUED', 'RUNNING')"


class StateOnly(ops.TortoiseOperation):
    """Records `operation` in the migration state only; the RunSQL step next to it makes the
    database change."""

    def __init__(self, operation):
        self.operation = operation

    def describe(self):
        return f"{self.operation.describe()} (state only)"

    def state_forward(self, app_label, state):
        self.operation.state_forward(app_label, state)


class Migration(migrations.Migration):
    dependencies = [("models", "0002_soft_delete_constraints_idempotency")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Integration",
            fields=[
                ("id", fields.UUIDField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ("location", fields.ForeignKeyField("models.Location", source_field="location_id", db_constraint=True, to_field="id", related_name=False, on_delete=OnDelete.CASCADE)),
                ("channel", fields.CharField(max_length=10)),
                ("base_url", fields.CharField(max_length=500)),
                ("client_id", fields.CharField(null=True, max_length=200)),
                ("organization_id", fields.CharField(null=True, max_length=200)),
                ("store_id", fields.CharField(null=True, max_length=200)),
                ("sealed_secret", fields.TextField(null=True, unique=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={"table": "integrations", "app": "models", "unique_together": (("location_id", "channel"),), "pk_attr": "id", "table_description": "How one location reaches one upstream, its secret sealed by the caller."},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="OrderPromotionMirror",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("location", fields.ForeignKeyField("models.Location", source_field="location_id", db_constraint=True, to_field="id", related_name=False, on_delete=OnDelete.CASCADE)),
                ("external_id", fields.CharField(max_length=200)),
                ("name", fields.CharField(max_length=500)),
                ("reference", fields.CharField(null=True, max_length=500)),
                ("reference_key", fields.CharField(null=True, max_length=1500)),
                ("type", fields.CharField(max_length=20)),
                ("add_type", fields.CharField(max_length=50)),
                ("value", fields.BigIntField()),
                ("min_basket", fields.BigIntField(null=True)),
                ("active", fields.BooleanField()),
                ("removed", fields.BooleanField(default=False)),
                ("last_seen_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("updated_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={"table": "order_promotions", "app": "models", "unique_together": (("location_id", "external_id"),), "indexes": [Index(fields=["location_id", "reference_key"])], "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="PosDiscountMirror",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("location", fields.ForeignKeyField("models.Location", source_field="location_id", db_constraint=True, to_field="id", related_name=False, on_delete=OnDelete.CASCADE)),
                ("external_id", fields.CharField(max_length=200)),
                ("name", fields.CharField(max_length=500)),
                ("type", fields.CharField(max_length=10)),
                ("value", fields.BigIntField()),
                ("enabled", fields.BooleanField()),
                ("removed", fields.BooleanField(default=False)),
                ("last_seen_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("updated_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={"table": "pos_discounts", "app": "models", "unique_together": (("location_id", "external_id"),), "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="PosGroupMirror",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("location", fields.ForeignKeyField("models.Location", source_field="location_id", db_constraint=True, to_field="id", related_name=False, on_delete=OnDelete.CASCADE)),
                ("external_id", fields.CharField(max_length=200)),
                ("name", fields.CharField(max_length=500)),
                ("reference", fields.CharField(null=True, max_length=500)),
                ("reference_key", fields.CharField(null=True, max_length=1500)),
                ("daily_limit", fields.BigIntField(null=True)),
                ("discount_ids", fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads)),
                ("removed", fields.BooleanField(default=False)),
                ("last_seen_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("updated_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={"table": "pos_customer_groups", "app": "models", "unique_together": (("location_id", "external_id"),), "indexes": [Index(fields=["location_id", "reference_key"])], "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="SyncRun",
            fields=[
                ("id", fields.UUIDField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ("location", fields.ForeignKeyField("models.Location", source_field="location_id", db_constraint=True, to_field="id", related_name=False, on_delete=OnDelete.CASCADE)),
                ("channel", fields.CharField(max_length=10)),
                ("status", fields.CharField(default="QUEUED", max_length=10)),
                ("attempts", fields.IntField(default=0)),
                ("error", fields.TextField(null=True, unique=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("started_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("heartbeat_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("finished_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("fetched", fields.IntField(default=0)),
                ("linked", fields.IntField(default=0)),
                ("unmatched", fields.IntField(default=0)),
                ("written", fields.IntField(default=0)),
            ],
            options={"table": "sync_runs", "app": "models", "indexes": [Index(fields=["location_id", "channel", "created_at"]), Index(fields=["status", "heartbeat_at"])], "pk_attr": "id"},
            bases=["Model"],
        ),
        StateOnly(
            ops.AddConstraint(
                model_name="SyncRun",
                constraint=UniqueConstraint(fields=("location_id", "channel"), name=ONE_UNFINISHED_RUN, condition=UNFINISHED_CONDITION),
            )
        ),
        ops.RunSQL(
            f'CREATE UNIQUE INDEX "{ONE_UNFINISHED_RUN}" ON "sync_runs" ("location_id", "channel") WHERE {UNFINISHED_CONDITION}',
            f'DROP INDEX "{ONE_UNFINISHED_RUN}"',
        ),
        ops.AddField(
            model_name="Location",
            name="sync_version",
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name="ScheduleRun",
            name="started_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
