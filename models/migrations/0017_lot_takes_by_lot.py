"""The takes of a lot: an index on `credit_lot_takes (lot_id)`.

Written by hand, as `tortoise makemigrations` would. The liability report's split by expiry
month at a past day's end (`models.reports.expiring_by_day_at`) sums, for each lot that
expires, what the debits written before that instant took from it: a look-up by lot. The
unique key (entry_id, lot_id) serves only a debit's takes (a refund's give-back).

Nothing else changes: every row, balance, lot and entry stays as it was.
"""

from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0016_expiring_events")]

    initial = False

    operations = [
        ops.AddIndex(
            model_name="CreditLotTake",
            index=Index(fields=["lot_id"]),
        ),
    ]
