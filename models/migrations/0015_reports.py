"""The owner's reports: summed closed days of the ledger, balances at month ends, two indexes.

Written by `tortoise makemigrations`, with this docstring:

- `ledger_days`: a location's ledger of one closed local day, summed by kind, source and sign
  (`models.tables.wallet.LedgerDay`), filled the first time a report needs the day.
- `balances_at_month_end`: each customer's balance at the end of a closed local month
  (`models.tables.wallet.BalanceAtMonthEnd`), written the first time a report needs the month.
- `wallet_entries (location_id, created_at)`: a report reads a location's ledger over a range
  of instants (the days not summed yet, today, and the entries since a past day's end).
- `checkouts (location_id, business_date)`: the discount-cost and top-customer reports read a
  location's sales over a range of business days.

Nothing is rewritten: every row, balance and entry stays as it was.
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0014_webhooks")]

    initial = False

    operations = [
        ops.CreateModel(
            name="BalanceAtMonthEnd",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("location", fields.ForeignKeyField("models.Location", source_field="location_id", db_constraint=True, to_field="id", related_name=False, on_delete=OnDelete.CASCADE)),
                ("timezone", fields.CharField(max_length=64)),
                ("month_end", fields.DateField()),
                ("customer_id", fields.UUIDField()),
                ("balance", fields.BigIntField()),
            ],
            options={"table": "balances_at_month_end", "app": "models", "unique_together": (("location_id", "timezone", "month_end", "customer_id"),), "pk_attr": "id", "table_description": "Each customer's balance at the end of a closed local month of its location, for the"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="LedgerDay",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "location",
                    fields.ForeignKeyField(
                        "models.Location",
                        source_field="location_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("timezone", fields.CharField(max_length=64)),
                ("day", fields.DateField()),
                ("kind", fields.CharField(max_length=20)),
                ("source", fields.CharField(max_length=10)),
                ("positive", fields.BooleanField()),
                ("delta_high", fields.BigIntField()),
                ("delta_low", fields.BigIntField()),
                ("requested_high", fields.BigIntField()),
                ("requested_low", fields.BigIntField()),
            ],
            options={
                "table": "ledger_days",
                "app": "models",
                "unique_together": (
                    ("location_id", "timezone", "day", "kind", "source", "positive"),
                ),
                "pk_attr": "id",
                "table_description": "The ledger of one closed local day of a location, summed by kind, source and the sign of",
            },
            bases=["Model"],
        ),
        ops.AddIndex(
            model_name="Checkout",
            index=Index(fields=["location_id", "business_date"]),
        ),
        ops.AddIndex(
            model_name="WalletEntry",
            index=Index(fields=["location_id", "created_at"]),
        ),
    ]
