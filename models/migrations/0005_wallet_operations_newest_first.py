"""An index for `walletOperations`, the location's operations newest first: one index range
per page instead of sorting every operation the location ever had.

Written by `tortoise makemigrations`.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index


class Migration(migrations.Migration):
    dependencies = [("models", "0004_checkouts")]

    initial = False

    operations = [
        ops.AddIndex(
            model_name="WalletOperation",
            index=Index(fields=["location_id", "created_at", "id"]),
        ),
    ]
