"""Cashback that can be held and owed, the channels of an API key, refunds as records, the sales
of each key, and indexes for the retention purges.

Written by `tortoise makemigrations`, then changed by hand:

- The cashback range CHECK on customers: on PostgreSQL added with ALTER TABLE; on SQLite, which
  cannot add a constraint to a table (and whose table rebuild would cascade from customers),
  enforced by triggers raising the constraint's name, as 0002 does for the balance.
- Existing ADMIN keys get every channel; POS keys keep the default, POS and KIOSK.
- Every refund of the previous release becomes a `checkout_refunds` row with the checkout's id,
  numbered 1, with the credits it returned and the cashback its reversal took. The cashback a
  reversal could not take (the balance was short) was silently lost by that release: it is
  recorded on the refund as owed, and summed into the customer's `cashback_owed`, to be netted
  against the customer's next credits like any owed cashback.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.ids import new_id
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import CheckConstraint

MAX_CREDIT_BALANCE = 10**15
CASHBACK_RANGE = (
    f"cashback_held >= 0 AND cashback_held <= {MAX_CREDIT_BALANCE} "
    f"AND cashback_owed >= 0 AND cashback_owed <= {MAX_CREDIT_BALANCE}"
)
CASHBACK_RANGE_NAME = "customers_cashback_range"


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


async def add_cashback_range(apps, schema_editor):
    db = schema_editor.client
    if _postgres(schema_editor):
        await db.execute_script(
            f'ALTER TABLE "customers" ADD CONSTRAINT "{CASHBACK_RANGE_NAME}" CHECK ({CASHBACK_RANGE})'
        )
        return
    for event in ("INSERT", "UPDATE OF cashback_held, cashback_owed"):
        suffix = event.split()[0].lower()
        await db.execute_query(
            f'CREATE TRIGGER "{CASHBACK_RANGE_NAME}_{suffix}" BEFORE {event} ON "customers" '
            f"WHEN NOT ({CASHBACK_RANGE.replace('cashback_', 'NEW.cashback_')}) "
            f"BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {CASHBACK_RANGE_NAME}'); END"
        )


async def drop_cashback_range(apps, schema_editor):
    db = schema_editor.client
    if _postgres(schema_editor):
        await db.execute_script(f'ALTER TABLE "customers" DROP CONSTRAINT "{CASHBACK_RANGE_NAME}"')
        return
    for suffix in ("insert", "update"):
        await db.execute_query(f'DROP TRIGGER "{CASHBACK_RANGE_NAME}_{suffix}"')


async def give_admin_keys_every_channel(apps, schema_editor):
    await schema_editor.client.execute_query(
        "UPDATE \"api_keys\" SET \"channels\" = 'POS,KIOSK,ONLINE' WHERE \"role\" = 'ADMIN'"
    )


async def nothing(apps, schema_editor):
    pass


# The cashback a refund's reversal asked for and could not take (requested + its negative delta).
_UNCOVERED = """
SELECT e.source_id, e.customer_id, e.requested_amount + e.delta AS uncovered, -e.delta AS taken
FROM wallet_entries e WHERE e.kind = 'CASHBACK_REVERSAL' AND e.period = 0"""


async def record_earlier_refunds(apps, schema_editor):
    db = schema_editor.client
    await db.execute_query(
        'INSERT INTO "checkout_refunds" ("id", "location_id", "checkout_id", "number", "lines", '
        '"credits_returned", "cashback_reversed", "cashback_owed", "actor", "api_key_id", '
        '"created_at") '
        'SELECT c."id", c."location_id", c."id", 1, c."lines", c."credits_used", '
        "COALESCE(r.taken, 0), COALESCE(r.uncovered, 0), NULL, NULL, "
        'COALESCE(c."refunded_at", c."created_at") '
        f'FROM "checkouts" c LEFT JOIN ({_UNCOVERED}) r ON r.source_id = c."id" '
        'AND r.customer_id = c."customer_id" '
        "WHERE c.\"status\" = 'REFUNDED'"
    )
    await db.execute_query(
        'UPDATE "customers" SET "cashback_owed" = ('
        f"SELECT COALESCE(SUM(r.uncovered), 0) FROM ({_UNCOVERED}) r "
        'WHERE r.customer_id = "customers"."id") '
        f'WHERE "deleted_at" IS NULL AND "id" IN (SELECT customer_id FROM ({_UNCOVERED}) u '
        "WHERE u.uncovered > 0)"
    )


async def forget_earlier_refunds(apps, schema_editor):
    await schema_editor.client.execute_query('DELETE FROM "checkout_refunds"')


class Migration(migrations.Migration):
    dependencies = [('models', '0005_wallet_operations_newest_first')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CheckoutRefund',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('location', fields.ForeignKeyField('models.Location', source_field='location_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('checkout', fields.ForeignKeyField('models.Checkout', source_field='checkout_id', db_constraint=True, to_field='id', related_name='refunds', on_delete=OnDelete.CASCADE)),
                ('number', fields.IntField()),
                ('lines', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('credits_returned', fields.BigIntField()),
                ('cashback_reversed', fields.BigIntField()),
                ('cashback_owed', fields.BigIntField()),
                ('actor', fields.CharField(null=True, max_length=100)),
                ('api_key_id', fields.UUIDField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'checkout_refunds', 'app': 'models', 'unique_together': (('checkout_id', 'number'),), 'pk_attr': 'id', 'table_description': 'One refund of a checkout: what it gave back and took back. `number` counts the'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='ApiKey',
            name='channels',
            field=fields.CharField(default='POS,KIOSK', db_default='POS,KIOSK', max_length=32),
        ),
        ops.RunPython(give_admin_keys_every_channel, nothing),
        ops.AddField(
            model_name='Checkout',
            name='api_key_id',
            field=fields.UUIDField(null=True),
        ),
        ops.AddField(
            model_name='Checkout',
            name='cashback_held',
            field=fields.BigIntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Checkout',
            name='cashback_release_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddIndex(
            model_name='Checkout',
            index=Index(fields=['location_id', 'api_key_id', 'created_at', 'id']),
        ),
        ops.AddIndex(
            model_name='Checkout',
            index=Index(fields=['cashback_release_at']),
        ),
        ops.AddField(
            model_name='Customer',
            name='cashback_held',
            field=fields.BigIntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Customer',
            name='cashback_owed',
            field=fields.BigIntField(default=0, db_default=0),
        ),
        StateOnly(
            ops.AddConstraint(
                model_name='Customer',
                constraint=CheckConstraint(check=CASHBACK_RANGE, name=CASHBACK_RANGE_NAME),
            )
        ),
        ops.RunPython(add_cashback_range, drop_cashback_range),
        ops.AddField(
            model_name='CustomerGroup',
            name='cashback_hold_days',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddIndex(
            model_name='IdempotencyKey',
            index=Index(fields=['created_at']),
        ),
        ops.AddIndex(
            model_name='OrderPromotionMirror',
            index=Index(fields=['removed', 'updated_at']),
        ),
        ops.AddIndex(
            model_name='PosDiscountMirror',
            index=Index(fields=['removed', 'updated_at']),
        ),
        ops.AddIndex(
            model_name='PosGroupMirror',
            index=Index(fields=['removed', 'updated_at']),
        ),
        ops.RunPython(record_earlier_refunds, forget_earlier_refunds),
    ]
