"""Committed checkouts: their lines, discounts and totals, the customer, the daily-limit usage
and the local business date.

Written by `tortoise makemigrations`. The index on (customer_id, business_date) makes a
customer's usage of the daily discount limit today one index range; the one on (location_id,
created_at, id) serves the newest-first history.
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from models.ids import new_id
import functools
from json import dumps, loads


class Migration(migrations.Migration):
    dependencies = [("models", "0003_integrations_sync")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Checkout",
            fields=[
                ("id", fields.UUIDField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ("location", fields.ForeignKeyField("models.Location", source_field="location_id", db_constraint=True, to_field="id", related_name=False, on_delete=OnDelete.CASCADE)),
                ("customer", fields.ForeignKeyField("models.Customer", source_field="customer_id", null=True, db_constraint=True, to_field="id", related_name="checkouts", on_delete=OnDelete.RESTRICT)),
                ("channel", fields.CharField(max_length=10)),
                ("status", fields.CharField(default="COMMITTED", max_length=10)),
                ("business_date", fields.DateField()),
                ("lines", fields.JSONField(encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads)),
                ("discounts", fields.JSONField(encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads)),
                ("subtotal", fields.BigIntField()),
                ("discount_total", fields.BigIntField()),
                ("total", fields.BigIntField()),
                ("group_discount", fields.BigIntField()),
                ("credits_used", fields.BigIntField()),
                ("cashback_granted", fields.BigIntField()),
                ("actor", fields.CharField(null=True, max_length=100)),
                ("idempotency_key", fields.CharField(max_length=200)),
                ("request_hash", fields.CharField(max_length=64)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("refunded_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={"table": "checkouts", "app": "models", "indexes": [Index(fields=["customer_id", "business_date"]), Index(fields=["location_id", "created_at", "id"])], "pk_attr": "id"},
            bases=["Model"],
        ),
    ]
