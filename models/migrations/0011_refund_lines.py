"""Refunds by the line: a checkout may be refunded in parts.

Written by `tortoise makemigrations`, then changed by hand:

- `checkouts.status` takes PARTIALLY_REFUNDED, longer than its 10 characters: PostgreSQL widens
  the column to 20; SQLite does not enforce a VARCHAR's length, and its AlterField would rebuild
  the table, so there the change is recorded in the migration state only.
- `checkouts.refund_count` (the refunds a checkout has had: the next one's number is one more),
  `checkouts.refunded_quantities` (per line, what was refunded so far; null when nothing),
  `checkouts.group_discount_returned` (what refunds gave back of the daily limit's usage) and
  `checkout_refunds.group_discount` (what one refund gave back of it).
- A checkout the previous release refunded was refunded whole, once: its refund count becomes
  the number of its refunds (1), what its refund gave back of the group discount is all of it,
  on the refund and on the checkout. Its refunded quantities stay null: a REFUNDED checkout has
  nothing left, whatever they say.
"""

import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

_REFUND_COUNTS = """
UPDATE checkouts SET refund_count = (
    SELECT COUNT(*) FROM checkout_refunds r WHERE r.checkout_id = checkouts.id)
WHERE status = 'REFUNDED'"""
_CHECKOUTS_RETURNED = """
UPDATE checkouts SET group_discount_returned = group_discount WHERE status = 'REFUNDED'"""
_REFUNDS_RETURNED = """
UPDATE checkout_refunds SET group_discount = (
    SELECT c.group_discount FROM checkouts c WHERE c.id = checkout_refunds.checkout_id)"""


class StateOnly(ops.TortoiseOperation):
    """Records `operation` in the migration state only; the RunPython step next to it makes
    the database change, per engine."""

    def __init__(self, operation):
        self.operation = operation

    def describe(self):
        return f"{self.operation.describe()} (state only)"

    def state_forward(self, app_label, state):
        self.operation.state_forward(app_label, state)


def _postgres(schema_editor):
    return schema_editor.client.capabilities.dialect == "postgres"


async def widen_status(apps, schema_editor):
    if _postgres(schema_editor):
        await schema_editor.client.execute_script(
            'ALTER TABLE "checkouts" ALTER COLUMN "status" TYPE VARCHAR(20)'
        )


async def narrow_status(apps, schema_editor):
    """Back to 10 characters: only when no checkout is partially refunded (else it fails)."""
    if _postgres(schema_editor):
        await schema_editor.client.execute_script(
            'ALTER TABLE "checkouts" ALTER COLUMN "status" TYPE VARCHAR(10)'
        )


async def record_whole_refunds(apps, schema_editor):
    db = schema_editor.client
    for statement in (_REFUND_COUNTS, _CHECKOUTS_RETURNED, _REFUNDS_RETURNED):
        await db.execute_query(statement)


async def nothing(apps, schema_editor):
    """The columns go with the fields."""


class Migration(migrations.Migration):
    dependencies = [('models', '0010_customer_search')]

    initial = False

    operations = [
        StateOnly(
            ops.AlterField(
                model_name='Checkout',
                name='status',
                field=fields.CharField(default='COMMITTED', max_length=20),
            )
        ),
        ops.RunPython(widen_status, narrow_status),
        ops.AddField(
            model_name='Checkout',
            name='refund_count',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Checkout',
            name='refunded_quantities',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='Checkout',
            name='group_discount_returned',
            field=fields.BigIntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='CheckoutRefund',
            name='group_discount',
            field=fields.BigIntField(default=0, db_default=0),
        ),
        ops.RunPython(record_whole_refunds, nothing),
    ]
