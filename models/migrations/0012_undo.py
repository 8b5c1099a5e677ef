"""Undo of a wallet operation or a schedule's period.

Written by `tortoise makemigrations`: an undo is a wallet operation that names what it reverses
(`undo_of_id`, unique, so that an operation or a period is undone once whatever the request's
idempotency key), where that one's entries are (`undo_source_id`, `undo_period`), and the
customers it restored in whole and in part. Every operation the previous release wrote is not an
undo: the new columns are empty for it, and no balance or entry changes.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0011_refund_lines")]

    initial = False

    operations = [
        ops.AddField(
            model_name="WalletOperation",
            name="undo_of_id",
            field=fields.UUIDField(null=True, unique=True),
        ),
        ops.AddField(
            model_name="WalletOperation",
            name="undo_source_id",
            field=fields.UUIDField(null=True),
        ),
        ops.AddField(
            model_name="WalletOperation",
            name="undo_period",
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name="WalletOperation",
            name="restored_count",
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name="WalletOperation",
            name="partly_restored_count",
            field=fields.IntField(null=True),
        ),
    ]
