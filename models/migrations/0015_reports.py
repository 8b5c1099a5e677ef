"""Indexes for the owner's reports.

Written by hand in `tortoise makemigrations`'s form:

- `wallet_entries (location_id, created_at)`: a report reads a location's ledger over a range
  of days (activity, and the liability at a past day's end).
- `checkouts (location_id, business_date)`: the discount-cost and top-customer reports read a
  location's sales over a range of business days.

Nothing is rewritten: every row, balance and entry stays as it was.
"""

from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0010_customer_search")]

    initial = False

    operations = [
        ops.AddIndex(
            model_name="WalletEntry",
            index=Index(fields=["location_id", "created_at"]),
        ),
        ops.AddIndex(
            model_name="Checkout",
            index=Index(fields=["location_id", "business_date"]),
        ),
    ]
