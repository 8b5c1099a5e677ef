"""Deleted customers' balances written off, and what a schedule's period applies.

Written by `tortoise makemigrations`, then changed by hand:

- The previous release deleted customers without touching their balance, so what they held
  stayed on rows nobody can see, and the balances a person can see summed to less than the
  ledger. Each such customer gets the WRITE_OFF entry (source SYSTEM, its source id the
  customer's, dated at the deletion) that deleting writes now, and its balance becomes 0.
- A schedule run records the amount and description it applies, taken from the schedule by
  its first attempt, so that an edit of the schedule applies from the next period. Runs of the
  previous release have none (their schedule could not be edited): they take the schedule's.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

WRITE_OFF_DESCRIPTION = "entry.write_off"  # a message id, as domain.ledger writes it

_ENTRIES = """
INSERT INTO wallet_entries (location_id, customer_id, kind, requested_amount, delta,
    balance_after, description, source, source_id, period, actor, created_at)
SELECT location_id, id, 'WRITE_OFF', credit_balance, -credit_balance, 0, '{description}',
    'SYSTEM', id, 0, NULL, deleted_at
FROM customers WHERE deleted_at IS NOT NULL AND credit_balance <> 0
"""

_BALANCES = "UPDATE customers SET credit_balance = 0 WHERE deleted_at IS NOT NULL AND credit_balance <> 0"


async def write_off_deleted_balances(apps, schema_editor):
    db = schema_editor.client
    await db.execute_query(_ENTRIES.format(description=WRITE_OFF_DESCRIPTION))
    await db.execute_query(_BALANCES)


async def nothing(apps, schema_editor):
    """A write-off stays written off: going back keeps the entries and the zero balances."""


class Migration(migrations.Migration):
    dependencies = [('models', '0008_credit_channels')]

    initial = False

    operations = [
        ops.AddField(
            model_name='ScheduleRun',
            name='amount',
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name='ScheduleRun',
            name='description',
            field=fields.CharField(null=True, max_length=500),
        ),
        ops.RunPython(write_off_deleted_balances, nothing),
    ]
